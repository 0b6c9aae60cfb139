/**
 * Image files in and out: PNG (pngjs), JPEG (jpeg-js), BMP (a small decoder here) to an RGB888
 * image; PNG (and JPEG) out for annotated results and test views.
 *
 * Every failure is a `UsageError` naming the file and what is wrong. The format is chosen by the
 * magic bytes, never by the extension. Dimensions are read from the header and checked before
 * any pixel buffer is allocated (zero size, more than `maxSide` per side or `maxPixels` in all).
 *
 * BMP: the bmp-js package ignores the pixel-data offset (breaks V4/V5 headers), pads 1- and
 * 15-bit rows wrongly and misreads 32-bit BI_BITFIELDS, so BMP is decoded here instead:
 * uncompressed 1/4/8-bit palette, 16/32-bit with bit masks, 24-bit; top-down or bottom-up;
 * RLE and embedded JPEG/PNG are refused.
 *
 * JPEG EXIF orientation (tag 0x0112) is applied by default so the pixels are the picture as
 * viewers show it; all coordinates the pipeline reports are in that oriented image.
 * Alpha is dropped (a camera has none); `hadAlpha` says whether any pixel was not opaque.
 */
import { writeFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { UsageError } from '../errors.js';
import { FILE_CAPS, readUserFile } from '../io/read-file.js';
import type { RgbImage } from './types.js';
import { MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE } from './image-limits.js';

export { MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE };

export type ImageFormat = 'png' | 'jpeg' | 'bmp';

export interface DecodedImage extends RgbImage {
  readonly format: ImageFormat;
  /** EXIF orientation found in the file (1 when none); already applied unless told otherwise. */
  readonly orientation: number;
  readonly hadAlpha: boolean;
}

export interface DecodeOptions {
  /** Largest accepted side in pixels (default `MAX_IMAGE_SIDE`). */
  readonly maxSide?: number;
  /** Largest accepted width·height (default `MAX_IMAGE_PIXELS`). */
  readonly maxPixels?: number;
  /** Apply JPEG EXIF orientation (default true). */
  readonly applyOrientation?: boolean;
}

/** jpeg-js's own allocation bound, above what a `MAX_IMAGE_PIXELS` image needs. */
const JPEG_MAX_MEMORY_MB = 512;

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function sniffFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && PNG_MAGIC.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d) return 'bmp';
  return null;
}

function describeMagic(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'the file is empty';
  const hex = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return `unknown image format (first bytes ${hex}); PNG, JPEG and BMP are read`;
}

const mp = (n: number) => (n >= 100_000 ? `${(n / 1e6).toFixed(1)} MP` : `${n} pixels`);

/** The header's size against the caps, before any pixel buffer is allocated. */
function checkDims(file: string, w: number, h: number, opts: DecodeOptions): void {
  const maxSide = opts.maxSide ?? MAX_IMAGE_SIDE;
  const maxPixels = opts.maxPixels ?? MAX_IMAGE_PIXELS;
  if (!(w > 0) || !(h > 0)) throw new UsageError('BAD_FILE', `${file}: the image has zero size (${w}×${h})`);
  if (w > maxSide || h > maxSide || w * h > maxPixels)
    throw new UsageError(
      'BAD_FILE',
      `${file}: image dimensions ${w}×${h} are refused (${mp(w * h)}): kpusim reads images of at most ${mp(maxPixels)} and ${maxSide} pixels per side; scale it down first`,
    );
}

/** pngjs's messages, as sentences (its own wording has typos and no context). */
const PNG_MESSAGES: [RegExp, string][] = [
  [/^Crc error/i, "a chunk's checksum (CRC) is wrong: the file is damaged"],
  [/end of stream/i, 'its chunks do not read through to the end: the file is damaged or truncated'],
  [/ran out of data|unexpected end/i, 'the image data ends early (truncated?)'],
  [/filter type/i, 'a row has an unknown filter type: the image data is damaged'],
  [/extra data/i, 'it holds more image data than its size says'],
  [/not in palette/i, "a pixel's colour index is outside the palette"],
  [/unsupported|unrecognised depth/i, 'it uses a PNG variant the decoder does not support'],
  [
    /inflate|incorrect header check|invalid (block|code|distance|stored)|unexpected end of file/i,
    'its compressed image data is damaged',
  ],
  [/signature|IHDR/i, 'its PNG header is damaged'],
];

/** jpeg-js's messages, as sentences. */
const JPEG_MESSAGES: [RegExp, string][] = [
  [
    /maxMemoryUsageInMB|maxResolutionInMP|allocate enough memory/i,
    'decoding it would need more memory than kpusim allows',
  ],
  [/huffman|ACn encoding|unexpected marker|marker was not found/i, 'its compressed image data is damaged'],
  [/unknown JPEG marker|invalid table spec|sampling factor|SOI not found/i, 'its JPEG structure is damaged'],
  [/color mode|single frame/i, 'it uses a JPEG variant the decoder does not support (e.g. CMYK or several frames)'],
];

/** A decoder's exception as our sentence (as the header checks word theirs); the library's words only when unknown. */
function decoderError(file: string, kind: 'PNG' | 'JPEG', e: unknown, hint = ''): UsageError {
  const raw = e instanceof Error ? e.message : String(e);
  const known = (kind === 'PNG' ? PNG_MESSAGES : JPEG_MESSAGES).find(([re]) => re.test(raw));
  const why = known ? known[1] : `the decoder stopped (it says: ${JSON.stringify(raw)})`;
  const what = /variant/.test(why) ? 'unsupported' : 'corrupt';
  return new UsageError('BAD_FILE', `${file}: ${what} ${kind}: ${why}${hint}`);
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Width and height from a PNG's IHDR, or a corrupt-PNG error. */
function pngDims(file: string, b: Uint8Array): [number, number] {
  if (b.length < 24 || String.fromCharCode(b[12], b[13], b[14], b[15]) !== 'IHDR')
    throw new UsageError('BAD_FILE', `${file}: corrupt PNG: no IHDR header`);
  const dv = view(b);
  return [dv.getUint32(16), dv.getUint32(20)];
}

interface JpegScan {
  width: number;
  height: number;
  orientation: number;
  /** 8×8 blocks the frame codes, summed over its components (subsampling applied). */
  blocks: number;
  /** Bytes from the first start-of-scan to the end of the file (0 when there is none). */
  scanBytes: number;
}

const SOF_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/**
 * Walk the JPEG markers up to the first scan: size, blocks, EXIF orientation and how many bytes
 * of coded data follow, before decoding.
 */
function jpegScan(file: string, b: Uint8Array): JpegScan {
  const dv = view(b);
  let pos = 2;
  let orientation = 1;
  let frame: JpegScan | undefined;
  const corrupt = (m: string): never => {
    throw new UsageError('BAD_FILE', `${file}: corrupt JPEG: ${m}`);
  };
  while (pos < b.length) {
    if (b[pos] !== 0xff) corrupt(`expected a marker at byte ${pos}`);
    while (pos < b.length && b[pos] === 0xff) pos++;
    if (pos >= b.length) break;
    const marker = b[pos++];
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd9 || marker === 0xda) {
      if (!frame) corrupt('no frame header before the image data');
      return { ...frame!, orientation, scanBytes: marker === 0xda ? b.length - pos : 0 };
    }
    if (pos + 2 > b.length) break;
    const len = dv.getUint16(pos);
    if (len < 2 || pos + len > b.length) corrupt(`segment at byte ${pos - 2} runs past the end of the file`);
    if (SOF_MARKERS.has(marker) && !frame) {
      if (len < 8) corrupt('frame header too short');
      const height = dv.getUint16(pos + 3);
      const width = dv.getUint16(pos + 5);
      const n = b[pos + 7];
      if (len < 8 + 3 * n) corrupt('frame header too short for its components');
      const sampling = Array.from({ length: n }, (_, i) => b[pos + 9 + 3 * i]);
      const hMax = Math.max(1, ...sampling.map((x) => x >> 4));
      const vMax = Math.max(1, ...sampling.map((x) => x & 15));
      let blocks = 0;
      for (const x of sampling)
        blocks +=
          Math.ceil(Math.ceil((width * (x >> 4)) / hMax) / 8) * Math.ceil(Math.ceil((height * (x & 15)) / vMax) / 8);
      frame = { width, height, orientation, blocks, scanBytes: 0 };
    }
    if (marker === 0xe1 && len >= 16 && String.fromCharCode(...b.subarray(pos + 2, pos + 6)) === 'Exif') {
      orientation = exifOrientation(b.subarray(pos + 8, pos + len)) ?? orientation;
    }
    pos += len;
  }
  if (frame) return { ...frame, orientation };
  return corrupt('the file ends before the frame header (truncated?)');
}

/** Orientation tag (0x0112) of IFD0 in a TIFF block, or null. Tolerant: a broken EXIF is ignored. */
function exifOrientation(t: Uint8Array): number | null {
  if (t.length < 8) return null;
  const le = t[0] === 0x49 && t[1] === 0x49;
  if (!le && !(t[0] === 0x4d && t[1] === 0x4d)) return null;
  const dv = view(t);
  if (dv.getUint16(2, le) !== 42) return null;
  const ifd = dv.getUint32(4, le);
  if (ifd + 2 > t.length) return null;
  const n = dv.getUint16(ifd, le);
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + 12 * i;
    if (e + 12 > t.length) return null;
    if (dv.getUint16(e, le) === 0x0112) {
      const v = dv.getUint16(e + 8, le);
      return v >= 1 && v <= 8 ? v : null;
    }
  }
  return null;
}

/** Rotate/mirror an image by an EXIF orientation value (1…8) into its display orientation. */
export function applyExifOrientation(img: RgbImage, orientation: number): RgbImage {
  if (orientation <= 1 || orientation > 8) return img;
  const W = img.width,
    H = img.height;
  const swap = orientation >= 5;
  const ow = swap ? H : W,
    oh = swap ? W : H;
  const out = new Uint8Array(3 * W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let dx: number, dy: number;
      switch (orientation) {
        case 2:
          dx = W - 1 - x;
          dy = y;
          break;
        case 3:
          dx = W - 1 - x;
          dy = H - 1 - y;
          break;
        case 4:
          dx = x;
          dy = H - 1 - y;
          break;
        case 5:
          dx = y;
          dy = x;
          break;
        case 6:
          dx = H - 1 - y;
          dy = x;
          break;
        case 7:
          dx = H - 1 - y;
          dy = W - 1 - x;
          break;
        default:
          dx = y;
          dy = W - 1 - x;
          break; // 8
      }
      const s = 3 * (y * W + x),
        d = 3 * (dy * ow + dx);
      out[d] = img.data[s];
      out[d + 1] = img.data[s + 1];
      out[d + 2] = img.data[s + 2];
    }
  }
  return { width: ow, height: oh, data: out };
}

function rgbaToRgb(rgba: Uint8Array, n: number): { data: Uint8Array; hadAlpha: boolean } {
  const data = new Uint8Array(3 * n);
  let hadAlpha = false;
  for (let i = 0; i < n; i++) {
    data[3 * i] = rgba[4 * i];
    data[3 * i + 1] = rgba[4 * i + 1];
    data[3 * i + 2] = rgba[4 * i + 2];
    if (rgba[4 * i + 3] !== 255) hadAlpha = true;
  }
  return { data, hadAlpha };
}

function decodePng(file: string, b: Uint8Array, opts: DecodeOptions): DecodedImage {
  const [w, h] = pngDims(file, b);
  checkDims(file, w, h, opts);
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  } catch (e) {
    throw decoderError(file, 'PNG', e);
  }
  if (png.width !== w || png.height !== h || png.data.length < 4 * w * h)
    throw new UsageError('BAD_FILE', `${file}: corrupt PNG: decoded size does not match the header`);
  const { data, hadAlpha } = rgbaToRgb(png.data, w * h);
  return { width: w, height: h, data, format: 'png', orientation: 1, hadAlpha };
}

function decodeJpeg(file: string, b: Uint8Array, opts: DecodeOptions): DecodedImage {
  const scan = jpegScan(file, b);
  checkDims(file, scan.width, scan.height, opts);
  // Every block of every component costs at least one bit of coded data (a Huffman code is at
  // least one bit), so a file with fewer bytes cannot hold the image its header declares; the
  // decoder would still allocate the whole frame before finding that out.
  const minScanBytes = Math.ceil(scan.blocks / 8);
  if (scan.scanBytes < minScanBytes)
    throw new UsageError(
      'BAD_FILE',
      `${file}: corrupt JPEG: the header says ${scan.width}×${scan.height}, which needs at least ${minScanBytes} bytes of image data, but the file holds ${scan.scanBytes} (truncated?)`,
    );
  let raw: { width: number; height: number; data: Uint8Array };
  try {
    raw = jpeg.decode(b, {
      useTArray: true,
      formatAsRGBA: false,
      tolerantDecoding: false,
      maxResolutionInMP: (opts.maxPixels ?? MAX_IMAGE_PIXELS) / 1e6,
      maxMemoryUsageInMB: JPEG_MAX_MEMORY_MB,
    });
  } catch (e) {
    const ended = b.length >= 2 && b[b.length - 2] === 0xff && b[b.length - 1] === 0xd9;
    const hint = ended ? '' : ' (the file does not end with the JPEG end marker: truncated?)';
    throw decoderError(file, 'JPEG', e, hint);
  }
  if (raw.width !== scan.width || raw.height !== scan.height || raw.data.length < 3 * raw.width * raw.height)
    throw new UsageError('BAD_FILE', `${file}: corrupt JPEG: decoded size does not match the header`);
  let img: RgbImage = { width: raw.width, height: raw.height, data: raw.data.subarray(0, 3 * raw.width * raw.height) };
  if (opts.applyOrientation ?? true) img = applyExifOrientation(img, scan.orientation);
  return { ...img, format: 'jpeg', orientation: scan.orientation, hadAlpha: false };
}

function maskShift(mask: number): { shift: number; max: number } {
  if (mask === 0) return { shift: 0, max: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { shift, max: mask >>> shift };
}

function decodeBmp(file: string, b: Uint8Array, opts: DecodeOptions): DecodedImage {
  const corrupt = (m: string): never => {
    throw new UsageError('BAD_FILE', `${file}: corrupt BMP: ${m}`);
  };
  const unsupported = (m: string): never => {
    throw new UsageError('BAD_FILE', `${file}: unsupported BMP: ${m}`);
  };
  if (b.length < 26) corrupt('the file is shorter than its headers');
  const dv = view(b);
  const dataOffset = dv.getUint32(10, true);
  const hdr = dv.getUint32(14, true);
  let width: number,
    height: number,
    bpp: number,
    compression = 0,
    colorsUsed = 0;
  const core = hdr === 12;
  if (core) {
    width = dv.getUint16(18, true);
    height = dv.getUint16(20, true);
    bpp = dv.getUint16(24, true);
  } else {
    if (hdr < 40) corrupt(`unknown header size ${hdr}`);
    if (b.length < 14 + 40) corrupt('the file is shorter than its headers');
    width = dv.getInt32(18, true);
    height = dv.getInt32(22, true);
    bpp = dv.getUint16(28, true);
    compression = dv.getUint32(30, true);
    colorsUsed = dv.getUint32(46, true);
  }
  const topDown = height < 0;
  const absH = Math.abs(height);
  if (width < 0) corrupt(`negative width ${width}`);
  checkDims(file, width, absH, opts);
  if (![1, 4, 8, 16, 24, 32].includes(bpp)) unsupported(`${bpp} bits per pixel`);
  if (compression === 1 || compression === 2) unsupported('RLE compression');
  if (compression === 4 || compression === 5) unsupported('embedded JPEG/PNG');
  if (compression !== 0 && compression !== 3 && compression !== 6) unsupported(`compression type ${compression}`);
  if (compression !== 0 && bpp !== 16 && bpp !== 32) corrupt(`bit-field compression with ${bpp} bits per pixel`);

  let masks: [number, number, number, number] =
    bpp === 16 ? [0x7c00, 0x03e0, 0x001f, 0] : [0x00ff0000, 0x0000ff00, 0x000000ff, 0];
  if (compression === 3 || compression === 6) {
    const at = 14 + 40;
    if (at + 12 > b.length) corrupt('bit masks missing');
    masks = [dv.getUint32(at, true), dv.getUint32(at + 4, true), dv.getUint32(at + 8, true), 0];
    if ((hdr >= 56 || compression === 6) && at + 16 <= b.length) masks[3] = dv.getUint32(at + 12, true);
  }

  let palette: Uint8Array | null = null;
  if (bpp <= 8) {
    const entries = colorsUsed > 0 ? colorsUsed : 1 << bpp;
    if (entries > 1 << bpp) corrupt(`${entries} palette entries for ${bpp}-bit pixels`);
    const size = core ? 3 : 4;
    const start = 14 + hdr;
    if (start + entries * size > b.length) corrupt('palette runs past the end of the file');
    palette = new Uint8Array(3 * (1 << bpp));
    for (let i = 0; i < entries; i++) {
      palette[3 * i] = b[start + size * i + 2];
      palette[3 * i + 1] = b[start + size * i + 1];
      palette[3 * i + 2] = b[start + size * i];
    }
  }

  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  if (dataOffset < 14 + hdr || dataOffset + stride * absH > b.length)
    corrupt(
      `pixel data (offset ${dataOffset}, ${stride * absH} bytes) runs past the end of the file (${b.length} bytes)`,
    );

  const ch = masks.map(maskShift);
  const data = new Uint8Array(3 * width * absH);
  let hadAlpha = false;
  for (let row = 0; row < absH; row++) {
    const y = topDown ? row : absH - 1 - row;
    const rowStart = dataOffset + row * stride;
    for (let x = 0; x < width; x++) {
      const o = 3 * (y * width + x);
      if (palette) {
        const bit = x * bpp;
        const byte = b[rowStart + (bit >> 3)];
        const idx = (byte >> (8 - bpp - (bit & 7))) & ((1 << bpp) - 1);
        data[o] = palette[3 * idx];
        data[o + 1] = palette[3 * idx + 1];
        data[o + 2] = palette[3 * idx + 2];
      } else if (bpp === 24) {
        const p = rowStart + 3 * x;
        data[o] = b[p + 2];
        data[o + 1] = b[p + 1];
        data[o + 2] = b[p];
      } else {
        const px = bpp === 16 ? dv.getUint16(rowStart + 2 * x, true) : dv.getUint32(rowStart + 4 * x, true);
        for (let c = 0; c < 3; c++) {
          const { shift, max } = ch[c];
          const v = max === 0 ? 0 : (px & masks[c]) >>> shift;
          data[o + c] = max === 255 ? v : Math.floor((v * 255 * 2 + max) / (2 * max));
        }
        if (ch[3].max !== 0 && (px & masks[3]) >>> ch[3].shift !== ch[3].max) hadAlpha = true;
      }
    }
  }
  return { width, height: absH, data, format: 'bmp', orientation: 1, hadAlpha };
}

/** Decode image bytes; `file` only names the source in error messages. */
export function decodeImage(bytes: Uint8Array, file: string, opts: DecodeOptions = {}): DecodedImage {
  const format = sniffFormat(bytes);
  if (format === null) throw new UsageError('BAD_FILE', `${file}: ${describeMagic(bytes)}`);
  if (format === 'png') return decodePng(file, bytes, opts);
  if (format === 'jpeg') return decodeJpeg(file, bytes, opts);
  return decodeBmp(file, bytes, opts);
}

/**
 * Read and decode an image file (a regular file within `FILE_CAPS.image`). A missing file is `UsageError('NOT_FOUND')`.
 */
export function readImageFile(file: string, opts: DecodeOptions = {}): DecodedImage {
  return decodeImage(readImageBytes(file), file, opts);
}

/** What `readImageFileCached` needs of a cache of decoded images (src/io/image-cache.ts). */
export interface DecodedImageStore {
  get(bytes: Uint8Array): RgbImage | undefined;
  put(bytes: Uint8Array, img: RgbImage): void;
}

/**
 * Read and decode an image file as `readImageFile` does (default options), through `cache` when there
 * is one (the image's pixels only). Errors are `readImageFile`'s.
 */
export function readImageFileCached(file: string, cache: DecodedImageStore | undefined): RgbImage {
  const bytes = readImageBytes(file);
  const hit = cache?.get(bytes);
  if (hit) return hit;
  const img = decodeImage(bytes, file);
  cache?.put(bytes, img);
  return img;
}

/** An image file's bytes, undecoded (`readImageFile`'s errors for a file that cannot be read). */
export function readImageBytes(file: string): Uint8Array {
  try {
    return readUserFile(file, FILE_CAPS.image);
  } catch (e) {
    if (e instanceof UsageError && e.code === 'NOT_FOUND')
      throw new UsageError('NOT_FOUND', `${file}: image not found`);
    throw e;
  }
}

function toRgba(img: RgbImage): Buffer {
  const n = img.width * img.height;
  if (img.data.length < 3 * n)
    throw new RangeError(`image data holds ${img.data.length} bytes, ${img.width}×${img.height} RGB needs ${3 * n}`);
  const rgba = Buffer.alloc(4 * n);
  for (let i = 0; i < n; i++) {
    rgba[4 * i] = img.data[3 * i];
    rgba[4 * i + 1] = img.data[3 * i + 1];
    rgba[4 * i + 2] = img.data[3 * i + 2];
    rgba[4 * i + 3] = 255;
  }
  return rgba;
}

/** Encode an RGB888 image as an opaque 8-bit RGB PNG. */
export function encodePng(img: RgbImage): Uint8Array {
  const png = new PNG({ width: img.width, height: img.height, colorType: 2, inputColorType: 6, inputHasAlpha: true });
  png.data = toRgba(img);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 6, inputHasAlpha: true });
}

/** Encode an RGB888 image as baseline JPEG (quality 1…100). */
export function encodeJpeg(img: RgbImage, quality = 90): Uint8Array {
  return jpeg.encode({ width: img.width, height: img.height, data: toRgba(img) }, quality).data;
}

export function writePngFile(file: string, img: RgbImage): void {
  try {
    writeFileSync(file, encodePng(img));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError('BAD_FILE', `${file}: cannot write the PNG (${code ?? (e as Error).message})`);
  }
}
