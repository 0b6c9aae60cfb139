/**
 * Image headers are checked before any pixel buffer exists: a 300-byte file whose header says
 * 7000×7000 is refused from the header (the decoders are never called), under a cap stated in
 * the README. Decoder failures come out as our own sentence naming the file, not the library's.
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { UsageError } from '../src/errors.js';
import { decodeImage, encodePng, MAX_IMAGE_PIXELS } from '../src/pipeline/image-io.js';
import { thrown } from './fixtures/thrown.js';

afterEach(() => vi.restoreAllMocks());

/** SOI, a baseline frame header of `w`×`h` with 3 components, EOI: a JPEG that is only a header. */
function jpegHeader(w: number, h: number): Uint8Array {
  const sof = [0xff, 0xc0, 0, 17, 8, h >> 8, h & 255, w >> 8, w & 255, 3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1];
  return Uint8Array.from([0xff, 0xd8, ...sof, 0xff, 0xd9]);
}

/** A PNG signature and an IHDR claiming `w`×`h` RGBA, nothing else. */
function pngHeader(w: number, h: number): Uint8Array {
  const b = new Uint8Array(33);
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  const dv = new DataView(b.buffer);
  dv.setUint32(16, w);
  dv.setUint32(20, h);
  b.set([8, 6, 0, 0, 0], 24);
  return b;
}

/** A BMP header (BITMAPINFOHEADER, 24-bit) claiming `w`×`h`, with no pixels. */
function bmpHeader(w: number, h: number): Uint8Array {
  const b = new Uint8Array(54);
  const dv = new DataView(b.buffer);
  b.set([0x42, 0x4d]);
  dv.setUint32(10, 54, true);
  dv.setUint32(14, 40, true);
  dv.setInt32(18, w, true);
  dv.setInt32(22, h, true);
  dv.setUint16(26, 1, true);
  dv.setUint16(28, 24, true);
  return b;
}

const refusal = (fn: () => unknown): UsageError => thrown(fn, UsageError);

describe('declared image size', () => {
  test('the cap is a few megapixels, what a K210 camera or a phone photo needs', () => {
    expect(MAX_IMAGE_PIXELS).toBe(4096 * 3072);
  });

  test('a 7000×7000 JPEG header is refused before the decoder runs', () => {
    const spy = vi.spyOn(jpeg, 'decode');
    const bytes = jpegHeader(7000, 7000);
    expect(bytes.length).toBeLessThan(300);
    const e = refusal(() => decodeImage(bytes, 'big.jpg'));
    expect(e.message).toMatch(
      /^big\.jpg: image dimensions 7000×7000 are refused \(49\.0 MP\): kpusim reads images of at most 12\.6 MP/,
    );
    expect(spy).not.toHaveBeenCalled();
  });

  test('a JPEG at the cap with too few bytes for its blocks is refused before the decoder runs', () => {
    const spy = vi.spyOn(jpeg, 'decode');
    // 4096×3072, three components at 4:4:4: 589,824 blocks need at least 73,728 bytes of scan data.
    const e = refusal(() => decodeImage(jpegHeader(4096, 3072), 'thin.jpg'));
    expect(e.message).toMatch(/^thin\.jpg: corrupt JPEG: the header says 4096×3072, which needs at least 73728 bytes/);
    expect(spy).not.toHaveBeenCalled();
  });

  test('a 49 MP PNG header is refused before the decoder runs', () => {
    const spy = vi.spyOn(PNG.sync, 'read');
    const e = refusal(() => decodeImage(pngHeader(7000, 7000), 'big.png'));
    expect(e.message).toMatch(/big\.png: image dimensions 7000×7000/);
    expect(spy).not.toHaveBeenCalled();
  });

  test('a BMP header over the cap is refused', () => {
    expect(refusal(() => decodeImage(bmpHeader(5000, 5000), 'big.bmp')).message).toMatch(/5000×5000/);
  });

  test('at the cap the header passes (the truncated data is what fails)', () => {
    const e = refusal(() => decodeImage(pngHeader(4096, 3072), 'edge.png'));
    expect(e.message).not.toMatch(/at most/);
    expect(refusal(() => decodeImage(pngHeader(4097, 3072), 'over.png')).message).toMatch(/at most 12\.6 MP/);
  });

  test('one side beyond 8192 pixels is refused even when the area is small', () => {
    expect(refusal(() => decodeImage(pngHeader(10000, 10), 'strip.png')).message).toMatch(/10000×10/);
  });
});

describe('decoder failures are our sentence', () => {
  test('a PNG whose chunk checksum is wrong', () => {
    const good = encodePng({ width: 2, height: 2, data: new Uint8Array(12).fill(9) });
    const bad = good.slice();
    bad[29] ^= 0xff; // inside IHDR's CRC
    const e = refusal(() => decodeImage(bad, 'crc.png'));
    expect(e.message).toMatch(/^crc\.png: corrupt PNG: its chunks do not read through to the end/);
    expect(e.message).not.toMatch(/unrecognised|Crc error/);
  });

  test('a truncated PNG', () => {
    const good = encodePng({ width: 16, height: 16, data: new Uint8Array(16 * 16 * 3).fill(200) });
    const e = refusal(() => decodeImage(good.subarray(0, 50), 'cut.png'));
    expect(e.message).toMatch(/^cut\.png: corrupt PNG: (?!.*unrecognised)/);
  });

  test('a JPEG whose data is garbage', () => {
    const bytes = new Uint8Array([...jpegHeader(8, 8).subarray(0, -2), 0xff, 0xda, 0, 2, 1, 2, 3, 0xff, 0xd9]);
    const e = refusal(() => decodeImage(bytes, 'junk.jpg'));
    expect(e.message).toMatch(/^junk\.jpg: corrupt JPEG: /);
  });
});
