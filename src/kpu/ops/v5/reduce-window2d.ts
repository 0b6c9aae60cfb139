import { KpuFault } from '../../../errors.js';
import { cxxMax, cxxMin, type Window2d } from '../common.js';
import { alignStrides, floatElements, inside, rows, view, type Elements, type StridedTensor } from '../../v5/tensor.js';
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
  const initF = f32(init);
  const fi = floatElements(input);
  const fo = floatElements(output);
  if (fi && fo && inside(rows(input.shape, [is]), 0, input, 4) && inside(rows([N, C, oh, ow], [os]), 0, output, 4)) {
    reduceRows(reduceOp, reducer, fi, fo, [N, C, H, W], is, os, oh, ow, initF, w, low, high);
    return [N, C, oh, ow];
  }
  const di = view(input);
  const dout = view(output);
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

/**
 * reduceWindow2d on typed arrays: the same taps in the same order (the result of min and max depends on it for
 * NaNs and signed zeros), with the offsets hoisted out of the tap loops; max, the pooling YOLOX-style models use,
 * has its comparison written out.
 */
function reduceRows(
  reduceOp: number,
  reducer: (a: number, b: number) => number,
  fi: Elements<Float32Array>,
  fo: Elements<Float32Array>,
  [N, C, H, W]: readonly number[],
  is: readonly number[],
  os: readonly number[],
  oh: number,
  ow: number,
  initF: number,
  w: Window2d,
  low: number,
  high: number,
): void {
  const I = fi.a;
  const O = fo.a;
  // init is a float32 value already; f32 and `* 1` keep V8 from boxing v (see the BINARY row functions).
  const init = f32(initF);
  const xs = new Int32Array(ow);
  const xe = new Int32Array(ow);
  for (let ox = 0; ox < ow; ox++)
    [xs[ox], xe[ox]] = tapRange(ox * w.strideW - w.paddingW.before, w.dilationW, w.filterW, W);
  const dx = w.dilationW * is[3];
  // (a NaN init stays on the tap-by-tap path: `separable` negates for min, and a NaN's sign bit is not kept)
  const rowBuf = (reduceOp === 1 || reduceOp === 2) && init === init ? new Float32Array(H * ow) : null;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const plane = fi.base + n * is[0] + c * is[1];
      if (rowBuf) {
        separable(
          reduceOp === 2,
          I,
          plane,
          is,
          rowBuf,
          O,
          fo.base + n * os[0] + c * os[1],
          os,
          H,
          oh,
          ow,
          xs,
          xe,
          dx,
          init,
          w,
          low,
          high,
        );
        continue;
      }
      for (let oy = 0; oy < oh; oy++) {
        const yo = oy * w.strideH - w.paddingH.before;
        const [ys, ye] = tapRange(yo, w.dilationH, w.filterH, H);
        const to = fo.base + n * os[0] + c * os[1] + oy * os[2];
        for (let ox = 0; ox < ow; ox++) {
          const x0 = (ox * w.strideW - w.paddingW.before) * is[3];
          const k0 = xs[ox];
          const k1 = xe[ox];
          let v = init;
          for (let ky = ys; ky < ye; ky++) {
            const row = plane + (yo + w.dilationH * ky) * is[2] + x0;
            if (reduceOp === 2) {
              for (let kx = k0; kx < k1; kx++) {
                const x = I[row + kx * dx];
                v = v < x ? x : v;
              }
            } else for (let kx = k0; kx < k1; kx++) v = f32(reducer(v, I[row + kx * dx]));
          }
          if (reduceOp === 0) v = f32(v / (Math.max(0, ye - ys) * Math.max(0, k1 - k0)));
          const m = high < v ? high * 1 : v;
          O[to + ox * os[3]] = m < low ? low * 1 : m;
        }
      }
    }
  }
}

/**
 * Max (or min) pooling of one plane in two passes: each input row's maximum over every output column's taps,
 * then each output's maximum over its rows. The tap-by-tap loop replaces its value only by a strictly greater
 * (smaller) one, so it ends with init or the first tap in row-major order that no later tap exceeds: with
 * ties (+0 and −0) and NaNs (never taken, as no comparison with them holds) that is a choice of bits, not only a
 * value. Both passes keep the first of equals in their own order, so each output is the same tap (or init), and
 * the same bits.
 */
function separable(
  isMax: boolean,
  I: Float32Array,
  plane: number,
  is: readonly number[],
  rowBuf: Float32Array,
  O: Float32Array,
  out: number,
  os: readonly number[],
  H: number,
  oh: number,
  ow: number,
  xs: Int32Array,
  xe: Int32Array,
  dx: number,
  init: number,
  w: Window2d,
  low: number,
  high: number,
): void {
  const sy = is[2];
  const sx = is[3];
  const strideW = w.strideW;
  const padW = w.paddingW.before;
  const sign = isMax ? 1 : -1;
  // max, or min as the max of the negated values (negation is exact and keeps the order of equals)
  const start = init * sign;
  for (let y = 0; y < H; y++) {
    const row = plane + y * sy;
    for (let ox = 0; ox < ow; ox++) {
      const x0 = row + (ox * strideW - padW) * sx;
      const k1 = xe[ox];
      let v = start;
      for (let kx = xs[ox]; kx < k1; kx++) {
        const x = I[x0 + kx * dx] * sign;
        if (v < x) v = x;
      }
      rowBuf[y * ow + ox] = v;
    }
  }
  const strideH = w.strideH;
  const padH = w.paddingH.before;
  const dilH = w.dilationH;
  const oy2 = os[2];
  const ox3 = os[3];
  for (let oy = 0; oy < oh; oy++) {
    const yo = oy * strideH - padH;
    const [ys, ye] = tapRange(yo, dilH, w.filterH, H);
    const to = out + oy * oy2;
    for (let ox = 0; ox < ow; ox++) {
      let v = start;
      for (let ky = ys; ky < ye; ky++) {
        const x = rowBuf[(yo + dilH * ky) * ow + ox];
        if (v < x) v = x;
      }
      v *= sign;
      const m = high < v ? high * 1 : v;
      O[to + ox * ox3] = m < low ? low * 1 : m;
    }
  }
}
