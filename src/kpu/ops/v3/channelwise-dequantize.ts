/**
 * v3 CHANNELWISE_DEQUANTIZE (24): per channel c, x = q·scale_c + bias_c over `channelSize`
 * consecutive elements. Same C expression as DEQUANTIZE, so the same two readings:
 * golden = two roundings (what the goldens use); board = fused multiply-add (kpu-numerics §7.0 (b), C11).
 */
import { f32, fmaf, type CpuNumerics } from '../common.js';

/** `params` holds (scale, bias) float pairs per channel, as stored in the body. */
export function channelwiseDequantizeV3(
  src: Uint8Array,
  dst: Float32Array,
  channels: number,
  channelSize: number,
  params: Float32Array,
  mode: CpuNumerics,
): void {
  let k = 0;
  for (let c = 0; c < channels; c++) {
    const s = params[2 * c]!;
    const b = params[2 * c + 1]!;
    if (mode === 'board') {
      for (let i = 0; i < channelSize; i++, k++) dst[k] = fmaf(src[k]!, s, b);
    } else {
      for (let i = 0; i < channelSize; i++, k++) dst[k] = f32(f32(src[k]! * s) + b);
    }
  }
}
