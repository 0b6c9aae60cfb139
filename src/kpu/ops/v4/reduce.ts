/**
 * v4 reduce (0x07), nncase 0.2 `neutral_ops.cpp` `reduce` (kpu-numerics §7.2 corrected by C2):
 * - every output element starts at init_value; the input is walked in NCHW order and
 *   out[reduced index] = op(out, in) (reduced dims have size 1 in out_shape; an index ≥ the
 *   dimension maps to 0);
 * - mean is a plain sum followed by a multiply of every output element by
 *   mul = (float)out_count / (float)in_count (one float division), which is not `sum / k`.
 *   The counts are the element counts of the node's memory ranges (`output.size()`,
 *   `input.size()`): pass views covering exactly those ranges.
 * min/max are std::min/std::max; sum and mean add in float.
 */
import { cxxMax, cxxMin, f32, offset4, reducedOffset4, shapeSize, unsupported, type Shape4 } from '../common.js';

export const ReduceOp = { Mean: 0, Min: 1, Max: 2, Sum: 3 } as const;
export type ReduceOp = (typeof ReduceOp)[keyof typeof ReduceOp];

export function reducerFn(op: number): (acc: number, v: number) => number {
  switch (op) {
    case ReduceOp.Mean:
    case ReduceOp.Sum:
      return (a, b) => f32(a + b);
    case ReduceOp.Min:
      return cxxMin;
    case ReduceOp.Max:
      return cxxMax;
    default:
      return unsupported(`reduce_op ${op}`);
  }
}

export function reduce(
  src: Float32Array,
  dst: Float32Array,
  inShape: Shape4,
  outShape: Shape4,
  op: number,
  initValue: number,
): void {
  const fn = reducerFn(op);
  dst.fill(f32(initValue), 0, shapeSize(outShape));
  for (let d0 = 0; d0 < inShape[0]!; d0++) {
    for (let d1 = 0; d1 < inShape[1]!; d1++) {
      for (let d2 = 0; d2 < inShape[2]!; d2++) {
        for (let d3 = 0; d3 < inShape[3]!; d3++) {
          const o = reducedOffset4(outShape, d0, d1, d2, d3);
          dst[o] = fn(dst[o]!, src[offset4(inShape, d0, d1, d2, d3)]!);
        }
      }
    }
  }
  if (op === ReduceOp.Mean) {
    const mul = f32(f32(dst.length) / f32(src.length));
    for (let i = 0; i < dst.length; i++) dst[i] = f32(dst[i]! * mul);
  }
}
