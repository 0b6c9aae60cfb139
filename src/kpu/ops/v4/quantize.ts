/**
 * v4 quantize (0x06), f32 → uint8 with quant_param {zero_point, scale}: q = x·scale + zp.
 *
 * golden (nncase simulator, x86): q = (int32)roundf((float)(x·scale) + (float)zp), clamped
 *   to 0..255 (kpu-numerics §7.2; `roundf` is pinned by the goldens, §10.1). Out-of-range/NaN convert
 *   to INT32_MIN (cvttss2si) → 0.
 * board (`kernels/riscv/neutral_kernels.h`, kpu-numerics §7.2): elements are taken in pairs and converted
 *   with `fcvt.w.s … rne` (round half to even); when the count is odd the last element goes
 *   through `roundf`. `x*scale + zp` is contracted to fmadd.s (-ffp-contract=fast, kpu-numerics §7.0 (b)).
 *   fcvt saturates (NaN → INT32_MAX → 255).
 */
import { clampU8, cvtF32ToI32, f32, fmaf, rintf, roundf, type CpuNumerics } from '../common.js';

export function quantize(
  src: Float32Array,
  dst: Uint8Array,
  scale: number,
  zeroPoint: number,
  mode: CpuNumerics,
): void {
  const s = f32(scale);
  const z = f32(zeroPoint | 0);
  const n = src.length;
  if (mode === 'board') {
    const pairs = n - (n % 2);
    for (let i = 0; i < pairs; i++) dst[i] = clampU8(cvtF32ToI32(rintf(fmaf(src[i]!, s, z)), 'board'));
    if (n % 2) dst[n - 1] = clampU8(cvtF32ToI32(roundf(fmaf(src[n - 1]!, s, z)), 'board'));
    return;
  }
  for (let i = 0; i < n; i++) dst[i] = clampU8(cvtF32ToI32(roundf(f32(f32(src[i]! * s) + z)), 'golden'));
}
