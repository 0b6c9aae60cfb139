/**
 * v4 pad (0x05), nncase 0.2 `kernels::neutral::pad` with the op's element-size dispatch
 * (kpu-numerics §7.2 with C8):
 * - out_shape = in_shape + before + after per axis; an output element is the pad value when
 *   its index is < before or ≥ out − after on any axis, else in[index − before]. Negative
 *   paddings therefore crop (real files use (0,−3) and (−1,−1)).
 * - The pad value is the first `elemBytes` bytes of the scalar's 4-byte storage,
 *   reinterpreted as the tensor's element type; the scalar's own `type` field is ignored
 *   (`pad_value.as<T>()`, T chosen from the input datatype's size).
 * Works on raw bytes with `elemBytes` ∈ {1, 2, 4}.
 */
import { shapeSize, type Padding, type Shape4 } from '../common.js';

export function padOutputShape(inShape: Shape4, paddings: readonly Padding[]): [number, number, number, number] {
  return [0, 1, 2, 3].map((i) => inShape[i]! + paddings[i]!.before + paddings[i]!.after) as [
    number,
    number,
    number,
    number,
  ];
}

/**
 * `pad` a row at a time: each output row is pad elements, a span of the input row, pad elements (the same bytes as
 * `padReference`, the element loop it is tested against). Where the input and output share bytes, or either is shorter
 * than its shape, the element loop runs instead (its in-order reads and writes are the semantics then).
 */
export function pad(
  src: Uint8Array,
  dst: Uint8Array,
  elemBytes: number,
  inShape: Shape4,
  paddings: readonly Padding[],
  padValueBytes: ArrayLike<number>,
): void {
  const out = padOutputShape(inShape, paddings);
  const overlap =
    src.buffer === dst.buffer &&
    src.byteOffset < dst.byteOffset + dst.length &&
    dst.byteOffset < src.byteOffset + src.length;
  const short =
    src.length < shapeSize(inShape) * elemBytes || (shapeSize(out) > 0 && dst.length < shapeSize(out) * elemBytes);
  if (overlap || short) return padReference(src, dst, elemBytes, inShape, paddings, padValueBytes);
  const [p0, p1, p2, p3] = paddings as [Padding, Padding, Padding, Padding];
  const s1 = inShape[1]!,
    s2 = inShape[2]!,
    s3 = inShape[3]!;
  if (shapeSize(out) <= 0) return;
  // output columns [lo, hi) come from input columns [lo − before, hi − before); the others are padding
  const lo = Math.max(0, p3.before);
  const hi = Math.max(lo, Math.min(out[3], out[3] - p3.after));
  const row = out[3] * elemBytes;
  const value = Array.from({ length: elemBytes }, (_, k) => padValueBytes[k]!);
  const fill = (o: number, n: number): void => {
    if (elemBytes === 1) dst.fill(value[0]!, o, o + n);
    else for (let e = 0; e < n; e++) for (let k = 0; k < elemBytes; k++) dst[o + e * elemBytes + k] = value[k]!;
  };
  let o = 0;
  for (let d0 = 0; d0 < out[0]; d0++) {
    const in0 = (d0 - p0.before) * s1;
    const pad0 = d0 < p0.before || d0 >= out[0] - p0.after;
    for (let d1 = 0; d1 < out[1]; d1++) {
      const in1 = (in0 + d1 - p1.before) * s2;
      const pad1 = pad0 || d1 < p1.before || d1 >= out[1] - p1.after;
      for (let d2 = 0; d2 < out[2]; d2++, o += row) {
        const in2 = (in1 + d2 - p2.before) * s3;
        if (pad1 || d2 < p2.before || d2 >= out[2] - p2.after) {
          fill(o, out[3]);
          continue;
        }
        fill(o, lo);
        const from = (in2 + lo - p3.before) * elemBytes;
        const n = (hi - lo) * elemBytes;
        if (n >= 64) dst.set(src.subarray(from, from + n), o + lo * elemBytes);
        else for (let k = 0; k < n; k++) dst[o + lo * elemBytes + k] = src[from + k]!;
        fill(o + hi * elemBytes, out[3] - hi);
      }
    }
  }
}

/** `kernels::neutral::pad` element by element, in output order. */
export function padReference(
  src: Uint8Array,
  dst: Uint8Array,
  elemBytes: number,
  inShape: Shape4,
  paddings: readonly Padding[],
  padValueBytes: ArrayLike<number>,
): void {
  const out = padOutputShape(inShape, paddings);
  const [p0, p1, p2, p3] = paddings as [Padding, Padding, Padding, Padding];
  const s1 = inShape[1]!,
    s2 = inShape[2]!,
    s3 = inShape[3]!;
  let o = 0;
  if (shapeSize(out) <= 0) return;
  for (let d0 = 0; d0 < out[0]; d0++) {
    const in0 = (d0 - p0.before) * s1;
    const pad0 = d0 < p0.before || d0 >= out[0] - p0.after;
    for (let d1 = 0; d1 < out[1]; d1++) {
      const in1 = (in0 + d1 - p1.before) * s2;
      const pad1 = pad0 || d1 < p1.before || d1 >= out[1] - p1.after;
      for (let d2 = 0; d2 < out[2]; d2++) {
        const in2 = (in1 + d2 - p2.before) * s3;
        const pad2 = pad1 || d2 < p2.before || d2 >= out[2] - p2.after;
        for (let d3 = 0; d3 < out[3]; d3++) {
          if (pad2 || d3 < p3.before || d3 >= out[3] - p3.after) {
            for (let k = 0; k < elemBytes; k++) dst[o++] = padValueBytes[k]!;
          } else {
            const from = (in2 + d3 - p3.before) * elemBytes;
            for (let k = 0; k < elemBytes; k++) dst[o++] = src[from + k]!;
          }
        }
      }
    }
  }
}
