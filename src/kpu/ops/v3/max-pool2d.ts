/**
 * v3 MAX_POOL2D (7, float). NOT BOARD-VERIFIED: the SDK has no case for it (the firmware
 * would fail the layer). Obvious semantics with the SDK's window geometry: max over the
 * in-range taps, starting from −∞ (C `>` comparison, so NaN inputs are skipped).
 */
import { forEachPoolWindowV3, type Pool2dV3Geometry } from './pool2d-geometry.js';

export function maxPool2dV3(src: Float32Array, dst: Float32Array, g: Pool2dV3Geometry): void {
  forEachPoolWindowV3(g, (o, base, y0, y1, x0, x1, yo, xo) => {
    let v = -Infinity;
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
