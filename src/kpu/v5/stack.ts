/**
 * The evaluation stack of nncase's stackvm (`evaluate_stack.h`). An entry is either an
 * integer (`intptr_t`, 64-bit here as on the x86-64 and RV64 builds) or a float32; the two
 * share a union, so reading an entry as the other kind reinterprets the low 32 bits — we
 * mirror that instead of refusing it.
 */
import { KpuFault } from '../../errors.js';

export type StackEntry = { readonly real: false; readonly i: bigint } | { readonly real: true; readonly r: number };

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

export const intEntry = (v: bigint | number): StackEntry => ({
  real: false,
  i: BigInt.asIntN(64, typeof v === 'number' ? BigInt(v) : v),
});
export const realEntry = (v: number): StackEntry => ({ real: true, r: Math.fround(v) });

/** `as_i()`: the integer, or the float's bits zero-extended. */
export function asI(e: StackEntry): bigint {
  if (!e.real) return e.i;
  F32[0] = e.r;
  return BigInt(U32[0]);
}
export const asU = (e: StackEntry): bigint => BigInt.asUintN(64, asI(e));
export const asI4 = (e: StackEntry): number => Number(BigInt.asIntN(32, asI(e)));
export const asU4 = (e: StackEntry): number => Number(BigInt.asUintN(32, asI(e)));
export const asU1 = (e: StackEntry): number => Number(BigInt.asUintN(8, asI(e)));

/** `as_r4()`: the float, or the integer's low 32 bits as a float. */
export function asR4(e: StackEntry): number {
  if (e.real) return e.r;
  U32[0] = Number(BigInt.asUintN(32, e.i));
  return F32[0];
}

/** A size_t read from the stack as a Number (values past 2^53 lose precision; none are addresses). */
export const asSize = (e: StackEntry): number => Number(asU(e));

/** Upstream grows the stack without bound; a limit turns runaway bytecode into a fault. */
export const MAX_STACK = 1 << 20;

export class EvalStack {
  private readonly entries: StackEntry[] = [];

  get depth(): number {
    return this.entries.length;
  }

  push(e: StackEntry): void {
    if (this.entries.length >= MAX_STACK)
      throw new KpuFault('OUT_OF_RANGE', `stackvm stack overflow (${MAX_STACK} entries)`);
    this.entries.push(e);
  }

  pop(): StackEntry {
    const e = this.entries.pop();
    if (e === undefined) throw new KpuFault('ILLEGAL_INSTRUCTION', 'stackvm stack underflow');
    return e;
  }

  peek(): StackEntry {
    const e = this.entries[this.entries.length - 1];
    if (e === undefined) throw new KpuFault('ILLEGAL_INSTRUCTION', 'stackvm stack underflow');
    return e;
  }
}
