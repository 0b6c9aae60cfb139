/**
 * The number formats of nncase 1.x's kernels (kmodel v5) beyond int and float32: bfloat16 and IEEE binary16, and the
 * float → integer conversions of the x86 build behind the goldens (cvttss2si truncation, round half to even).
 */
import { cvtF32ToI32, cxxMax, cxxMin } from '../ops/common.js';

const F32_BUF = new Float32Array(1);
const U32_BUF = new Uint32Array(F32_BUF.buffer);

/** float32 → bfloat16 bits, round to nearest even; NaN stays a quiet NaN (nncase `round_to_bfloat16`). */
export function roundToBfloat16(v: number): number {
  F32_BUF[0] = v;
  const u = U32_BUF[0];
  if (Number.isNaN(v)) return 0x7fc0;
  const rounding = 0x7fff + ((u >>> 16) & 1);
  return ((u + rounding) >>> 16) & 0xffff;
}

export function bfloat16ToFloat(bits: number): number {
  U32_BUF[0] = (bits & 0xffff) << 16;
  return F32_BUF[0];
}

/** IEEE binary16 bits → number. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** number → IEEE binary16 bits, round to nearest even. */
export function floatToHalf(v: number): number {
  if (Number.isNaN(v)) return 0x7e00;
  const s = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a >= 65520) return s | 0x7c00;
  if (a < 2 ** -25) return s;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (e < -14) {
    const m = roundHalfEven(a / 2 ** -24);
    return s | m;
  }
  let m = roundHalfEven((a / 2 ** e - 1) * 1024);
  if (m === 1024) {
    m = 0;
    e++;
  }
  if (e > 15) return s | 0x7c00;
  return s | ((e + 15) << 10) | m;
}

// ---- float → integer conversions of the x86 build ----

/** Round half to even (`nearbyintf`/`lrintf` in the default rounding mode). */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

const ROUNDER = 1.5 * 2 ** 52;

/**
 * roundHalfEven by the double-precision adder: for |x| < 2^51, x + 1.5·2^52 lands where doubles are the integers, so
 * the addition itself rounds half to even (1.5·2^52 is even), and subtracting the constant back is exact; larger
 * doubles are integers already. The same value as roundHalfEven, except that a negative x that rounds to zero gives
 * +0 instead of −0; NaN stays NaN. About a third faster in a loop (no branch on the fraction).
 */
export function roundHalfEvenSigned0(x: number): number {
  return Math.abs(x) < 2 ** 51 ? x + ROUNDER - ROUNDER : x;
}

/** `(int32_t)x` for a float on x86 (cvttss2si): truncation; NaN and out-of-range give INT32_MIN. */
export function cvtToInt32(x: number): number {
  return cvtF32ToI32(x, 'golden');
}

/** `(int64_t)x` on x86 (cvttss2si, 64-bit): NaN and out-of-range give INT64_MIN. */
export function cvtToInt64(x: number): bigint {
  const t = Math.trunc(x);
  if (!(t >= -(2 ** 63) && t < 2 ** 63)) return -(1n << 63n);
  return BigInt(t);
}

/**
 * `kernels::detail::clamp(v, lo, hi)` = max(min(v, hi), lo) with std::min / std::max (the first argument wins ties and
 * NaNs).
 */
export const clampF = (v: number, lo: number, hi: number): number => cxxMax(cxxMin(v, hi), lo);
