import {
  alignStrides,
  copyElement,
  elemSize,
  forEach2,
  inside,
  rawElements,
  rows,
  type StridedTensor,
} from '../../v5/tensor.js';

/** `kernels::copy`: dest[index] = src[index] over `shape` with the two stride sets. */
export function copy(input: StridedTensor, output: StridedTensor): void {
  const size = elemSize(input.datatype);
  const si = alignStrides(input.shape, input.strides);
  const so = alignStrides(input.shape, output.strides);
  if (copyRows(input, output, size, input.shape, si, so)) return;
  const src = input.bytes;
  const dst = output.bytes;
  const ib = input.offset;
  const ob = output.offset;
  forEach2(input.shape, si, so, (a, o) => {
    copyElement(src, ib + size * a, dst, ob + size * o, size);
  });
}

/**
 * The strided element copy of `copy` (element [i…] of `shape` from element offset Σ i·si of `input` to Σ i·so of
 * `output`; offsets may be negative) on typed arrays, a row at a time; false, having copied nothing, when an
 * operand is not aligned to `size` or `size` is not 1, 2 or 4 (the caller then copies byte by byte). A dense row
 * moves in one block unless its source and destination bytes overlap; an overlapping one is copied element by
 * element in order, as the byte-wise copy does.
 */
export function copyRows(
  input: { readonly bytes: Uint8Array; readonly offset: number },
  output: { readonly bytes: Uint8Array; readonly offset: number },
  size: number,
  shape: readonly number[],
  si: readonly number[],
  so: readonly number[],
): boolean {
  const src = rawElements(input, size);
  const dst = rawElements(output, size);
  if (!src || !dst) return false;
  const r = rows(shape, [si, so]);
  if (!inside(r, 0, input, size) || !inside(r, 1, output, size)) return false;
  const [from, to] = r.starts;
  const [la, lo] = r.steps;
  for (let j = 0; j < r.count; j++) copyRow(src.a, src.base + from[j], la, dst.a, dst.base + to[j], lo, r.n);
  return true;
}

type Raw = Uint8Array | Uint16Array | Int32Array;

function copyRow(S: Raw, from: number, la: number, D: Raw, to: number, lo: number, n: number): void {
  if (la === 1 && lo === 1 && n > 8 && !(S.buffer === D.buffer && from < to + n && to < from + n)) {
    D.set(S.subarray(from, from + n), to);
    return;
  }
  for (let k = 0; k < n; k++) D[to + k * lo] = S[from + k * la];
}
