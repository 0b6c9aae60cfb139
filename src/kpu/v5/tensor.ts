/**
 * Tensors as nncase 1.x's stackvm kernels see them (kmodel v5): a byte buffer, an offset, a datatype code and a shape
 * with element strides (nncase's `strides_t`), and the loops and element accessors the kernels in
 * `src/kpu/ops/v5/` share. Strides follow nncase's conventions: aligned to the trailing dimensions, 0 for a
 * dimension of size 1.
 *
 * The kernels are nncase's CPU kernels (`src/kernels/cpu/{reference,optimized}`) as pure functions over these views.
 * Float semantics are those of the x86 build behind the goldens: every float32 operation rounds once (no FMA
 * contraction), in the order the C++ source evaluates it; float→int conversions behave like x86's cvttss2si
 * (`number-formats.ts`). Where nncase's optimized and reference kernels differ on some input, the dispatch rule of
 * `src/kernels/tensor_compute.cpp` decides, and the kernel's comment notes the difference.
 */
import { KpuFault } from '../../errors.js';
import { bfloat16ToFloat, halfToFloat } from './number-formats.js';

/** A tensor as a kernel sees it: element strides (not bytes), datatype as nncase's code. */
export interface StridedTensor {
  readonly bytes: Uint8Array;
  /** Byte offset of element [0, …, 0] in `bytes`. */
  readonly offset: number;
  readonly datatype: number;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
}

/** nncase datatype codes (`datatypes.def`). */
export const DT = {
  i8: 0,
  i16: 1,
  i32: 2,
  i64: 3,
  u8: 4,
  u16: 5,
  u32: 6,
  u64: 7,
  f16: 8,
  f32: 9,
  f64: 10,
  bf16: 11,
} as const;
export const DT_BYTES = [1, 2, 4, 8, 1, 2, 4, 8, 2, 4, 8, 2];

export function elemSize(datatype: number): number {
  const s = DT_BYTES[datatype];
  if (s === undefined) throw new KpuFault('UNSUPPORTED', `datatype code ${datatype} is unknown`);
  return s;
}

/** Strides aligned to the shape's rank the way nncase's `offset()` does (it uses the trailing dims). */
export function alignStrides(shape: readonly number[], strides: readonly number[]): number[] {
  const n = shape.length;
  const out = new Array<number>(n).fill(0);
  const k = Math.min(n, strides.length);
  for (let i = 0; i < k; i++) out[n - 1 - i] = strides[strides.length - 1 - i];
  return out;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Bytes from element 0 to one past the furthest element the view addresses. */
export function extentBytes(shape: readonly number[], strides: readonly number[], datatype: number): number {
  if (shape.some((d) => d === 0)) return 0;
  const s = alignStrides(shape, strides);
  let last = 0;
  for (let i = 0; i < shape.length; i++) last += (shape[i] - 1) * s[i];
  return (last + 1) * elemSize(datatype);
}

/** nncase's default strides: row-major, with stride 0 for dimensions of size 1. */
export function defaultStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(0);
  let size = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = size;
    size *= shape[i];
    if (shape[i] === 1) s[i] = 0;
  }
  return s;
}

/** `is_contiguous(shape, strides)`: strides equal the default strides. */
export function isContiguous(shape: readonly number[], strides: readonly number[]): boolean {
  const d = defaultStrides(shape);
  return strides.length === d.length && d.every((v, i) => v === strides[i]);
}

/** Calls fn(offA, offB) for every index of `shape` in row-major order (element offsets). */
export function forEach2(
  shape: readonly number[],
  sa: readonly number[],
  sb: readonly number[],
  fn: (a: number, b: number) => void,
): void {
  const n = shape.length;
  if (shape.some((d) => d === 0)) return;
  if (n === 0) {
    fn(0, 0);
    return;
  }
  const idx = new Array<number>(n).fill(0);
  const last = n - 1;
  const L = shape[last];
  const la = sa[last];
  const lb = sb[last];
  let a = 0;
  let b = 0;
  for (;;) {
    for (let i = 0; i < L; i++) fn(a + i * la, b + i * lb);
    let d = last - 1;
    while (d >= 0) {
      idx[d]++;
      a += sa[d];
      b += sb[d];
      if (idx[d] < shape[d]) break;
      a -= sa[d] * shape[d];
      b -= sb[d] * shape[d];
      idx[d] = 0;
      d--;
    }
    if (d < 0) return;
  }
}

/** As forEach2 with three stride sets. */
export function forEach3(
  shape: readonly number[],
  sa: readonly number[],
  sb: readonly number[],
  sc: readonly number[],
  fn: (a: number, b: number, c: number) => void,
): void {
  const n = shape.length;
  if (shape.some((d) => d === 0)) return;
  if (n === 0) {
    fn(0, 0, 0);
    return;
  }
  const idx = new Array<number>(n).fill(0);
  const last = n - 1;
  const L = shape[last];
  let a = 0;
  let b = 0;
  let c = 0;
  for (;;) {
    for (let i = 0; i < L; i++) fn(a + i * sa[last], b + i * sb[last], c + i * sc[last]);
    let d = last - 1;
    while (d >= 0) {
      idx[d]++;
      a += sa[d];
      b += sb[d];
      c += sc[d];
      if (idx[d] < shape[d]) break;
      a -= sa[d] * shape[d];
      b -= sb[d] * shape[d];
      c -= sc[d] * shape[d];
      idx[d] = 0;
      d--;
    }
    if (d < 0) return;
  }
}

// ---- element access ----

type Get = (dv: DataView, at: number) => number;

export function getter(datatype: number): Get {
  switch (datatype) {
    case DT.i8:
      return (dv, at) => dv.getInt8(at);
    case DT.i16:
      return (dv, at) => dv.getInt16(at, true);
    case DT.i32:
      return (dv, at) => dv.getInt32(at, true);
    case DT.i64:
      return (dv, at) => Number(dv.getBigInt64(at, true));
    case DT.u8:
      return (dv, at) => dv.getUint8(at);
    case DT.u16:
      return (dv, at) => dv.getUint16(at, true);
    case DT.u32:
      return (dv, at) => dv.getUint32(at, true);
    case DT.u64:
      return (dv, at) => Number(dv.getBigUint64(at, true));
    case DT.f16:
      return (dv, at) => halfToFloat(dv.getUint16(at, true));
    case DT.f32:
      return (dv, at) => dv.getFloat32(at, true);
    case DT.f64:
      return (dv, at) => dv.getFloat64(at, true);
    case DT.bf16:
      return (dv, at) => bfloat16ToFloat(dv.getUint16(at, true));
    default:
      throw new KpuFault('UNSUPPORTED', `datatype code ${datatype} is unknown`);
  }
}

export function view(t: { bytes: Uint8Array }): DataView {
  return new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
}

/** Bit-for-bit element copy of `size` bytes (kernels that move data never reinterpret it). */
export function copyElement(src: Uint8Array, s: number, dst: Uint8Array, d: number, size: number): void {
  for (let i = 0; i < size; i++) dst[d + i] = src[s + i];
}

/** A kernel's datatype check: `UNSUPPORTED` naming the kernel when `ok` is false. */
export function checkDatatypes(what: string, ok: boolean, detail: string): void {
  if (!ok) throw new KpuFault('UNSUPPORTED', `${what}: ${detail}`);
}
