/**
 * v4 cpu_conv2d (0x1001): the CPU target's float conv (nncase 0.2 `kernels/cpu/cpu_kernels.h`),
 * NHWC; in_shape is (N, H, W, C); weights [oc][ky][kx][ic]. Also the NHWC window walk shared
 * by the other cpu_* ops.
 * value = bias; value += in·w over the valid taps (ky, kx, then ic); clamp. Output NHWC.
 * These belong to target = 0 (CPU) models, not K210 ones (§3.2); not in any golden.
 * board: `value += in*w` contracts to fmadd.s (§7.0 (b)).
 */
import {
  cxxClamp,
  f32,
  mulAdd,
  tapEnd,
  tapStart,
  windowedOutputSize,
  type CpuNumerics,
  type Shape4,
  type Window2d,
} from '../common.js';

/** Output (N, OH, OW, channels) of the NHWC CPU window ops. */
export function cpuWindowOutputShape(
  inShapeNhwc: Shape4,
  channels: number,
  win: Window2d,
): [number, number, number, number] {
  return [
    inShapeNhwc[0]!,
    windowedOutputSize(inShapeNhwc[1]!, win.filterH, win.strideH, win.dilationH, win.paddingH),
    windowedOutputSize(inShapeNhwc[2]!, win.filterW, win.strideW, win.dilationW, win.paddingW),
    channels,
  ];
}

/**
 * Walks the NHWC output in order and calls `visit(n, yOrigin, xOrigin, y0, y1, x0, x1)` per
 * output pixel; the caller writes that pixel's channels.
 */
export function forEachCpuWindow(
  inShapeNhwc: Shape4,
  win: Window2d,
  visit: (n: number, yo: number, xo: number, y0: number, y1: number, x0: number, x1: number) => void,
): void {
  const H = inShapeNhwc[1]!,
    W = inShapeNhwc[2]!;
  const outH = windowedOutputSize(H, win.filterH, win.strideH, win.dilationH, win.paddingH);
  const outW = windowedOutputSize(W, win.filterW, win.strideW, win.dilationW, win.paddingW);
  for (let n = 0; n < inShapeNhwc[0]!; n++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const yo = oy * win.strideH - win.paddingH.before;
        const xo = ox * win.strideW - win.paddingW.before;
        visit(
          n,
          yo,
          xo,
          tapStart(yo, win.dilationH),
          tapEnd(yo, H, win.filterH, win.dilationH),
          tapStart(xo, win.dilationW),
          tapEnd(xo, W, win.filterW, win.dilationW),
        );
      }
    }
  }
}

export function cpuConv2d(
  src: Float32Array,
  dst: Float32Array,
  weights: Float32Array,
  bias: Float32Array,
  inShapeNhwc: Shape4,
  outChannels: number,
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
    for (let oc = 0; oc < outChannels; oc++) {
      const wOc = oc * win.filterH * fw * C;
      let v = bias[oc]!;
      for (let ky = y0; ky < y1; ky++) {
        for (let kx = x0; kx < x1; kx++) {
          const inPix = inBatch + ((yo + win.dilationH * ky) * W + xo + win.dilationW * kx) * C;
          const wPix = wOc + (ky * fw + kx) * C;
          for (let ic = 0; ic < C; ic++) v = mulAdd(src[inPix + ic]!, weights[wPix + ic]!, v, mode);
        }
      }
      dst[o++] = cxxClamp(v, lo, hi);
    }
  });
}
