/**
 * v3 SOFTMAX (15), SDK `kpu_softmax`: m = fmaxf over the inputs starting from FLT_MIN (the
 * smallest positive normal, not −∞ — so for all-negative inputs m = FLT_MIN); e_i = expf(x_i − m);
 * sum sequentially from 0; out_i = e_i / sum (kpu-numerics §7.1). expf: see common.ts.
 */
import { FLT_MIN, expf, f32, fmaxf } from '../common.js';

export function softmaxV3(src: Float32Array, dst: Float32Array, channels: number): void {
  let max = FLT_MIN;
  for (let c = 0; c < channels; c++) max = fmaxf(max, src[c]!);
  let sum = 0;
  for (let c = 0; c < channels; c++) {
    const v = expf(f32(src[c]! - max));
    sum = f32(sum + v);
    dst[c] = v;
  }
  for (let c = 0; c < channels; c++) dst[c] = f32(dst[c]! / sum);
}
