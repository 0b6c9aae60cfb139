/**
 * v3 QUANTIZE (11), SDK `kpu_quantize` (kpu-numerics §7.1): r = 1/scale once in float;
 * q = (int)roundf((x − bias)·r), clamped to 0..255. v3 convention: real = q·scale + bias.
 *
 * golden vs board differ only where the float→int conversion is out of range or NaN:
 * x86 `cvttss2si` gives INT32_MIN (→ 0 after the clamp), RISC-V `fcvt.w.s` saturates
 * (+∞/NaN → 255, −∞ → 0). No multiply-add here, so nothing to fuse.
 */
import { clampU8, cvtF32ToI32, f32, roundf, type CpuNumerics } from '../common.js';

export function quantizeV3(src: Float32Array, dst: Uint8Array, scale: number, bias: number, mode: CpuNumerics): void {
  const r = f32(1 / f32(scale));
  const b = f32(bias);
  const n = src.length;
  for (let i = 0; i < n; i++) {
    dst[i] = clampU8(cvtF32ToI32(roundf(f32(f32(src[i]! - b) * r)), mode));
  }
}
