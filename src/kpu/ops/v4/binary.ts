/**
 * v4 binary (0x00), nncase 0.2 `kernels::neutral::binary` (kpu-numerics §7.2): float elementwise op with
 * 4-D NCHW broadcasting, then the fused clamp (std::clamp). Equal input shapes take the
 * flat path over the input size; otherwise every output index maps into each input with
 * `get_reduced_offset` (an index ≥ the dimension becomes 0, i.e. size-1 dims broadcast).
 * min/max are std::min/std::max (`b < a ? b : a`, `a < b ? b : a`).
 */
import {
  cxxClamp,
  cxxMax,
  cxxMin,
  f32,
  offset4,
  reducedOffset4,
  sameShape4,
  shapeSize,
  unsupported,
  type Shape4,
} from '../common.js';

export const BinaryOp = { Add: 0, Sub: 1, Mul: 2, Div: 3, Min: 4, Max: 5 } as const;
export type BinaryOp = (typeof BinaryOp)[keyof typeof BinaryOp];

export function binaryFn(op: number): (a: number, b: number) => number {
  switch (op) {
    case BinaryOp.Add:
      return (a, b) => f32(a + b);
    case BinaryOp.Sub:
      return (a, b) => f32(a - b);
    case BinaryOp.Mul:
      return (a, b) => f32(a * b);
    case BinaryOp.Div:
      return (a, b) => f32(a / b);
    case BinaryOp.Min:
      return cxxMin;
    case BinaryOp.Max:
      return cxxMax;
    default:
      return unsupported(`binary_op ${op}`);
  }
}

export function binary(
  a: Float32Array,
  b: Float32Array,
  out: Float32Array,
  aShape: Shape4,
  bShape: Shape4,
  outShape: Shape4,
  op: number,
  clampMin: number,
  clampMax: number,
): void {
  const fn = binaryFn(op);
  const lo = f32(clampMin);
  const hi = f32(clampMax);
  if (sameShape4(aShape, bShape)) {
    const n = shapeSize(aShape);
    for (let i = 0; i < n; i++) out[i] = cxxClamp(fn(a[i]!, b[i]!), lo, hi);
    return;
  }
  for (let d0 = 0; d0 < outShape[0]!; d0++) {
    for (let d1 = 0; d1 < outShape[1]!; d1++) {
      for (let d2 = 0; d2 < outShape[2]!; d2++) {
        for (let d3 = 0; d3 < outShape[3]!; d3++) {
          const va = a[reducedOffset4(aShape, d0, d1, d2, d3)]!;
          const vb = b[reducedOffset4(bShape, d0, d1, d2, d3)]!;
          out[offset4(outShape, d0, d1, d2, d3)] = cxxClamp(fn(va, vb), lo, hi);
        }
      }
    }
  }
}
