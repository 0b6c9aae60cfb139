/**
 * v4 matmul (0x04): out[r][c] = clamp(bias[c] + Σ_i a[r][i]·b[i][c]) with a sequential float
 * accumulation starting at the bias (kpu-numerics §7.2, `kernels::neutral::matmul`).
 * board: `value += a*b` contracts to fmadd.s (kpu-numerics §7.0 (b)).
 */
import { cxxClamp, f32, mulAdd, type CpuNumerics } from '../common.js';

export function matmul(
  a: Float32Array,
  b: Float32Array,
  out: Float32Array,
  bias: Float32Array,
  aRows: number,
  aCols: number,
  bCols: number,
  clampMin: number,
  clampMax: number,
  mode: CpuNumerics,
): void {
  const lo = f32(clampMin);
  const hi = f32(clampMax);
  for (let oy = 0; oy < aRows; oy++) {
    for (let ox = 0; ox < bCols; ox++) {
      let v = bias[ox]!;
      for (let i = 0; i < aCols; i++) v = mulAdd(a[oy * aCols + i]!, b[i * bCols + ox]!, v, mode);
      out[oy * bCols + ox] = cxxClamp(v, lo, hi);
    }
  }
}
