/**
 * nncase 1.x `kernels::unary` (the reference kernel the runtime dispatches to): out = f(in) element by element over
 * float32 tensors with their own strides. Every result is rounded once to float32. `expf`, `logf`, `cosf`, `sinf`,
 * `tanhf` of the C library are computed here in double precision and rounded, which agrees with a correctly
 * rounded C library and is within one unit in the last place of any other (docs/kpu-numerics.md).
 */
import { KpuFault } from '../../../errors.js';
import { alignStrides, forEach2, type StridedTensor } from '../../v5/tensor.js';

/** nncase 1.0's `unary_op_t`, in order. */
export const V5_UNARY_OPS = [
  'abs',
  'ceil',
  'cos',
  'exp',
  'floor',
  'log',
  'neg',
  'round',
  'rsqrt',
  'sin',
  'sqrt',
  'square',
  'tanh',
  'bitwise_not',
  'logical_not',
] as const;

const f32 = Math.fround;

/** C's `roundf`: halfway cases away from zero. */
function roundAway(x: number): number {
  const r = Math.round(Math.abs(x));
  return x < 0 ? -r : r;
}

/**
 * The real functions behind nncase's unary ops (`round` is C's `roundf`, halfway cases away from zero); the float
 * references of `kpusim compare` evaluate these without rounding to float32.
 */
export const UNARY_REAL = {
  abs: Math.abs,
  ceil: Math.ceil,
  cos: Math.cos,
  exp: Math.exp,
  floor: Math.floor,
  log: Math.log,
  neg: (v: number) => -v,
  round: roundAway,
  rsqrt: (v: number) => 1 / Math.sqrt(v),
  sin: Math.sin,
  sqrt: Math.sqrt,
  square: (v: number) => v * v,
  tanh: Math.tanh,
} as const;

/** The float function of each op the reference kernel runs; the last two it answers `not_supported`. */
const FUNCS: Readonly<Record<(typeof V5_UNARY_OPS)[number], ((v: number) => number) | undefined>> = {
  ...UNARY_REAL,
  // rsqrtf = 1.f / sqrtf(x): the square root is rounded to float before the division.
  rsqrt: (v) => 1 / f32(Math.sqrt(v)),
  bitwise_not: undefined,
  logical_not: undefined,
};

/** Why the reference kernel refuses op code `op`; undefined when it runs it. */
export function unaryUnsupported(op: number): string | undefined {
  const name = V5_UNARY_OPS[op];
  if (name === undefined) return `unary_op ${op} is not an nncase 1.0 unary_op_t`;
  return FUNCS[name] ? undefined : `unary_op ${op} (${name}) is not supported by nncase's float unary kernel either`;
}

export function unary(op: number, input: StridedTensor, output: StridedTensor): void {
  const why = unaryUnsupported(op);
  if (why) throw new KpuFault('UNSUPPORTED', why);
  const fn = FUNCS[V5_UNARY_OPS[op]]!;
  const src = new DataView(input.bytes.buffer, input.bytes.byteOffset, input.bytes.byteLength);
  const dst = new DataView(output.bytes.buffer, output.bytes.byteOffset, output.bytes.byteLength);
  const shape = input.shape;
  forEach2(shape, alignStrides(shape, input.strides), alignStrides(shape, output.strides), (a, o) => {
    dst.setFloat32(output.offset + 4 * o, f32(fn(src.getFloat32(input.offset + 4 * a, true))), true);
  });
}
