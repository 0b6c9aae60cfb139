import { alignStrides, copyElement, elemSize, forEach2, type StridedTensor } from '../../v5/tensor.js';

/** `kernels::copy`: dest[index] = src[index] over `shape` with the two stride sets. */
export function copy(input: StridedTensor, output: StridedTensor): void {
  const size = elemSize(input.datatype);
  const src = input.bytes;
  const dst = output.bytes;
  const ib = input.offset;
  const ob = output.offset;
  forEach2(input.shape, alignStrides(input.shape, input.strides), alignStrides(input.shape, output.strides), (a, o) => {
    copyElement(src, ib + size * a, dst, ob + size * o, size);
  });
}
