import { KpuFault } from '../../../errors.js';
import { alignStrides, copyElement, elemSize, forEach2, type StridedTensor } from '../../v5/tensor.js';
import { copyRows } from './copy.js';

/** `kernels::transpose` (reference): out[index[perm[0]], …] = in[index]. */
export function transpose(input: StridedTensor, output: StridedTensor, perm: readonly number[]): void {
  const n = input.shape.length;
  if (perm.length !== n || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new KpuFault('BAD_LAYER', `transpose: perm [${perm.join(', ')}] is not a permutation of ${n} axes`);
  }
  const size = elemSize(input.datatype);
  const os = alignStrides(
    perm.map((p) => input.shape[p]),
    output.strides,
  );
  // out_index[i] = index[perm[i]] → input axis perm[i] moves along output stride os[i].
  const eff = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) eff[perm[i]] = os[i];
  const si = alignStrides(input.shape, input.strides);
  if (copyRows(input, output, size, input.shape, si, eff)) return;
  const ib = input.offset;
  const ob = output.offset;
  forEach2(input.shape, si, eff, (a, o) => copyElement(input.bytes, ib + size * a, output.bytes, ob + size * o, size));
}
