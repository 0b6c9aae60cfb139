/**
 * v4 cpu_depthwise_conv2d (0x1002), CPU target, NHWC (N, H, W, C): weights [c][ky][kx];
 * value = bias[c]; value += in·w over the valid taps; clamp. Not in any golden.
 * board: `value += in*w` contracts to fmadd.s (§7.0 (b)).
 */
import { cxxClamp, f32, mulAdd, type CpuNumerics, type Shape4, type Window2d } from '../common.js';
import { forEachCpuWindow } from './cpu-conv2d.js';

export function cpuDepthwiseConv2d(
  src: Float32Array,
  dst: Float32Array,
  weights: Float32Array,
  bias: Float32Array,
  inShapeNhwc: Shape4,
  win: Window2d,
  clampMin: number,
  clampMax: number,
  mode: CpuNumerics,
): void {
  const H = inShapeNhwc[1]!,
    W = inShapeNhwc[2]!,
    C = inShapeNhwc[3]!;
  const fw = win.filterW;
  const lo = f32(clampMin),
    hi = f32(clampMax);
  let o = 0;
  forEachCpuWindow(inShapeNhwc, win, (n, yo, xo, y0, y1, x0, x1) => {
    const inBatch = n * H * W * C;
    for (let oc = 0; oc < C; oc++) {
      const wOc = oc * win.filterH * fw;
      let v = bias[oc]!;
      for (let ky = y0; ky < y1; ky++) {
        for (let kx = x0; kx < x1; kx++) {
          const inPix = inBatch + ((yo + win.dilationH * ky) * W + xo + win.dilationW * kx) * C;
          v = mulAdd(src[inPix + oc]!, weights[wOc + ky * fw + kx]!, v, mode);
        }
      }
      dst[o++] = cxxClamp(v, lo, hi);
    }
  });
}
