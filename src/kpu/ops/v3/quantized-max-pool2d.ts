/**
 * v3 QUANTIZED_MAX_POOL2D (8): uint8 CHW, max over the in-range taps of each window,
 * starting from 0; padding never enters (kpu-numerics §7.1, SDK `kpu_quantized_max_pool2d`).
 */
import { forEachPoolWindowV3, type Pool2dV3Geometry } from './pool2d-geometry.js';

export function quantizedMaxPool2dV3(src: Uint8Array, dst: Uint8Array, g: Pool2dV3Geometry): void {
  forEachPoolWindowV3(g, (o, base, y0, y1, x0, x1, yo, xo) => {
    let v = 0;
    for (let ky = y0; ky < y1; ky++) {
      const row = base + (yo + ky) * g.inWidth + xo;
      for (let kx = x0; kx < x1; kx++) {
        const s = src[row + kx]!;
        if (s > v) v = s;
      }
    }
    dst[o] = v;
  });
}
