/**
 * RGB565 as MaixPy keeps it, and MaixPy's 5/6-bit ↔ 8-bit tables.
 *
 * Memory layout (face-pipeline §2.3): MaixPy inherits OpenMV's old byte-swapped RGB565. For a pixel value p:
 *   R5 = (p >> 3) & 31,  G6 = ((p & 7) << 3) | (p >> 13),  B5 = (p >> 8) & 31
 * and packing is `(R5 << 3) | (G6 >> 3) | ((G6 & 7) << 13) | (B5 << 8)` with **no masking**: a
 * channel above its range (bilinear `resize` can produce one) spills into the neighbouring fields,
 * and the 16-bit store keeps the low 16 bits. p is the byte swap of the ordinary
 * `R5<<11 | G6<<5 | B5` value.
 *
 * Expansion tables (`rgb2rgb_tab.c`, every entry checked): R8 = ⌊R5·255/31 + ½⌋,
 * G8 = ⌊G6·255/63 + ½⌋ (round half up; not bit replication: R5 = 3 → 25, not 24), and the
 * reverse R5 = ⌊R8·31/255 + ½⌋, G6 = ⌊G8·63/255 + ½⌋. MaixPy's RGB888 → RGB565 (`ai_to_pix`,
 * colour tuples, loading an image file) goes through the reverse tables, so it rounds.
 */
import type { GrayImage, PlanarImage, Rgb565Image, RgbImage } from './types.js';

function table(size: number, num: number, den: number): Uint8Array {
  const t = new Uint8Array(size);
  // Integer form of ⌊v·num/den + ½⌋ = ⌊(2·v·num + den) / (2·den)⌋, no float rounding involved.
  for (let v = 0; v < size; v++) t[v] = Math.floor((2 * v * num + den) / (2 * den));
  return t;
}

/** `rb528_table`: 5-bit → 8-bit. */
export const RB528: Uint8Array = table(32, 255, 31);
/** `g628_table`: 6-bit → 8-bit. */
export const G628: Uint8Array = table(64, 255, 63);
/** `rb825_table`: 8-bit → 5-bit. */
export const RB825: Uint8Array = table(256, 31, 255);
/** `g826_table`: 8-bit → 6-bit. */
export const G826: Uint8Array = table(256, 63, 255);

/** `COLOR_R5_G6_B5_TO_RGB565`: unmasked, the result kept to 16 bits as the store into `uint16_t` does. */
export function packRgb565(r5: number, g6: number, b5: number): number {
  return ((r5 << 3) | (g6 >> 3) | ((g6 & 7) << 13) | (b5 << 8)) & 0xffff;
}

export function rgb565R5(p: number): number {
  return (p >> 3) & 0x1f;
}
export function rgb565G6(p: number): number {
  return ((p & 7) << 3) | ((p & 0xffff) >> 13);
}
export function rgb565B5(p: number): number {
  return (p >> 8) & 0x1f;
}

/** Unpack a MaixPy pixel to (R5, G6, B5). */
export function unpackRgb565(p: number): [number, number, number] {
  return [rgb565R5(p), rgb565G6(p), rgb565B5(p)];
}

/** `COLOR_R8_G8_B8_TO_RGB565`: through the rounding tables. */
export function rgb888ToRgb565Pixel(r: number, g: number, b: number): number {
  return packRgb565(RB825[r & 0xff], G826[g & 0xff], RB825[b & 0xff]);
}

/** `COLOR_RGB565_TO_R8/G8/B8`: the expansion tables. */
export function rgb565ToRgb888Pixel(p: number): [number, number, number] {
  return [RB528[rgb565R5(p)], G628[rgb565G6(p)], RB528[rgb565B5(p)]];
}

/** MaixPy's pixel value ↔ the ordinary RGB565 value (`R5<<11 | G6<<5 | B5`): a 16-bit byte swap. */
export function swapRgb565(p: number): number {
  return ((p & 0xff) << 8) | ((p >> 8) & 0xff);
}

export type Rgb565Rounding = 'table' | 'truncate';

/**
 * An RGB888 image to MaixPy RGB565 display pixels. `table` (default) is MaixPy's own conversion
 * (`COLOR_R8_G8_B8_TO_RGB565`, rounding). `truncate` keeps the top bits (R8 >> 3, G8 >> 2): a
 * hypothesis for the camera's DVP path, whose conversion is in silicon and undocumented (face-pipeline §2.1).
 */
export function rgbToRgb565(img: RgbImage, rounding: Rgb565Rounding = 'table'): Rgb565Image {
  const n = img.width * img.height;
  const pixels = new Uint16Array(n);
  const d = img.data;
  if (rounding === 'table') {
    const [rt, gt, bt] = rgb565FieldTables();
    for (let i = 0, s = 0; i < n; i++, s += 3) pixels[i] = rt[d[s]] | gt[d[s + 1]] | bt[d[s + 2]];
  } else {
    for (let i = 0; i < n; i++) pixels[i] = packRgb565(d[3 * i] >> 3, d[3 * i + 1] >> 2, d[3 * i + 2] >> 3);
  }
  return { kind: 'rgb565', width: img.width, height: img.height, pixels };
}

let fieldsOf888: [Uint16Array, Uint16Array, Uint16Array] | undefined;

/**
 * `rgb888ToRgb565Pixel` split by channel: each 8-bit value's field of the packed pixel through the
 * reduction tables (R8 → R5 << 3, G8 → the two parts of G6, B8 → B5 << 8). The fields do not overlap
 * (R5 ≤ 31, G6 ≤ 63), so a pixel is the OR of its three. Made on first use.
 */
function rgb565FieldTables(): [Uint16Array, Uint16Array, Uint16Array] {
  if (!fieldsOf888) {
    const rt = new Uint16Array(256),
      gt = new Uint16Array(256),
      bt = new Uint16Array(256);
    for (let v = 0; v < 256; v++) {
      rt[v] = packRgb565(RB825[v], 0, 0);
      gt[v] = packRgb565(0, G826[v], 0);
      bt[v] = packRgb565(0, 0, RB825[v]);
    }
    fieldsOf888 = [rt, gt, bt];
  }
  return fieldsOf888;
}

let rgbOf565: Uint32Array | undefined;

/**
 * Every 16-bit MaixPy pixel value's RGB888 through the expansion tables (`rgb565ToRgb888Pixel`), as
 * R | G << 8 | B << 16: one look-up a pixel instead of three. Made on first use (256 KiB; it pays
 * for itself over a few whole frames, not over one).
 */
export function rgb565RgbTable(): Uint32Array {
  if (!rgbOf565) {
    const t = new Uint32Array(1 << 16);
    // p = hi << 8 | lo: R5 = lo >> 3, G6 = (lo & 7) << 3 | hi >> 5, B5 = hi & 31 (rgb565R5/G6/B5)
    for (let hi = 0; hi < 256; hi++) {
      const b = RB528[hi & 31] << 16,
        g = hi >> 5;
      for (let lo = 0; lo < 256; lo++) t[(hi << 8) | lo] = RB528[lo >> 3] | (G628[((lo & 7) << 3) | g] << 8) | b;
    }
    rgbOf565 = t;
  }
  return rgbOf565;
}

/** RGB565 display pixels to RGB888 through the expansion tables (what `lcd.display` shows). */
export function rgb565ToRgb(img: Rgb565Image): RgbImage {
  const n = img.width * img.height;
  const data = new Uint8Array(3 * n);
  const px = img.pixels;
  for (let i = 0, o = 0; i < n; i++, o += 3) {
    const p = px[i];
    data[o] = RB528[(p >> 3) & 31];
    data[o + 1] = G628[((p & 7) << 3) | (p >> 13)];
    data[o + 2] = RB528[(p >> 8) & 31];
  }
  return { width: img.width, height: img.height, data };
}

/** A grayscale display image to RGB888 (R = G = B). */
export function grayToRgb(img: GrayImage): RgbImage {
  const n = img.width * img.height;
  const data = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++) data[3 * i] = data[3 * i + 1] = data[3 * i + 2] = img.pixels[i];
  return { width: img.width, height: img.height, data };
}

/** Bytes MaixPy allocates for an image's AI planes: `ceil64(w)·h·3` for RGB565, `w·h` for grayscale. */
export function aiAllocationSize(width: number, height: number, channels: 1 | 3): number {
  return channels === 3 ? ((width + 63) & ~63) * height * 3 : width * height;
}

/**
 * The R8, G8, B8 planes of n RGB565 pixels (`pixToAi`): a loop in a function of its own, so that
 * V8 optimises it whole rather than from inside the loop.
 */
function rgb565Planes(px: Uint16Array, n: number, data: Uint8Array): void {
  const n2 = 2 * n;
  for (let i = 0; i < n; i++) {
    const p = px[i];
    data[i] = RB528[(p >> 3) & 0x1f];
    data[n + i] = G628[((p & 7) << 3) | (p >> 13)];
    data[n2 + i] = RB528[(p >> 8) & 0x1f];
  }
}

/**
 * `img.pix_to_ai()`: RGB565 → planar R8, G8, B8 through the expansion tables, planes packed with
 * stride w (not the 64-aligned width) at the start of a `ceil64(w)·h·3` allocation whose tail is 0;
 * grayscale → one plane, a plain copy. Pass `into` to reuse an existing AI buffer (MaixPy allocates
 * once and overwrites afterwards).
 */
export function pixToAi(img: Rgb565Image | GrayImage, into?: PlanarImage): PlanarImage {
  const n = img.width * img.height;
  const channels = img.kind === 'rgb565' ? 3 : 1;
  let data: Uint8Array;
  if (into) {
    if (into.width !== img.width || into.height !== img.height || into.channels !== channels)
      throw new RangeError('pixToAi: the AI buffer has another shape than the image');
    data = into.data;
  } else {
    data = new Uint8Array(aiAllocationSize(img.width, img.height, channels));
  }
  if (img.kind === 'grayscale') {
    data.set(img.pixels.subarray(0, n));
  } else {
    rgb565Planes(img.pixels, n, data);
  }
  return { width: img.width, height: img.height, channels, data };
}

/**
 * `img.ai_to_pix()`: AI planes → display pixels (reverse tables for RGB565, copy for grayscale).
 * Returns a new display image; the AI planes are not touched.
 */
export function aiToPix(ai: PlanarImage): Rgb565Image | GrayImage {
  const n = ai.width * ai.height;
  if (ai.channels === 1) {
    return { kind: 'grayscale', width: ai.width, height: ai.height, pixels: ai.data.slice(0, n) };
  }
  const pixels = new Uint16Array(n);
  const d = ai.data;
  for (let i = 0; i < n; i++) pixels[i] = rgb888ToRgb565Pixel(d[i], d[n + i], d[2 * n + i]);
  return { kind: 'rgb565', width: ai.width, height: ai.height, pixels };
}
