/**
 * The CPU tensor kernels of nncase 1.x's stackvm (`src/kernels/cpu/{reference,optimized}`),
 * as pure functions over strided views of byte buffers. Float semantics are those of the x86
 * build behind the goldens: every float32 operation rounds once (no FMA contraction), in the
 * order the C++ source evaluates it; float→int conversions behave like x86's cvttss2si.
 * Where nncase's optimized and reference kernels differ on some input, the dispatch rule of
 * `src/kernels/tensor_compute.cpp` decides, and the difference is noted.
 */
import { KpuFault } from '../../errors.js';

const f32 = Math.fround;

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

// ---- element access --------------------------------------------------------------------------

type Get = (dv: DataView, at: number) => number;

const F32_BUF = new Float32Array(1);
const U32_BUF = new Uint32Array(F32_BUF.buffer);

/** float32 → bfloat16 bits, round to nearest even; NaN stays a quiet NaN (nncase `round_to_bfloat16`). */
export function roundToBfloat16(v: number): number {
  F32_BUF[0] = v;
  const u = U32_BUF[0];
  if (Number.isNaN(v)) return 0x7fc0;
  const rounding = 0x7fff + ((u >>> 16) & 1);
  return ((u + rounding) >>> 16) & 0xffff;
}

export function bfloat16ToFloat(bits: number): number {
  U32_BUF[0] = (bits & 0xffff) << 16;
  return F32_BUF[0];
}

/** IEEE binary16 bits → number. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** number → IEEE binary16 bits, round to nearest even. */
export function floatToHalf(v: number): number {
  if (Number.isNaN(v)) return 0x7e00;
  const s = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a >= 65520) return s | 0x7c00;
  if (a < 2 ** -25) return s;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (e < -14) {
    const m = roundHalfEven(a / 2 ** -24);
    return s | m;
  }
  let m = roundHalfEven((a / 2 ** e - 1) * 1024);
  if (m === 1024) {
    m = 0;
    e++;
  }
  if (e > 15) return s | 0x7c00;
  return s | ((e + 15) << 10) | m;
}

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

// ---- float → integer conversions of the x86 build -------------------------------------------

/** Round half to even (`nearbyintf`/`lrintf` in the default rounding mode). */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

const I32_MIN = -2147483648;

/** `(int32_t)x` for a float on x86 (cvttss2si): truncation; NaN and out-of-range give INT32_MIN. */
export function cvtToInt32(x: number): number {
  const t = Math.trunc(x);
  if (!(t >= I32_MIN && t <= 2147483647)) return I32_MIN;
  return t;
}

/** `(int64_t)x` on x86 (cvttss2si, 64-bit): NaN and out-of-range give INT64_MIN. */
function cvtToInt64(x: number): bigint {
  const t = Math.trunc(x);
  if (!(t >= -(2 ** 63) && t < 2 ** 63)) return -(1n << 63n);
  return BigInt(t);
}

// ---- quantize / dequantize / convert ----------------------------------------------------------

function checkDtypes(what: string, ok: boolean, detail: string): void {
  if (!ok) throw new KpuFault('UNSUPPORTED', `${what}: ${detail}`);
}

/**
 * `kernels::dequantize`: out = (float)q · scale + bias, two float roundings (no FMA). The
 * optimized (contiguous) and reference paths compute the same expression. u8 → f32 and
 * i8 → f32 (the reference has both; the 4a33c5520 optimized kernel only u8, and the
 * non-contiguous fallback covers i8, with the same result).
 */
export function dequantize(input: StridedTensor, output: StridedTensor, scale: number, bias: number): void {
  checkDtypes(
    'dequantize',
    (input.datatype === DT.u8 || input.datatype === DT.i8) && output.datatype === DT.f32,
    `datatype ${input.datatype} → ${output.datatype} is not supported`,
  );
  const get = getter(input.datatype);
  const di = view(input);
  const dout = view(output);
  const s = f32(scale);
  const b = f32(bias);
  const ib = input.offset;
  const ob = output.offset;
  const isz = elemSize(input.datatype);
  forEach2(input.shape, alignStrides(input.shape, input.strides), alignStrides(input.shape, output.strides), (a, o) => {
    dout.setFloat32(ob + 4 * o, f32(f32(get(di, ib + isz * a) * s) + b), true);
  });
}

/**
 * `kernels::quantize`: q = clamp(round(x · scale + bias)) with round-half-even. The contiguous
 * (optimized) path converts with `(int32_t)nearbyintf(v)`, the strided (reference) path with
 * `(int32_t)lrintf(v)`; they differ only beyond ±2^31 (INT32_MIN vs the low 32 bits of the
 * 64-bit result) and both are mirrored.
 */
export function quantize(input: StridedTensor, output: StridedTensor, scale: number, bias: number): void {
  checkDtypes(
    'quantize',
    input.datatype === DT.f32 && (output.datatype === DT.u8 || output.datatype === DT.i8),
    `datatype ${input.datatype} → ${output.datatype} is not supported`,
  );
  const optimized = isContiguous(input.shape, input.strides) && isContiguous(input.shape, output.strides);
  const lo = output.datatype === DT.u8 ? 0 : -128;
  const hi = output.datatype === DT.u8 ? 255 : 127;
  const di = view(input);
  const dout = view(output);
  const s = f32(scale);
  const b = f32(bias);
  const ib = input.offset;
  const ob = output.offset;
  forEach2(input.shape, alignStrides(input.shape, input.strides), alignStrides(input.shape, output.strides), (a, o) => {
    const v = f32(f32(di.getFloat32(ib + 4 * a, true) * s) + b);
    let q: number;
    if (optimized) {
      q = cvtToInt32(roundHalfEven(v));
    } else {
      const r = roundHalfEven(v);
      // lrintf returns a long: out of its range (or NaN) it is LONG_MIN, whose low 32 bits are 0.
      q = Number.isFinite(r) && Math.abs(r) < 2 ** 63 ? Number(BigInt.asIntN(32, BigInt(r))) : 0;
    }
    q = q > hi ? hi : q < lo ? lo : q;
    dout.setInt8(ob + o, (q << 24) >> 24);
  });
}

/**
 * `kernels::convert` (reference): `static_cast<TOut>(TIn)` element by element, as compiled for
 * x86-64: float → 8/16/32-bit integers go through a 32-bit truncating conversion and keep the
 * low bits; float → 64-bit and uint32 through a 64-bit one; f32 → bf16 and f16 round to
 * nearest even.
 */
export function convert(input: StridedTensor, output: StridedTensor): void {
  const it = input.datatype;
  const ot = output.datatype;
  checkDtypes(
    'convert',
    it !== DT.f64 && ot !== DT.f64 && !(ot === DT.bf16 && it !== DT.f32) && !(ot === DT.f16 && it !== DT.f32),
    `datatype ${it} → ${ot} is not supported`,
  );
  const di = view(input);
  const dout = view(output);
  const isz = elemSize(it);
  const osz = elemSize(ot);
  const ib = input.offset;
  const ob = output.offset;
  const inFloat = it === DT.f32 || it === DT.f16 || it === DT.bf16;
  const i64 = it === DT.i64 || it === DT.u64;
  forEach2(input.shape, alignStrides(input.shape, input.strides), alignStrides(input.shape, output.strides), (a, o) => {
    const at = ib + isz * a;
    const to = ob + osz * o;
    if (it === ot) {
      copyElement(input.bytes, at, output.bytes, to, isz);
      return;
    }
    if (ot === DT.bf16) {
      dout.setUint16(to, roundToBfloat16(di.getFloat32(at, true)), true);
      return;
    }
    if (ot === DT.f16) {
      dout.setUint16(to, floatToHalf(di.getFloat32(at, true)), true);
      return;
    }
    // Integer source: exact as bigint when 64-bit.
    let iv: bigint | undefined;
    let fv: number | undefined;
    if (inFloat) fv = getter(it)(di, at);
    else if (i64) iv = it === DT.i64 ? di.getBigInt64(at, true) : di.getBigUint64(at, true);
    else iv = BigInt(getter(it)(di, at));
    switch (ot) {
      case DT.f32:
        dout.setFloat32(to, fv !== undefined ? fv : Number(iv), true);
        return;
      case DT.i8:
      case DT.u8:
      case DT.i16:
      case DT.u16:
      case DT.i32: {
        const v = fv !== undefined ? BigInt(cvtToInt32(fv)) : iv!;
        const n = Number(BigInt.asIntN(32, v));
        if (osz === 1) dout.setInt8(to, (n << 24) >> 24);
        else if (osz === 2) dout.setInt16(to, (n << 16) >> 16, true);
        else dout.setInt32(to, n, true);
        return;
      }
      case DT.u32:
      case DT.i64:
      case DT.u64: {
        const v =
          fv !== undefined
            ? ot === DT.u64 && fv >= 2 ** 63 && fv < 2 ** 64
              ? BigInt(Math.trunc(fv))
              : cvtToInt64(fv)
            : iv!;
        if (ot === DT.u32) dout.setUint32(to, Number(BigInt.asUintN(32, v)), true);
        else dout.setBigUint64(to, BigInt.asUintN(64, v), true);
        return;
      }
      default:
        throw new KpuFault('UNSUPPORTED', `convert: datatype ${it} → ${ot} is not supported`);
    }
  });
}

// ---- data movement -----------------------------------------------------------------------------

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
  const ib = input.offset;
  const ob = output.offset;
  forEach2(input.shape, alignStrides(input.shape, input.strides), eff, (a, o) =>
    copyElement(input.bytes, ib + size * a, output.bytes, ob + size * o, size),
  );
}

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

// ---- float arithmetic ----------------------------------------------------------------------

/** std::min / std::max as the C++ library defines them (the first argument wins ties and NaNs). */
const stdMin = (a: number, b: number): number => (b < a ? b : a);
const stdMax = (a: number, b: number): number => (a < b ? b : a);
/** `kernels::detail::clamp(v, lo, hi)` = max(min(v, hi), lo). */
export const clampF = (v: number, lo: number, hi: number): number => stdMax(stdMin(v, hi), lo);

export const BINARY_FUNCS: readonly ((a: number, b: number) => number)[] = [
  (a, b) => f32(a + b),
  (a, b) => f32(a - b),
  (a, b) => f32(a * b),
  (a, b) => f32(a / b),
  stdMin,
  stdMax,
  // powf: Math.pow is correctly rounded in double; rounding to float can differ from glibc's powf by 1 ulp.
  (a, b) => f32(a ** b),
];

/** Broadcast output shape (`get_binary_output_shape`). */
export function binaryOutputShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = i - (n - a.length) < 0 ? 1 : a[i - (n - a.length)];
    const db = i - (n - b.length) < 0 ? 1 : b[i - (n - b.length)];
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else throw new KpuFault('BAD_LAYER', `binary: shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast`);
  }
  return out;
}

/** Strides of a broadcast input on the output's rank: leading axes and size-1 axes get stride 0. */
function broadcastStrides(outShape: readonly number[], shape: readonly number[], strides: readonly number[]): number[] {
  const s = alignStrides(shape, strides);
  const ext = outShape.length - shape.length;
  return outShape.map((_, i) => (i < ext || shape[i - ext] === 1 ? 0 : s[i - ext]));
}

/** `kernels::binary` (reference, float32): out = clamp(op(a, b), low, high) with broadcasting. */
export function binary(
  op: number,
  a: StridedTensor,
  b: StridedTensor,
  output: StridedTensor,
  low: number,
  high: number,
): void {
  const fn = BINARY_FUNCS[op];
  if (!fn) throw new KpuFault('UNSUPPORTED', `binary op ${op} is not supported by nncase's reference binary kernel`);
  const outShape = binaryOutputShape(a.shape, b.shape);
  const da = view(a);
  const db = view(b);
  const dout = view(output);
  const ab = a.offset;
  const bb = b.offset;
  const ob = output.offset;
  forEach3(
    outShape,
    broadcastStrides(outShape, a.shape, a.strides),
    broadcastStrides(outShape, b.shape, b.strides),
    alignStrides(outShape, output.strides),
    (x, y, o) => {
      dout.setFloat32(
        ob + 4 * o,
        clampF(fn(da.getFloat32(ab + 4 * x, true), db.getFloat32(bb + 4 * y, true)), low, high),
        true,
      );
    },
  );
}

export interface Padding {
  readonly before: number;
  readonly after: number;
}

/** `get_windowed_output_size` (C integer division of an int32). */
export function windowedOutputSize(size: number, filter: number, stride: number, dilation: number, p: Padding): number {
  const eff = (filter - 1) * dilation + 1;
  const v = Math.trunc((size + p.before + p.after - eff + stride) / stride);
  if (v < 0)
    throw new KpuFault(
      'BAD_LAYER',
      `window ${filter} (dilation ${dilation}) does not fit an input of ${size} with padding ${p.before}+${p.after}`,
    );
  return v;
}

export interface Window2d {
  readonly filterH: number;
  readonly filterW: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly dilationH: number;
  readonly dilationW: number;
  readonly padH: Padding;
  readonly padW: Padding;
}

/** Valid filter taps [start, end) for an output position (padding taps are skipped). */
function tapRange(origin: number, dilation: number, filter: number, size: number): [number, number] {
  return [
    Math.max(0, Math.trunc((-origin + dilation - 1) / dilation)),
    Math.min(filter, Math.trunc((size - origin + dilation - 1) / dilation)),
  ];
}

/** `kernels::reduce_window2d` (reference, float32 NCHW): mean divides by the count of valid taps. */
export function reduceWindow2d(
  reduceOp: number,
  input: StridedTensor,
  output: StridedTensor,
  init: number,
  w: Window2d,
  low: number,
  high: number,
): number[] {
  const [N, C, H, W] = input.shape;
  const oh = windowedOutputSize(H, w.filterH, w.strideH, w.dilationH, w.padH);
  const ow = windowedOutputSize(W, w.filterW, w.strideW, w.dilationW, w.padW);
  const reducer = [(a: number, b: number) => f32(a + b), stdMin, stdMax, (a: number, b: number) => f32(a + b)][
    reduceOp
  ];
  if (!reducer) throw new KpuFault('UNSUPPORTED', `reduce_window2d: reduce op ${reduceOp}`);
  const is = alignStrides(input.shape, input.strides);
  const os = alignStrides([N, C, oh, ow], output.strides);
  const di = view(input);
  const dout = view(output);
  const initF = f32(init);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let oy = 0; oy < oh; oy++) {
        const yo = oy * w.strideH - w.padH.before;
        const [ys, ye] = tapRange(yo, w.dilationH, w.filterH, H);
        for (let ox = 0; ox < ow; ox++) {
          const xo = ox * w.strideW - w.padW.before;
          const [xs, xe] = tapRange(xo, w.dilationW, w.filterW, W);
          let v = initF;
          let count = 0;
          for (let ky = ys; ky < ye; ky++) {
            const y = yo + w.dilationH * ky;
            for (let kx = xs; kx < xe; kx++) {
              const x = xo + w.dilationW * kx;
              v = reducer(v, di.getFloat32(input.offset + 4 * (n * is[0] + c * is[1] + y * is[2] + x * is[3]), true));
              count++;
            }
          }
          if (reduceOp === 0) v = f32(v / count);
          dout.setFloat32(
            output.offset + 4 * (n * os[0] + c * os[1] + oy * os[2] + ox * os[3]),
            clampF(v, low, high),
            true,
          );
        }
      }
    }
  }
  return [N, C, oh, ow];
}

/**
 * `kernels::conv2d` (reference, float32 NCHW, weights OIHW): value = bias[oc] then += in·w
 * over ic, ky, kx in that order, each product and sum rounded to float; padding taps skipped.
 */
export function conv2d(
  input: StridedTensor,
  weights: StridedTensor,
  bias: StridedTensor,
  output: StridedTensor,
  groups: number,
  w: Window2d,
  low: number,
  high: number,
): number[] {
  const [N, IC, H, W] = input.shape;
  const [OC, , FH, FW] = weights.shape;
  const oh = windowedOutputSize(H, FH, w.strideH, w.dilationH, w.padH);
  const ow = windowedOutputSize(W, FW, w.strideW, w.dilationW, w.padW);
  const gIc = Math.trunc(IC / groups);
  const gOc = Math.trunc(OC / groups);
  const is = alignStrides(input.shape, input.strides);
  const ws = alignStrides(weights.shape, weights.strides);
  const bs = alignStrides([OC], bias.strides);
  const os = alignStrides([N, OC, oh, ow], output.strides);
  const di = view(input);
  const dw = view(weights);
  const db = view(bias);
  const dout = view(output);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < groups; g++) {
      for (let o = 0; o < gOc; o++) {
        const oc = g * gOc + o;
        for (let oy = 0; oy < oh; oy++) {
          const yo = oy * w.strideH - w.padH.before;
          const [ys, ye] = tapRange(yo, w.dilationH, FH, H);
          for (let ox = 0; ox < ow; ox++) {
            const xo = ox * w.strideW - w.padW.before;
            const [xs, xe] = tapRange(xo, w.dilationW, FW, W);
            let v = db.getFloat32(bias.offset + 4 * oc * bs[0], true);
            for (let ic = 0; ic < gIc; ic++) {
              const c = g * gIc + ic;
              for (let ky = ys; ky < ye; ky++) {
                const y = yo + w.dilationH * ky;
                for (let kx = xs; kx < xe; kx++) {
                  const x = xo + w.dilationW * kx;
                  const iv = di.getFloat32(input.offset + 4 * (n * is[0] + c * is[1] + y * is[2] + x * is[3]), true);
                  const wv = dw.getFloat32(
                    weights.offset + 4 * (oc * ws[0] + ic * ws[1] + ky * ws[2] + kx * ws[3]),
                    true,
                  );
                  v = f32(v + f32(iv * wv));
                }
              }
            }
            dout.setFloat32(
              output.offset + 4 * (n * os[0] + oc * os[1] + oy * os[2] + ox * os[3]),
              clampF(v, low, high),
              true,
            );
          }
        }
      }
    }
  }
  return [N, OC, oh, ow];
}

// ---- resize_image --------------------------------------------------------------------------

/** `get_resize_scales`: in/out in float, or (in−1)/(out−1) with align_corners. */
function resizeScale(inSize: number, outSize: number, alignCorners: boolean): number {
  if (alignCorners && outSize > 1) return f32((inSize - 1) / (outSize - 1));
  return f32(inSize / outSize);
}

/** `get_nearest_neighbor`. */
export function nearestIndex(
  o: number,
  size: number,
  scale: number,
  alignCorners: boolean,
  halfPixel: boolean,
): number {
  const after = f32(f32(o + (halfPixel ? 0.5 : 0)) * scale);
  // roundf rounds half away from zero.
  const r = alignCorners ? Math.sign(after) * Math.floor(Math.abs(after) + 0.5) : Math.floor(after);
  let v = Math.min(cvtToInt32(r), size - 1);
  if (halfPixel) v = Math.max(0, v);
  return v;
}

/** `set_resize_bilinear`: the source coordinate and its two neighbours. */
function bilinearCoord(o: number, scale: number, halfPixel: boolean, size: number): [number, number, number] {
  const s = halfPixel ? f32(f32(f32(o + 0.5) * scale) - 0.5) : f32(o * scale);
  const v0 = Math.max(cvtToInt32(Math.floor(s)), 0);
  const v1 = Math.min(cvtToInt32(Math.ceil(s)), size - 1);
  return [s, v0, v1];
}

/**
 * `kernels::resize_bilinear` / `resize_nearest_neighbor` (NCHW). The optimized (dense) and
 * reference (strided) kernels compute the same values. Integer element types are handled as
 * unsigned of their width (nncase maps int8 to uint8, …), bilinear adds 0.5 and truncates.
 */
export function resizeImage(
  mode: number,
  input: StridedTensor,
  output: StridedTensor,
  outH: number,
  outW: number,
  alignCorners: boolean,
  halfPixel: boolean,
): number[] {
  const [N, C, H, W] = input.shape;
  if (!(outH > 0 && outW > 0)) throw new KpuFault('BAD_LAYER', `resize_image to ${outH}×${outW}`);
  const dt = input.datatype;
  const size = elemSize(dt);
  const isFloat = dt === DT.f32;
  if (!isFloat && (dt === DT.f16 || dt === DT.bf16 || dt === DT.f64))
    throw new KpuFault('UNSUPPORTED', `resize_image: datatype ${dt}`);
  const hs = resizeScale(H, outH, alignCorners);
  const wsc = resizeScale(W, outW, alignCorners);
  const is = alignStrides(input.shape, input.strides);
  const os = alignStrides([N, C, outH, outW], output.strides);
  const di = view(input);
  const dout = view(output);
  const uget = isFloat
    ? (at: number) => di.getFloat32(at, true)
    : size === 1
      ? (at: number) => di.getUint8(at)
      : size === 2
        ? (at: number) => di.getUint16(at, true)
        : (at: number) => di.getUint32(at, true);
  const uset = (at: number, v: number): void => {
    if (isFloat) dout.setFloat32(at, v, true);
    else if (size === 1) dout.setUint8(at, cvtToInt32(v) & 0xff);
    else if (size === 2) dout.setUint16(at, cvtToInt32(v) & 0xffff, true);
    else dout.setUint32(at, Number(BigInt.asUintN(32, cvtToInt64(v))), true);
  };
  const inAt = (n: number, c: number, y: number, x: number) =>
    input.offset + size * (n * is[0] + c * is[1] + y * is[2] + x * is[3]);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          const to = output.offset + size * (n * os[0] + c * os[1] + oy * os[2] + ox * os[3]);
          if (mode === 1) {
            const y = nearestIndex(oy, H, hs, alignCorners, halfPixel);
            const x = nearestIndex(ox, W, wsc, alignCorners, halfPixel);
            copyElement(input.bytes, inAt(n, c, y, x), output.bytes, to, size);
            continue;
          }
          const [iy, y0, y1] = bilinearCoord(oy, hs, halfPixel, H);
          const [ix, x0, x1] = bilinearCoord(ox, wsc, halfPixel, W);
          const v0 = uget(inAt(n, c, y0, x0));
          const v1 = uget(inAt(n, c, y1, x0));
          const v2 = uget(inAt(n, c, y0, x1));
          const v3 = uget(inAt(n, c, y1, x1));
          const dy = f32(iy - y0);
          const dx = f32(ix - x0);
          const a0 = f32(f32(1 - dy) * f32(1 - dx));
          const a1 = f32(dy * f32(1 - dx));
          const a2 = f32(f32(1 - dy) * dx);
          const a3 = f32(dy * dx);
          let v = f32(f32(f32(f32(v0 * a0) + f32(v1 * a1)) + f32(v2 * a2)) + f32(v3 * a3));
          if (!isFloat) v = f32(v + 0.5);
          uset(to, v);
        }
      }
    }
  }
  return [N, C, outH, outW];
}
