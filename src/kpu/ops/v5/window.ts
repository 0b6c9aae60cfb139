/**
 * The window geometry of nncase 1.x's 2-D window kernels (kmodel v5 CONV2D, REDUCE_WINDOW2D): the shared
 * `Window2d` and `windowedOutputSize` of `src/kpu/ops/common.ts`, with the checks a v5 instruction needs because
 * its strides, dilations and paddings come from the bytecode.
 */
import { KpuFault } from '../../../errors.js';
import { tapEnd, tapStart, windowedOutputSize as windowedSize, type Padding } from '../common.js';

/** `get_windowed_output_size`; a stride or dilation below 1, or a window that does not fit, is a `BAD_LAYER`. */
export function windowedOutputSize(size: number, filter: number, stride: number, dilation: number, p: Padding): number {
  if (!(stride >= 1 && dilation >= 1))
    throw new KpuFault('BAD_LAYER', `window stride ${stride} and dilation ${dilation} must be at least 1`);
  const v = windowedSize(size, filter, stride, dilation, p);
  if (v < 0)
    throw new KpuFault(
      'BAD_LAYER',
      `window ${filter} (dilation ${dilation}) does not fit an input of ${size} with padding ${p.before}+${p.after}`,
    );
  return v;
}

/** Valid filter taps [start, end) for an output position (padding taps are skipped). */
export function tapRange(origin: number, dilation: number, filter: number, size: number): [number, number] {
  return [tapStart(origin, dilation), tapEnd(origin, size, filter, dilation)];
}
