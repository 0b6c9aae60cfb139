/**
 * v4 dequantize (0x03), uint8 → f32 with quant_param {zero_point, scale}: x = (q − zp)/scale.
 *
 * golden (nncase simulator): d = 1.f/scale; x = (float)(q − zp) · d — the int difference is
 *   converted, then one float multiply (kpu-numerics §7.2; the goldens reject `/scale`, §10.1).
 * board (`riscv_dequantize`, kpu-numerics §7.2): d = 1.f/scale, z = (float)(−zp)·d, x = (float)q·d + z;
 *   a different expression, contracted to fmadd.s (-ffp-contract=fast, kpu-numerics §7.0 (b)).
 */
import { f32, fmaf, type CpuNumerics } from '../common.js';

export function dequantize(
  src: Uint8Array,
  dst: Float32Array,
  scale: number,
  zeroPoint: number,
  mode: CpuNumerics,
): void {
  const d = f32(1 / f32(scale));
  const zp = zeroPoint | 0;
  const n = src.length;
  if (mode === 'board') {
    const z = f32(f32(-zp | 0) * d);
    for (let i = 0; i < n; i++) dst[i] = fmaf(src[i]!, d, z);
    return;
  }
  for (let i = 0; i < n; i++) dst[i] = f32(f32((src[i]! - zp) | 0) * d);
}
