/**
 * MaixPy's `img.cut`, `img.resize` and `img.draw_rectangle` on display pixels, with the board's
 * rounding (face-pipeline §3). Pure functions: new images are returned, except `drawRectangle`, which
 * changes the image in place as MaixPy does.
 *
 * Reads use the flat index `y·w + x` the C code computes, so a coordinate one past a row edge
 * reads the next row's first pixel, as on the board. A read outside the whole pixel buffer is
 * undefined on the board (whatever heap bytes follow); here it returns `outOfBuffer` (default 0).
 */
import { f32, f32ToI32, f32ToU16, f32ToU8 } from './f32.js';
import { packRgb565, rgb565B5, rgb565G6, rgb565R5 } from './rgb565.js';
import type { GrayImage, MaixImage, Rgb565Image } from './types.js';

export interface BufferReadOptions {
  /** Value read past the end of a pixel buffer (board: unknown heap bytes). Default 0. */
  outOfBuffer?: number;
}

function checkSize(what: string, w: number, h: number): void {
  if (!Number.isInteger(w) || !Number.isInteger(h) || w <= 0 || h <= 0)
    throw new RangeError(`${what}: size must be positive integers, got ${w}×${h}`);
}

/**
 * `img.cut(x, y, w, h)`: a new w×h image; pixels `[y, min(y+h, H)) × [x, min(x+w, W))` are
 * copied to its top-left, nothing is interpolated, and the part beyond the source's right or
 * bottom edge is never written, so it stays 0 (black): MicroPython's allocator clears memory.
 */
export function cut<T extends MaixImage>(
  img: T,
  x: number,
  y: number,
  w: number,
  h: number,
  opts: BufferReadOptions = {},
): T {
  checkSize('cut', w, h);
  if (!Number.isInteger(x) || !Number.isInteger(y)) throw new RangeError(`cut: x, y must be integers, got ${x}, ${y}`);
  const W = img.width,
    H = img.height;
  const yEnd = y + h > H ? H : y + h;
  const xEnd = x + w > W ? W : x + w;
  const n = W * H;
  const oob = opts.outOfBuffer ?? 0;
  const out = img.kind === 'rgb565' ? new Uint16Array(w * h) : new Uint8Array(w * h);
  const src = img.pixels;
  for (let yy = y; yy < yEnd; yy++) {
    for (let xx = x; xx < xEnd; xx++) {
      const i = yy * W + xx;
      out[(yy - y) * w + (xx - x)] = i >= 0 && i < n ? src[i] : oob;
    }
  }
  return { kind: img.kind, width: w, height: h, pixels: out } as T;
}

/**
 * `img.resize(w, h)` for RGB565 (face-pipeline §3.2). Source w0×h0, sx = (float)w0/w, sy = (float)h0/h.
 * 1. same size: copy;
 * 2. `w0 >= w || h0 > h` (≥ for width, > for height): nearest, src = (int)(x·sx), (int)(y·sy);
 * 3. otherwise bilinear on the 5/6-bit channels with xs = (x+½)·sx − ½ (binary32), corner
 *    x1 = (uint16)xs, and a copy of pixel (x1, y1) where x1+1 ≥ w0 or y1+1 ≥ h0. The weights at
 *    x = 0 / y = 0 extrapolate (xs < 0), results are cast with (uint8_t) (negative → 0) and packed
 *    unmasked, so a value above 31/63 spills into the other fields (the doc's worked example:
 *    white border beside (10,20,10) at sx = ½ gives (5, 9, 5)).
 */
export function resizeRgb565(img: Rgb565Image, w: number, h: number, opts: BufferReadOptions = {}): Rgb565Image {
  checkSize('resize', w, h);
  const w0 = img.width,
    h0 = img.height;
  const inp = img.pixels;
  const n = w0 * h0;
  const oob = opts.outOfBuffer ?? 0;
  const at = (i: number): number => (i >= 0 && i < n ? inp[i] : oob);
  const out = new Uint16Array(w * h);
  const sx = f32(w0 / w);
  const sy = f32(h0 / h);
  if (w0 === w && h0 === h) {
    out.set(inp.subarray(0, n));
  } else if (w0 >= w || h0 > h) {
    for (let y = 0; y < h; y++) {
      const y0 = f32ToI32(f32(y * sy));
      for (let x = 0; x < w; x++) {
        const x0 = f32ToI32(f32(x * sx));
        out[y * w + x] = at(y0 * w0 + x0);
      }
    }
  } else {
    const channels = [rgb565R5, rgb565G6, rgb565B5];
    const v = [0, 0, 0];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const xs = f32(f32(f32(x + 0.5) * sx) - 0.5);
        const ys = f32(f32(f32(y + 0.5) * sy) - 0.5);
        const x1 = f32ToU16(xs);
        const x2 = (x1 + 1) & 0xffff;
        const y1 = f32ToU16(ys);
        const y2 = (y1 + 1) & 0xffff;
        if (x2 >= w0 || y2 >= h0) {
          out[x + y * w] = at(x1 + y1 * w0);
          continue;
        }
        const p11 = at(x1 + y1 * w0),
          p21 = at(x2 + y1 * w0);
        const p12 = at(x1 + y2 * w0),
          p22 = at(x2 + y2 * w0);
        const ax = f32(x2 - xs),
          bx = f32(xs - x1);
        const ay = f32(y2 - ys),
          by = f32(ys - y1);
        for (let c = 0; c < 3; c++) {
          const ch = channels[c];
          const t1 = f32(f32(ax * ch(p11)) + f32(bx * ch(p21)));
          const t2 = f32(f32(ax * ch(p12)) + f32(bx * ch(p22)));
          v[c] = f32ToU8(f32(f32(ay * t1) + f32(by * t2)));
        }
        out[x + y * w] = packRgb565(v[0], v[1], v[2]);
      }
    }
  }
  return { kind: 'rgb565', width: w, height: h, pixels: out };
}

/**
 * `img.resize(w, h)` for grayscale, MaixPy's other branch pair (same function in py_image.c):
 * - `w >= w0 || h >= h0`: bilinear, xf = (x+½)·sx − ½, x0 = (int)xf, the right/bottom neighbour
 *   clamped to the last column/row while the weights still use x0+1; sum of four float products
 *   cast with (uint8_t);
 * - otherwise a box average over rows ⌊y·sy⌋…⌊(y+1)·sy⌋ and columns ⌊x·sy⌋…⌊(x+1)·sy⌋, both ends
 *   inclusive; the columns use **sy** (an upstream bug kept here), and the inclusive end reads one
 *   row/column past the box, past the buffer on the last row (`outOfBuffer`).
 */
export function resizeGray(img: GrayImage, w: number, h: number, opts: BufferReadOptions = {}): GrayImage {
  checkSize('resize', w, h);
  const w0 = img.width,
    h0 = img.height;
  const inp = img.pixels;
  const n = w0 * h0;
  const oob = opts.outOfBuffer ?? 0;
  const at = (i: number): number => (i >= 0 && i < n ? inp[i] : oob);
  const out = new Uint8Array(w * h);
  const sx = f32(w0 / w);
  const sy = f32(h0 / h);
  if (w >= w0 || h >= h0) {
    for (let y = 0; y < h; y++) {
      const yf = f32(f32(f32(y + 0.5) * sy) - 0.5);
      const y0 = f32ToI32(yf);
      const y1 = y0 + 1;
      const vy1 = y0 < h0 - 1 ? y1 : y0;
      for (let x = 0; x < w; x++) {
        const xf = f32(f32(f32(x + 0.5) * sx) - 0.5);
        const x0 = f32ToI32(xf);
        const x1 = x0 + 1;
        const vx1 = x0 < w0 - 1 ? x1 : x0;
        const wx0 = f32(x1 - xf),
          wx1 = f32(xf - x0);
        const wy0 = f32(y1 - yf),
          wy1 = f32(yf - y0);
        const t1 = f32(f32(at(y0 * w0 + x0) * wx0) * wy0);
        const t2 = f32(f32(at(y0 * w0 + vx1) * wx1) * wy0);
        const t3 = f32(f32(at(vy1 * w0 + x0) * wx0) * wy1);
        const t4 = f32(f32(at(vy1 * w0 + vx1) * wx1) * wy1);
        out[y * w + x] = f32ToU8(f32(f32(f32(t1 + t2) + t3) + t4));
      }
    }
  } else {
    for (let y = 0; y < h; y++) {
      const y0 = f32ToI32(f32(y * sy));
      const y1 = f32ToI32(f32((y + 1) * sy));
      for (let x = 0; x < w; x++) {
        const x0 = f32ToI32(f32(x * sy));
        const x1 = f32ToI32(f32((x + 1) * sy));
        let sum = 0;
        for (let yy = y0; yy <= y1; yy++) for (let xx = x0; xx <= x1; xx++) sum += at(yy * w0 + xx);
        out[y * w + x] = Math.trunc(sum / ((y1 - y0 + 1) * (x1 - x0 + 1))) & 0xff;
      }
    }
  }
  return { kind: 'grayscale', width: w, height: h, pixels: out };
}

/** `img.resize(w, h)` for either display format. */
export function resize<T extends MaixImage>(img: T, w: number, h: number, opts: BufferReadOptions = {}): T {
  return (img.kind === 'rgb565' ? resizeRgb565(img, w, h, opts) : resizeGray(img, w, h, opts)) as T;
}

function setPixel(img: MaixImage, x: number, y: number, c: number): void {
  if (x >= 0 && x < img.width && y >= 0 && y < img.height) {
    img.pixels[y * img.width + x] = img.kind === 'rgb565' ? c & 0xffff : c & 0xff;
  }
}

/**
 * `img.draw_rectangle(x, y, w, h, color=-1, thickness=1, fill=False)`, in place (OpenMV's
 * draw.c): an outline `thickness` wide, centred on the rectangle's outer rows and columns
 * (x…x+w−1, y…y+h−1) and clipped to the image. `color` is the stored pixel value (−1 → 0xFFFF,
 * white; convert an (r, g, b) tuple with `rgb888ToRgb565Pixel`).
 */
export function drawRectangle(
  img: MaixImage,
  x: number,
  y: number,
  w: number,
  h: number,
  color = -1,
  thickness = 1,
  fill = false,
): void {
  if (fill) {
    for (let yy = y; yy < y + h; yy++) for (let xx = x; xx < x + w; xx++) setPixel(img, xx, yy, color);
    return;
  }
  if (thickness <= 0) return;
  const t0 = Math.trunc(thickness / 2);
  const t1 = Math.trunc((thickness - 1) / 2);
  for (let i = x - t0, j = x + w + t1, k = y + h - 1; i < j; i++) {
    for (let yy = y - t0; yy <= y + t1; yy++) setPixel(img, i, yy, color);
    for (let yy = k - t0; yy <= k + t1; yy++) setPixel(img, i, yy, color);
  }
  for (let i = y - t0, j = y + h + t1, k = x + w - 1; i < j; i++) {
    for (let xx = x - t0; xx <= x + t1; xx++) setPixel(img, xx, i, color);
    for (let xx = k - t0; xx <= k + t1; xx++) setPixel(img, xx, i, color);
  }
}
