import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ref from './fixtures/image-ops-reference.js';
import {
  G628,
  G826,
  RB528,
  RB825,
  aiAllocationSize,
  aiToPix,
  packRgb565,
  pixToAi,
  rgb565RgbTable,
  rgb565ToRgb,
  rgb565ToRgb888Pixel,
  rgb888ToRgb565Pixel,
  rgbToRgb565,
  swapRgb565,
  unpackRgb565,
} from '../src/pipeline/index.js';
import type { GrayImage, Rgb565Image } from '../src/pipeline/index.js';

describe('MaixPy expansion and reduction tables', () => {
  it('expand 5/6-bit values by rounding, not by bit replication', () => {
    // R8 = floor(R5·255/31 + 0.5): 3·255/31 = 24.677 → 25 (bit replication would give 24).
    expect(RB528[3]).toBe(25);
    expect(RB528[0]).toBe(0);
    expect(RB528[31]).toBe(255);
    // 16·255/31 = 131.61 → 132; G: 1·255/63 = 4.048 → 4; 32·255/63 = 129.52 → 130.
    expect(RB528[16]).toBe(132);
    expect(G628[1]).toBe(4);
    expect(G628[32]).toBe(130);
    expect(G628[63]).toBe(255);
  });

  it('reduce 8-bit values by rounding half up', () => {
    // 4·31/255 = 0.486 → 0; 5·31/255 = 0.608 → 1; 127·31/255 = 15.44 → 15; 128·31/255 = 15.56 → 16.
    expect([RB825[4], RB825[5], RB825[127], RB825[128], RB825[255]]).toEqual([0, 1, 15, 16, 31]);
    // 2·63/255 = 0.494 → 0; 3·63/255 = 0.741 → 1; 255 → 63.
    expect([G826[2], G826[3], G826[255]]).toEqual([0, 1, 63]);
  });

  it('round-trips every 5- and 6-bit value through 8 bits', () => {
    for (let v = 0; v < 32; v++) expect(RB825[RB528[v]]).toBe(v);
    for (let v = 0; v < 64; v++) expect(G826[G628[v]]).toBe(v);
  });
});

describe('RGB565 packing (byte-swapped OpenMV layout)', () => {
  it('packs and unpacks a hand-worked pixel', () => {
    // R5=0b10101 (21), G6=0b110011 (51), B5=0b01110 (14):
    // (21<<3)=0xA8, (51>>3)=6, (51&7)=3 → 3<<13=0x6000, (14<<8)=0xE00 → 0x6EAE.
    expect(packRgb565(21, 51, 14)).toBe(0x6eae);
    expect(unpackRgb565(0x6eae)).toEqual([21, 51, 14]);
  });

  it('is the byte swap of the ordinary R5<<11 | G6<<5 | B5 value', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 31 }),
        fc.integer({ min: 0, max: 63 }),
        fc.integer({ min: 0, max: 31 }),
        (r, g, b) => {
          expect(packRgb565(r, g, b)).toBe(swapRgb565((r << 11) | (g << 5) | b));
        },
      ),
    );
  });

  it('round-trips all 65536 pixel values', () => {
    const bad: number[] = [];
    for (let p = 0; p < 65536; p++) {
      const [r, g, b] = unpackRgb565(p);
      if (packRgb565(r, g, b) !== p) bad.push(p);
    }
    expect(bad).toEqual([]);
  });

  it('packs out-of-range channels unmasked (the resize quirk of the doc, raw (36, 73, 36) → (5, 9, 5))', () => {
    // 36<<3 = 0x120, 73>>3 = 9, (73&7)=1 → 0x2000, 36<<8 = 0x2400: OR = 0x2529.
    const p = packRgb565(36, 73, 36);
    expect(p).toBe(0x2529);
    // R5 = (0x2529>>3)&31 = 0x4A5&31 = 5; G6 = (1<<3)|(0x2529>>13 = 1) = 9; B5 = 0x25&31 = 5.
    expect(unpackRgb565(p)).toEqual([5, 9, 5]);
  });

  it('converts RGB888 through the reduction tables', () => {
    // (255, 128, 5): R5 = 31, G6 = round(128·63/255 = 31.62) = 32, B5 = round(0.608) = 1.
    expect(unpackRgb565(rgb888ToRgb565Pixel(255, 128, 5))).toEqual([31, 32, 1]);
    const img = { width: 2, height: 1, data: Uint8Array.of(255, 128, 5, 7, 7, 7) };
    const t = rgbToRgb565(img);
    expect(unpackRgb565(t.pixels[0])).toEqual([31, 32, 1]);
    // truncate: 255>>3 = 31, 128>>2 = 32, 5>>3 = 0; 7>>3 = 0, 7>>2 = 1.
    const tr = rgbToRgb565(img, 'truncate');
    expect(unpackRgb565(tr.pixels[0])).toEqual([31, 32, 0]);
    expect(unpackRgb565(tr.pixels[1])).toEqual([0, 1, 0]);
    // Display back through the expansion tables: R5 31 → 255, G6 32 → 130, B5 1 → 8 (255/31 = 8.23).
    expect(Array.from(rgb565ToRgb(t).data.subarray(0, 3))).toEqual([255, 130, 8]);
  });
});

describe('whole-image conversions (table look-ups) against the per-pixel definitions', () => {
  it('rgb565ToRgb and the look-up table: every one of the 65536 pixel values expands as rgb565ToRgb888Pixel does', () => {
    const pixels = Uint16Array.from({ length: 65536 }, (_, p) => p);
    const got = rgb565ToRgb({ kind: 'rgb565', width: 256, height: 256, pixels }).data;
    const want = new Uint8Array(3 * 65536);
    for (let p = 0; p < 65536; p++) want.set(rgb565ToRgb888Pixel(p), 3 * p);
    expect(Buffer.compare(got, want)).toBe(0);
    const table = rgb565RgbTable();
    const fromTable = Uint8Array.from(
      { length: 3 * 65536 },
      (_, i) => (table[Math.floor(i / 3)] >> (8 * (i % 3))) & 255,
    );
    expect(Buffer.compare(fromTable, want)).toBe(0);
    expect(table.every((v) => v < 1 << 24)).toBe(true);
  });

  it('rgbToRgb565: every R, G and B value, and random images, pack as rgb888ToRgb565Pixel does', () => {
    // each channel through all 256 values with the other two at 0, 255 or the same value
    const data = new Uint8Array(3 * 256 * 9);
    for (let v = 0, o = 0; v < 256; v++)
      for (const [r, g, b] of [
        [v, 0, 0],
        [0, v, 0],
        [0, 0, v],
        [v, 255, 255],
        [255, v, 255],
        [255, 255, v],
        [v, v, v],
        [v, 255 - v, v],
        [255 - v, v, 255 - v],
      ]) {
        data.set([r, g, b], o);
        o += 3;
      }
    const check = (rgb: Uint8Array, width: number, height: number): void => {
      const got = rgbToRgb565({ width, height, data: rgb }).pixels;
      const want = Uint16Array.from({ length: width * height }, (_, i) =>
        rgb888ToRgb565Pixel(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]),
      );
      expect(Buffer.compare(Buffer.from(got.buffer), Buffer.from(want.buffer))).toBe(0);
    };
    check(data, 256, 9);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 30 }),
        fc.uint8Array({ minLength: 3 * 40 * 30, maxLength: 3 * 40 * 30 }),
        (w, h, bytes) => check(bytes.subarray(0, 3 * w * h), w, h),
      ),
      { seed: 11, numRuns: 100 },
    );
  });
});

describe('pix_to_ai / ai_to_pix', () => {
  const img: Rgb565Image = {
    kind: 'rgb565',
    width: 3,
    height: 2,
    pixels: Uint16Array.from([
      packRgb565(3, 0, 31),
      packRgb565(0, 1, 0),
      packRgb565(31, 63, 31),
      packRgb565(16, 32, 16),
      0,
      packRgb565(1, 2, 3),
    ]),
  };

  it('writes planar R, G, B with stride w in a ceil64(w)·h·3 allocation', () => {
    const ai = pixToAi(img);
    expect(ai.channels).toBe(3);
    expect(ai.data.length).toBe(64 * 2 * 3);
    expect(aiAllocationSize(320, 240, 3)).toBe(320 * 240 * 3);
    expect(aiAllocationSize(100, 10, 3)).toBe(128 * 10 * 3);
    // R plane: 3→25, 0→0, 31→255, 16→132, 0→0, 1→8 (255/31 = 8.23).
    expect(Array.from(ai.data.subarray(0, 6))).toEqual([25, 0, 255, 132, 0, 8]);
    // G plane: 0→0, 1→4, 63→255, 32→130, 0→0, 2→8 (510/63 = 8.10).
    expect(Array.from(ai.data.subarray(6, 12))).toEqual([0, 4, 255, 130, 0, 8]);
    // B plane: 31→255, 0, 31→255, 16→132, 0, 3→25.
    expect(Array.from(ai.data.subarray(12, 18))).toEqual([255, 0, 255, 132, 0, 25]);
    expect(ai.data.subarray(18).every((v) => v === 0)).toBe(true);
  });

  it('ai_to_pix restores the pixels exactly', () => {
    const back = aiToPix(pixToAi(img));
    expect(back.kind).toBe('rgb565');
    expect(Array.from((back as Rgb565Image).pixels)).toEqual(Array.from(img.pixels));
  });

  it('copies a grayscale image into one plane', () => {
    const g: GrayImage = { kind: 'grayscale', width: 2, height: 2, pixels: Uint8Array.of(1, 2, 3, 4) };
    const ai = pixToAi(g);
    expect(ai.channels).toBe(1);
    expect(Array.from(ai.data)).toEqual([1, 2, 3, 4]);
  });

  it('reuses an existing AI buffer and refuses one of another shape', () => {
    const buf = pixToAi(img);
    buf.data.fill(9);
    const again = pixToAi(img, buf);
    expect(again.data).toBe(buf.data);
    expect(again.data[0]).toBe(25);
    expect(() => pixToAi({ ...img, width: 2, height: 3 }, buf)).toThrow(RangeError);
  });
});

describe('pix_to_ai against the plain per-pixel loop (test/fixtures/image-ops-reference.ts)', () => {
  it('gives the reference planes for any pixel values, new or into an existing buffer (tail kept)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 9 }),
        fc.boolean(),
        fc.integer(),
        (w, h, gray, seed) => {
          let s = seed >>> 0;
          const next = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 16;
          const img: Rgb565Image | GrayImage = gray
            ? {
                kind: 'grayscale',
                width: w,
                height: h,
                pixels: Uint8Array.from({ length: w * h }, () => next() & 0xff),
              }
            : { kind: 'rgb565', width: w, height: h, pixels: Uint16Array.from({ length: w * h }, next) };
          const want = ref.pixToAi(img);
          expect(Array.from(pixToAi(img).data)).toEqual(Array.from(want.data));
          const into = { width: w, height: h, channels: want.channels, data: new Uint8Array(want.data.length).fill(7) };
          pixToAi(img, into);
          const planes = want.channels * w * h;
          expect(Array.from(into.data.subarray(0, planes))).toEqual(Array.from(want.data.subarray(0, planes)));
          expect(into.data.subarray(planes).every((v) => v === 7)).toBe(true);
        },
      ),
      { seed: 18, numRuns: 300 },
    );
  });
});
