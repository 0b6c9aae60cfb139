/**
 * nncase 1.x `kernels::pad` (reference): the output has in + before + after elements on every axis; an index inside
 * the input copies its element bit for bit, one in the padding takes the pad value (`constant`) or the element the
 * mode maps it to (`reflect`: mirrored without the edge, `symmetric`: mirrored with it, `edge`: the nearest edge).
 * Negative paddings crop. Only 1-, 2- and 4-byte elements, as upstream.
 */
import { KpuFault } from '../../../errors.js';
import { alignStrides, copyElement, defaultStrides, elemSize, forEach2, type StridedTensor } from '../../v5/tensor.js';
import type { Padding } from '../common.js';

/** nncase 1.x `pad_mode_t`, in order. */
export const V5_PAD_MODES = ['constant', 'reflect', 'symmetric', 'edge'] as const;

export function padOutputShape(shape: readonly number[], paddings: readonly Padding[]): number[] {
  return shape.map((d, i) => d + paddings[i].before + paddings[i].after);
}

/** Where output index `o` on an axis of `size` reads from, or -1 for the pad value. */
function source(o: number, size: number, p: Padding, mode: number): number {
  const i = o - p.before;
  if (i >= 0 && i < size) return i;
  if (mode === 0) return -1;
  if (i < 0) return mode === 1 ? -i : mode === 2 ? -i - 1 : 0;
  return mode === 1 ? 2 * size - 2 - i : mode === 2 ? 2 * size - 1 - i : size - 1;
}

/** `value` holds the pad value's bytes (the element size of the datatype). */
export function pad(
  input: StridedTensor,
  output: StridedTensor,
  paddings: readonly Padding[],
  mode: number,
  value: Uint8Array,
): void {
  const size = elemSize(input.datatype);
  if (size !== 1 && size !== 2 && size !== 4)
    throw new KpuFault('UNSUPPORTED', `pad of ${size}-byte elements (nncase's pad takes 1, 2 and 4 bytes)`);
  if (mode >= V5_PAD_MODES.length) throw new KpuFault('UNSUPPORTED', `pad_mode ${mode} is not a pad_mode_t`);
  const inShape = input.shape;
  const n = inShape.length;
  if (paddings.length !== n) throw new KpuFault('BAD_LAYER', `pad: ${paddings.length} paddings for a rank-${n} tensor`);
  const outShape = padOutputShape(inShape, paddings);
  const inStrides = alignStrides(inShape, input.strides);
  const outStrides = alignStrides(outShape, output.strides);
  // Walk the output densely (index = its row-major position), and map each index back to the input.
  const dense = defaultStrides(outShape);
  const divisors = outShape.map((_, i) => outShape.slice(i + 1).reduce((a, d) => a * d, 1));
  forEach2(outShape, outStrides, dense, (o, k) => {
    let at = 0;
    for (let axis = 0; axis < n; axis++) {
      const idx = Math.floor(k / divisors[axis]) % outShape[axis];
      const s = source(idx, inShape[axis], paddings[axis], mode);
      if (s < 0 && mode === 0) {
        output.bytes.set(value.subarray(0, size), output.offset + size * o);
        return;
      }
      if (s < 0 || s >= inShape[axis])
        throw new KpuFault(
          'BAD_LAYER',
          `pad ${V5_PAD_MODES[mode]}: a padding of ${paddings[axis].before}/${paddings[axis].after} ` +
            `on an axis of ${inShape[axis]} reaches past the input`,
        );
      at += s * inStrides[axis];
    }
    copyElement(input.bytes, input.offset + size * at, output.bytes, output.offset + size * o, size);
  });
}
