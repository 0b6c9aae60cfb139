/**
 * Other views of a photograph for recognition tests (the "scale, shift, small rotation,
 * mirror, lighting, JPEG re-encoding"): pure functions over RGB888 images. Scale is `resizeRgb`,
 * mirror is `flipRgb`; these add the rest.
 */
import { decodeImage, encodeJpeg } from './image-io.js';
import type { RgbImage } from './types.js';

type Rgb = readonly [number, number, number];

/** Sample with bilinear weights at a continuous source position (pixel centres at i + ½). */
function sample(img: RgbImage, u: number, v: number, pad: Rgb, out: Uint8Array, o: number): void {
  const x = u - 0.5,
    y = v - 0.5;
  if (x < -0.5 || y < -0.5 || x > img.width - 0.5 || y > img.height - 0.5) {
    out[o] = pad[0];
    out[o + 1] = pad[1];
    out[o + 2] = pad[2];
    return;
  }
  const x0 = Math.floor(x),
    y0 = Math.floor(y);
  const tx = x - x0,
    ty = y - y0;
  const cx = (i: number): number => Math.min(Math.max(i, 0), img.width - 1);
  const cy = (i: number): number => Math.min(Math.max(i, 0), img.height - 1);
  const a = 3 * (cy(y0) * img.width + cx(x0)),
    b = 3 * (cy(y0) * img.width + cx(x0 + 1));
  const c = 3 * (cy(y0 + 1) * img.width + cx(x0)),
    d = 3 * (cy(y0 + 1) * img.width + cx(x0 + 1));
  for (let k = 0; k < 3; k++) {
    const top = img.data[a + k] * (1 - tx) + img.data[b + k] * tx;
    const bot = img.data[c + k] * (1 - tx) + img.data[d + k] * tx;
    out[o + k] = Math.min(255, Math.floor(top * (1 - ty) + bot * ty + 0.5));
  }
}

/** Rotate by `degrees` (positive = clockwise on screen) about the image centre, same size, padded. */
export function rotateRgb(img: RgbImage, degrees: number, pad: Rgb = [0, 0, 0]): RgbImage {
  const out = new Uint8Array(img.data.length);
  const r = (degrees * Math.PI) / 180,
    cos = Math.cos(r),
    sin = Math.sin(r);
  const cxm = img.width / 2,
    cym = img.height / 2;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      // Inverse mapping: rotate the target pixel centre back by −θ.
      const dx = x + 0.5 - cxm,
        dy = y + 0.5 - cym;
      const u = cos * dx + sin * dy + cxm,
        v = -sin * dx + cos * dy + cym;
      sample(img, u, v, pad, out, 3 * (y * img.width + x));
    }
  }
  return { width: img.width, height: img.height, data: out };
}

/** Shift by (dx, dy) pixels (may be fractional), same size, padded. */
export function shiftRgb(img: RgbImage, dx: number, dy: number, pad: Rgb = [0, 0, 0]): RgbImage {
  const out = new Uint8Array(img.data.length);
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++) sample(img, x + 0.5 - dx, y + 0.5 - dy, pad, out, 3 * (y * img.width + x));
  return { width: img.width, height: img.height, data: out };
}

/** Lighting: v' = 255·(gain·v/255)^(1/gamma) + bias, clamped and rounded. */
export function adjustRgb(img: RgbImage, opts: { gain?: number; bias?: number; gamma?: number }): RgbImage {
  const gain = opts.gain ?? 1,
    bias = opts.bias ?? 0,
    gamma = opts.gamma ?? 1;
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) {
    const g = 255 * Math.pow(Math.max(0, (gain * v) / 255), 1 / gamma) + bias;
    lut[v] = Math.min(255, Math.max(0, Math.floor(g + 0.5)));
  }
  return { width: img.width, height: img.height, data: img.data.map((v) => lut[v]) };
}

/** Encode as JPEG at `quality` and decode again (compression artefacts). */
export function jpegRoundTrip(img: RgbImage, quality: number): RgbImage {
  const d = decodeImage(encodeJpeg(img, quality), '<jpeg round trip>');
  return { width: d.width, height: d.height, data: d.data };
}
