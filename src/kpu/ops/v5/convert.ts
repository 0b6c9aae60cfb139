/** nncase 1.x `kernels::convert` (kmodel v5 CONVERT). */
import { KpuFault } from '../../../errors.js';
import {
  alignStrides,
  checkDatatypes,
  DT,
  elemSize,
  forEach2,
  getter,
  view,
  type StridedTensor,
} from '../../v5/tensor.js';
import { copy } from './copy.js';
import { cvtToInt32, cvtToInt64, floatToHalf, roundToBfloat16 } from '../../v5/number-formats.js';

/**
 * `kernels::convert` (reference): `static_cast<TOut>(TIn)` element by element, as compiled for
 * x86-64: float → 8/16/32-bit integers go through a 32-bit truncating conversion and keep the
 * low bits; float → 64-bit and uint32 through a 64-bit one; f32 → bf16 and f16 round to
 * nearest even.
 */
export function convert(input: StridedTensor, output: StridedTensor): void {
  const it = input.datatype;
  const ot = output.datatype;
  checkDatatypes(
    'convert',
    it !== DT.f64 && ot !== DT.f64 && !(ot === DT.bf16 && it !== DT.f32) && !(ot === DT.f16 && it !== DT.f32),
    `datatype ${it} → ${ot} is not supported`,
  );
  if (it === ot) {
    // static_cast to the same type: the element bits move unchanged.
    copy(input, output);
    return;
  }
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
