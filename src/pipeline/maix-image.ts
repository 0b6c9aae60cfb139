/**
 * MaixPy's `img.cut`, `img.resize` and `img.draw_rectangle` on display pixels, with the board's
 * rounding (face-pipeline §3). New images are returned, except by `drawRectangle`, which changes the
 * image in place as MaixPy does, and by `cutInto` and `resizeInto`, which write a given target (the
 * buffer MaixPy's script side allocated for the result) instead of a new image to be copied there.
 *
 * Reads use the flat index `y·w + x` the C code computes, so a coordinate one past a row edge
 * reads the next row's first pixel, as on the board. A read outside the whole pixel buffer is
 * undefined on the board (whatever heap bytes follow); here it returns `outOfBuffer` (default 0).
 */
import { f32, f32ToI32, f32ToU16, f32ToU8 } from './f32.js';
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
  const out = { kind: img.kind, width: w, height: h, pixels: newPixels(img.kind, w * h) } as T;
  cutInto(img, x, y, out, opts);
  return out;
}

function newPixels(kind: MaixImage['kind'], n: number): Uint16Array | Uint8Array {
  return kind === 'rgb565' ? new Uint16Array(n) : new Uint8Array(n);
}

/**
 * `cut` into an existing image of the cut's size and kind (`into`, not overlapping `img`): every
 * one of its pixels is written, 0 where the cut leaves it black.
 */
export function cutInto(img: MaixImage, x: number, y: number, into: MaixImage, opts: BufferReadOptions = {}): void {
  const w = into.width,
    h = into.height;
  checkSize('cut', w, h);
  if (!Number.isInteger(x) || !Number.isInteger(y)) throw new RangeError(`cut: x, y must be integers, got ${x}, ${y}`);
  if (into.kind !== img.kind) throw new RangeError('cut: the target image has another format');
  const W = img.width,
    H = img.height;
  const yEnd = y + h > H ? H : y + h;
  const xEnd = x + w > W ? W : x + w;
  const n = W * H;
  const oob = opts.outOfBuffer ?? 0;
  const out = into.pixels;
  const src = img.pixels;
  out.fill(0, 0, w * h);
  const len = xEnd - x;
  if (len <= 0) return;
  for (let yy = y; yy < yEnd; yy++) {
    const i0 = yy * W + x,
      o = (yy - y) * w;
    if (i0 >= 0 && i0 + len <= n) {
      out.set(src.subarray(i0, i0 + len), o);
    } else {
      for (let k = 0; k < len; k++) {
        const i = i0 + k;
        out[o + k] = i >= 0 && i < n ? src[i] : oob;
      }
    }
  }
}

/**
 * Per output column (or row) of the bilinear branch of `resizeRgb565`: the corner x1 = (uint16)xs,
 * x2 = x1 + 1 (as uint16) and the weights x2 − xs, xs − x1 (binary32), with xs = (x+½)·sx − ½.
 */
interface BilinearAxis {
  readonly i1: Int32Array;
  readonly i2: Int32Array;
  readonly a: Float64Array;
  readonly b: Float64Array;
}

function bilinearAxis(n: number, s: number): BilinearAxis {
  const i1 = new Int32Array(n),
    i2 = new Int32Array(n);
  const a = new Float64Array(n),
    b = new Float64Array(n);
  for (let x = 0; x < n; x++) {
    const xs = f32(f32(f32(x + 0.5) * s) - 0.5);
    const x1 = f32ToU16(xs);
    const x2 = (x1 + 1) & 0xffff;
    i1[x] = x1;
    i2[x] = x2;
    a[x] = f32(x2 - xs);
    b[x] = f32(xs - x1);
  }
  return { i1, i2, a, b };
}

/**
 * `(uint8_t)` of a binary32 value whose magnitude is below 2^31 (the bilinear sums: at most a few
 * times 63 times a weight below 2^16): `fcvt.wu.s` truncates, clamping values ≤ −1 to 0.
 */
function castU8(v: number): number {
  return v > -1 ? (v | 0) & 0xff : 0;
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
  const out: Rgb565Image = { kind: 'rgb565', width: w, height: h, pixels: new Uint16Array(w * h) };
  resizeRgb565Into(img, out, opts);
  return out;
}

function resizeRgb565Into(img: Rgb565Image, into: Rgb565Image, opts: BufferReadOptions): void {
  const w = into.width,
    h = into.height;
  const w0 = img.width,
    h0 = img.height;
  const inp = img.pixels;
  const n = w0 * h0;
  const oob = opts.outOfBuffer ?? 0;
  const out = into.pixels;
  const sx = f32(w0 / w);
  const sy = f32(h0 / h);
  if (w0 === w && h0 === h) {
    out.set(inp.subarray(0, n));
  } else if (w0 >= w || h0 > h) {
    const xs = new Int32Array(w);
    for (let x = 0; x < w; x++) xs[x] = f32ToI32(f32(x * sx));
    for (let y = 0; y < h; y++) {
      const row = f32ToI32(f32(y * sy)) * w0,
        o = y * w;
      for (let x = 0; x < w; x++) {
        const i = row + xs[x];
        out[o + x] = i >= 0 && i < n ? inp[i] : oob;
      }
    }
  } else {
    bilinearRgb565(inp, w0, h0, out, w, h, sx, sy, oob);
  }
}

/** The t values of source row `base / w0` for every output column that interpolates (see `bilinearRgb565`). */
function rowTerms(t: Float64Array, inp: Uint16Array, base: number, w0: number, X: BilinearAxis): void {
  const xi1 = X.i1,
    xi2 = X.i2,
    xa = X.a,
    xb = X.b;
  const w = xi1.length;
  for (let x = 0; x < w; x++) {
    const x2 = xi2[x];
    if (x2 >= w0) continue;
    const p1 = inp[base + xi1[x]],
      p2 = inp[base + x2];
    const ax = xa[x],
      bx = xb[x];
    // R5 = (p >> 3) & 31, G6 = ((p & 7) << 3) | (p >> 13), B5 = (p >> 8) & 31 (rgb565.ts).
    t[x] = f32(f32(ax * ((p1 >> 3) & 31)) + f32(bx * ((p2 >> 3) & 31)));
    t[w + x] = f32(f32(ax * (((p1 & 7) << 3) | (p1 >> 13))) + f32(bx * (((p2 & 7) << 3) | (p2 >> 13))));
    t[2 * w + x] = f32(f32(ax * ((p1 >> 8) & 31)) + f32(bx * ((p2 >> 8) & 31)));
  }
}

/**
 * The bilinear branch of `resizeRgb565`. Each channel of an output pixel is
 * `(uint8_t)(ay·t1 + by·t2)` with t1 = ax·p11 + bx·p21 from source row y1 and t2 = ax·p12 + bx·p22
 * from row y2 = y1 + 1 (binary32 steps). A row's t values depend only on the source row and the
 * output column, so they are computed once per source row and kept while the output rows use it
 * (y1 never decreases from one output row to the next).
 *
 * Here sx < 1 and sy ≤ 1, so xs ∈ (−½, w0) and x1 ≤ w0 − 1 (likewise y1): where x2 < w0 and
 * y2 < h0 all four corners lie inside the buffer. The copy at the edges keeps its check.
 */
function bilinearRgb565(
  inp: Uint16Array,
  w0: number,
  h0: number,
  out: Uint16Array,
  w: number,
  h: number,
  sx: number,
  sy: number,
  oob: number,
): void {
  const n = w0 * h0;
  const X = bilinearAxis(w, sx),
    Y = bilinearAxis(h, sy);
  // t of the R, G, B channels at [0, w), [w, 2w), [2w, 3w) for source rows rowA and rowB.
  let tA = new Float64Array(3 * w),
    tB = new Float64Array(3 * w);
  let rowA = -1,
    rowB = -1;
  for (let y = 0; y < h; y++) {
    const y1 = Y.i1[y],
      y2 = Y.i2[y];
    if (y2 >= h0) {
      copyCorners(out, y * w, inp, y1 * w0, X, n, oob);
      continue;
    }
    if (rowA !== y1) {
      if (rowB === y1) {
        const t = tA;
        tA = tB;
        tB = t;
        rowB = rowA;
      } else rowTerms(tA, inp, y1 * w0, w0, X);
      rowA = y1;
    }
    if (rowB !== y2) {
      rowTerms(tB, inp, y2 * w0, w0, X);
      rowB = y2;
    }
    blendRow(out, y * w, tA, tB, Y.a[y], Y.b[y], inp, y1 * w0, w0, X, n, oob);
  }
}

// The row loops are functions of their own, called once per row: V8 then optimises each as a
// whole, from complete type feedback, instead of compiling and re-compiling one large function
// from loop entries (that cost more than the pixels themselves for the few calls a frame makes).

/** An output row of `bilinearRgb565` where y2 ≥ h0: a copy of pixel (x1, y1) in every column. */
function copyCorners(
  out: Uint16Array,
  o: number,
  inp: Uint16Array,
  r1: number,
  X: BilinearAxis,
  n: number,
  oob: number,
): void {
  const xi1 = X.i1,
    w = xi1.length;
  for (let x = 0; x < w; x++) {
    const i = xi1[x] + r1;
    out[o + x] = i >= 0 && i < n ? inp[i] : oob;
  }
}

/** An output row of `bilinearRgb565` from the t values of its two source rows. */
function blendRow(
  out: Uint16Array,
  o: number,
  tA: Float64Array,
  tB: Float64Array,
  ay: number,
  by: number,
  inp: Uint16Array,
  r1: number,
  w0: number,
  X: BilinearAxis,
  n: number,
  oob: number,
): void {
  const xi1 = X.i1,
    xi2 = X.i2,
    w = xi1.length;
  for (let x = 0; x < w; x++) {
    if (xi2[x] >= w0) {
      const i = xi1[x] + r1;
      out[o + x] = i >= 0 && i < n ? inp[i] : oob;
      continue;
    }
    const r = castU8(f32(f32(ay * tA[x]) + f32(by * tB[x])));
    const g = castU8(f32(f32(ay * tA[w + x]) + f32(by * tB[w + x])));
    const b = castU8(f32(f32(ay * tA[2 * w + x]) + f32(by * tB[2 * w + x])));
    out[o + x] = (r << 3) | (g >> 3) | ((g & 7) << 13) | (b << 8);
  }
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

/**
 * `resize` into an existing image of the target size and the source's kind (`into`, not
 * overlapping `img`); every pixel of `into` is written.
 */
export function resizeInto(img: MaixImage, into: MaixImage, opts: BufferReadOptions = {}): void {
  checkSize('resize', into.width, into.height);
  if (img.kind === 'rgb565' && into.kind === 'rgb565') resizeRgb565Into(img, into, opts);
  else if (img.kind === 'grayscale' && into.kind === 'grayscale')
    into.pixels.set(resizeGray(img, into.width, into.height, opts).pixels);
  else throw new RangeError('resize: the target image has another format');
}

/** Sets the pixels of [x0, x1) × [y0, y1) clipped to the image, to `c` kept to the pixel's width. */
function fillClipped(img: MaixImage, x0: number, y0: number, x1: number, y1: number, c: number): void {
  const W = img.width;
  if (x0 < 0) x0 = 0;
  if (y0 < 0) y0 = 0;
  if (x1 > W) x1 = W;
  if (y1 > img.height) y1 = img.height;
  if (x0 >= x1) return;
  const v = img.kind === 'rgb565' ? c & 0xffff : c & 0xff;
  for (let y = y0; y < y1; y++) img.pixels.fill(v, y * W + x0, y * W + x1);
}

/**
 * `img.draw_rectangle(x, y, w, h, color=-1, thickness=1, fill=False)`, in place (OpenMV's
 * draw.c): an outline `thickness` wide, centred on the rectangle's outer rows and columns
 * (x…x+w−1, y…y+h−1) and clipped to the image. `color` is the stored pixel value (−1 → 0xFFFF,
 * white; convert an (r, g, b) tuple with `rgb888ToRgb565Pixel`). Coordinates are integers (C ints).
 * The outline is four bands that overlap at the corners, where the C loops set the same pixel again
 * with the same colour.
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
    fillClipped(img, x, y, x + w, y + h, color);
    return;
  }
  if (thickness <= 0) return;
  const t0 = Math.trunc(thickness / 2);
  const t1 = Math.trunc((thickness - 1) / 2);
  const bottom = y + h - 1,
    right = x + w - 1;
  fillClipped(img, x - t0, y - t0, x + w + t1, y + t1 + 1, color);
  fillClipped(img, x - t0, bottom - t0, x + w + t1, bottom + t1 + 1, color);
  fillClipped(img, x - t0, y - t0, x + t1 + 1, y + h + t1, color);
  fillClipped(img, right - t0, y - t0, right + t1 + 1, y + h + t1, color);
}
