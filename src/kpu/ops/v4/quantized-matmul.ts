/**
 * v4 quantized_matmul (0x10): int32 acc = bias[c] + Σ_i (a + a_off)(b + b_off) (wrapping
 * int32), then mcs(acc, out_mul, out_shift) + out_offset, clamped to 0..255 (kpu-numerics §7.2).
 */
import { mulAndCarryShift } from '../common.js';

export interface QuantizedMatmulParams {
  readonly inputAOffset: number;
  readonly inputBOffset: number;
  readonly outputMul: number;
  readonly outputShift: number;
  readonly outputOffset: number;
}

export function quantizedMatmul(
  a: Uint8Array,
  b: Uint8Array,
  out: Uint8Array,
  bias: Int32Array,
  aRows: number,
  aCols: number,
  bCols: number,
  p: QuantizedMatmulParams,
): void {
  const offA = p.inputAOffset | 0;
  const offB = p.inputBOffset | 0;
  for (let oy = 0; oy < aRows; oy++) {
    for (let ox = 0; ox < bCols; ox++) {
      let v = bias[ox]! | 0;
      for (let i = 0; i < aCols; i++) {
        v = (v + Math.imul((a[oy * aCols + i]! + offA) | 0, (b[i * bCols + ox]! + offB) | 0)) | 0;
      }
      const r = (mulAndCarryShift(v, p.outputMul | 0, p.outputShift) + (p.outputOffset | 0)) | 0;
      out[oy * bCols + ox] = r < 0 ? 0 : r > 255 ? 255 : r;
    }
  }
}
