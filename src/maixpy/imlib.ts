/**
 * MaixPy's image operations (OpenMV's imlib as sipeed/MaixPy-v1 builds it) on kpusim's display
 * images, in place unless noted, with the firmware's integer and binary32 arithmetic. Written
 * from reading the firmware's imlib sources; see docs/maixpy-api.md for what each call supports.
 *
 * Numerics that bite:
 * - MaixPy's `fast_roundf` is a truncation (`(int)x`), not a rounding; `fast_sqrtf` is the
 *   hardware's binary32 square root.
 * - RGB565 → grayscale/Y/U/V and → L*a*b* come from tables; the full firmware build
 *   (CONFIG_MAIXPY_OMV_CONV_YUV_FAST, the default of the maixpy_k210 project) keeps the whole
 *   tables, whose entries are these formulas in double precision (checked against every entry):
 *   Y = trunc(0.299·R8 + 0.587·G8 + 0.114·B8) − 128, U = trunc(−0.168736·R8 − 0.331264·G8 +
 *   0.5·B8), V = trunc(0.5·R8 − 0.418688·G8 − 0.081312·B8); L*a*b* from sRGB (D65) rounded half
 *   away from zero. The minimum builds keep a compressed table that can differ by 1.
 * - Neighbourhood filters (mean, median, morph, bilateral) read the original pixels (the firmware
 *   buffers ksize + 1 rows) and clamp coordinates at the image edge.
 * - Float expressions are evaluated as binary32 operations one at a time; where the board's
 *   compiler may fuse a multiply and an add (bilateral, lens_corr), results can differ in the last
 *   bit and so by one level after truncation: docs/maixpy-api.md calls those approximate.
 */
import type { MaixImage } from '../pipeline/types.js';
import { G628, G826, RB528, RB825 } from '../pipeline/rgb565.js';
import { drawLine } from './draw.js';

const f = Math.fround;

/** R8, G8, B8 of a MaixPy (byte-swapped) RGB565 pixel value. */
function rgb8(p: number): [number, number, number] {
  return [RB528[(p >> 3) & 31], G628[((p & 7) << 3) | (p >> 13)], RB528[(p >> 8) & 31]];
}
const r5 = (p: number): number => (p >> 3) & 31;
const g6 = (p: number): number => ((p & 7) << 3) | (p >> 13);
const b5 = (p: number): number => (p >> 8) & 31;
/** COLOR_R5_G6_B5_TO_RGB565: no masking, the 16-bit store keeps the low bits. */
export const pack565 = (r: number, g: number, b: number): number =>
  ((r << 3) | (g >> 3) | (g << 13) | (b << 8)) & 0xffff;
/** COLOR_R8_G8_B8_TO_RGB565, through the rounding tables. */
const pack888 = (r: number, g: number, b: number): number => pack565(RB825[r], G826[g], RB825[b]);

let yuvTable: Int8Array | undefined;
/** yuv_table: Y, U, V (int8) per RGB565 value. */
function yuv(): Int8Array {
  if (yuvTable) return yuvTable;
  const t = new Int8Array(65536 * 3);
  for (let p = 0; p < 65536; p++) {
    const [r, g, b] = rgb8(p);
    t[3 * p] = Math.trunc(r * 0.299 + g * 0.587 + b * 0.114) - 128;
    t[3 * p + 1] = Math.trunc(-(r * 0.168736) - g * 0.331264 + b * 0.5);
    t[3 * p + 2] = Math.trunc(r * 0.5 - g * 0.418688 - b * 0.081312);
  }
  return (yuvTable = t);
}

let labTable: Int8Array | undefined;
/** lab_table: L, A, B (int8) per RGB565 value. */
function lab(): Int8Array {
  if (labTable) return labTable;
  const t = new Int8Array(65536 * 3);
  const lin = (c: number): number => (c <= 0.04045 ? 100 * (c / 12.92) : 100 * Math.pow((c + 0.055) / 1.055, 2.4));
  const ff = (v: number): number => (v > 0.008856 ? Math.pow(v, 1 / 3) : 7.787037 * v + 0.137931);
  const round = (v: number): number => Math.sign(v) * Math.round(Math.abs(v));
  for (let p = 0; p < 65536; p++) {
    const [r, g, b] = rgb8(p);
    const rl = lin(r / 255),
      gl = lin(g / 255),
      bl = lin(b / 255);
    const x = ff((rl * 0.4124 + gl * 0.3576 + bl * 0.1805) / 95.047);
    const y = ff((rl * 0.2126 + gl * 0.7152 + bl * 0.0722) / 100);
    const z = ff((rl * 0.0193 + gl * 0.1192 + bl * 0.9505) / 108.883);
    t[3 * p] = round(116 * y) - 16;
    t[3 * p + 1] = round(500 * (x - y));
    t[3 * p + 2] = round(200 * (y - z));
  }
  return (labTable = t);
}

/** COLOR_RGB565_TO_Y (−128…127). */
export const rgb565ToY = (p: number): number => yuv()[3 * p];
/** COLOR_RGB565_TO_GRAYSCALE. */
export const rgb565ToGray = (p: number): number => yuv()[3 * p] + 128;

/** imlib_yuv_to_rgb (y is 0…255 here, as imlib passes it). */
function yuvToRgb(y: number, u: number, v: number): number {
  const c = (x: number): number => Math.max(Math.min(x, 255), 0);
  const r = c(y + ((91881 * v) >> 16));
  const g = c(y - ((22554 * u + 46802 * v) >> 16));
  const b = c(y + ((116130 * u) >> 16));
  return pack888(r, g, b);
}

/** One colour threshold: [Lmin, Lmax, Amin, Amax, Bmin, Bmax] after py_helper_arg_to_thresholds. */
export type Threshold = readonly [number, number, number, number, number, number];

/** COLOR_THRESHOLD_GRAYSCALE / COLOR_THRESHOLD_RGB565 for one pixel value. */
function inThreshold(img: MaixImage, p: number, t: Threshold, invert: boolean): boolean {
  let inside: boolean;
  if (img.kind === 'grayscale') inside = t[0] <= p && p <= t[1];
  else {
    const L = lab();
    const l = L[3 * p],
      a = L[3 * p + 1],
      b = L[3 * p + 2];
    inside = t[0] <= l && l <= t[1] && t[2] <= a && a <= t[3] && t[4] <= b && b <= t[5];
  }
  return inside !== invert;
}

/** `to_grayscale`: the grayscale pixels of an RGB565 image (COLOR_RGB565_TO_GRAYSCALE). */
export function toGrayscale(img: MaixImage): Uint8Array {
  if (img.kind === 'grayscale') return img.pixels.slice();
  const out = new Uint8Array(img.width * img.height);
  for (let i = 0; i < out.length; i++) out[i] = rgb565ToGray(img.pixels[i]);
  return out;
}

/** `invert`: every bit of every pixel flipped. */
export function invert(img: MaixImage): void {
  const m = img.kind === 'rgb565' ? 0xffff : 0xff;
  for (let i = 0; i < img.pixels.length; i++) img.pixels[i] ^= m;
}

/**
 * `strech_char` (grayscale only): stretch levels above the mean to 0…255, optionally darkening
 * towards the corners. C int arithmetic (division truncates towards zero); an image of one level
 * divides by zero, which the K210 (RISC-V) answers with −1, so every pixel becomes 0.
 */
export function strechChar(img: MaixImage, deDark: boolean): void {
  const { width: w, height: h } = img;
  const px = img.pixels;
  let sx = 0,
    graymax = 0;
  for (let i = 0; i < w * h; i++) {
    if (px[i] > graymax) graymax = px[i];
    sx += px[i];
  }
  const gate = Math.trunc(Math.trunc(sx / w) / h);
  const den = graymax - gate;
  const hw = Math.trunc(w / 2),
    hh = Math.trunc(h / 2);
  for (let i = 0; i < w * h; i++) {
    const x = i % w,
      y = Math.trunc(i / w);
    let dat = den === 0 ? -1 : Math.trunc(((px[i] - gate) * 255) / den);
    dat = dat < 0 ? 0 : dat > 255 ? 255 : dat;
    const r2 = (x - hw) * (x - hw) + (y - hh) * (y - hh);
    if (deDark) dat = Math.trunc(dat / (1.0 + (32.0 * r2 * r2) / w / w / h / h));
    px[i] = dat;
  }
}

/**
 * `binary`: pixels inside any threshold (XOR invert) become white, others black; with `zero`,
 * pixels inside become 0 and the others stay. Writes `out` (the same size and format).
 */
export function binary(
  img: MaixImage,
  out: MaixImage,
  thresholds: readonly Threshold[],
  inv: boolean,
  zero: boolean,
): void {
  const n = img.width * img.height;
  const bmp = new Uint8Array(n);
  for (const t of thresholds) for (let i = 0; i < n; i++) if (inThreshold(img, img.pixels[i], t, inv)) bmp[i] = 1;
  const white = img.kind === 'rgb565' ? 0xffff : 0xff;
  for (let i = 0; i < n; i++) {
    if (zero) out.pixels[i] = bmp[i] ? 0 : img.pixels[i];
    else out.pixels[i] = bmp[i] ? white : 0;
  }
}

/** `histeq` (not adaptive): levels mapped through the cumulative histogram, ⌊(255/n)·cdf⌋ in binary32. */
export function histeq(img: MaixImage): void {
  const n = img.width * img.height;
  const s = f(255 / f(n));
  const hist = new Uint32Array(256);
  if (img.kind === 'grayscale') {
    for (let i = 0; i < n; i++) hist[img.pixels[i]]++;
    for (let i = 0, sum = 0; i < 256; i++) hist[i] = sum += hist[i];
    for (let i = 0; i < n; i++) img.pixels[i] = Math.trunc(f(s * hist[img.pixels[i]]));
  } else {
    const t = yuv();
    for (let i = 0; i < n; i++) hist[t[3 * img.pixels[i]] + 128]++;
    for (let i = 0, sum = 0; i < 256; i++) hist[i] = sum += hist[i];
    for (let i = 0; i < n; i++) {
      const p = img.pixels[i];
      // the firmware hands the equalised level (0…255) to imlib_yuv_to_rgb as Y
      img.pixels[i] = yuvToRgb(Math.trunc(f(s * hist[t[3 * p] + 128])) & 0xff, t[3 * p + 1], t[3 * p + 2]);
    }
  }
}

/** The threshold step every neighbourhood filter shares (`threshold`, `offset`, `invert`). */
export interface FilterThreshold {
  readonly threshold: boolean;
  readonly offset: number;
  readonly invert: boolean;
}

/**
 * A neighbourhood filter over (2·ksize + 1)² windows with edge clamping, on the grayscale level or
 * on R5, G6 and B5 separately. `reduce(values, channel, centre)` gives the new level of a channel
 * (0 gray or R5, 1 G6, 2 B5) from the window's levels in row order.
 */
function neighbourhood(
  img: MaixImage,
  ksize: number,
  th: FilterThreshold,
  reduce: (v: Int32Array, ch: number, centre: number) => number,
): void {
  const { width: w, height: h } = img;
  const src = img.pixels.slice();
  const n = (2 * ksize + 1) * (2 * ksize + 1);
  const vals = [new Int32Array(n), new Int32Array(n), new Int32Array(n)];
  const rgb = img.kind === 'rgb565';
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let k = 0;
      for (let j = -ksize; j <= ksize; j++) {
        const yy = Math.min(Math.max(y + j, 0), h - 1) * w;
        for (let i = -ksize; i <= ksize; i++) {
          const p = src[yy + Math.min(Math.max(x + i, 0), w - 1)];
          if (rgb) {
            vals[0][k] = r5(p);
            vals[1][k] = g6(p);
            vals[2][k] = b5(p);
          } else vals[0][k] = p;
          k++;
        }
      }
      const c = src[y * w + x];
      let pixel = rgb
        ? pack565(reduce(vals[0], 0, r5(c)), reduce(vals[1], 1, g6(c)), reduce(vals[2], 2, b5(c)))
        : reduce(vals[0], 0, c);
      if (th.threshold) {
        const a = rgb ? rgb565ToY(pixel) : pixel,
          b = rgb ? rgb565ToY(c) : c;
        pixel = a - th.offset < b !== th.invert ? (rgb ? 0xffff : 0xff) : 0;
      }
      img.pixels[y * w + x] = pixel;
    }
}

/** `mean`: the window's mean, ⌊Σ·(1/n)⌋ in binary32. */
export function meanFilter(img: MaixImage, ksize: number, th: FilterThreshold): void {
  const overN = f(1 / ((2 * ksize + 1) * (2 * ksize + 1)));
  neighbourhood(img, ksize, th, (v) => {
    let acc = 0;
    for (let i = 0; i < v.length; i++) acc += v[i];
    return Math.trunc(f(f(acc) * overN));
  });
}

/** `median`: the window's value at ⌊percentile·(n − 1)⌋ of the sorted levels. */
export function medianFilter(img: MaixImage, ksize: number, percentile: number, th: FilterThreshold): void {
  const n = (2 * ksize + 1) * (2 * ksize + 1);
  const at = Math.trunc(f(f(percentile) * (n - 1)));
  neighbourhood(img, ksize, th, (v) => v.slice().sort()[at]);
}

/** `morph` (and `gaussian`, `laplacian`): clamp(⌊Σ krn·v · mul⌋ + add) per channel. */
export function morph(
  img: MaixImage,
  ksize: number,
  krn: readonly number[],
  mul: number,
  add: number,
  th: FilterThreshold,
): void {
  const m = f(mul);
  const b = Math.trunc(add);
  const max = img.kind === 'rgb565' ? [31, 63, 31] : [255, 255, 255];
  neighbourhood(img, ksize, th, (v, ch) => {
    let acc = 0;
    for (let i = 0; i < v.length; i++) acc = (acc + Math.imul(krn[i], v[i])) | 0;
    return Math.max(Math.min(Math.trunc(f(f(acc) * m)) + b, max[ch]), 0);
  });
}

/**
 * The kernel `gaussian` builds: the outer product of a row of Pascal's triangle (unsharp: centre − 2·sum, negated sum).
 */
export function gaussianKernel(ksize: number, unsharp: boolean): { krn: number[]; m: number } {
  const pascal = pascalRow(ksize);
  const n = pascal.length;
  const krn: number[] = [];
  let m = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      krn.push(pascal[i] * pascal[j]);
      m += pascal[i] * pascal[j];
    }
  if (unsharp) {
    krn[Math.trunc(n / 2) * n + Math.trunc(n / 2)] -= m * 2;
    m = -m;
  }
  return { krn, m };
}

/**
 * The kernel `laplacian` builds: −(outer product of Pascal's row) with the centre raised by the sum (sharpen: twice).
 */
export function laplacianKernel(ksize: number, sharpen: boolean): { krn: number[]; m: number } {
  const pascal = pascalRow(ksize);
  const n = pascal.length;
  const krn: number[] = [];
  let m = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      krn.push(-pascal[i] * pascal[j]);
      m += pascal[i] * pascal[j];
    }
  const c = Math.trunc(n / 2) * n + Math.trunc(n / 2);
  krn[c] += m;
  m = krn[c];
  if (sharpen) krn[c] += m;
  return { krn, m };
}

function pascalRow(ksize: number): number[] {
  const k2 = 2 * ksize;
  const p = [1];
  for (let i = 0; i < k2; i++) p.push(Math.trunc((p[i] * (k2 - i)) / (i + 1)));
  return p;
}

/** fast_expf: MaixPy's exponential from the bits of a double's exponent (Schraudolph's trick), in binary32. */
function fastExpf(x: number): number {
  const t = f(f(1512775 * f(x)) + 1072632448);
  const l = t <= 0 ? 0 : t >= 4294967296 ? 0xffffffff : Math.trunc(t) >>> 0;
  const m = l & 0xfffff,
    e = (l >>> 20) & 0x7ff,
    s = l >>> 31;
  const bits = ((s << 31) | (((e - 1023 + 127) & 0xff) << 23) | (m << 3)) >>> 0;
  return new Float32Array(new Uint32Array([bits]).buffer)[0];
}

function gaussian(x: number, sigma: number): number {
  return f(fastExpf(f(f(x * x) / f(f(-2 * sigma) * sigma))) / f(Math.abs(sigma) * f(2.506628)));
}

/** `bilateral`: weights from the level difference and the distance (binary32, fast_expf). */
export function bilateral(
  img: MaixImage,
  ksize: number,
  colorSigma: number,
  spaceSigma: number,
  th: FilterThreshold,
): void {
  const cs = f(colorSigma),
    ss = f(spaceSigma);
  const n = 2 * ksize + 1;
  const dist = (x: number, y: number): number => f(Math.sqrt(x * x + y * y));
  const dk = dist(ksize, ksize);
  const maxSpace = dk ? f(1 / dk) : 0;
  const gs = new Float32Array(n * n);
  for (let y = -ksize; y <= ksize; y++)
    for (let x = -ksize; x <= ksize; x++) gs[n * (y + ksize) + (x + ksize)] = gaussian(f(dist(x, y) * maxSpace), ss);
  const maxes = img.kind === 'rgb565' ? [31, 63, 31] : [255, 255, 255];
  const gi = maxes.map((mx) => {
    const t = new Float32Array(mx + 1);
    const step = f(1 / mx);
    for (let i = 0; i <= mx; i++) t[i] = gaussian(f(i * step), cs);
    return t;
  });
  neighbourhood(img, ksize, th, (v, ch, centre) => {
    let iAcc = 0,
      wAcc = 0;
    for (let i = 0; i < v.length; i++) {
      const wgt = f(gi[ch][Math.abs(centre - v[i])] * gs[i]);
      iAcc = f(iAcc + f(v[i] * wgt));
      wAcc = f(wAcc + wgt);
    }
    const q = wAcc ? f(iAcc / wAcc) : 0;
    return Math.trunc(Math.min(q, maxes[ch]));
  });
}

/** `difference` with an image of the same size and format (or a constant pixel value): |a − b| per channel. */
export function difference(img: MaixImage, other: MaixImage | number): void {
  const n = img.width * img.height;
  for (let i = 0; i < n; i++) {
    const a = img.pixels[i];
    const b = typeof other === 'number' ? other : other.pixels[i];
    if (img.kind === 'grayscale') img.pixels[i] = Math.abs(a - (b & 0xff));
    else img.pixels[i] = pack565(Math.abs(r5(a) - r5(b)), Math.abs(g6(a) - g6(b)), Math.abs(b5(a) - b5(b)));
  }
}

/** `mean_pooled`: ⌊w/xd⌋×⌊h/yd⌋ means of xd×yd blocks (integer division per channel). */
export function meanPool(img: MaixImage, xd: number, yd: number): MaixImage {
  const W = Math.trunc(img.width / xd),
    H = Math.trunc(img.height / yd);
  const n = xd * yd;
  const out =
    img.kind === 'rgb565'
      ? ({ kind: 'rgb565', width: W, height: H, pixels: new Uint16Array(W * H) } as const)
      : ({ kind: 'grayscale', width: W, height: H, pixels: new Uint8Array(W * H) } as const);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      let a = 0,
        g = 0,
        b = 0;
      for (let i = 0; i < yd; i++)
        for (let j = 0; j < xd; j++) {
          const p = img.pixels[(y * yd + i) * img.width + x * xd + j];
          if (img.kind === 'rgb565') {
            a += r5(p);
            g += g6(p);
            b += b5(p);
          } else a += p;
        }
      out.pixels[y * W + x] =
        img.kind === 'rgb565' ? pack565(Math.trunc(a / n), Math.trunc(g / n), Math.trunc(b / n)) : Math.trunc(a / n);
    }
  return out;
}

/** Cephes' atanf as fmath.c has it, in binary32. */
function fastAtanf(xx: number): number {
  let x = f(Math.abs(xx));
  let y: number;
  if (x > f(2.414213562373095)) {
    y = Math.PI / 2;
    x = f(-f(1 / x));
  } else if (x > f(0.414213562373095)) {
    y = Math.PI / 4;
    x = f(f(x - 1) / f(x + 1));
  } else y = 0;
  y = f(y);
  const z = f(x * x);
  let p = f(f(f(8.05374449538e-2) * z) - f(1.38776856032e-1));
  p = f(f(p * z) + f(1.99777106478e-1));
  p = f(f(p * z) - f(3.33329491539e-1));
  y = f(y + f(f(f(p * z) * x) + x));
  return xx < 0 ? -y : y;
}

/** fast_atan2f: quadrant by quadrant (x = 0 gives π or −π, as the firmware's). */
function fastAtan2f(y: number, x: number): number {
  if (x > 0 && y >= 0) return fastAtanf(f(y / x));
  if (x < 0 && y >= 0) return f(Math.PI - fastAtanf(f(-y / x)));
  if (x < 0 && y < 0) return f(Math.PI + fastAtanf(f(y / x)));
  if (x > 0 && y < 0) return f(2 * Math.PI - fastAtanf(f(-y / x)));
  return y === 0 ? 0 : y > 0 ? f(Math.PI) : f(-Math.PI);
}

/** `lens_corr`: barrel correction, nearest source pixel; pixels with no source become 0. */
export function lensCorr(img: MaixImage, strength: number, zoomIn: number): void {
  const { width: w, height: h } = img;
  const zoom = f(1 / f(zoomIn));
  const hw = Math.trunc(w / 2),
    hh = Math.trunc(h / 2);
  const radius = f(f(strength) / f(Math.sqrt(w * w + h * h)));
  const src = img.pixels.slice();
  img.pixels.fill(0);
  for (let y = 0; y < h; y++) {
    const ny = y - hh;
    const zy = f(ny * zoom);
    for (let x = 0; x < w; x++) {
      const nx = x - hw;
      const zx = f(nx * zoom);
      const r = f(radius * f(Math.sqrt(f(nx * nx + ny * ny))));
      const theta = r < f(0.0000001) ? 1 : f(fastAtanf(r) / r);
      const sx = hw + Math.trunc(f(theta * zx));
      const sy = hh + Math.trunc(f(theta * zy));
      if (sx >= 0 && sx < w && sy >= 0 && sy < h) img.pixels[y * w + x] = src[sy * w + sx];
    }
  }
}

/** `draw_arrow`: the shaft and two head strokes `size` long (MaixPy's float steps, truncated). */
export function drawArrow(
  img: MaixImage,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  c: number,
  size: number,
  thickness: number,
): void {
  const dx = x1 - x0,
    dy = y1 - y0;
  const length = f(Math.sqrt(f(dx * dx + dy * dy)));
  const ux = length ? f(dx / length) : 0,
    uy = length ? f(dy / length) : 0;
  const vx = -uy,
    vy = ux;
  // x1 − s·u (binary32) ± s·v·0.5 (the 0.5 is a double in the firmware), then truncated
  const end = (a: number, u: number, v: number, sign: number): number =>
    Math.trunc(f(f(a - f(size * u)) + sign * (f(size * v) * 0.5)));
  drawLine(img, x0, y0, x1, y1, c, thickness);
  drawLine(img, x1, y1, end(x1, ux, vx, 1), end(y1, uy, vy, 1), c, thickness);
  drawLine(img, x1, y1, end(x1, ux, vx, -1), end(y1, uy, vy, -1), c, thickness);
}

/** One blob as find_blobs reports it. */
export interface Blob {
  x: number;
  y: number;
  w: number;
  h: number;
  pixels: number;
  cx: number;
  cy: number;
  rotation: number;
  code: number;
  count: number;
}

/** A rectangle (x, y, w, h) as imlib keeps it. */
type Rect = { x: number; y: number; w: number; h: number };

function overlap(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.w && a.y < b.y + b.h && b.x < a.x + a.w && b.y < a.y + a.h;
}

/**
 * `find_blobs`: 4-connected regions of pixels inside each threshold (seeded every `xStride`
 * pixels of every `yStride`-th row, rows offset by y mod xStride), a pixel belonging to the first
 * threshold that claims it; then the area and pixel-count filters and the optional merge of
 * overlapping boxes (grown by `margin`). Rectangles are (x1, y1, x2 − x1, y2 − y1) as the firmware
 * reports them (one less than the covered width and height).
 */
export function findBlobs(
  img: MaixImage,
  thresholds: readonly Threshold[],
  inv: boolean,
  roi: Rect,
  xStride: number,
  yStride: number,
  areaThreshold: number,
  pixelsThreshold: number,
  merge: boolean,
  margin: number,
): Blob[] {
  const w = img.width;
  const seen = new Uint8Array(w * img.height);
  let out: Blob[] = [];
  const stack: number[] = [];
  thresholds.forEach((t, code) => {
    const ok = (x: number, y: number): boolean => !seen[y * w + x] && inThreshold(img, img.pixels[y * w + x], t, inv);
    for (let y = roi.y; y < roi.y + roi.h; y += yStride)
      for (let x = roi.x + (y % xStride); x < roi.x + roi.w; x += xStride) {
        if (!ok(x, y)) continue;
        let x1 = x,
          y1 = y,
          x2 = x,
          y2 = y,
          pixels = 0,
          cx = 0,
          cy = 0,
          a = 0,
          b = 0,
          c = 0;
        stack.length = 0;
        stack.push(x, y);
        while (stack.length) {
          const sy = stack.pop() as number,
            sx = stack.pop() as number;
          if (!ok(sx, sy)) continue;
          let left = sx,
            right = sx;
          while (left > roi.x && ok(left - 1, sy)) left--;
          while (right < roi.x + roi.w - 1 && ok(right + 1, sy)) right++;
          x1 = Math.min(x1, left);
          y1 = Math.min(y1, sy);
          x2 = Math.max(x2, right);
          y2 = Math.max(y2, sy);
          for (let i = left; i <= right; i++) {
            seen[sy * w + i] = 1;
            pixels++;
            cx += i;
            cy += sy;
            a += i * i;
            b += i * sy;
            c += sy * sy;
          }
          for (const ny of [sy - 1, sy + 1]) {
            if (ny < roi.y || ny >= roi.y + roi.h) continue;
            for (let i = left; i <= right; i++) if (ok(i, ny)) stack.push(i, ny);
          }
        }
        const mx = Math.trunc(cx / pixels),
          my = Math.trunc(cy / pixels);
        // int products wrap at 32 bits; the long long sums are exact in doubles here
        const sa = (a - (Math.imul(mx, cx) + Math.imul(mx, cx)) + Math.imul(Math.imul(pixels, mx), mx)) | 0;
        const sb = (b - (Math.imul(mx, cy) + Math.imul(my, cx)) + Math.imul(Math.imul(pixels, mx), my)) | 0;
        const sc = (c - (Math.imul(my, cy) + Math.imul(my, cy)) + Math.imul(Math.imul(pixels, my), my)) | 0;
        const blob: Blob = {
          x: x1,
          y: y1,
          w: x2 - x1,
          h: y2 - y1,
          pixels,
          cx: mx,
          cy: my,
          rotation: sa !== sc ? f(fastAtan2f(f(2 * sb), f(sa - sc)) / 2) : 0,
          code: 1 << code,
          count: 1,
        };
        if (blob.w * blob.h >= areaThreshold && blob.pixels >= pixelsThreshold) out.push(blob);
      }
  });
  if (merge) {
    for (;;) {
      let merged = false;
      const temp: Blob[] = [];
      while (out.length) {
        const blob = out.shift() as Blob;
        for (let k = 0, l = out.length; k < l; k++) {
          const other = out.shift() as Blob;
          const grown = {
            x: Math.max(Math.min(other.x - margin, 32767), -32768),
            y: Math.max(Math.min(other.y - margin, 32767), -32768),
            w: Math.max(Math.min(other.w + margin * 2, 32767), 0),
            h: Math.max(Math.min(other.h + margin * 2, 32767), 0),
          };
          if (overlap(blob, grown)) {
            const ux = Math.min(blob.x, other.x),
              uy = Math.min(blob.y, other.y);
            blob.w = Math.max(blob.x + blob.w, other.x + other.w) - ux;
            blob.h = Math.max(blob.y + blob.h, other.y + other.h) - uy;
            blob.x = ux;
            blob.y = uy;
            const p = blob.pixels + other.pixels;
            blob.cx = Math.trunc((blob.cx * blob.pixels + other.cx * other.pixels) / p);
            blob.cy = Math.trunc((blob.cy * blob.pixels + other.cy * other.pixels) / p);
            const sinMean = f(
              f(f(f(Math.sin(blob.rotation)) * blob.pixels) + f(f(Math.sin(other.rotation)) * other.pixels)) / p,
            );
            const cosMean = f(
              f(f(f(Math.cos(blob.rotation)) * blob.pixels) + f(f(Math.cos(other.rotation)) * other.pixels)) / p,
            );
            blob.rotation = fastAtan2f(sinMean, cosMean);
            blob.pixels = p;
            blob.code |= other.code;
            blob.count = Math.min(blob.count + other.count, 65535);
            merged = true;
          } else out.push(other);
        }
        temp.push(blob);
      }
      out = temp;
      if (!merged) break;
    }
  }
  return out;
}

/**
 * `rotation_corr`: the firmware's perspective model (rotate about x, y, z, translate, project with
 * the camera at z = (diagonal/2)/tan(fov/2)), inverted and sampled at the nearest source pixel
 * (truncated). The matrices are built and inverted here in double precision where the firmware uses
 * apriltag's matd routines, so a source pixel at a rounding boundary can differ.
 */
export function rotationCorr(
  img: MaixImage,
  xr: number,
  yr: number,
  zr: number,
  xt: number,
  yt: number,
  zoom: number,
  fov: number,
  corners?: readonly number[],
): void {
  const { width: w, height: h } = img;
  const z = f(f(f(Math.sqrt(w * w + h * h)) / 2) / f(Math.tan(fov / 2)));
  const zz = f(z * zoom);
  const hw = Math.trunc(w / 2),
    hh = Math.trunc(h / 2);
  const mul = (a: number[][], b: number[][]): number[][] =>
    a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
  const A1 = [
    [1, 0, -hw],
    [0, 1, -hh],
    [0, 0, 0],
    [0, 0, 1],
  ];
  const [cx, sx, cy, sy, cz, sz] = [xr, yr, zr].flatMap((a) => [f(Math.cos(a)), f(Math.sin(a))]);
  const RX = [
    [1, 0, 0, 0],
    [0, cx, -sx, 0],
    [0, sx, cx, 0],
    [0, 0, 0, 1],
  ];
  const RY = [
    [cy, 0, -sy, 0],
    [0, 1, 0, 0],
    [sy, 0, cy, 0],
    [0, 0, 0, 1],
  ];
  const RZ = [
    [cz, -sz, 0, 0],
    [sz, cz, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ];
  const T = [
    [1, 0, 0, xt],
    [0, 1, 0, yt],
    [0, 0, 1, z],
    [0, 0, 0, 1],
  ];
  const A2 = [
    [zz, 0, hw, 0],
    [0, zz, hh, 0],
    [0, 0, 1, 0],
  ];
  const m = mul(A2, mul(T, mul(mul(mul(RX, RY), RZ), A1)));
  const det =
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  const src = img.pixels.slice();
  img.pixels.fill(0);
  if (det === 0) return;
  const inv = [
    [
      m[1][1] * m[2][2] - m[1][2] * m[2][1],
      m[0][2] * m[2][1] - m[0][1] * m[2][2],
      m[0][1] * m[1][2] - m[0][2] * m[1][1],
    ],
    [
      m[1][2] * m[2][0] - m[1][0] * m[2][2],
      m[0][0] * m[2][2] - m[0][2] * m[2][0],
      m[0][2] * m[1][0] - m[0][0] * m[1][2],
    ],
    [
      m[1][0] * m[2][1] - m[1][1] * m[2][0],
      m[0][1] * m[2][0] - m[0][0] * m[2][1],
      m[0][0] * m[1][1] - m[0][1] * m[1][0],
    ],
  ].map((row) => row.map((v) => v / det));
  let t4 = inv;
  if (corners) {
    // the homography taking the image's corners to the given points, applied after the inverse
    const from = [0, 0, w - 1, 0, w - 1, h - 1, 0, h - 1];
    const H = homography(from, corners);
    if (H) t4 = mul(H, inv);
  }
  const T4 = t4.map((row) => row.map(f));
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const X = f(f(f(T4[0][0] * x) + f(T4[0][1] * y)) + T4[0][2]);
      const Y = f(f(f(T4[1][0] * x) + f(T4[1][1] * y)) + T4[1][2]);
      const Z = f(f(f(T4[2][0] * x) + f(T4[2][1] * y)) + T4[2][2]);
      const sxp = Math.trunc(f(X / Z)),
        syp = Math.trunc(f(Y / Z));
      if (sxp >= 0 && sxp < w && syp >= 0 && syp < h) img.pixels[y * w + x] = src[syp * w + sxp];
    }
}

/** The homography H (h33 = 1) with H·(from_i, 1) ∝ (to_i, 1) for four point pairs, or null when degenerate. */
function homography(from: readonly number[], to: readonly number[]): number[][] | null {
  const A: number[][] = [];
  for (let i = 0; i < 4; i++) {
    const [x, y, X, Y] = [from[2 * i], from[2 * i + 1], to[2 * i], to[2 * i + 1]];
    A.push([x, y, 1, 0, 0, 0, -X * x, -X * y, X]);
    A.push([0, 0, 0, x, y, 1, -Y * x, -Y * y, Y]);
  }
  for (let c = 0; c < 8; c++) {
    let p = c;
    for (let r = c + 1; r < 8; r++) if (Math.abs(A[r][c]) > Math.abs(A[p][c])) p = r;
    if (Math.abs(A[p][c]) < 1e-12) return null;
    [A[c], A[p]] = [A[p], A[c]];
    for (let r = 0; r < 8; r++) {
      if (r === c) continue;
      const k = A[r][c] / A[c][c];
      for (let j = c; j < 9; j++) A[r][j] -= k * A[c][j];
    }
  }
  const h = A.map((row, i) => row[8] / row[i]);
  return [
    [h[0], h[1], h[2]],
    [h[3], h[4], h[5]],
    [h[6], h[7], 1],
  ];
}
