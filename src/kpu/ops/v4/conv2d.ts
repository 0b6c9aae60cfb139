/**
 * v4 conv2d (0x02), float NCHW grouped convolution (kpu-numerics §7.2, `kernels::neutral::conv2d`):
 * value = bias[oc]; for ic of the group, ky, kx over the valid taps (padding skipped)
 * value += in·w (sequential float); out = clamp(value). Weights OIHW with I = C/groups.
 * board: `value += in*w` contracts to fmadd.s (kpu-numerics §7.0 (b)).
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

export function conv2dOutputShape(
  inShape: Shape4,
  outChannels: number,
  win: Window2d,
): [number, number, number, number] {
  return [
    inShape[0]!,
    outChannels,
    windowedOutputSize(inShape[2]!, win.filterH, win.strideH, win.dilationH, win.paddingH),
    windowedOutputSize(inShape[3]!, win.filterW, win.strideW, win.dilationW, win.paddingW),
  ];
}

export function conv2d(
  src: Float32Array,
  dst: Float32Array,
  weights: Float32Array,
  bias: Float32Array,
  inShape: Shape4,
  groups: number,
  outChannels: number,
  win: Window2d,
  clampMin: number,
  clampMax: number,
  mode: CpuNumerics,
): void {
  const [N, C, H, W] = [inShape[0]!, inShape[1]!, inShape[2]!, inShape[3]!];
  const [, , outH, outW] = conv2dOutputShape(inShape, outChannels, win);
  const gIc = Math.trunc(C / groups);
  const gOc = Math.trunc(outChannels / groups);
  const fh = win.filterH,
    fw = win.filterW;
  const lo = f32(clampMin),
    hi = f32(clampMax);
  let o = 0;
  for (let n = 0; n < N; n++) {
    const inBatch = n * C * H * W;
    for (let g = 0; g < groups; g++) {
      const inGroup = inBatch + g * gIc * H * W;
      const wGroup = g * gOc * gIc * fh * fw;
      for (let oc = 0; oc < gOc; oc++) {
        const wOc = wGroup + oc * gIc * fh * fw;
        for (let oy = 0; oy < outH; oy++) {
          for (let ox = 0; ox < outW; ox++) {
            const yo = oy * win.strideH - win.paddingH.before;
            const xo = ox * win.strideW - win.paddingW.before;
            const y0 = tapStart(yo, win.dilationH),
              y1 = tapEnd(yo, H, fh, win.dilationH);
            const x0 = tapStart(xo, win.dilationW),
              x1 = tapEnd(xo, W, fw, win.dilationW);
            let v = bias[g * gOc + oc]!;
            for (let ic = 0; ic < gIc; ic++) {
              const inC = inGroup + ic * H * W;
              const wIc = wOc + ic * fh * fw;
              for (let ky = y0; ky < y1; ky++) {
                const row = inC + (yo + win.dilationH * ky) * W + xo;
                for (let kx = x0; kx < x1; kx++) {
                  v = mulAdd(src[row + win.dilationW * kx]!, weights[wIc + ky * fw + kx]!, v, mode);
                }
              }
            }
            dst[o++] = cxxClamp(v, lo, hi);
          }
        }
      }
    }
  }
}
