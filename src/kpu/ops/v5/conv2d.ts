import type { Window2d } from '../common.js';
import { alignStrides, view, type StridedTensor } from '../../v5/tensor.js';
import { clampF } from '../../v5/number-formats.js';
import { tapRange, windowedOutputSize } from './window.js';

const f32 = Math.fround;

/**
 * `kernels::conv2d` (reference, float32 NCHW, weights OIHW): value = bias[oc] then += in·w
 * over ic, ky, kx in that order, each product and sum rounded to float; padding taps skipped.
 */
export function conv2d(
  input: StridedTensor,
  weights: StridedTensor,
  bias: StridedTensor,
  output: StridedTensor,
  groups: number,
  w: Window2d,
  low: number,
  high: number,
): number[] {
  const [N, IC, H, W] = input.shape;
  const [OC, , FH, FW] = weights.shape;
  const oh = windowedOutputSize(H, FH, w.strideH, w.dilationH, w.paddingH);
  const ow = windowedOutputSize(W, FW, w.strideW, w.dilationW, w.paddingW);
  const gIc = Math.trunc(IC / groups);
  const gOc = Math.trunc(OC / groups);
  const is = alignStrides(input.shape, input.strides);
  const ws = alignStrides(weights.shape, weights.strides);
  const bs = alignStrides([OC], bias.strides);
  const os = alignStrides([N, OC, oh, ow], output.strides);
  const di = view(input);
  const dw = view(weights);
  const db = view(bias);
  const dout = view(output);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < groups; g++) {
      for (let o = 0; o < gOc; o++) {
        const oc = g * gOc + o;
        for (let oy = 0; oy < oh; oy++) {
          const yo = oy * w.strideH - w.paddingH.before;
          const [ys, ye] = tapRange(yo, w.dilationH, FH, H);
          for (let ox = 0; ox < ow; ox++) {
            const xo = ox * w.strideW - w.paddingW.before;
            const [xs, xe] = tapRange(xo, w.dilationW, FW, W);
            let v = db.getFloat32(bias.offset + 4 * oc * bs[0], true);
            for (let ic = 0; ic < gIc; ic++) {
              const c = g * gIc + ic;
              for (let ky = ys; ky < ye; ky++) {
                const y = yo + w.dilationH * ky;
                for (let kx = xs; kx < xe; kx++) {
                  const x = xo + w.dilationW * kx;
                  const iv = di.getFloat32(input.offset + 4 * (n * is[0] + c * is[1] + y * is[2] + x * is[3]), true);
                  const wv = dw.getFloat32(
                    weights.offset + 4 * (oc * ws[0] + ic * ws[1] + ky * ws[2] + kx * ws[3]),
                    true,
                  );
                  v = f32(v + f32(iv * wv));
                }
              }
            }
            dout.setFloat32(
              output.offset + 4 * (n * os[0] + oc * os[1] + oy * os[2] + ox * os[3]),
              clampF(v, low, high),
              true,
            );
          }
        }
      }
    }
  }
  return [N, OC, oh, ow];
}
