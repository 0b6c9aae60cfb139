import { KpuFault } from '../../../errors.js';
import { cxxMax, cxxMin, type Window2d } from '../common.js';
import { alignStrides, view, type StridedTensor } from '../../v5/tensor.js';
import { clampF } from '../../v5/number-formats.js';
import { tapRange, windowedOutputSize } from './window.js';

const f32 = Math.fround;

/** `kernels::reduce_window2d` (reference, float32 NCHW): mean divides by the count of valid taps. */
export function reduceWindow2d(
  reduceOp: number,
  input: StridedTensor,
  output: StridedTensor,
  init: number,
  w: Window2d,
  low: number,
  high: number,
): number[] {
  const [N, C, H, W] = input.shape;
  const oh = windowedOutputSize(H, w.filterH, w.strideH, w.dilationH, w.paddingH);
  const ow = windowedOutputSize(W, w.filterW, w.strideW, w.dilationW, w.paddingW);
  const reducer = [(a: number, b: number) => f32(a + b), cxxMin, cxxMax, (a: number, b: number) => f32(a + b)][
    reduceOp
  ];
  if (!reducer) throw new KpuFault('UNSUPPORTED', `reduce_window2d: reduce op ${reduceOp}`);
  const is = alignStrides(input.shape, input.strides);
  const os = alignStrides([N, C, oh, ow], output.strides);
  const di = view(input);
  const dout = view(output);
  const initF = f32(init);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let oy = 0; oy < oh; oy++) {
        const yo = oy * w.strideH - w.paddingH.before;
        const [ys, ye] = tapRange(yo, w.dilationH, w.filterH, H);
        for (let ox = 0; ox < ow; ox++) {
          const xo = ox * w.strideW - w.paddingW.before;
          const [xs, xe] = tapRange(xo, w.dilationW, w.filterW, W);
          let v = initF;
          let count = 0;
          for (let ky = ys; ky < ye; ky++) {
            const y = yo + w.dilationH * ky;
            for (let kx = xs; kx < xe; kx++) {
              const x = xo + w.dilationW * kx;
              v = reducer(v, di.getFloat32(input.offset + 4 * (n * is[0] + c * is[1] + y * is[2] + x * is[3]), true));
              count++;
            }
          }
          if (reduceOp === 0) v = f32(v / count);
          dout.setFloat32(
            output.offset + 4 * (n * os[0] + c * os[1] + oy * os[2] + ox * os[3]),
            clampF(v, low, high),
            true,
          );
        }
      }
    }
  }
  return [N, C, oh, ow];
}
