/** nncase 1.x `kernels::quantize` and `kernels::dequantize` (kmodel v5 QUANTIZE, DEQUANTIZE). */
import {
  alignStrides,
  checkDatatypes,
  DT,
  elemSize,
  forEach2,
  getter,
  isContiguous,
  view,
  type StridedTensor,
} from '../../v5/tensor.js';
import { cvtToInt32, roundHalfEven } from '../../v5/number-formats.js';

const f32 = Math.fround;

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
