/**
 * v4 quantized_binary (0x11), nncase 0.2 `kernels::neutral::quantized_binary` and the op
 * table of `neutral_ops.cpp` (kpu-numerics §7.2 with C1):
 *   a' = mcs(a + in_a_offset, in_a_mul, in_a_shift), b' likewise (int32);
 *   v  = mcs(op(a', b'), out_mul, out_shift) + out_offset, clamped to 0..255,
 * where mcs rounds half up with a 64-bit product truncated to int32 (`mulAndCarryShift`)
 * and op works in int32 (wrapping): add, sub, mul, min, max, and
 *   div = (a' + b'/2) / b' with both divisions truncating toward zero (C1).
 *
 * Division by zero (b' = 0) is undefined in the reference (SIGFPE on the x86 simulator, so
 * no golden value exists). We define it as the K210 computes it: RISC-V `div` by zero
 * returns −1, so op = −1 (then mcs and the offset apply as usual). Likewise INT32_MIN / −1
 * gives INT32_MIN (RISC-V; x86 would trap). Both modes use this.
 * Broadcasting: as `binary` (flat path for equal shapes, else get_reduced_offset).
 */
import {
  carryShifter,
  idiv,
  mulAndCarryShift,
  offset4,
  reducedOffset4,
  sameShape4,
  shapeSize,
  unsupported,
  type Shape4,
} from '../common.js';
import { BinaryOp } from './binary.js';

export interface QuantizedBinaryParams {
  readonly inputAOffset: number;
  readonly inputAMul: number;
  readonly inputAShift: number;
  readonly inputBOffset: number;
  readonly inputBMul: number;
  readonly inputBShift: number;
  readonly outputOffset: number;
  readonly outputMul: number;
  readonly outputShift: number;
}

/** int32 `(a + b/2) / b` with the b = 0 and overflow cases defined as on RISC-V. */
export function quantizedDiv(a: number, b: number): number {
  if (b === 0) return -1;
  const n = (a + idiv(b, 2)) | 0;
  return idiv(n, b); // INT32_MIN / −1 = 2^31, wrapped by `| 0` to INT32_MIN
}

function quantizedOp(op: number): (a: number, b: number) => number {
  switch (op) {
    case BinaryOp.Add:
      return (a, b) => (a + b) | 0;
    case BinaryOp.Sub:
      return (a, b) => (a - b) | 0;
    case BinaryOp.Mul:
      return Math.imul;
    case BinaryOp.Div:
      return quantizedDiv;
    case BinaryOp.Min:
      return (a, b) => (b < a ? b : a);
    case BinaryOp.Max:
      return (a, b) => (a < b ? b : a);
    default:
      return unsupported(`quantized binary_op ${op}`);
  }
}

export function quantizedBinary(
  a: Uint8Array,
  b: Uint8Array,
  out: Uint8Array,
  aShape: Shape4,
  bShape: Shape4,
  outShape: Shape4,
  op: number,
  p: QuantizedBinaryParams,
): void {
  quantizedBinaryKernel(aShape, bShape, outShape, op, p)(a, b, out);
}

/**
 * `quantizedBinary` for one layer's shapes and parameters, worked out once (an op's prepare step):
 * a′ and b′ depend on one byte each (256 values), so the output depends on the byte pair only. Equal
 * shapes of 1024 elements and more read it from a table of the 65 536 pairs, filled as pairs occur: a
 * run computes only the pairs it meets for the first time (a model's feature maps meet a small part of
 * them; computing all 65 536 cost a run ~2 ms an op).
 */
export function quantizedBinaryKernel(
  aShape: Shape4,
  bShape: Shape4,
  outShape: Shape4,
  op: number,
  p: QuantizedBinaryParams,
): (a: Uint8Array, b: Uint8Array, out: Uint8Array) => void {
  const fn = quantizedOp(op);
  const ta = new Int32Array(256);
  const tb = new Int32Array(256);
  for (let q = 0; q < 256; q++) {
    ta[q] = mulAndCarryShift((q + p.inputAOffset) | 0, p.inputAMul | 0, p.inputAShift);
    tb[q] = mulAndCarryShift((q + p.inputBOffset) | 0, p.inputBMul | 0, p.inputBShift);
  }
  const outShift = carryShifter(p.outputMul | 0, p.outputShift);
  const offO = p.outputOffset | 0;
  const one = (qa: number, qb: number): number => {
    const v = (outShift(fn(ta[qa]!, tb[qb]!)) + offO) | 0;
    return v < 0 ? 0 : v > 255 ? 255 : v;
  };
  const flat = sameShape4(aShape, bShape);
  const n = shapeSize(outShape);
  /** one(qa, qb) at (qa << 8) | qb, or −1 while that pair has not occurred */
  let table: Int16Array | null = null;
  return (a, b, out) => {
    if (flat && n >= 1024) {
      const t = (table ??= new Int16Array(65536).fill(-1));
      for (let i = 0; i < n; i++) {
        const k = (a[i]! << 8) | b[i]!;
        let v = t[k]!;
        if (v < 0) v = t[k] = one(a[i]!, b[i]!);
        out[i] = v;
      }
      return;
    }
    if (flat) {
      for (let i = 0; i < n; i++) out[i] = one(a[i]!, b[i]!);
      return;
    }
    for (let d0 = 0; d0 < outShape[0]!; d0++) {
      for (let d1 = 0; d1 < outShape[1]!; d1++) {
        for (let d2 = 0; d2 < outShape[2]!; d2++) {
          for (let d3 = 0; d3 < outShape[3]!; d3++) {
            out[offset4(outShape, d0, d1, d2, d3)] = one(
              a[reducedOffset4(aShape, d0, d1, d2, d3)]!,
              b[reducedOffset4(bShape, d0, d1, d2, d3)]!,
            );
          }
        }
      }
    }
  };
}
