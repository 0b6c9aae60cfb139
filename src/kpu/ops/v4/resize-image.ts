/**
 * v4 resize_image (0x0A), float32 or uint8 NCHW (kpu-numerics §7.2).
 * - nearest: scale = (float)in/out; in_y = min((int)floorf(oy·scale), in − 1); copy.
 * - bilinear: scale = (float)in/out, or (float)(in−1)/(out−1) when align_corners and out > 1;
 *   in_y = oy·scale (float), y0 = (int)floorf(in_y), y1 = min(y0 + 1, in − 1) (y0 itself is not
 *   clamped, as in the reference), same for x; weights a0 = (1−fy)(1−fx), a1 = fy(1−fx),
 *   a2 = (1−fy)fx, a3 = fy·fx with fy = in_y − y0; v = v0·a0 + v1·a1 + v2·a2 + v3·a3 summed left
 *   to right in float, where v1 is (y1, x0) and v2 is (y0, x1). The uint8 result is a C cast:
 *   truncation toward zero (x86 `cvttss2si` then the low 8 bits).
 *   board: the multiply-add chain contracts to fmadd.s (kpu-numerics §7.0 (b)).
 * Not exercised by any golden model (kpu-numerics §10.3).
 */
import { f32, mulAdd, unsupported, type CpuNumerics, type Shape4 } from '../common.js';

export const ResizeMode = { Bilinear: 0, NearestNeighbor: 1 } as const;
export type ResizeMode = (typeof ResizeMode)[keyof typeof ResizeMode];

export function resizeNearestNeighbor<T extends Float32Array | Uint8Array>(
  src: T,
  dst: T,
  inShape: Shape4,
  outH: number,
  outW: number,
): void {
  const H = inShape[2]!,
    W = inShape[3]!;
  const hs = f32(H / outH);
  const ws = f32(W / outW);
  let o = 0;
  for (let n = 0; n < inShape[0]!; n++) {
    for (let c = 0; c < inShape[1]!; c++) {
      const base = (n * inShape[1]! + c) * H * W;
      for (let oy = 0; oy < outH; oy++) {
        const iy = Math.min(Math.floor(f32(oy * hs)), H - 1);
        const row = base + iy * W;
        for (let ox = 0; ox < outW; ox++) {
          dst[o++] = src[row + Math.min(Math.floor(f32(ox * ws)), W - 1)]!;
        }
      }
    }
  }
}

export function resizeBilinear<T extends Float32Array | Uint8Array>(
  src: T,
  dst: T,
  inShape: Shape4,
  outH: number,
  outW: number,
  alignCorners: boolean,
  mode: CpuNumerics,
): void {
  const H = inShape[2]!,
    W = inShape[3]!;
  let hs = f32(H / outH);
  let ws = f32(W / outW);
  if (alignCorners && outH > 1) hs = f32((H - 1) / (outH - 1));
  if (alignCorners && outW > 1) ws = f32((W - 1) / (outW - 1));
  const toU8 = dst instanceof Uint8Array;
  let o = 0;
  for (let n = 0; n < inShape[0]!; n++) {
    for (let c = 0; c < inShape[1]!; c++) {
      const base = (n * inShape[1]! + c) * H * W;
      for (let oy = 0; oy < outH; oy++) {
        const iy = f32(oy * hs);
        const y0 = Math.floor(iy);
        const y1 = Math.min(y0 + 1, H - 1);
        const fy = f32(iy - y0);
        const gy = f32(1 - fy);
        for (let ox = 0; ox < outW; ox++) {
          const ix = f32(ox * ws);
          const x0 = Math.floor(ix);
          const x1 = Math.min(x0 + 1, W - 1);
          const fx = f32(ix - x0);
          const gx = f32(1 - fx);
          const v0 = src[base + y0 * W + x0]!;
          const v1 = src[base + y1 * W + x0]!;
          const v2 = src[base + y0 * W + x1]!;
          const v3 = src[base + y1 * W + x1]!;
          const a0 = f32(gy * gx);
          const a1 = f32(fy * gx);
          const a2 = f32(gy * fx);
          const a3 = f32(fy * fx);
          let v = f32(v0 * a0);
          v = mulAdd(v1, a1, v, mode);
          v = mulAdd(v2, a2, v, mode);
          v = mulAdd(v3, a3, v, mode);
          dst[o++] = toU8 ? Math.trunc(v) & 0xff : v;
        }
      }
    }
  }
}

/** Dispatch on the body's `mode` field. */
export function resizeImage<T extends Float32Array | Uint8Array>(
  src: T,
  dst: T,
  inShape: Shape4,
  outH: number,
  outW: number,
  resizeMode: number,
  alignCorners: boolean,
  mode: CpuNumerics,
): void {
  if (resizeMode === ResizeMode.Bilinear) resizeBilinear(src, dst, inShape, outH, outW, alignCorners, mode);
  else if (resizeMode === ResizeMode.NearestNeighbor) resizeNearestNeighbor(src, dst, inShape, outH, outW);
  else unsupported(`image_resize_mode ${resizeMode}`);
}
