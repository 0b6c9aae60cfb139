/**
 * v3 LOGISTIC (25): out = 1 / (1 + expf(−x)) in float (kpu-numerics §7.1). expf: see common.ts.
 * Not exercised by any golden model (kpu-numerics §10.3).
 */
import { expf, f32 } from '../common.js';

export function logisticV3(src: Float32Array, dst: Float32Array, channels: number): void {
  for (let c = 0; c < channels; c++) dst[c] = f32(1 / f32(1 + expf(-src[c]!)));
}
