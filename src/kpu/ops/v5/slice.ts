import { KpuFault } from '../../../errors.js';
import { alignStrides, copyElement, elemSize, elementCount, forEach2, type StridedTensor } from '../../v5/tensor.js';
import { copyRows } from './copy.js';

/** Output shape of `slice` under nncase's reference semantics. */
export function sliceOutputShape(
  inShape: readonly number[],
  begins: readonly number[],
  ends: readonly number[],
  strides: readonly number[],
): number[] {
  return inShape.map((dim, i) => {
    const b = begins[i];
    const e = ends[i];
    const s = strides[i];
    if (s > 0) {
      const end = Math.min(e, dim);
      return end > b ? Math.ceil((end - b) / s) : 0;
    }
    if (s < 0) {
      // Indices b, b+s, … that are > e and ≥ 0; the output index counts from b even where b ≥ dim.
      return b > e ? Math.floor((b - Math.max(e + 1, 0)) / -s) + 1 : 0;
    }
    throw new KpuFault('BAD_LAYER', `slice: stride 0 on axis ${i}`);
  });
}

/**
 * `kernels::slice`: out[(idx − begin) / stride] = in[idx] for the indices the slice selects.
 * The optimized path (rank ≤ 4, positive strides) and the reference agree whenever `ends`
 * stay inside the input; the reference semantics are implemented.
 */
export function slice(
  input: StridedTensor,
  output: StridedTensor,
  begins: readonly number[],
  ends: readonly number[],
  strides: readonly number[],
): void {
  const n = input.shape.length;
  const outShape = sliceOutputShape(input.shape, begins, ends, strides);
  const size = elemSize(input.datatype);
  const is = alignStrides(input.shape, input.strides);
  const os = alignStrides(outShape, output.strides);
  // Input offset of output index o on axis i: (begins[i] + o·strides[i])·is[i]; skip indices ≥ dim.
  let base = 0;
  for (let i = 0; i < n; i++) base += begins[i] * is[i];
  const step = is.map((s, i) => s * strides[i]);
  const valid = (oIdx: number[]): boolean =>
    oIdx.every((o, i) => {
      const idx = begins[i] + o * strides[i];
      return idx >= 0 && idx < input.shape[i];
    });
  const needsCheck = strides.some((s, i) => s < 0 && begins[i] >= input.shape[i]);
  const ib = input.offset;
  const ob = output.offset;
  if (!needsCheck) {
    if (copyRows({ bytes: input.bytes, offset: ib + size * base }, output, size, outShape, step, os)) return;
    forEach2(outShape, step, os, (a, o) =>
      copyElement(input.bytes, ib + size * (base + a), output.bytes, ob + size * o, size),
    );
    return;
  }
  const idx = new Array<number>(n).fill(0);
  const total = elementCount(outShape);
  for (let k = 0; k < total; k++) {
    let r = k;
    for (let i = n - 1; i >= 0; i--) {
      idx[i] = r % outShape[i];
      r = Math.floor(r / outShape[i]);
    }
    if (!valid(idx)) continue;
    let a = base;
    let o = 0;
    for (let i = 0; i < n; i++) {
      a += idx[i] * step[i];
      o += idx[i] * os[i];
    }
    copyElement(input.bytes, ib + size * a, output.bytes, ob + size * o, size);
  }
}
