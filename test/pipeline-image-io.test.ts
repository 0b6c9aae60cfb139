import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import {
  applyExifOrientation,
  decodeImage,
  encodeJpeg,
  encodePng,
  readImageFile,
  sniffFormat,
  writePngFile,
} from '../src/pipeline/index.js';
import type { RgbImage } from '../src/pipeline/index.js';
import { REPO_ROOT } from './shared.js';
import { thrown } from './fixtures/thrown.js';

const IMAGES = join(REPO_ROOT, 'examples/images');

const usageError = (fn: () => unknown): UsageError => thrown(fn, UsageError);

const pixel = (img: RgbImage, x: number, y: number): number[] =>
  Array.from(img.data.subarray(3 * (y * img.width + x), 3 * (y * img.width + x) + 3));

// ---- BMP builder: little-endian headers written by hand -------------------------------------
interface BmpSpec {
  width: number;
  height: number; // negative = top-down
  bpp: number;
  compression?: number;
  headerSize?: number; // 40 (BITMAPINFOHEADER) or 124 (V5)
  colorsUsed?: number;
  extra?: number[]; // bytes after the info header (masks, palette)
  headerMasks?: number[]; // for V5: R, G, B, A masks inside the header
  rows: number[][]; // stored rows in file order, already padded
}

function bmp(s: BmpSpec): Uint8Array {
  const hdr = s.headerSize ?? 40;
  const extra = s.extra ?? [];
  const pixels = s.rows.flat();
  const offset = 14 + hdr + extra.length;
  const buf = new Uint8Array(offset + pixels.length);
  const dv = new DataView(buf.buffer);
  buf[0] = 0x42;
  buf[1] = 0x4d;
  dv.setUint32(2, buf.length, true);
  dv.setUint32(10, offset, true);
  dv.setUint32(14, hdr, true);
  dv.setInt32(18, s.width, true);
  dv.setInt32(22, s.height, true);
  dv.setUint16(26, 1, true);
  dv.setUint16(28, s.bpp, true);
  dv.setUint32(30, s.compression ?? 0, true);
  dv.setUint32(34, pixels.length, true);
  dv.setUint32(46, s.colorsUsed ?? 0, true);
  (s.headerMasks ?? []).forEach((m, i) => dv.setUint32(54 + 4 * i, m, true));
  buf.set(extra, 14 + hdr);
  buf.set(pixels, offset);
  return buf;
}

describe('BMP', () => {
  // 3×2 24-bit: top row red, green, blue; bottom row white, black, (10, 20, 30).
  // Rows are 9 bytes + 3 padding = 12 (stride ⌊(24·3 + 31)/32⌋·4), stored B, G, R.
  const top = [0, 0, 255, 0, 255, 0, 255, 0, 0, 0, 0, 0];
  const bottom = [255, 255, 255, 0, 0, 0, 30, 20, 10, 0, 0, 0];

  it('decodes 24-bit bottom-up and top-down files', () => {
    for (const img of [
      decodeImage(bmp({ width: 3, height: 2, bpp: 24, rows: [bottom, top] }), 'a.bmp'),
      decodeImage(bmp({ width: 3, height: -2, bpp: 24, rows: [top, bottom] }), 'b.bmp'),
    ]) {
      expect([img.width, img.height, img.format]).toEqual([3, 2, 'bmp']);
      expect(Array.from(img.data)).toEqual([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 10, 20, 30]);
    }
  });

  it('decodes 8-bit and 1-bit palettes (rows padded to 4 bytes)', () => {
    // palette: 0 = red, 1 = blue (B, G, R, 0 entries); 2×2 indices top [0, 1], bottom [1, 0].
    const pal8 = [0, 0, 255, 0, 255, 0, 0, 0];
    const img8 = decodeImage(
      bmp({
        width: 2,
        height: 2,
        bpp: 8,
        colorsUsed: 2,
        extra: pal8,
        rows: [
          [1, 0, 0, 0],
          [0, 1, 0, 0],
        ],
      }),
      'p.bmp',
    );
    expect(Array.from(img8.data)).toEqual([255, 0, 0, 0, 0, 255, 0, 0, 255, 255, 0, 0]);
    // 10×1, 1-bit: bits 1010101010 → bytes 0xAA, 0x80, padded to 4; palette 0 = black, 1 = white.
    const img1 = decodeImage(
      bmp({ width: 10, height: 1, bpp: 1, extra: [0, 0, 0, 0, 255, 255, 255, 0], rows: [[0xaa, 0x80, 0, 0]] }),
      'm.bmp',
    );
    expect(Array.from({ length: 10 }, (_, x) => pixel(img1, x, 0)[0])).toEqual([
      255, 0, 255, 0, 255, 0, 255, 0, 255, 0,
    ]);
  });

  it('decodes 32-bit bit fields in a V5 header, seeking to the pixel offset, and notes alpha', () => {
    // Masks R 0x00FF0000, G 0x0000FF00, B 0x000000FF, A 0xFF000000: bytes B, G, R, A.
    const file = bmp({
      width: 2,
      height: 1,
      bpp: 32,
      compression: 3,
      headerSize: 124,
      headerMasks: [0x00ff0000, 0x0000ff00, 0x000000ff, 0xff000000],
      rows: [[3, 2, 1, 255, 30, 20, 10, 0]],
    });
    const img = decodeImage(file, 'v5.bmp');
    expect(Array.from(img.data)).toEqual([1, 2, 3, 10, 20, 30]);
    expect(img.hadAlpha).toBe(true);
  });

  it('expands 16-bit 565 bit fields by rounding', () => {
    // Masks after a 40-byte header. (31, 63, 0) → (255, 255, 0); (16, 32, 16) → 16·255/31 = 131.6 → 132,
    // 32·255/63 = 129.5 → 130, 132.
    const px = (r: number, g: number, b: number): number[] => {
      const v = (r << 11) | (g << 5) | b;
      return [v & 255, v >> 8];
    };
    const masks = [0x00, 0xf8, 0, 0, 0xe0, 0x07, 0, 0, 0x1f, 0, 0, 0];
    const img = decodeImage(
      bmp({
        width: 2,
        height: 1,
        bpp: 16,
        compression: 3,
        extra: masks,
        rows: [[...px(31, 63, 0), ...px(16, 32, 16)]],
      }),
      's.bmp',
    );
    expect(Array.from(img.data)).toEqual([255, 255, 0, 132, 130, 132]);
  });

  it('refuses what it cannot read, naming the file', () => {
    const rle = bmp({ width: 2, height: 1, bpp: 8, compression: 1, extra: [0, 0, 0, 0], rows: [[0, 0, 0, 0]] });
    expect(usageError(() => decodeImage(rle, 'rle.bmp')).message).toBe('rle.bmp: unsupported BMP: RLE compression');
    const full = bmp({ width: 3, height: 2, bpp: 24, rows: [bottom, top] });
    expect(usageError(() => decodeImage(full.subarray(0, full.length - 5), 'cut.bmp')).message).toMatch(
      /^cut\.bmp: corrupt BMP: pixel data .* runs past the end/,
    );
    expect(
      usageError(() => decodeImage(bmp({ width: 1, height: 1, bpp: 2, rows: [[0, 0, 0, 0]] }), 'x.bmp')).message,
    ).toMatch(/unsupported BMP: 2 bits per pixel/);
    expect(usageError(() => decodeImage(bmp({ width: 0, height: 1, bpp: 24, rows: [] }), 'z.bmp')).message).toBe(
      'z.bmp: the image has zero size (0×1)',
    );
    // 100000 × 100000 is refused from the header, before anything is allocated.
    expect(
      usageError(() => decodeImage(bmp({ width: 100000, height: 100000, bpp: 24, rows: [] }), 'big.bmp')).message,
    ).toMatch(/big\.bmp: image dimensions 100000×100000 are refused/);
    expect(usageError(() => decodeImage(Uint8Array.of(0x42, 0x4d, 0, 0), 'tiny.bmp')).message).toMatch(/corrupt BMP/);
  });
});

describe('PNG', () => {
  const img: RgbImage = {
    width: 3,
    height: 2,
    data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 250, 251, 252]),
  };

  it('round-trips through encodePng', () => {
    const d = decodeImage(encodePng(img), 'rt.png');
    expect([d.width, d.height, d.format, d.hadAlpha]).toEqual([3, 2, 'png', false]);
    expect(Array.from(d.data)).toEqual(Array.from(img.data));
  });

  it('drops alpha and says so', () => {
    const png = new PNG({ width: 1, height: 1 });
    png.data = Buffer.from([10, 20, 30, 128]);
    const d = decodeImage(PNG.sync.write(png), 'a.png');
    expect(Array.from(d.data)).toEqual([10, 20, 30]);
    expect(d.hadAlpha).toBe(true);
  });

  it('scales 16-bit samples to 8 bits', () => {
    // 16-bit RGB: v·255/65535 → 65535 → 255, 32768 → 127.5 → 128, 257 → 1, 514 → 2, 771 → 3.
    const png = new PNG({ width: 2, height: 1, bitDepth: 16, colorType: 2, inputColorType: 2 });
    png.data = Buffer.from(new Uint16Array([65535, 32768, 0, 257, 514, 771]).buffer);
    const d = decodeImage(PNG.sync.write(png, { bitDepth: 16, colorType: 2, inputColorType: 2 }), 'deep.png');
    expect(Array.from(d.data)).toEqual([255, 128, 0, 1, 2, 3]);
  });

  it('reads the grayscale example as R = G = B', () => {
    const d = readImageFile(join(IMAGES, 'camera.png'));
    expect([d.width, d.height]).toEqual([512, 512]);
    for (let i = 0; i < d.data.length; i += 3 * 997) expect(d.data[i]).toBe(d.data[i + 1]);
  });

  it('reports corrupt files as UsageError naming the file', () => {
    const good = encodePng(img);
    expect(usageError(() => decodeImage(good.subarray(0, good.length - 20), 'half.png')).message).toMatch(
      /^half\.png: corrupt PNG: /,
    );
    const flipped = Uint8Array.from(good);
    flipped[good.length - 20] ^= 0xff; // inside IDAT: CRC mismatch or inflate error
    expect(usageError(() => decodeImage(flipped, 'crc.png')).message).toMatch(/^crc\.png: corrupt PNG: /);
    expect(usageError(() => decodeImage(good.subarray(0, 12), 'hdr.png')).message).toBe(
      'hdr.png: corrupt PNG: no IHDR header',
    );
  });

  it('refuses zero and absurd sizes from the IHDR before decoding', () => {
    const withDims = (w: number, h: number): Uint8Array => {
      const b = Uint8Array.from(encodePng(img));
      const dv = new DataView(b.buffer);
      dv.setUint32(16, w);
      dv.setUint32(20, h);
      return b;
    };
    expect(usageError(() => decodeImage(withDims(0, 5), 'zero.png')).message).toBe(
      'zero.png: the image has zero size (0×5)',
    );
    expect(usageError(() => decodeImage(withDims(100000, 100000), 'huge.png')).message).toMatch(
      /huge\.png: image dimensions 100000×100000 are refused/,
    );
    expect(usageError(() => decodeImage(withDims(20, 20), 'lim.png', { maxPixels: 100 })).message).toMatch(
      /at most 100 pixels and 8192 pixels per side/,
    );
  });
});

describe('JPEG', () => {
  it('decodes the example portraits', () => {
    const g = readImageFile(join(IMAGES, 'grace_hopper.jpg'));
    expect([g.width, g.height, g.format, g.orientation]).toEqual([512, 600, 'jpeg', 1]);
    const a = readImageFile(join(IMAGES, 'astronaut.jpg'));
    expect([a.width, a.height]).toEqual([512, 512]);
  });

  it('reports truncated and garbled files', () => {
    const b = readFileSync(join(IMAGES, 'grace_hopper.jpg'));
    expect(usageError(() => decodeImage(b.subarray(0, 30000), 'cut.jpg')).message).toMatch(
      /^cut\.jpg: corrupt JPEG: .*truncated\?/,
    );
    expect(usageError(() => decodeImage(b.subarray(0, 100), 'head.jpg')).message).toMatch(/^head\.jpg: corrupt JPEG: /);
    const g = Uint8Array.from(b);
    for (let i = 20000; i < 20050; i++) g[i] ^= 0x5a;
    expect(usageError(() => decodeImage(g, 'garbled.jpg')).message).toMatch(/^garbled\.jpg: corrupt JPEG: /);
  });

  it('refuses absurd frame sizes before decoding', () => {
    const b = Uint8Array.from(readFileSync(join(IMAGES, 'grace_hopper.jpg')));
    // Find the SOF0/SOF2 marker and write 60000×60000 into it.
    let p = 2;
    while (!(b[p] === 0xff && (b[p + 1] === 0xc0 || b[p + 1] === 0xc2))) p += 2 + ((b[p + 2] << 8) | b[p + 3]);
    b[p + 5] = b[p + 7] = 0xea;
    b[p + 6] = b[p + 8] = 0x60;
    expect(usageError(() => decodeImage(b, 'big.jpg')).message).toMatch(
      /big\.jpg: image dimensions 60000×60000 are refused/,
    );
  });

  it('applies the EXIF orientation', () => {
    // 16×8: left half red, right half blue; tagged orientation 6 (rotate 90° clockwise to view):
    // the viewed image is 8×16 with red on top.
    const data = new Uint8Array(16 * 8 * 3);
    for (let y = 0; y < 8; y++)
      for (let x = 0; x < 16; x++) data.set(x < 8 ? [255, 0, 0] : [0, 0, 255], 3 * (y * 16 + x));
    const jpg = encodeJpeg({ width: 16, height: 8, data }, 95);
    // APP1 "Exif\0\0" + big-endian TIFF with one IFD0 entry: 0x0112 SHORT 1 → 6.
    const tiff = [0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0];
    const payload = [0x45, 0x78, 0x69, 0x66, 0, 0, ...tiff];
    const app1 = [0xff, 0xe1, (payload.length + 2) >> 8, (payload.length + 2) & 255, ...payload];
    const tagged = Uint8Array.from([...jpg.subarray(0, 2), ...app1, ...jpg.subarray(2)]);
    const d = decodeImage(tagged, 'rot.jpg');
    expect([d.width, d.height, d.orientation]).toEqual([8, 16, 6]);
    expect(pixel(d, 4, 3)[0]).toBeGreaterThan(200);
    expect(pixel(d, 4, 12)[2]).toBeGreaterThan(200);
    const raw = decodeImage(tagged, 'rot.jpg', { applyOrientation: false });
    expect([raw.width, raw.height]).toEqual([16, 8]);
  });

  it('maps pixels for all eight orientations', () => {
    // 2×1 image [A, B]; A = (1,1,1), B = (2,2,2).
    const img: RgbImage = { width: 2, height: 1, data: Uint8Array.of(1, 1, 1, 2, 2, 2) };
    const firsts = (o: number): [number, number, number[]] => {
      const r = applyExifOrientation(img, o);
      return [r.width, r.height, Array.from({ length: r.width * r.height }, (_, i) => r.data[3 * i])];
    };
    expect(firsts(1)).toEqual([2, 1, [1, 2]]);
    expect(firsts(2)).toEqual([2, 1, [2, 1]]); // mirror
    expect(firsts(3)).toEqual([2, 1, [2, 1]]); // 180°
    expect(firsts(4)).toEqual([2, 1, [1, 2]]); // vertical flip of one row
    expect(firsts(5)).toEqual([1, 2, [1, 2]]); // transpose
    expect(firsts(6)).toEqual([1, 2, [1, 2]]); // 90° clockwise: left end on top
    expect(firsts(7)).toEqual([1, 2, [2, 1]]); // transverse
    expect(firsts(8)).toEqual([1, 2, [2, 1]]); // 90° counter-clockwise: right end on top
  });
});

describe('format detection and files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kpusim-io-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('sniffs by magic bytes, not by name', () => {
    expect(sniffFormat(encodePng({ width: 1, height: 1, data: Uint8Array.of(0, 0, 0) }))).toBe('png');
    expect(sniffFormat(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0))).toBe('jpeg');
    expect(sniffFormat(Uint8Array.of(0x42, 0x4d))).toBe('bmp');
    expect(usageError(() => decodeImage(new TextEncoder().encode('GIF89a...'), 'x.png')).message).toBe(
      'x.png: unknown image format (first bytes 47 49 46 38 39 61 2e 2e); PNG, JPEG and BMP are read',
    );
    expect(usageError(() => decodeImage(new Uint8Array(0), 'e.jpg')).message).toBe('e.jpg: the file is empty');
  });

  it('reads and writes files with clear errors', () => {
    const e = usageError(() => readImageFile(join(dir, 'missing.png')));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toMatch(/missing\.png: image not found/);
    const out = join(dir, 'out.png');
    const img: RgbImage = { width: 2, height: 1, data: Uint8Array.of(9, 8, 7, 6, 5, 4) };
    writePngFile(out, img);
    expect(Array.from(readImageFile(out).data)).toEqual([9, 8, 7, 6, 5, 4]);
    expect(usageError(() => writePngFile(join(dir, 'no/such/dir.png'), img)).code).toBe('BAD_FILE');
  });
});
