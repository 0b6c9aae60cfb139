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

/**
 * The loop nest of a strided walk over `shape` with several stride sets, simplified without changing the order in
 * which elements are visited: axes of size 1 are dropped and an axis is merged into the one before it wherever every
 * stride set runs on across them (outer stride = inner stride × inner size), so a dense tensor is a single row.
 */
function loopNest(
  shape: readonly number[],
  sets: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const dims: number[] = [];
  const strides: number[][] = sets.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const k = dims.length - 1;
    if (k >= 0 && sets.every((s, j) => strides[j][k] === s[d] * shape[d])) {
      dims[k] *= shape[d];
      sets.forEach((s, j) => (strides[j][k] = s[d]));
    } else {
      dims.push(shape[d]);
      sets.forEach((s, j) => strides[j].push(s[d]));
    }
  }
  return { shape: dims, strides };
}

/**
 * The rows of a strided walk over `shape` with several stride sets, in forEach2's element order (a kernel that works
 * in place reads and writes in the same sequence): row j has `n` elements; in stride set k it starts at element
 * offset `starts[k][j]` and steps `steps[k]`, and no element lies outside [`lowest[k]`, `highest[k]`]. Axes are
 * simplified as in `loopNest`, so rows are as long as the layout allows (one row for dense tensors). Kernels loop
 * over the rows in a plain function of their own, which V8 optimises once for all calls, and check `inside` first.
 */
export interface Rows {
  readonly count: number;
  readonly n: number;
  readonly steps: readonly number[];
  /** Int32Array keeps the offsets small integers for V8; only valid when `inside` holds (|offsets| < 2^31). */
  readonly starts: readonly Int32Array[];
  readonly lowest: readonly number[];
  readonly highest: readonly number[];
}

export function rows(shape: readonly number[], sets: readonly (readonly number[])[]): Rows {
  const { shape: s, strides } = loopNest(shape, sets);
  const empty = shape.some((d) => d === 0);
  const last = s.length - 1;
  const n = empty ? 0 : last < 0 ? 1 : s[last];
  let count = empty ? 0 : 1;
  for (let d = 0; d < last; d++) count *= s[d];
  const starts = sets.map(() => new Int32Array(count));
  const steps = strides.map((st) => (last < 0 ? 0 : st[last]));
  // Extremes per set: Σ over axes of the smaller / larger of 0 and (size − 1)·stride.
  const lowest = strides.map((st) => st.reduce((a, v, d) => a + Math.min(0, (s[d] - 1) * v), 0));
  const highest = strides.map((st) => st.reduce((a, v, d) => a + Math.max(0, (s[d] - 1) * v), 0));
  const r = { count, n, steps, starts, lowest, highest };
  if (count === 0 || last <= 0) return r;
  const idx = new Array<number>(last).fill(0);
  const at = new Array<number>(sets.length).fill(0);
  for (let j = 0; ; j++) {
    for (let k = 0; k < sets.length; k++) starts[k][j] = at[k];
    let d = last - 1;
    while (d >= 0) {
      idx[d]++;
      for (let k = 0; k < sets.length; k++) at[k] += strides[k][d];
      if (idx[d] < s[d]) break;
      for (let k = 0; k < sets.length; k++) at[k] -= strides[k][d] * s[d];
      idx[d] = 0;
      d--;
    }
    if (d < 0) return r;
  }
}

/**
 * Whether every element stride set `k` of `r` reaches, `size` bytes each from byte `offset`, lies inside `bytes`
 * (vacuously for no elements). Fast paths index typed arrays over the whole ArrayBuffer, which neither stop at the
 * tensor's bytes nor throw; where this fails the generic path runs and throws its RangeError as before.
 */
export function inside(r: Rows, k: number, t: { readonly bytes: Uint8Array; readonly offset: number }, size: number) {
  if (r.count === 0 || r.n === 0) return true;
  return t.offset + r.lowest[k] * size >= 0 && t.offset + (r.highest[k] + 1) * size <= t.bytes.length;
}

// ---- typed-array access (the kernels' fast paths) ----

/** kmodel data is little-endian; typed arrays use the host's order, so the fast paths need a little-endian host. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A tensor's elements as a typed array over its whole ArrayBuffer, and the index of element [0, …, 0] in it. */
export interface Elements<A> {
  readonly a: A;
  readonly base: number;
}

type ElementArray = Uint8Array | Uint16Array | Int32Array | Float32Array;

function elements<A extends ElementArray>(
  t: { readonly bytes: Uint8Array; readonly offset: number },
  make: new (buffer: ArrayBufferLike, byteOffset: number, length: number) => A,
  size: number,
): Elements<A> | null {
  const at = t.bytes.byteOffset + t.offset;
  if (at % size !== 0 || (size > 1 && !LITTLE_ENDIAN)) return null;
  const buffer = t.bytes.buffer;
  return { a: new make(buffer, 0, Math.floor(buffer.byteLength / size)), base: at / size };
}

/** float32 elements, or null when element 0 is not 4-byte aligned (or the host is big-endian). */
export const floatElements = (t: StridedTensor): Elements<Float32Array> | null => elements(t, Float32Array, 4);

/**
 * Elements of `size` bytes as raw bits (1, 2 or 4 bytes: Uint8Array, Uint16Array, Int32Array), or null when not
 * aligned, on a big-endian host, or for another size.
 */
export function rawElements(
  t: { readonly bytes: Uint8Array; readonly offset: number },
  size: number,
): Elements<Uint8Array | Uint16Array | Int32Array> | null {
  if (size === 1) return elements(t, Uint8Array, 1);
  if (size === 2) return elements(t, Uint16Array, 2);
  if (size === 4) return elements(t, Int32Array, 4);
  return null;
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
