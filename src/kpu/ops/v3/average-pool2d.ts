/**
 * v3 AVERAGE_POOL2D (9): float CHW; sequential float sum of the in-range taps divided by
 * their count (a float counter); padding is excluded. The body's activation field is ignored
 * by the SDK, and so here (kpu-numerics §7.1). An empty window gives 0/0 = NaN as in C.
 * Not exercised by any golden model (kpu-numerics §10.3).
 */
import { f32 } from '../common.js';
import { forEachPoolWindowV3, type Pool2dV3Geometry } from './pool2d-geometry.js';

export function averagePool2dV3(src: Float32Array, dst: Float32Array, g: Pool2dV3Geometry): void {
  forEachPoolWindowV3(g, (o, base, y0, y1, x0, x1, yo, xo) => {
    let v = 0;
    let count = 0;
    for (let ky = y0; ky < y1; ky++) {
      const row = base + (yo + ky) * g.inWidth + xo;
      for (let kx = x0; kx < x1; kx++) {
        v = f32(v + src[row + kx]!);
        count++;
      }
    }
    dst[o] = f32(v / count);
  });
}
