/**
 * v4 quantized_conv2d (0x0F), uint8 NCHW grouped convolution (kpu-numerics §7.2): int32 acc = bias[oc] +
 * Σ (x + input_offset)(w + filter_offset) over the valid taps (padding contributes nothing;
 * int32 wrapping), then mcs(acc, output_mul, output_shift) + output_offset, clamp 0..255.
 * Weights OIHW (I = C/groups).
 */
import { mulAndCarryShift, tapEnd, tapStart, type Shape4, type Window2d } from '../common.js';
import { conv2dOutputShape } from './conv2d.js';

export interface QuantizedConv2dParams {
  readonly inputOffset: number;
  readonly filterOffset: number;
  readonly outputMul: number;
  readonly outputShift: number;
  readonly outputOffset: number;
}

export function quantizedConv2d(
  src: Uint8Array,
  dst: Uint8Array,
  weights: Uint8Array,
  bias: Int32Array,
  inShape: Shape4,
  groups: number,
  outChannels: number,
  win: Window2d,
  p: QuantizedConv2dParams,
): void {
  const [N, C, H, W] = [inShape[0]!, inShape[1]!, inShape[2]!, inShape[3]!];
  const [, , outH, outW] = conv2dOutputShape(inShape, outChannels, win);
  const gIc = Math.trunc(C / groups);
  const gOc = Math.trunc(outChannels / groups);
  const fh = win.filterH,
    fw = win.filterW;
  const inOff = p.inputOffset | 0,
    wOff = p.filterOffset | 0,
    outOff = p.outputOffset | 0;
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
            let v = bias[g * gOc + oc]! | 0;
            for (let ic = 0; ic < gIc; ic++) {
              const inC = inGroup + ic * H * W;
              const wIc = wOc + ic * fh * fw;
              for (let ky = y0; ky < y1; ky++) {
                const row = inC + (yo + win.dilationH * ky) * W + xo;
                for (let kx = x0; kx < x1; kx++) {
                  const x = (src[row + win.dilationW * kx]! + inOff) | 0;
                  const w = (weights[wIc + ky * fw + kx]! + wOff) | 0;
                  v = (v + Math.imul(x, w)) | 0;
                }
              }
            }
            const r = (mulAndCarryShift(v, p.outputMul | 0, p.outputShift) + outOff) | 0;
            dst[o++] = r < 0 ? 0 : r > 255 ? 255 : r;
          }
        }
      }
    }
  }
}
