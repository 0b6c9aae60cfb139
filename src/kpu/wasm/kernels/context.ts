/**
 * What the stages of the conv kernel module (./index.ts) share: the module being built, the
 * descriptor accessors (src/kpu/wasm/abi.ts), shorthands and the lane constants.
 */
import { f64, f64x2, globalGet, i32, i64, set, v128 } from '../asm.js';
import type { Expr, Func, Global, Local, Module, Stmt } from '../asm.js';
import { DESC } from '../abi.js';

export const c32 = i32.const;
export const c64 = i64.const;
export const add = i32.add;
export const sub = i32.sub;
export const mul = i32.mul;

/** i16 lanes 0..3 of a and b interleaved: [a0 b0 a1 b1 a2 b2 a3 b3]. */
export const IL_LO = [0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23];
/** i16 lanes 4..7 interleaved. */
export const IL_HI = [8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31];
export const ZERO = v128.const(new Array(16).fill(0));
/** The high 64 bits moved to the low half (for the *_low conversions). */
export const HIGH_TO_LOW = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
/**
 * 1.5·2^52: y + MAGIC is y rounded to an integer, ties to even (|y| < 2^51), and its low 32 bits hold that integer mod
 * 2^32.
 */
export const MAGIC = f64x2.splat(f64.const(1.5 * 2 ** 52));
/** The low 32 bits of each f64 lane of a then b: [a0 a1 b0 b1]. */
export const LOW_WORDS = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];

/** Descriptor fields that are i32 (argXf is an f64). */
export type DescField = Exclude<keyof typeof DESC, 'argXf'>;

export interface KernelContext {
  readonly m: Module;
  /** The address of the running thread's descriptor (a global: each instance has its own), set by `prep` and `part`. */
  readonly descAt: Global;
  /** That address as an expression. */
  desc(): Expr;
  /** The i32 descriptor slot `slot`. */
  field(slot: number): Expr;
  /** Declares locals for the descriptor fields a function reads, loaded at its start. */
  fields(f: Func, names: DescField[]): { loads: Stmt[]; v: Record<string, Local> };
}

/** The context of a new module: declares its descriptor global. */
export function kernelContext(m: Module): KernelContext {
  const descAt = m.global('desc');
  const desc = (): Expr => globalGet(descAt);
  const field = (slot: number): Expr => i32.load(desc(), slot * 4);
  return {
    m,
    descAt,
    desc,
    field,
    fields(f, names) {
      const v: Record<string, Local> = {};
      const loads: Stmt[] = [];
      for (const n of names) {
        v[n] = f.local('i32', n);
        loads.push(set(v[n], field(DESC[n])));
      }
      return { loads, v };
    },
  };
}
