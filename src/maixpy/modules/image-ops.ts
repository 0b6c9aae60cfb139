/**
 * The TypeScript half of MaixPy's image operations (src/maixpy/imlib.ts holds the arithmetic):
 * each function gets the image as (address, width, height, bytes per pixel) in the interpreter's
 * memory and works in place, as the firmware does. Argument checks and the firmware's messages
 * live in the Python half (src/maixpy/python/image.py).
 */
import { createRequire } from 'node:module';
import type { QRCode } from 'jsqr';
import type { MaixImage } from '../../pipeline/types.js';
import { int, numberList, PyError, type BoardContext } from '../context.js';
import {
  bilateral,
  binary,
  difference,
  drawArrow,
  findBlobs,
  gaussianKernel,
  histeq,
  invert,
  laplacianKernel,
  lensCorr,
  meanFilter,
  meanPool,
  medianFilter,
  morph,
  rgb565ToGray,
  rotationCorr,
  strechChar,
  toGrayscale,
  type FilterThreshold,
  type Threshold,
} from '../imlib.js';
import { CPU_STEP_CYCLES as C } from '../timing.js';
import { imageView, onImage } from './image-view.js';

function thresholds(ctx: BoardContext, v: unknown): Threshold[] {
  const flat = numberList(ctx, v, 'thresholds');
  if (flat.length % 6) throw new PyError('RuntimeError', 'kpusim host: thresholds come in sixes');
  const out: Threshold[] = [];
  for (let i = 0; i < flat.length; i += 6)
    out.push([flat[i], flat[i + 1], flat[i + 2], flat[i + 3], flat[i + 4], flat[i + 5]]);
  return out;
}

function filterThreshold(threshold: unknown, offset: unknown, inv: unknown): FilterThreshold {
  return { threshold: Boolean(threshold), offset: int(offset, 'offset'), invert: Boolean(inv) };
}

const pixels = (img: MaixImage): number => img.width * img.height;

type JsQr = (
  data: Uint8ClampedArray,
  width: number,
  height: number,
  options: { inversionAttempts: 'dontInvert' },
) => QRCode | null;
let jsQRLoaded: JsQr | undefined;
/**
 * jsQR, loaded when a script first looks for a QR code: its 257 KB would otherwise be compiled and
 * run at every `kpusim maixpy` start (the command line bundles its other packages, see
 * scripts/build-cli.mjs). jsqr is CommonJS whose types declare an ES default export: the function
 * is the module's `default` property (what Node's ESM import of it gives, too). The browser build
 * maps `node:module` to src/platform/browser/module.ts, which hands over its bundled copy.
 */
function jsQR(...args: Parameters<JsQr>): QRCode | null {
  jsQRLoaded ??= (createRequire(import.meta.url)('jsqr') as { default: JsQr }).default;
  return jsQRLoaded(...args);
}

export const imageOpsBackend = {
  image_invert: onImage((ctx, img) => {
    invert(img);
    ctx.clock.cpu(C.pointPerPixel * pixels(img));
  }),

  /** Grayscale pixels of an RGB565 image written to `out` (w·h bytes; may be the image's own buffer). */
  image_to_grayscale(ctx: BoardContext, a: unknown, w: unknown, h: unknown, out: unknown): void {
    const img = imageView(ctx, a, w, h, 2);
    const gray = toGrayscale(img);
    ctx.memory.bytes(int(out, 'out'), gray.length).set(gray);
    ctx.clock.cpu(C.pointPerPixel * pixels(img));
  },

  image_strech_char(ctx: BoardContext, a: unknown, w: unknown, h: unknown, deDark: unknown): void {
    const img = imageView(ctx, a, w, h, 1);
    strechChar(img, Boolean(deDark));
    ctx.clock.cpu(C.pointPerPixel * 2 * pixels(img));
  },

  /** `binary` from the image at `a` into the image at `out` (same size and format; may be the same buffer). */
  image_binary(
    ctx: BoardContext,
    a: unknown,
    w: unknown,
    h: unknown,
    bpp: unknown,
    out: unknown,
    th: unknown,
    inv: unknown,
    zero: unknown,
  ): void {
    const img = imageView(ctx, a, w, h, bpp);
    const dst = imageView(ctx, out, w, h, bpp);
    const t = thresholds(ctx, th);
    const src = { ...img, pixels: img.pixels.slice() } as MaixImage;
    binary(src, dst, t, Boolean(inv), Boolean(zero));
    ctx.clock.cpu(C.pointPerPixel * (t.length + 1) * pixels(img));
  },

  image_histeq: onImage((ctx, img) => {
    histeq(img);
    ctx.clock.cpu(C.pointPerPixel * 2 * pixels(img));
  }),

  image_mean: onImage((ctx, img, ksize, t, o, i) => {
    const k = int(ksize, 'ksize');
    meanFilter(img, k, filterThreshold(t, o, i));
    ctx.clock.cpu(C.filterPerTap * (2 * k + 1) ** 2 * pixels(img) * (img.kind === 'rgb565' ? 3 : 1));
  }),

  image_median: onImage((ctx, img, ksize, percentile, t, o, i) => {
    const k = int(ksize, 'ksize');
    medianFilter(img, k, Number(percentile), filterThreshold(t, o, i));
    const n = (2 * k + 1) ** 2;
    ctx.clock.cpu(C.filterPerTap * n * Math.max(1, Math.log2(n)) * pixels(img) * (img.kind === 'rgb565' ? 3 : 1));
  }),

  /**
   * `morph`, `gaussian` and `laplacian`: `kind` 0 takes `krn` as given, 1 builds the Gaussian
   * kernel (`krn` = [unsharp]), 2 the Laplacian (`krn` = [sharpen]); `mul` None means 1/Σ.
   */
  image_morph: onImage((ctx, img, ksize, kind, krn, mul, add, t, o, i) => {
    const k = int(ksize, 'ksize');
    const list = numberList(ctx, krn, 'kernel');
    let kernel: number[];
    let m: number;
    const which = int(kind, 'kind');
    if (which === 1) ({ krn: kernel, m } = gaussianKernel(k, Boolean(list[0])));
    else if (which === 2) ({ krn: kernel, m } = laplacianKernel(k, Boolean(list[0])));
    else {
      kernel = list.map((x) => x | 0);
      m = kernel.reduce((s, x) => s + x, 0);
      if (m === 0) m = 1;
    }
    const mulValue = mul === null || mul === undefined ? Math.fround(1 / Math.fround(m)) : Number(mul);
    morph(img, k, kernel, mulValue, Number(add), filterThreshold(t, o, i));
    ctx.clock.cpu(C.filterPerTap * (2 * k + 1) ** 2 * pixels(img) * (img.kind === 'rgb565' ? 3 : 1));
  }),

  image_bilateral: onImage((ctx, img, ksize, cs, ss, t, o, i) => {
    const k = int(ksize, 'ksize');
    bilateral(img, k, Number(cs), Number(ss), filterThreshold(t, o, i));
    ctx.clock.cpu(C.bilateralPerTap * (2 * k + 1) ** 2 * pixels(img) * (img.kind === 'rgb565' ? 3 : 1));
  }),

  /** `difference` with another image (`oa` its pixels, same size and format) or, when `oa` is None, a pixel value. */
  image_difference(
    ctx: BoardContext,
    a: unknown,
    w: unknown,
    h: unknown,
    bpp: unknown,
    oa: unknown,
    value: unknown,
  ): void {
    const img = imageView(ctx, a, w, h, bpp);
    const other = oa === null || oa === undefined ? int(value, 'color') : imageView(ctx, oa, w, h, bpp);
    difference(img, other);
    ctx.clock.cpu(C.pointPerPixel * pixels(img));
  },

  /** `mean_pooled`: the pooled pixels written at `out` (⌊w/xd⌋·⌊h/yd⌋ pixels of the same format). */
  image_mean_pool(
    ctx: BoardContext,
    a: unknown,
    w: unknown,
    h: unknown,
    bpp: unknown,
    out: unknown,
    xd: unknown,
    yd: unknown,
  ): void {
    const img = imageView(ctx, a, w, h, bpp);
    const r = meanPool(img, int(xd, 'x_div'), int(yd, 'y_div'));
    const dst = imageView(ctx, out, r.width, r.height, bpp);
    dst.pixels.set(r.pixels);
    ctx.clock.cpu(C.pointPerPixel * pixels(img));
  },

  image_draw_arrow: onImage((ctx, img, x0, y0, x1, y1, c, s, t) => {
    const [X0, Y0, X1, Y1] = [int(x0, 'x0'), int(y0, 'y0'), int(x1, 'x1'), int(y1, 'y1')];
    const S = int(s, 'size');
    drawArrow(img, X0, Y0, X1, Y1, int(c, 'color'), S, int(t, 'thickness'));
    ctx.clock.cpu(C.drawPerPixel * (Math.abs(X1 - X0) + Math.abs(Y1 - Y0) + 2 * S + 3));
  }),

  image_lens_corr: onImage((ctx, img, strength, zoom) => {
    lensCorr(img, Number(strength), Number(zoom));
    ctx.clock.cpu(C.lensCorrPerPixel * pixels(img));
  }),

  /** `rotation_corr` with its angles and field of view in radians, then optionally the 8 corner coordinates. */
  image_rotation_corr: onImage((ctx, img, params) => {
    const [xr, yr, zr, xt, yt, zoom, fov, ...corners] = numberList(ctx, params, 'rotation_corr');
    rotationCorr(img, xr, yr, zr, xt, yt, zoom, fov, corners.length === 8 ? corners : undefined);
    ctx.clock.cpu(C.lensCorrPerPixel * pixels(img));
  }),

  /** `find_blobs`: 10 numbers per blob (x, y, w, h, pixels, cx, cy, rotation, code, count). */
  image_find_blobs(
    ctx: BoardContext,
    a: unknown,
    w: unknown,
    h: unknown,
    bpp: unknown,
    th: unknown,
    inv: unknown,
    roi: unknown,
    xs: unknown,
    ys: unknown,
    area: unknown,
    px: unknown,
    merge: unknown,
    margin: unknown,
  ): number[] {
    const img = imageView(ctx, a, w, h, bpp);
    const [rx, ry, rw, rh] = numberList(ctx, roi, 'roi');
    const blobs = findBlobs(
      img,
      thresholds(ctx, th),
      Boolean(inv),
      { x: rx, y: ry, w: rw, h: rh },
      int(xs, 'x_stride'),
      int(ys, 'y_stride'),
      int(area, 'area_threshold'),
      int(px, 'pixels_threshold'),
      Boolean(merge),
      int(margin, 'margin'),
    );
    ctx.clock.cpu(C.blobPerPixel * rw * rh);
    return blobs.flatMap((b) => [b.x, b.y, b.w, b.h, b.pixels, b.cx, b.cy, b.rotation, b.code, b.count]);
  },

  /**
   * `find_qrcodes` in the roi with jsQR (one code per call, where the firmware's quirc finds
   * several): [corners (8 ints), payload bytes as a list, version, data type, eci] or None.
   */
  image_find_qrcode(
    ctx: BoardContext,
    a: unknown,
    w: unknown,
    h: unknown,
    bpp: unknown,
    roi: unknown,
  ): unknown[] | null {
    const img = imageView(ctx, a, w, h, bpp);
    const [rx, ry, rw, rh] = numberList(ctx, roi, 'roi');
    const rgba = new Uint8ClampedArray(rw * rh * 4);
    for (let y = 0; y < rh; y++)
      for (let x = 0; x < rw; x++) {
        const p = img.pixels[(ry + y) * img.width + rx + x];
        const g = img.kind === 'rgb565' ? rgb565ToGray(p) : p;
        const o = 4 * (y * rw + x);
        rgba[o] = rgba[o + 1] = rgba[o + 2] = g;
        rgba[o + 3] = 255;
      }
    ctx.clock.cpu(C.qrPerPixel * rw * rh);
    const code = jsQR(rgba, rw, rh, { inversionAttempts: 'dontInvert' });
    if (!code) return null;
    const L = code.location;
    const corners = [L.topLeftCorner, L.topRightCorner, L.bottomRightCorner, L.bottomLeftCorner].flatMap((p) => [
      Math.trunc(p.x) + rx,
      Math.trunc(p.y) + ry,
    ]);
    // quirc's data types: numeric 1, alphanumeric 2, byte 4, kanji 8 (the first data chunk's)
    const TYPES: Record<string, number> = { numeric: 1, alphanumeric: 2, byte: 4, kanji: 8 };
    let dataType = 0,
      eci = 0;
    for (const c of code.chunks) {
      if ('assignmentNumber' in c) eci = c.assignmentNumber;
      else if (!dataType && TYPES[c.type]) dataType = TYPES[c.type];
    }
    return [corners, code.binaryData, code.version, dataType, eci];
  },
};
