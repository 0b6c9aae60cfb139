/** nncase 1.x `kernels::quantize` and `kernels::dequantize` (kmodel v5 QUANTIZE, DEQUANTIZE). */
import {
  alignStrides,
  checkDatatypes,
  DT,
  elemSize,
  floatElements,
  forEach2,
  getter,
  isContiguous,
  inside,
  rawElements,
  rows,
  view,
  type StridedTensor,
} from '../../v5/tensor.js';
import { cvtToInt32, roundHalfEven, roundHalfEvenSigned0 } from '../../v5/number-formats.js';
import { dequantizeRowWasm, quantizeRowWasm } from '../../wasm/quantize.js';

const f32 = Math.fround;
/** Dense rows at least this long go through WebAssembly (src/kpu/wasm/quantize.ts); shorter ones cost more to copy. */
const WASM_ROW = 64;

/**
 * `kernels::dequantize`: out = (float)q · scale + bias, two float roundings (no FMA). The
 * optimized (contiguous) and reference paths compute the same expression. u8 → f32 and
 * i8 → f32 (the reference has both; the 4a33c5520 optimized kernel only u8, and the
 * non-contiguous fallback covers i8, with the same result).
 */
export function dequantize(input: StridedTensor, output: StridedTensor, scale: number, bias: number): void {
  checkDatatypes(
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
  const si = alignStrides(input.shape, input.strides);
  const so = alignStrides(input.shape, output.strides);
  const q = rawElements(input, 1);
  const out = floatElements(output);
  const r = rows(input.shape, [si, so]);
  if (q && out && inside(r, 0, input, 1) && inside(r, 1, output, 4)) {
    const [from, to] = r.starts;
    const [la, lo] = r.steps;
    const sign = input.datatype === DT.i8 ? 24 : 0;
    const wasm = la === 1 && lo === 1 && r.n >= WASM_ROW;
    for (let j = 0; j < r.count; j++) {
      if (wasm && dequantizeRowWasm(q.a as Uint8Array, q.base + from[j], out.a, out.base + to[j], r.n, s, b, sign > 0))
        continue;
      dequantizeRow(q.a, q.base + from[j], la, out.a, out.base + to[j], lo, r.n, sign, s, b);
    }
    return;
  }
  forEach2(input.shape, si, so, (a, o) => {
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
  checkDatatypes(
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
  /** The integer before the clamp: either path's conversion of the rounded value. */
  const toInt = (r: number): number => {
    if (optimized) return cvtToInt32(r);
    // lrintf returns a long: out of its range (or NaN) it is LONG_MIN, whose low 32 bits are 0.
    return Number.isFinite(r) && Math.abs(r) < 2 ** 63 ? Number(BigInt.asIntN(32, BigInt(r))) : 0;
  };
  const si = alignStrides(input.shape, input.strides);
  const so = alignStrides(input.shape, output.strides);
  const x = floatElements(input);
  const out = rawElements(output, 1);
  const r = rows(input.shape, [si, so]);
  if (x && out && inside(r, 0, input, 4) && inside(r, 1, output, 1)) {
    const [from, to] = r.starts;
    const [la, lq] = r.steps;
    // the WebAssembly rows are the contiguous kernel's (its conversion at the int32 range's ends)
    const wasm = optimized && la === 1 && lq === 1 && r.n >= WASM_ROW;
    for (let j = 0; j < r.count; j++) {
      if (wasm && quantizeRowWasm(x.a, x.base + from[j], out.a as Uint8Array, out.base + to[j], r.n, s, b, lo < 0))
        continue;
      quantizeRow(x.a, x.base + from[j], la, out.a, out.base + to[j], lq, r.n, s, b, lo, hi, toInt);
    }
    return;
  }
  forEach2(input.shape, si, so, (a, o) => {
    const v = f32(f32(di.getFloat32(ib + 4 * a, true) * s) + b);
    let q = toInt(roundHalfEven(v));
    q = q > hi ? hi : q < lo ? lo : q;
    dout.setInt8(ob + o, (q << 24) >> 24);
  });
}

/**
 * One row of dequantize on typed arrays (dense rows in a loop of their own); `sign` 24 re-signs int8 bits read as
 * uint8.
 */
function dequantizeRow(
  Q: Uint8Array | Uint16Array | Int32Array,
  from: number,
  la: number,
  O: Float32Array,
  to: number,
  lo: number,
  n: number,
  sign: number,
  s: number,
  b: number,
): void {
  if (la === 1 && lo === 1) for (let k = 0; k < n; k++) O[to + k] = f32(f32(((Q[from + k] << sign) >> sign) * s) + b);
  else for (let k = 0; k < n; k++) O[to + k * lo] = f32(f32(((Q[from + k * la] << sign) >> sign) * s) + b);
}

/**
 * One row of quantize on typed arrays (a loop of its own for dense rows, the common case). Both conversions keep a
 * rounded value inside the int32 range as it is; only values outside it (and NaN) go through `toInt`. A uint8 store
 * keeps the low 8 bits, as setInt8 does.
 */
function quantizeRow(
  X: Float32Array,
  from: number,
  la: number,
  O: Uint8Array | Uint16Array | Int32Array,
  to: number,
  lq: number,
  n: number,
  s: number,
  b: number,
  lo: number,
  hi: number,
  toInt: (r: number) => number,
): void {
  if (la === 1 && lq === 1) for (let k = 0; k < n; k++) O[to + k] = quantizeOne(X[from + k], s, b, lo, hi, toInt);
  else for (let k = 0; k < n; k++) O[to + k * lq] = quantizeOne(X[from + k * la], s, b, lo, hi, toInt);
}

/**
 * clamp(convert(round(x·scale + bias))) as an int32 (small integers keep V8 from boxing). Below 10^9 in magnitude the
 * rounded value is an int32 and `| 0` keeps it; zero's sign does not reach the stored byte.
 */
function quantizeOne(x: number, s: number, b: number, lo: number, hi: number, toInt: (r: number) => number): number {
  const v = f32(f32(x * s) + b);
  const q = v > -1e9 && v < 1e9 ? roundHalfEvenSigned0(v) | 0 : quantizeWide(v, toInt);
  return q > hi ? hi : q < lo ? lo : q;
}

function quantizeWide(v: number, toInt: (r: number) => number): number {
  const r = roundHalfEvenSigned0(v);
  return r >= -2147483648 && r < 2147483648 ? r | 0 : toInt(r) | 0;
}
