/**
 * v3 DEQUANTIZE (12), SDK `kpu_kmodel_dequantize`: x = q·scale + bias.
 * golden: (float)(q·scale), then + bias, rounded again — the goldens require this (C11).
 * board: the SDK is built with -ffp-contract=fast, so GCC emits `fmadd.s`: one rounding
 * (kpu-numerics §7.0 (b), §7.1 "FMA contraction possible", C11 keeps the board behaviour uncertain).
 */
import { f32, fmaf, type CpuNumerics } from '../common.js';

export function dequantizeV3(src: Uint8Array, dst: Float32Array, scale: number, bias: number, mode: CpuNumerics): void {
  const s = f32(scale);
  const b = f32(bias);
  const n = src.length;
  if (mode === 'board') {
    for (let i = 0; i < n; i++) dst[i] = fmaf(src[i]!, s, b);
  } else {
    for (let i = 0; i < n; i++) dst[i] = f32(f32(src[i]! * s) + b);
  }
}
