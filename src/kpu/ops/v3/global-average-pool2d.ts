/**
 * v3 GLOBAL_AVERAGE_POOL2D (5): per channel, a sequential float sum of `kernelSize` values
 * (CHW input) divided by (float)kernelSize (kpu-numerics §7.1; the goldens cannot tell `/ks` from `·(1/ks)`,
 * kpu-numerics §10.1 — this is the SDK's division).
 */
import { f32 } from '../common.js';

export function globalAveragePool2dV3(
  src: Float32Array,
  dst: Float32Array,
  kernelSize: number,
  channels: number,
): void {
  const ks = f32(kernelSize);
  let k = 0;
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    for (let i = 0; i < kernelSize; i++) sum = f32(sum + src[k++]!);
    dst[c] = f32(sum / ks);
  }
}
