/**
 * v3 L2_NORMALIZATION (14), SDK `kpu_l2_normalization`: s = Σ x² sequentially in float;
 * if s < 1e-10f then s = 1e-10f; r = 1/sqrtf(s); out = x·r.
 * board: `sum += x*x` contracts to fmadd.s under -ffp-contract=fast (kpu-numerics §7.0 (b)).
 * Not exercised by any golden model (kpu-numerics §10.3).
 */
import { f32, fmaf, sqrtf, type CpuNumerics } from '../common.js';

const EPSILON = f32(1e-10);

export function l2NormalizationV3(src: Float32Array, dst: Float32Array, channels: number, mode: CpuNumerics): void {
  let sum = 0;
  for (let c = 0; c < channels; c++) {
    const x = src[c]!;
    sum = mode === 'board' ? fmaf(x, x, sum) : f32(sum + f32(x * x));
  }
  if (sum < EPSILON) sum = EPSILON;
  const r = f32(1 / sqrtf(sum));
  for (let c = 0; c < channels; c++) dst[c] = f32(src[c]! * r);
}
