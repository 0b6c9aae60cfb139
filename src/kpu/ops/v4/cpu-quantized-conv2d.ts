/**
 * v4 cpu_quantized_conv2d (0x1004), NHWC
 * (N, H, W, C), CPU target. Unlike the neutral quantized_conv2d it SUBTRACTS the offsets:
 * acc = bias + Σ (x − input_offset)(w − filter_offset) (int32 wrapping), then
 * mcs(acc, output_mul, output_shift) + output_offset, clamp 0..255.
 * Weights [oc][ky][kx][ic]. Not in any golden.
 */
import { mulAndCarryShift, type Shape4, type Window2d } from '../common.js';
import { forEachCpuWindow } from './cpu-conv2d.js';
import type { QuantizedConv2dParams } from './quantized-conv2d.js';

/** mcs(acc, output_mul, output_shift) + output_offset, clamped to 0..255. */
export function cpuQuantizedFinish(v: number, p: QuantizedConv2dParams): number {
  const r = (mulAndCarryShift(v, p.outputMul | 0, p.outputShift) + (p.outputOffset | 0)) | 0;
  return r < 0 ? 0 : r > 255 ? 255 : r;
}

export function cpuQuantizedConv2d(
  src: Uint8Array,
  dst: Uint8Array,
  weights: Uint8Array,
  bias: Int32Array,
  inShapeNhwc: Shape4,
  outChannels: number,
  win: Window2d,
  p: QuantizedConv2dParams,
): void {
  const H = inShapeNhwc[1]!,
    W = inShapeNhwc[2]!,
    C = inShapeNhwc[3]!;
  const fw = win.filterW;
  const inOff = p.inputOffset | 0,
    wOff = p.filterOffset | 0;
  let o = 0;
  forEachCpuWindow(inShapeNhwc, win, (n, yo, xo, y0, y1, x0, x1) => {
    const inBatch = n * H * W * C;
    for (let oc = 0; oc < outChannels; oc++) {
      const wOc = oc * win.filterH * fw * C;
      let v = bias[oc]! | 0;
      for (let ky = y0; ky < y1; ky++) {
        for (let kx = x0; kx < x1; kx++) {
          const inPix = inBatch + ((yo + win.dilationH * ky) * W + xo + win.dilationW * kx) * C;
          const wPix = wOc + (ky * fw + kx) * C;
          for (let ic = 0; ic < C; ic++) {
            v = (v + Math.imul((src[inPix + ic]! - inOff) | 0, (weights[wPix + ic]! - wOff) | 0)) | 0;
          }
        }
      }
      dst[o++] = cpuQuantizedFinish(v, p);
    }
  });
}
