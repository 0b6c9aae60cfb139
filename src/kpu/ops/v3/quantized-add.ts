/**
 * v3 QUANTIZED_ADD (2), SDK kpu.c `kpu_quantized_add` (kpu-numerics §7.1).
 *
 * The SDK processes ALIGN_UP(count, 8) elements (8× unrolled, no tail loop), so it reads and
 * writes up to 7 elements past `count`. This kernel does the same: the views must cover
 * `quantizedAddV3Span(count)` elements (the interpreter decides what lies beyond the layer's
 * tensors; on the board it is whatever follows in the main buffer).
 *
 * All arithmetic is signed 64-bit (wrapping): a' = (a + in_a_offset)·in_a_mul, likewise b';
 * if the two shifts are equal v = (a' + b') >> shift, else v = (a' >> sa) + (b' >> sb)
 * (floor shifts, amount mod 64); v = kpu_carry_shift(v·out_mul, out_shift) (SDK rounding,
 * kpu-numerics §6.4 step 3, 0.1 variant); v += out_offset; clamp 0..255.
 * Not exercised by any golden model (kpu-numerics §10.3).
 */
import { kpuCarryShift } from '../common.js';

export interface QuantizedAddV3Params {
  readonly inAOffset: number;
  readonly inAMul: number;
  readonly inAShift: number;
  readonly inBOffset: number;
  readonly inBMul: number;
  readonly inBShift: number;
  readonly outOffset: number;
  readonly outMul: number;
  readonly outShift: number;
}

/** Elements the SDK touches for a layer of `count` elements: ALIGN_UP(count, 8). */
export function quantizedAddV3Span(count: number): number {
  return ((count >>> 0) + 7) & ~7;
}

const wrap = (v: bigint): bigint => BigInt.asIntN(64, v);

export function quantizedAddV3(
  a: Uint8Array,
  b: Uint8Array,
  out: Uint8Array,
  count: number,
  p: QuantizedAddV3Params,
): void {
  const n = quantizedAddV3Span(count);
  if (a.length < n || b.length < n || out.length < n) {
    throw new RangeError(`quantizedAddV3: views must cover ALIGN_UP(count, 8) = ${n} elements`);
  }
  const offA = BigInt(p.inAOffset | 0),
    mulA = BigInt(p.inAMul | 0),
    shA = BigInt(p.inAShift & 63);
  const offB = BigInt(p.inBOffset | 0),
    mulB = BigInt(p.inBMul | 0),
    shB = BigInt(p.inBShift & 63);
  const offO = BigInt(p.outOffset | 0),
    mulO = BigInt(p.outMul | 0);
  const sameShift = (p.inAShift | 0) === (p.inBShift | 0);
  for (let i = 0; i < n; i++) {
    const ap = wrap((BigInt(a[i]!) + offA) * mulA);
    const bp = wrap((BigInt(b[i]!) + offB) * mulB);
    let v = sameShift ? wrap(ap + bp) >> shA : wrap((ap >> shA) + (bp >> shB));
    v = kpuCarryShift(wrap(v * mulO), p.outShift);
    v = wrap(v + offO);
    out[i] = v < 0n ? 0 : v > 255n ? 255 : Number(v);
  }
}
