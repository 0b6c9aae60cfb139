/**
 * Annotation drawing on RGB888 images for `--out` pictures (boxes and landmark points). This is
 * kpusim's own overlay, not MaixPy's `draw_*` (for those on display pixels see maix-image.ts).
 * Everything is clipped to the image; images are changed in place.
 */
import type { RgbImage } from './types.js';

export type Rgb = readonly [number, number, number];

function put(img: RgbImage, x: number, y: number, c: Rgb): void {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  const o = 3 * (y * img.width + x);
  img.data[o] = c[0];
  img.data[o + 1] = c[1];
  img.data[o + 2] = c[2];
}

/** A rectangle outline `thickness` pixels wide, drawn inward from the box edges. */
export function drawBox(img: RgbImage, x: number, y: number, w: number, h: number, color: Rgb, thickness = 2): void {
  const x0 = Math.round(x),
    y0 = Math.round(y),
    x1 = Math.round(x + w) - 1,
    y1 = Math.round(y + h) - 1;
  for (let t = 0; t < thickness; t++) {
    for (let xx = x0; xx <= x1; xx++) {
      put(img, xx, y0 + t, color);
      put(img, xx, y1 - t, color);
    }
    for (let yy = y0; yy <= y1; yy++) {
      put(img, x0 + t, yy, color);
      put(img, x1 - t, yy, color);
    }
  }
}

/** A filled disc of radius r centred on (x, y). */
export function drawDot(img: RgbImage, x: number, y: number, r: number, color: Rgb): void {
  const cx = Math.round(x),
    cy = Math.round(y);
  for (let dy = -r; dy <= r; dy++)
    for (let dx = -r; dx <= r; dx++) if (dx * dx + dy * dy <= r * r) put(img, cx + dx, cy + dy, color);
}
