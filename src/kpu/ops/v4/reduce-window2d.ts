/**
 * v4 reduce_window2d (0x08), NCHW float pooling (kpu-numerics §7.2): per output element, value =
 * init_value folded with every in-range tap (padding skipped) in (ky, kx) order; mean then
 * divides by the number of taps (int → float division); min/max/sum return the fold; then
 * the fused clamp. Output H, W from `get_windowed_output_size`.
 */
import { cxxClamp, f32, offset4, tapEnd, tapStart, windowedOutputSize, type Shape4, type Window2d } from '../common.js';
import { ReduceOp, reducerFn } from './reduce.js';

export function reduceWindow2d(
  src: Float32Array,
  dst: Float32Array,
  inShape: Shape4,
  op: number,
  initValue: number,
  win: Window2d,
  clampMin: number,
  clampMax: number,
): void {
  const fn = reducerFn(op);
  const mean = op === ReduceOp.Mean;
  const H = inShape[2]!,
    W = inShape[3]!;
  const outH = windowedOutputSize(H, win.filterH, win.strideH, win.dilationH, win.paddingH);
  const outW = windowedOutputSize(W, win.filterW, win.strideW, win.dilationW, win.paddingW);
  const outShape = [inShape[0]!, inShape[1]!, outH, outW];
  const lo = f32(clampMin),
    hi = f32(clampMax),
    init = f32(initValue);
  for (let n = 0; n < inShape[0]!; n++) {
    for (let c = 0; c < inShape[1]!; c++) {
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          const yo = oy * win.strideH - win.paddingH.before;
          const xo = ox * win.strideW - win.paddingW.before;
          const y0 = tapStart(yo, win.dilationH),
            y1 = tapEnd(yo, H, win.filterH, win.dilationH);
          const x0 = tapStart(xo, win.dilationW),
            x1 = tapEnd(xo, W, win.filterW, win.dilationW);
          let v = init;
          let count = 0;
          for (let ky = y0; ky < y1; ky++) {
            for (let kx = x0; kx < x1; kx++) {
              v = fn(v, src[offset4(inShape, n, c, yo + win.dilationH * ky, xo + win.dilationW * kx)]!);
              count++;
            }
          }
          if (mean) v = f32(v / count);
          dst[offset4(outShape, n, c, oy, ox)] = cxxClamp(v, lo, hi);
        }
      }
    }
  }
}
