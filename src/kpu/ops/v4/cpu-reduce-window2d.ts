/**
 * v4 cpu_reduce_window2d (0x1003): reduce_window2d on NHWC (N, H, W, C) for the CPU target.
 * The beta4 CPU runtime implements mean, min and max only (sum is an error there).
 * Not in any golden.
 */
import { cxxClamp, f32, unsupported, type Shape4, type Window2d } from '../common.js';
import { forEachCpuWindow } from './cpu-conv2d.js';
import { ReduceOp, reducerFn } from './reduce.js';

export function cpuReduceWindow2d(
  src: Float32Array,
  dst: Float32Array,
  inShapeNhwc: Shape4,
  op: number,
  initValue: number,
  win: Window2d,
  clampMin: number,
  clampMax: number,
): void {
  if (op === ReduceOp.Sum) unsupported('cpu_reduce_window2d with reduce_sum');
  const fn = reducerFn(op);
  const mean = op === ReduceOp.Mean;
  const H = inShapeNhwc[1]!,
    W = inShapeNhwc[2]!,
    C = inShapeNhwc[3]!;
  const lo = f32(clampMin),
    hi = f32(clampMax),
    init = f32(initValue);
  let o = 0;
  forEachCpuWindow(inShapeNhwc, win, (n, yo, xo, y0, y1, x0, x1) => {
    const inBatch = n * H * W * C;
    for (let c = 0; c < C; c++) {
      let v = init;
      let count = 0;
      for (let ky = y0; ky < y1; ky++) {
        for (let kx = x0; kx < x1; kx++) {
          v = fn(v, src[inBatch + ((yo + win.dilationH * ky) * W + xo + win.dilationW * kx) * C + c]!);
          count++;
        }
      }
      if (mean) v = f32(v / count);
      dst[o++] = cxxClamp(v, lo, hi);
    }
  });
}
