/**
 * v4 cpu_quantized_depthwise_conv2d (0x1005), CPU target, NHWC: weights [c][ky][kx];
 * acc = bias + Σ (x − input_offset)(w − filter_offset) (offsets subtracted, int32 wrapping),
 * mcs + output_offset, clamp 0..255. Not in any golden.
 */
import { type Shape4, type Window2d } from '../common.js';
import { forEachCpuWindow } from './cpu-conv2d.js';
import { cpuQuantizedFinish as finish } from './cpu-quantized-conv2d.js';
import type { QuantizedConv2dParams } from './quantized-conv2d.js';

export function cpuQuantizedDepthwiseConv2d(
  src: Uint8Array,
  dst: Uint8Array,
  weights: Uint8Array,
  bias: Int32Array,
  inShapeNhwc: Shape4,
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
    for (let oc = 0; oc < C; oc++) {
      const wOc = oc * win.filterH * fw;
      let v = bias[oc]! | 0;
      for (let ky = y0; ky < y1; ky++) {
        for (let kx = x0; kx < x1; kx++) {
          const inPix = inBatch + ((yo + win.dilationH * ky) * W + xo + win.dilationW * kx) * C;
          v = (v + Math.imul((src[inPix + oc]! - inOff) | 0, (weights[wOc + ky * fw + kx]! - wOff) | 0)) | 0;
        }
      }
      dst[o++] = finish(v, p);
    }
  });
}
