/**
 * From a decoded picture to what the K210 camera path gives the KPU: resizing to the frame size
 * (stated and reversible, so detections map back to the original pixels), interleaved RGB888 ↔
 * planar "AI" layout (R, G, B planes, optionally B, G, R), luma for 1-channel models, and the
 * two faces of a camera snapshot (RGB565 display pixels + AI planes).
 *
 * This is kpusim's own image preparation (a camera frame has no file behind it), so it is plain
 * double arithmetic with documented rounding, not a firmware reproduction.
 */
import { rgbToRgb565, type Rgb565Rounding } from './rgb565.js';
import type { GrayImage, PlanarImage, Rect, Rgb565Image, RgbImage } from './types.js';

export type ResizeMode = 'stretch' | 'fit' | 'crop';
export type ResizeFilter = 'nearest' | 'bilinear' | 'area';

/**
 * How a resize placed the source in the target: target = source·scale + offset, per axis, in
 * continuous pixel coordinates (pixel i covers [i, i+1)). `fit` letterboxes (offset ≥ 0, the
 * rest padded), `crop` fills and cuts the overflow (offset ≤ 0), `stretch` ignores the aspect.
 */
export interface ResizeMapping {
  readonly mode: ResizeMode;
  readonly srcWidth: number;
  readonly srcHeight: number;
  readonly dstWidth: number;
  readonly dstHeight: number;
  readonly scaleX: number;
  readonly scaleY: number;
  /** Integers: where the source's top-left corner lands in the target. */
  readonly offsetX: number;
  readonly offsetY: number;
}

function checkDims(what: string, w: number, h: number): void {
  if (!Number.isInteger(w) || !Number.isInteger(h) || w <= 0 || h <= 0)
    throw new RangeError(`${what}: size must be positive integers, got ${w}×${h}`);
}

/**
 * The placement of a srcW×srcH image in a dstW×dstH target. For `fit` and `crop` the scaled
 * content size is rounded to whole pixels and centred (offset = ⌊(dst − content)/2⌋), so every
 * target pixel is either content or padding.
 */
export function planResize(srcW: number, srcH: number, dstW: number, dstH: number, mode: ResizeMode): ResizeMapping {
  checkDims('resize source', srcW, srcH);
  checkDims('resize target', dstW, dstH);
  if (mode === 'stretch') {
    return {
      mode,
      srcWidth: srcW,
      srcHeight: srcH,
      dstWidth: dstW,
      dstHeight: dstH,
      scaleX: dstW / srcW,
      scaleY: dstH / srcH,
      offsetX: 0,
      offsetY: 0,
    };
  }
  if (mode !== 'fit' && mode !== 'crop')
    throw new RangeError(`resize: unknown mode "${String(mode)}" (stretch, fit, crop)`);
  const s = mode === 'fit' ? Math.min(dstW / srcW, dstH / srcH) : Math.max(dstW / srcW, dstH / srcH);
  let cw = Math.max(1, Math.round(srcW * s));
  let chh = Math.max(1, Math.round(srcH * s));
  if (mode === 'fit') {
    cw = Math.min(cw, dstW);
    chh = Math.min(chh, dstH);
  } else {
    cw = Math.max(cw, dstW);
    chh = Math.max(chh, dstH);
  }
  return {
    mode,
    srcWidth: srcW,
    srcHeight: srcH,
    dstWidth: dstW,
    dstHeight: dstH,
    scaleX: cw / srcW,
    scaleY: chh / srcH,
    offsetX: Math.floor((dstW - cw) / 2),
    offsetY: Math.floor((dstH - chh) / 2),
  };
}

/** A target-image point back in source pixels (continuous coordinates). */
export function mapPointToSource(m: ResizeMapping, x: number, y: number): [number, number] {
  return [(x - m.offsetX) / m.scaleX, (y - m.offsetY) / m.scaleY];
}

/** A source-image point in target pixels. */
export function mapPointToTarget(m: ResizeMapping, x: number, y: number): [number, number] {
  return [x * m.scaleX + m.offsetX, y * m.scaleY + m.offsetY];
}

/**
 * A target-image box (x, y, w, h, corners on pixel edges) in source pixels. With `clip` (default)
 * the box is cut to the source image (a box in the letterbox padding shrinks to zero size).
 */
export function mapRectToSource(m: ResizeMapping, r: Rect, opts: { clip?: boolean } = {}): Rect {
  let [x1, y1] = mapPointToSource(m, r.x, r.y);
  let [x2, y2] = mapPointToSource(m, r.x + r.w, r.y + r.h);
  if (opts.clip ?? true) {
    const cx = (v: number): number => Math.min(Math.max(v, 0), m.srcWidth);
    const cy = (v: number): number => Math.min(Math.max(v, 0), m.srcHeight);
    x1 = cx(x1);
    x2 = cx(x2);
    y1 = cy(y1);
    y2 = cy(y2);
  }
  return { x: x1, y: y1, w: x2 - x1, h: y2 - y1 };
}

interface Taps {
  /** For each target coordinate: source indices and weights (empty = padding). */
  readonly idx: Int32Array[];
  readonly w: Float64Array[];
}

function axisTaps(dst: number, src: number, scale: number, offset: number, filter: ResizeFilter): Taps {
  const idx: Int32Array[] = [];
  const w: Float64Array[] = [];
  const content = Math.round(src * scale);
  const clamp = (v: number): number => Math.min(Math.max(v, 0), src - 1);
  for (let d = 0; d < dst; d++) {
    if (d < offset || d >= offset + content) {
      idx.push(new Int32Array(0));
      w.push(new Float64Array(0));
      continue;
    }
    const u = (d + 0.5 - offset) / scale; // target pixel centre in source coordinates
    if (filter === 'nearest') {
      idx.push(Int32Array.of(clamp(Math.floor(u))));
      w.push(Float64Array.of(1));
    } else if (filter === 'bilinear') {
      const v = u - 0.5;
      const i0 = Math.floor(v);
      const t = v - i0;
      idx.push(Int32Array.of(clamp(i0), clamp(i0 + 1)));
      w.push(Float64Array.of(1 - t, t));
    } else {
      // Box filter: the target pixel's footprint [a, b) in source coordinates, exact coverage.
      const a = Math.max(0, (d - offset) / scale),
        b = Math.min(src, (d + 1 - offset) / scale);
      const first = Math.floor(a),
        last = Math.min(src - 1, Math.ceil(b) - 1);
      const is: number[] = [],
        ws: number[] = [];
      for (let i = first; i <= last; i++) {
        const cover = Math.min(b, i + 1) - Math.max(a, i);
        if (cover > 0) {
          is.push(i);
          ws.push(cover);
        }
      }
      const total = ws.reduce((s, v) => s + v, 0);
      if (is.length === 0) {
        is.push(clamp(Math.floor(u)));
        ws.push(1);
      }
      idx.push(Int32Array.from(is));
      w.push(Float64Array.from(ws.map((v) => (total > 0 ? v / total : 1))));
    }
  }
  return { idx, w };
}

export interface ResizeOptions {
  readonly mode?: ResizeMode;
  readonly filter?: ResizeFilter;
  /** Padding colour for `fit` (default black). */
  readonly pad?: readonly [number, number, number];
}

/**
 * Resize an RGB888 image to dstW×dstH. Defaults: `fit`, `bilinear`, black padding. Bilinear uses
 * pixel centres (u = (d + ½ − offset)/scale − ½) with clamped edges; `area` averages the exact
 * footprint (use it for large reductions); each channel is rounded half up once at the end.
 */
export function resizeRgb(
  img: RgbImage,
  dstW: number,
  dstH: number,
  opts: ResizeOptions = {},
): { image: RgbImage; mapping: ResizeMapping } {
  const mapping = planResize(img.width, img.height, dstW, dstH, opts.mode ?? 'fit');
  const filter = opts.filter ?? 'bilinear';
  if (filter !== 'nearest' && filter !== 'bilinear' && filter !== 'area')
    throw new RangeError(`resize: unknown filter "${String(filter)}"`);
  const pad = opts.pad ?? [0, 0, 0];
  const tx = axisTaps(dstW, img.width, mapping.scaleX, mapping.offsetX, filter);
  const ty = axisTaps(dstH, img.height, mapping.scaleY, mapping.offsetY, filter);
  const out = new Uint8Array(3 * dstW * dstH);
  const src = img.data,
    sw = img.width;
  for (let y = 0; y < dstH; y++) {
    const yi = ty.idx[y],
      yw = ty.w[y];
    for (let x = 0; x < dstW; x++) {
      const o = 3 * (y * dstW + x);
      const xi = tx.idx[x],
        xw = tx.w[x];
      if (yi.length === 0 || xi.length === 0) {
        out[o] = pad[0];
        out[o + 1] = pad[1];
        out[o + 2] = pad[2];
        continue;
      }
      let r = 0,
        g = 0,
        b = 0;
      for (let a = 0; a < yi.length; a++) {
        const row = yi[a] * sw;
        for (let c = 0; c < xi.length; c++) {
          const wgt = yw[a] * xw[c];
          const p = 3 * (row + xi[c]);
          r += wgt * src[p];
          g += wgt * src[p + 1];
          b += wgt * src[p + 2];
        }
      }
      out[o] = Math.min(255, Math.floor(r + 0.5));
      out[o + 1] = Math.min(255, Math.floor(g + 0.5));
      out[o + 2] = Math.min(255, Math.floor(b + 0.5));
    }
  }
  return { image: { width: dstW, height: dstH, data: out }, mapping };
}

/** Interleaved RGB888 → planar AI layout: R, G, B planes (`bgr`: B, G, R). */
export function rgbToPlanar(img: RgbImage, order: 'rgb' | 'bgr' = 'rgb'): PlanarImage {
  const { width, height } = img;
  const n = width * height;
  const data = new Uint8Array(3 * n);
  const r0 = order === 'rgb' ? 0 : 2 * n;
  deinterleave(img.data, n, data, r0, 2 * n - r0);
  return { width, height, channels: 3, data };
}

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * The loop of `rgbToPlanar`, on its own so that V8 optimises it whole rather than from inside the
 * loop. Four pixels at a time as three 32-bit words in and one word to each plane when the bytes
 * allow it (little-endian, 4-aligned source and planes), then one pixel at a time.
 */
function deinterleave(src: Uint8Array, n: number, data: Uint8Array, r0: number, b0: number): void {
  let i = 0;
  if (LITTLE_ENDIAN && n % 4 === 0 && src.byteOffset % 4 === 0 && data.byteOffset % 4 === 0) {
    // Words of 4 pixels: w0 = r0 g0 b0 r1, w1 = g1 b1 r2 g2, w2 = b2 r3 g3 b3 (lowest byte first).
    const sw = new Uint32Array(src.buffer, src.byteOffset, (3 * n) / 4);
    const dw = new Uint32Array(data.buffer, data.byteOffset, (3 * n) / 4);
    const m = n / 4,
      rw = r0 / 4,
      bw = b0 / 4;
    for (let k = 0, q = 0; k < m; k++, q += 3) {
      const w0 = sw[q],
        w1 = sw[q + 1],
        w2 = sw[q + 2];
      dw[rw + k] = (w0 & 0xff) | ((w0 >>> 24) << 8) | (w1 & 0xff0000) | ((w2 & 0xff00) << 16);
      dw[m + k] = ((w0 >>> 8) & 0xff) | ((w1 & 0xff) << 8) | ((w1 >>> 24) << 16) | ((w2 & 0xff0000) << 8);
      dw[bw + k] = ((w0 >>> 16) & 0xff) | (w1 & 0xff00) | ((w2 & 0xff) << 16) | (w2 & 0xff000000);
    }
    i = n;
  }
  for (let s = 3 * i; i < n; i++, s += 3) {
    data[r0 + i] = src[s];
    data[n + i] = src[s + 1];
    data[b0 + i] = src[s + 2];
  }
}

/** Planar AI layout → interleaved RGB888 (for viewing; a 1-channel image becomes gray). */
export function planarToRgb(p: PlanarImage, order: 'rgb' | 'bgr' = 'rgb'): RgbImage {
  const n = p.width * p.height;
  const data = new Uint8Array(3 * n);
  if (p.channels === 1) {
    for (let i = 0; i < n; i++) data[3 * i] = data[3 * i + 1] = data[3 * i + 2] = p.data[i];
  } else {
    const planeOf = order === 'rgb' ? [0, 1, 2] : [2, 1, 0];
    for (let i = 0; i < n; i++) {
      data[3 * i] = p.data[planeOf[0] * n + i];
      data[3 * i + 1] = p.data[planeOf[1] * n + i];
      data[3 * i + 2] = p.data[planeOf[2] * n + i];
    }
  }
  return { width: p.width, height: p.height, data };
}

/**
 * Luma for 1-channel models: Y = (38·R + 75·G + 15·B) >> 7, OpenMV's integer BT.601 weights
 * (0.297, 0.586, 0.117). A camera in grayscale mode gets Y from the sensor; this is a stand-in.
 */
export function rgbToLuma(img: RgbImage): PlanarImage {
  const n = img.width * img.height;
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++)
    data[i] = (38 * img.data[3 * i] + 75 * img.data[3 * i + 1] + 15 * img.data[3 * i + 2]) >> 7;
  return { width: img.width, height: img.height, channels: 1, data };
}

/** The same luma as a MaixPy grayscale display image. */
export function rgbToGray(img: RgbImage): GrayImage {
  const p = rgbToLuma(img);
  return { kind: 'grayscale', width: p.width, height: p.height, pixels: p.data };
}

export interface CameraFrame {
  /** What the script draws on and `lcd.display` shows. */
  readonly display: Rgb565Image;
  /** The DVP's planar RGB888 output the KPU reads (not derived from `display`). */
  readonly ai: PlanarImage;
}

/**
 * A `sensor.snapshot()` from an RGB888 frame of the sensor's size (face-pipeline §2.1): the AI planes are
 * the RGB888 values themselves, the display pixels are derived from them (`rounding`, default
 * MaixPy's table rounding; the DVP's own conversion is undocumented). Mirror/flip are taken as
 * already applied to the frame.
 */
export function cameraFrame(img: RgbImage, rounding: Rgb565Rounding = 'table'): CameraFrame {
  return { display: rgbToRgb565(img, rounding), ai: rgbToPlanar(img) };
}

/** Mirror (`horizontal`) and/or flip (`vertical`) an RGB888 image, as the sensor's hmirror/vflip do. */
export function flipRgb(img: RgbImage, horizontal: boolean, vertical: boolean): RgbImage {
  const W = img.width,
    H = img.height;
  const out = new Uint8Array(3 * W * H);
  for (let y = 0; y < H; y++) {
    const sy = vertical ? H - 1 - y : y;
    for (let x = 0; x < W; x++) {
      const sx = horizontal ? W - 1 - x : x;
      const s = 3 * (sy * W + sx),
        d = 3 * (y * W + x);
      out[d] = img.data[s];
      out[d + 1] = img.data[s + 1];
      out[d + 2] = img.data[s + 2];
    }
  }
  return { width: W, height: H, data: out };
}
