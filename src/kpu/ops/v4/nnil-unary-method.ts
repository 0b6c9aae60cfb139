/**
 * v4 nnil_unary_method (0x14): per element, run a small float stack program (kpu-numerics §7.3, nncase
 * 0.2 `runtime/nnil.h` and `kernels/neutral/neutral_kernels.h`, checked at v0.2.0-beta4).
 *
 * Opcodes (one byte; ldc_r4 is followed by a little-endian f32): 00 nop, 01 dup, 02 pop,
 * 03 lda_0 (push the element), 04 ldc_r4_0, 05 ldc_r4_1, 06 ldc_r4 imm, 20 abs, 21 ceil,
 * 22 cos, 23 exp, 24 floor, 25 log, 26 neg, 27 rsqrt (1.f/sqrtf), 28 sin, 29 square,
 * 40 add, 41 sub, 42 mul, 43 div, 44 min, 45 max, 80 clamp, A0 ret (pop into the output).
 *
 * Operand order (verified in the beta4 source): binary ops pop b (top) then a and push
 * `a op b`, so `lda_0; ldc_r4 2; sub` is x − 2; min/max are std::min(a, b)/std::max(a, b).
 * clamp pops high (top), then low, then v, and pushes std::clamp(v, low, high).
 * The stack holds 64 floats; overflow, underflow, an unknown opcode or a truncated
 * immediate fault (the reference throws). A program that ends without `ret` leaves the
 * output element unwritten, as the reference does.
 */
import { KpuFault } from '../../../errors.js';
import { cosf, cxxClamp, cxxMax, cxxMin, expf, f32, logf, sinf, sqrtf } from '../common.js';

export const NnilOpcode = {
  Nop: 0x00,
  Dup: 0x01,
  Pop: 0x02,
  Lda0: 0x03,
  LdcR4_0: 0x04,
  LdcR4_1: 0x05,
  LdcR4: 0x06,
  Abs: 0x20,
  Ceil: 0x21,
  Cos: 0x22,
  Exp: 0x23,
  Floor: 0x24,
  Log: 0x25,
  Neg: 0x26,
  Rsqrt: 0x27,
  Sin: 0x28,
  Square: 0x29,
  Add: 0x40,
  Sub: 0x41,
  Mul: 0x42,
  Div: 0x43,
  Min: 0x44,
  Max: 0x45,
  Clamp: 0x80,
  Ret: 0xa0,
} as const;

const STACK_SIZE = 64;

/** A decoded program: opcodes, and the f32 immediate for each ldc_r4 (NaN elsewhere). */
export interface NnilProgram {
  readonly ops: Uint8Array;
  readonly imm: Float32Array;
}

const UNARY: Partial<Record<number, (x: number) => number>> = {
  [NnilOpcode.Abs]: Math.abs,
  [NnilOpcode.Ceil]: Math.ceil,
  [NnilOpcode.Cos]: cosf,
  [NnilOpcode.Exp]: expf,
  [NnilOpcode.Floor]: Math.floor,
  [NnilOpcode.Log]: logf,
  [NnilOpcode.Neg]: (x) => -x,
  [NnilOpcode.Rsqrt]: (x) => f32(1 / sqrtf(x)),
  [NnilOpcode.Sin]: sinf,
  [NnilOpcode.Square]: (x) => f32(x * x),
};

const BINARY: Partial<Record<number, (a: number, b: number) => number>> = {
  [NnilOpcode.Add]: (a, b) => f32(a + b),
  [NnilOpcode.Sub]: (a, b) => f32(a - b),
  [NnilOpcode.Mul]: (a, b) => f32(a * b),
  [NnilOpcode.Div]: (a, b) => f32(a / b),
  [NnilOpcode.Min]: cxxMin,
  [NnilOpcode.Max]: cxxMax,
};

function fault(detail: string): never {
  throw new KpuFault('ILLEGAL_INSTRUCTION', `nnil: ${detail}`);
}

/**
 * Decode a program body once (the interpreter may cache it). Decoding stops after the first
 * `ret`, since the reference never reads past it.
 */
export function decodeNnil(body: Uint8Array): NnilProgram {
  const ops: number[] = [];
  const imm: number[] = [];
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let pc = 0;
  while (pc < body.length) {
    const op = body[pc++]!;
    if (op === NnilOpcode.LdcR4) {
      if (pc + 4 > body.length) fault(`truncated ldc_r4 immediate at byte ${pc - 1}`);
      ops.push(op);
      imm.push(view.getFloat32(pc, true));
      pc += 4;
      continue;
    }
    const known =
      op <= NnilOpcode.LdcR4_1 || op in UNARY || op in BINARY || op === NnilOpcode.Clamp || op === NnilOpcode.Ret;
    if (!known) fault(`invalid opcode 0x${op.toString(16)} at byte ${pc - 1}`);
    ops.push(op);
    imm.push(NaN);
    if (op === NnilOpcode.Ret) break;
  }
  return { ops: Uint8Array.from(ops), imm: Float32Array.from(imm) };
}

export function nnilUnaryMethod(src: Float32Array, dst: Float32Array, program: NnilProgram | Uint8Array): void {
  const prog = program instanceof Uint8Array ? decodeNnil(program) : program;
  const { ops, imm } = prog;
  const stack = new Float32Array(STACK_SIZE);
  const n = src.length;
  for (let i = 0; i < n; i++) {
    let top = 0;
    const push = (v: number): void => {
      if (top >= STACK_SIZE) fault('stack overflow');
      stack[top++] = v;
    };
    const pop = (): number => {
      if (top <= 0) fault('stack underflow');
      return stack[--top]!;
    };
    for (let pc = 0; pc < ops.length; pc++) {
      const op = ops[pc]!;
      switch (op) {
        case NnilOpcode.Nop:
          break;
        case NnilOpcode.Dup:
          if (top <= 0) fault('dup on an empty stack');
          push(stack[top - 1]!);
          break;
        case NnilOpcode.Pop:
          pop();
          break;
        case NnilOpcode.Lda0:
          push(src[i]!);
          break;
        case NnilOpcode.LdcR4_0:
          push(0);
          break;
        case NnilOpcode.LdcR4_1:
          push(1);
          break;
        case NnilOpcode.LdcR4:
          push(imm[pc]!);
          break;
        case NnilOpcode.Clamp: {
          const high = pop();
          const low = pop();
          push(cxxClamp(pop(), low, high));
          break;
        }
        case NnilOpcode.Ret:
          dst[i] = pop();
          break;
        default: {
          const u = UNARY[op];
          if (u) {
            push(u(pop()));
          } else {
            const b = pop();
            const a = pop();
            push(BINARY[op]!(a, b));
          }
        }
      }
    }
  }
}
