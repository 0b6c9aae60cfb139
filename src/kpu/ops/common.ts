/**
 * Shared numerics of the CPU-side kernels (v3 SDK layers, v4 nncase 0.2 neutral ops).
 *
 * Every kernel is a pure function over typed arrays. Float kernels model C `float`
 * arithmetic: each C float operation is followed by `Math.fround`, so results are the
 * IEEE binary32 results of the reference (x86 SSE, no excess precision).
 */
import { KpuFault } from '../../errors.js';

/**
 * Which machine the float kernels reproduce.
 * - `golden`: nncase 0.2's simulator and the SDK's kpu.c built for x86 (the goldens in
 *   shared/golden-nncase). Every `a*b + c` is two roundings; float→int conversions behave
 *   like SSE `cvttss2si` (NaN and out-of-range give INT32_MIN).
 * - `board`: the K210 firmware as the reference (kpu-numerics §7.0, §7.1, §7.2, §9 item 11) describes it:
 *   the SDK and nncase runtime are built with `-ffast-math -std=gnu11` (gnu++), i.e.
 *   `-ffp-contract=fast`, so GCC fuses `a*b + c` (and `acc += a*b`) into `fmadd.s`; the v4
 *   RISC-V quantize/dequantize kernels differ (kpu-numerics §7.2); float→int conversions saturate
 *   (`fcvt.w.s`). Not verified against silicon.
 */
export type CpuNumerics = 'golden' | 'board';

/** A 4-D NCHW shape (or any 4 ints: index, begin, end, strides, perm). */
export type Shape4 = ArrayLike<number>;

/** nncase `padding`: elements before and after along one axis (negative crops). */
export interface Padding {
  readonly before: number;
  readonly after: number;
}

/** Geometry of a 2-D window op (conv, pooling), nncase 0.2 field names. */
export interface Window2d {
  readonly filterH: number;
  readonly filterW: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly dilationH: number;
  readonly dilationW: number;
  readonly paddingH: Padding;
  readonly paddingW: Padding;
}

export const f32 = Math.fround;

/** FLT_MIN: smallest positive normal float (the v3 SOFTMAX start value). */
export const FLT_MIN = 2 ** -126;
/** FLT_MAX = numeric_limits<float>::max(); value_range<float>::full() is [−FLT_MAX, FLT_MAX]. */
export const FLT_MAX = f32(3.4028234663852886e38);

// ---------------------------------------------------------------------------------------
// Float helpers

const f64buf = new Float64Array(1);
const u32buf = new Uint32Array(f64buf.buffer);
// Index of the low and high 32-bit words of a float64 in memory order.
const LO = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;
const HI = 1 - LO;

/**
 * Exact fused multiply-add of three float32 values with one rounding (C `fmaf`).
 * a·b is exact in double (24+24 ≤ 53 bits). The double sum p + c may round, and rounding
 * that double to float again could double-round, so the sum is rounded to odd instead:
 * the exact error of the double sum is recovered (TwoSum), and if it is non-zero and the
 * double's last mantissa bit is even the double is moved one ulp towards the exact value.
 * Rounding-to-odd in 53 bits followed by rounding to nearest in 24 bits (53 ≥ 24 + 2) is
 * the correctly rounded result (Boldo & Melquiond).
 */
export function fmaf(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  if (!Number.isFinite(s) || !Number.isFinite(p)) return f32(s);
  const bv = s - p;
  const e = p - (s - bv) + (c - bv);
  if (e === 0) return f32(s);
  f64buf[0] = s;
  if ((u32buf[LO]! & 1) === 0) {
    // s ≠ 0 here (a non-zero exact sum of two finite doubles never rounds to 0).
    if (s > 0 === e > 0) {
      u32buf[LO] = u32buf[LO]! + 1; // low bit was 0: no carry
    } else if (u32buf[LO] === 0) {
      u32buf[LO] = 0xffffffff;
      u32buf[HI] = u32buf[HI]! - 1;
    } else {
      u32buf[LO] = u32buf[LO]! - 1;
    }
  }
  return f32(f64buf[0]!);
}

/** `a*b + c` in float32 as compiled for `mode` (golden: two roundings; board: fmaf). */
export function mulAdd(a: number, b: number, c: number, mode: CpuNumerics): number {
  return mode === 'board' ? fmaf(a, b, c) : f32(c + f32(a * b));
}

/** C `roundf`: round half away from zero (keeps the sign of zero). */
export function roundf(x: number): number {
  const t = Math.trunc(x);
  const d = x - t; // exact
  if (d >= 0.5) return t + 1;
  if (d <= -0.5) return t - 1;
  return t; // Math.trunc keeps the sign of zero
}

/** Round half to even (RISC-V `fcvt` with `rne`, C `rintf` in the default mode). */
export function rintf(x: number): number {
  if (!Number.isFinite(x)) return x;
  const fl = Math.floor(x);
  const d = x - fl; // exact for float32 inputs
  const r = d < 0.5 ? fl : d > 0.5 ? fl + 1 : fl % 2 === 0 ? fl : fl + 1;
  return r === 0 && x < 0 ? -0 : r;
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/**
 * C float→int32 conversion of an already-integral (or to-be-truncated) value.
 * golden (x86 `cvttss2si`): truncates; NaN and out-of-range give INT32_MIN.
 * board (RISC-V `fcvt.w.s`): truncates (rtz; callers round first); saturates, NaN → INT32_MAX.
 */
export function cvtF32ToI32(x: number, mode: CpuNumerics): number {
  if (Number.isNaN(x)) return mode === 'board' ? INT32_MAX : INT32_MIN;
  const t = Math.trunc(x);
  if (t > INT32_MAX) return mode === 'board' ? INT32_MAX : INT32_MIN;
  if (t < INT32_MIN) return INT32_MIN;
  return t;
}

/** Clamp an int to 0..255. */
export function clampU8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** std::min(a, b) = (b < a) ? b : a (NaN and signed-zero behaviour follow). */
export function cxxMin(a: number, b: number): number {
  return b < a ? b : a;
}

/** std::max(a, b) = (a < b) ? b : a. */
export function cxxMax(a: number, b: number): number {
  return a < b ? b : a;
}

/** std::clamp(v, lo, hi) = v < lo ? lo : (hi < v ? hi : v); nncase's apply_activation. */
export function cxxClamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : hi < v ? hi : v;
}

/** C `fmaxf`: a NaN operand yields the other operand. */
export function fmaxf(a: number, b: number): number {
  if (Number.isNaN(a)) return b;
  if (Number.isNaN(b)) return a;
  return a > b ? a : b;
}

/**
 * `expf`. The goldens used x86 glibc's expf, which is correctly rounded in practice; the
 * double `Math.exp` rounded once to float agrees except in vanishingly rare cases. The
 * board's newlib expf may differ by 1 ulp (kpu-numerics §7.0) and is not modelled.
 */
export function expf(x: number): number {
  return f32(Math.exp(x));
}
/** `logf`, `sinf`, `cosf`, `sqrtf` in the same way (sqrt is exact: 53 ≥ 2·24 + 2). */
export function logf(x: number): number {
  return f32(Math.log(x));
}
export function sinf(x: number): number {
  return f32(Math.sin(x));
}
export function cosf(x: number): number {
  return f32(Math.cos(x));
}
export function sqrtf(x: number): number {
  return f32(Math.sqrt(x));
}

// ---------------------------------------------------------------------------------------
// Integer helpers

/** C int32 division (truncates toward zero). Callers guarantee b ≠ 0. */
export function idiv(a: number, b: number): number {
  return Math.trunc(a / b) | 0;
}

const TWO52 = 2 ** 52;

/**
 * nncase 0.2 `mul_and_carry_shift(value, mul, shift)` (runtime_op_utility.h, non-banker):
 * p = (int64)value·mul; if shift > 0, p = (p + 2^(shift−1)) >> shift (floor), i.e. round half
 * up; result truncated to int32. `shift` is a uint8_t parameter (only its low 8 bits
 * count); the int64 shifts use their amount mod 64 as x86 and RISC-V do.
 */
export function mulAndCarryShift(value: number, mul: number, shift: number): number {
  const s = shift & 0xff;
  const p = value * mul;
  if (Math.abs(p) < TWO52 && s <= 52) {
    if (s === 0) return p | 0;
    const sc = 2 ** s;
    return Math.floor((p + sc / 2) / sc) | 0;
  }
  return mulAndCarryShiftBig(value, mul, s);
}

/**
 * `mulAndCarryShift(·, mul, shift)` for one multiplier and shift, with their constants worked
 * out once: the same fast path (products below 2^52), the same fallback.
 */
export function carryShifter(mul: number, shift: number): (value: number) => number {
  const s = shift & 0xff;
  if (s > 52) return (value) => mulAndCarryShift(value, mul, shift);
  const sc = 2 ** s;
  const half = s === 0 ? 0 : sc / 2;
  return (value) => {
    const p = value * mul;
    if (Math.abs(p) >= TWO52) return mulAndCarryShift(value, mul, shift);
    return s === 0 ? p | 0 : Math.floor((p + half) / sc) | 0;
  };
}

function mulAndCarryShiftBig(value: number, mul: number, s: number): number {
  let p = BigInt(value | 0) * BigInt(mul | 0);
  if (s > 0) {
    p = BigInt.asIntN(64, p + BigInt.asIntN(64, 1n << BigInt((s - 1) & 63)));
    p >>= BigInt(s & 63);
  }
  return Number(BigInt.asIntN(32, p));
}

/**
 * The SDK's `kpu_carry_shift(value, shift)` (kpu.c, used by v3 QUANTIZED_ADD) on an int64:
 * v = value >> (shift−1); if v is odd, (v >> 1) + 1 for v ≥ 0 and (v >> 1) − 1 for v < 0;
 * else v >> 1. Round half up for value ≥ 0; negative values mis-round (kpu-numerics §6.4 step 3), and
 * this mirrors it. Takes and returns a bigint holding an int64.
 */
export function kpuCarryShift(value: bigint, shift: number): bigint {
  const s = shift >>> 0;
  if (s === 0) return value;
  let v = value >> BigInt((s - 1) & 63);
  if ((v & 1n) !== 0n) {
    v = v < 0n ? (v >> 1n) - 1n : (v >> 1n) + 1n;
  } else {
    v >>= 1n;
  }
  return BigInt.asIntN(64, v);
}

// ---------------------------------------------------------------------------------------
// Shapes

/** Element count of a 4-D shape. */
export function shapeSize(s: Shape4): number {
  return s[0]! * s[1]! * s[2]! * s[3]!;
}

/** nncase `offset(shape, index)`: row-major NCHW linear index. */
export function offset4(s: Shape4, i0: number, i1: number, i2: number, i3: number): number {
  return ((i0 * s[1]! + i1) * s[2]! + i2) * s[3]! + i3;
}

/**
 * Linear index into `s` of an output index under nncase's broadcasting
 * (`get_reduced_offset`): any index component ≥ that dimension becomes 0.
 */
export function reducedOffset4(s: Shape4, i0: number, i1: number, i2: number, i3: number): number {
  return offset4(s, i0 >= s[0]! ? 0 : i0, i1 >= s[1]! ? 0 : i1, i2 >= s[2]! ? 0 : i2, i3 >= s[3]! ? 0 : i3);
}

/** Whether two 4-D shapes are equal (nncase's "no broadcast" fast path). */
export function sameShape4(a: Shape4, b: Shape4): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

/** nncase `get_windowed_output_size` (C int division). */
export function windowedOutputSize(
  size: number,
  filter: number,
  stride: number,
  dilation: number,
  padding: Padding,
): number {
  const effective = (filter - 1) * dilation + 1;
  return idiv(size + padding.before + padding.after - effective + stride, stride);
}

/**
 * The valid tap range of one window axis, as nncase computes it:
 * start = max(0, ⌈−origin / dilation⌉), end = min(filter, ⌈(size − origin) / dilation⌉),
 * both with C truncating division.
 */
export function tapStart(origin: number, dilation: number): number {
  return Math.max(0, idiv(-origin + dilation - 1, dilation));
}
export function tapEnd(origin: number, size: number, filter: number, dilation: number): number {
  return Math.min(filter, idiv(size - origin + dilation - 1, dilation));
}

/** A kernel met an opcode or enum value the reference rejects. */
export function unsupported(what: string): never {
  throw new KpuFault('UNSUPPORTED', what);
}
