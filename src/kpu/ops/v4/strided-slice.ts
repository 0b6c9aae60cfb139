/**
 * v4 strided_slice (0x0D).
 *
 * The beta4 runtime kernel ignores every mask field: it walks d = begin; stride > 0 ? d < end
 * : d > end; d += stride on each of the 4 axes and copies in row-major order. The compiler
 * resolves the masks before writing the body (`normalize_strided_slice_begin/end`) and stores
 * begin_mask = end_mask = 0, so the stored begin/end are already final (shrink_axis_mask is
 * stored but already folded into end). `stridedSlice` mirrors the runtime: call it with the
 * body's begin/end/strides as they are.
 * `resolveStridedSlice` is the compiler's normalisation, for TF-style values that still carry
 * masks (e.g. tests, or a hand-built body). Do NOT apply it to bodies written by nncase 0.2:
 * re-normalising is not idempotent — a stored end of −1 (negative stride running to index 0)
 * would become dim − 1 and the slice would come out empty.
 * ellipsis_mask and new_axis_mask are rejected by the compiler (non-zero is unsupported).
 */
import { offset4, unsupported, type Shape4 } from '../common.js';

export interface StridedSliceMasks {
  readonly beginMask: number;
  readonly endMask: number;
  readonly shrinkAxisMask: number;
}

/**
 * The compiler's normalisation: a set begin_mask bit gives 0 (stride > 0) or dim − 1
 * (stride < 0), else a negative begin counts from the end; a set end_mask bit gives dim
 * (stride > 0) or −1, else a negative end counts from the end; shrink_axis sets end =
 * begin + 1. No clamping (as in the compiler).
 */
export function resolveStridedSlice(
  inShape: Shape4,
  begin: Shape4,
  end: Shape4,
  strides: Shape4,
  masks: StridedSliceMasks,
): { begin: [number, number, number, number]; end: [number, number, number, number] } {
  const b: [number, number, number, number] = [0, 0, 0, 0];
  const e: [number, number, number, number] = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    const stride = strides[i]!;
    const dim = inShape[i]!;
    b[i] =
      (masks.beginMask & (1 << i)) !== 0 ? (stride > 0 ? 0 : dim - 1) : begin[i]! >= 0 ? begin[i]! : dim + begin[i]!;
    e[i] = (masks.endMask & (1 << i)) !== 0 ? (stride > 0 ? dim : -1) : end[i]! >= 0 ? end[i]! : dim + end[i]!;
    if ((masks.shrinkAxisMask & (1 << i)) !== 0) e[i] = b[i] + 1;
  }
  return { begin: b, end: e };
}

/** Number of iterations of the runtime's loop on one axis. */
function axisCount(b: number, e: number, s: number): number {
  if (s > 0) return e > b ? Math.ceil((e - b) / s) : 0;
  return b > e ? Math.ceil((b - e) / -s) : 0;
}

/** The output shape the runtime loop produces (4-D; shrunk axes keep size 1). */
export function stridedSliceOutputShape(begin: Shape4, end: Shape4, strides: Shape4): [number, number, number, number] {
  return [0, 1, 2, 3].map((i) => axisCount(begin[i]!, end[i]!, strides[i]!)) as [number, number, number, number];
}

export function stridedSlice(
  src: Uint8Array,
  dst: Uint8Array,
  elemBytes: number,
  inShape: Shape4,
  begin: Shape4,
  end: Shape4,
  strides: Shape4,
): void {
  const cond = (i: number, stop: number, stride: number): boolean => (stride > 0 ? i < stop : i > stop);
  const s0 = strides[0]!,
    s1 = strides[1]!,
    s2 = strides[2]!,
    s3 = strides[3]!;
  // A zero stride makes the reference loop forever; refuse it instead.
  if (s0 === 0 || s1 === 0 || s2 === 0 || s3 === 0) unsupported('strided_slice with a zero stride');
  let o = 0;
  for (let d0 = begin[0]!; cond(d0, end[0]!, s0); d0 += s0) {
    for (let d1 = begin[1]!; cond(d1, end[1]!, s1); d1 += s1) {
      for (let d2 = begin[2]!; cond(d2, end[2]!, s2); d2 += s2) {
        for (let d3 = begin[3]!; cond(d3, end[3]!, s3); d3 += s3) {
          const from = offset4(inShape, d0, d1, d2, d3) * elemBytes;
          for (let k = 0; k < elemBytes; k++) dst[o++] = src[from + k]!;
        }
      }
    }
  }
}
