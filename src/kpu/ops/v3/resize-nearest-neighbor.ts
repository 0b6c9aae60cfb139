/**
 * v3 RESIZE_NEAREST_NEIGHBOR (22, float) and QUANTIZED_RESIZE_NEAREST_NEIGHBOR (23, uint8):
 * scale = (float)in/out per axis; in_y = min(floorf(oy·scale_h), in_h − 1) (compared as
 * floats), likewise x; copy. `align_corners` is ignored by the SDK (kpu-numerics §7.1).
 * Not exercised by any golden model (kpu-numerics §10.3).
 */
import { f32 } from '../common.js';

export function resizeNearestNeighborV3<T extends Float32Array | Uint8Array>(
  src: T,
  dst: T,
  inWidth: number,
  inHeight: number,
  channels: number,
  outWidth: number,
  outHeight: number,
): void {
  const hs = f32(inHeight / outHeight);
  const ws = f32(inWidth / outWidth);
  // the source column of each output column, the same for every row and channel
  const xi = new Int32Array(outWidth);
  let identity = inWidth === outWidth;
  for (let ox = 0; ox < outWidth; ox++) {
    const fx = Math.floor(f32(ox * ws));
    xi[ox] = fx < inWidth - 1 ? fx : inWidth - 1;
    if (xi[ox] !== ox) identity = false;
  }
  let o = 0;
  for (let c = 0; c < channels; c++) {
    const base = inWidth * inHeight * c;
    for (let oy = 0; oy < outHeight; oy++) {
      const fy = Math.floor(f32(oy * hs));
      const iy = fy < inHeight - 1 ? fy : inHeight - 1;
      const row = base + iy * inWidth;
      if (identity) dst.set(src.subarray(row, row + inWidth), o);
      else for (let ox = 0; ox < outWidth; ox++) dst[o + ox] = src[row + xi[ox]]!;
      o += outWidth;
    }
  }
}
