import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ref from './fixtures/image-ops-reference.js';
import {
  cut,
  cutInto,
  drawRectangle,
  packRgb565,
  resize,
  resizeGray,
  resizeInto,
  resizeRgb565,
  unpackRgb565,
} from '../src/pipeline/index.js';
import type { GrayImage, MaixImage, Rgb565Image } from '../src/pipeline/index.js';

const gray = (w: number, h: number, values: number[]): GrayImage => ({
  kind: 'grayscale',
  width: w,
  height: h,
  pixels: Uint8Array.from(values),
});
const rgb565 = (w: number, h: number, rgb: [number, number, number][]): Rgb565Image => ({
  kind: 'rgb565',
  width: w,
  height: h,
  pixels: Uint16Array.from(rgb.map(([r, g, b]) => packRgb565(r, g, b))),
});
const channels = (img: Rgb565Image): number[][] => Array.from(img.pixels, (p) => unpackRgb565(p));

describe('cut', () => {
  // 4×3 image, pixel value = index + 1.
  const img = gray(4, 3, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);

  it('copies the part inside the frame to the top-left and leaves the rest black', () => {
    // cut(2, 1, 3, 3): rows 1..2 (min(1+3, 3)), columns 2..3 (min(2+3, 4)).
    const c = cut(img, 2, 1, 3, 3);
    expect([c.width, c.height]).toEqual([3, 3]);
    expect(Array.from(c.pixels)).toEqual([7, 8, 0, 11, 12, 0, 0, 0, 0]);
  });

  it('copies exactly when inside', () => {
    expect(Array.from(cut(img, 1, 1, 2, 2).pixels)).toEqual([6, 7, 10, 11]);
  });

  it('reads by flat index for negative coordinates, as the C loop does', () => {
    // x = −1 on row 1 is flat index 3: the last pixel of row 0; before the buffer it is outOfBuffer.
    expect(Array.from(cut(img, -1, 1, 2, 1).pixels)).toEqual([4, 5]);
    expect(Array.from(cut(img, -1, 0, 2, 1).pixels)).toEqual([0, 1]);
    expect(Array.from(cut(img, -1, 0, 2, 1, { outOfBuffer: 99 }).pixels)).toEqual([99, 1]);
  });

  it('keeps the RGB565 kind and refuses empty sizes', () => {
    const c = cut(
      rgb565(2, 1, [
        [1, 2, 3],
        [4, 5, 6],
      ]),
      1,
      0,
      2,
      1,
    );
    expect(c.kind).toBe('rgb565');
    expect(channels(c)).toEqual([
      [4, 5, 6],
      [0, 0, 0],
    ]);
    expect(() => cut(img, 0, 0, 0, 2)).toThrow(RangeError);
    expect(() => cut(img, 0, 0, 2, -1)).toThrow(RangeError);
  });
});

describe('resize, RGB565', () => {
  it('copies at the same size', () => {
    const src = rgb565(2, 1, [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(Array.from(resizeRgb565(src, 2, 1).pixels)).toEqual(Array.from(src.pixels));
  });

  it('uses nearest neighbour with truncation when w0 ≥ w (5 → 2: sx = 2.5, columns 0 and int(2.5) = 2)', () => {
    const src = rgb565(5, 1, [
      [0, 0, 0],
      [1, 1, 1],
      [2, 2, 2],
      [3, 3, 3],
      [4, 4, 4],
    ]);
    expect(channels(resizeRgb565(src, 2, 1))).toEqual([
      [0, 0, 0],
      [2, 2, 2],
    ]);
  });

  it('uses nearest in both axes when only the height shrinks (h0 > h), even if the width grows', () => {
    // 3×5 → 4×4: sx = 0.75 → columns 0, int(0.75)=0, int(1.5)=1, int(2.25)=2;
    // sy = 1.25 → rows 0, int(1.25)=1, int(2.5)=2, int(3.75)=3.
    const px: [number, number, number][] = [];
    for (let y = 0; y < 5; y++) for (let x = 0; x < 3; x++) px.push([x, y, 0]);
    const out = channels(resizeRgb565(rgb565(3, 5, px), 4, 4));
    expect(out.slice(0, 4)).toEqual([
      [0, 0, 0],
      [0, 0, 0],
      [1, 0, 0],
      [2, 0, 0],
    ]);
    expect(out.slice(12, 16)).toEqual([
      [0, 3, 0],
      [0, 3, 0],
      [1, 3, 0],
      [2, 3, 0],
    ]);
  });

  it('interpolates when w0 < w and h0 ≤ h, with edge extrapolation and a copied last row/column', () => {
    // 3×4 → 4×4, every row R5 = (0, 12, 24). sy = 1: ys = y exactly, so rows are not mixed.
    // sx = 0.75: x=0: xs = −0.125, weights 1.125/−0.125 → −1.5 → (uint8) → 0;
    // x=1: xs = 0.625 → 0.375·0 + 0.625·12 = 7.5 → 7; x=2: xs = 1.375 → 0.625·12 + 0.375·24 = 16.5 → 16;
    // x=3: xs = 2.125, x2 = 3 ≥ w0 → copy (2, y) = 24.
    // Row 3: y2 = 4 ≥ h0 → copy (x1, 3): x1 = 0, 0, 1, 2 → 0, 0, 12, 24.
    const px: [number, number, number][] = [];
    for (let y = 0; y < 4; y++) px.push([0, 0, 0], [12, 0, 0], [24, 0, 0]);
    const out = channels(resizeRgb565(rgb565(3, 4, px), 4, 4)).map((c) => c[0]);
    expect(out.slice(0, 4)).toEqual([0, 7, 16, 24]);
    expect(out.slice(12, 16)).toEqual([0, 0, 12, 24]);
  });

  it("reproduces the doc's worked example: a white border next to (10,20,10) becomes (5, 9, 5)", () => {
    // 64×64, column 0 white (31,63,31), the rest (10,20,10); 128×128 output. At x = 0:
    // sx = 0.5, xs = −0.25, weights 1.25/−0.25: R = 1.25·31 − 0.25·10 = 36.25 → 36,
    // G = 1.25·63 − 0.25·20 = 73.75 → 73; packed unmasked (0x2529) it reads back as (5, 9, 5).
    // At x = 1: xs = 0.25, weights 0.75/0.25: R = 25.75 → 25, G = 52.25 → 52, B = 25.
    const px: [number, number, number][] = [];
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) px.push(x === 0 ? [31, 63, 31] : [10, 20, 10]);
    const out = resize(rgb565(64, 64, px), 128, 128);
    expect(unpackRgb565(out.pixels[10 * 128])).toEqual([5, 9, 5]);
    expect(out.pixels[10 * 128]).toBe(0x2529);
    expect(unpackRgb565(out.pixels[10 * 128 + 1])).toEqual([25, 52, 25]);
    // Last column: xs = 63.25, x2 = 64 ≥ w0 → copy (63, y1) = (10, 20, 10).
    expect(unpackRgb565(out.pixels[10 * 128 + 127])).toEqual([10, 20, 10]);
  });
});

describe('resize, grayscale', () => {
  it('interpolates with extrapolation at the left edge when enlarging', () => {
    // [100, 0] → 4×1: sx = 0.5, sy = 1 (ys = 0, row weights 1/0).
    // x=0: xf = −0.25, x0 = 0: 100·1.25 + 0·(−0.25) = 125; x=1: xf = 0.25 → 75;
    // x=2: xf = 0.75 → 25; x=3: xf = 1.25, x0 = 1, neighbour clamped to 1 → 0.
    expect(Array.from(resizeGray(gray(2, 1, [100, 0]), 4, 1).pixels)).toEqual([125, 75, 25, 0]);
  });

  it('clamps a negative result to 0 (the uint8 cast)', () => {
    // [0, 100]: x=0 gives 0·1.25 + 100·(−0.25) = −25 → 0.
    expect(Array.from(resizeGray(gray(2, 1, [0, 100]), 4, 1).pixels)).toEqual([0, 25, 75, 100]);
  });

  it('averages boxes when shrinking, columns scaled by sy (upstream bug) and ends inclusive', () => {
    // 8×4 image of 8s → 4×1: sx = 2, sy = 4. Rows 0..4 (row 4 is past the buffer → 0).
    // x=0: columns 0..4 → 4 rows × 5 = 20 in the buffer → 160/25 = 6.
    // x=1: columns 4..8 (8 = next row's column 0): flat indices 4..8, 12..16, 20..24, 28..32 → 19 in → 152/25 = 6.
    // x=2: columns 8..12: 8..12, 16..20, 24..28 → 15 in → 120/25 = 4.
    // x=3: columns 12..16: 12..16, 20..24, 28..31 → 14 in → 112/25 = 4.
    const out = resizeGray(gray(8, 4, new Array(32).fill(8)), 4, 1);
    expect(Array.from(out.pixels)).toEqual([6, 6, 4, 4]);
    // The bytes past the buffer are unknown on the board; with 255 there: (160 + 5·255)/25 = 57.
    expect(resizeGray(gray(8, 4, new Array(32).fill(8)), 4, 1, { outOfBuffer: 255 }).pixels[0]).toBe(57);
  });
});

describe('draw_rectangle', () => {
  it('draws a 1-px outline on the outer rows and columns (default white)', () => {
    const img = gray(5, 4, new Array(20).fill(0));
    drawRectangle(img, 0, 0, 5, 4);
    // prettier-ignore
    expect(Array.from(img.pixels)).toEqual([
      255, 255, 255, 255, 255,
      255,   0,   0,   0, 255,
      255,   0,   0,   0, 255,
      255, 255, 255, 255, 255,
    ]);
  });

  it('clips to the frame and stores 0xFFFF for colour −1 in RGB565', () => {
    const img = rgb565(5, 4, new Array(20).fill([0, 0, 0]));
    drawRectangle(img, 3, 2, 4, 4);
    const white = Array.from(img.pixels).flatMap((p, i) => (p === 0xffff ? [i] : []));
    // top row y=2: x = 3, 4; left column x=3: y = 2, 3; bottom row (y=5) and right column (x=6) are outside.
    expect(white).toEqual([2 * 5 + 3, 2 * 5 + 4, 3 * 5 + 3]);
  });

  it('centres a thicker outline on the edges', () => {
    // thickness 3 → one pixel either side of each edge line.
    const img = gray(7, 7, new Array(49).fill(0));
    drawRectangle(img, 2, 2, 3, 3, 9, 3);
    const set = Array.from(img.pixels).flatMap((p, i) => (p === 9 ? [i] : []));
    const expected: number[] = [];
    // the 5×5 block around the 3×3 box
    for (let y = 1; y <= 5; y++) for (let x = 1; x <= 5; x++) expected.push(y * 7 + x);
    expect(set).toEqual(expected);
  });
});

describe('cut, resize and draw_rectangle against the plain per-pixel loops (test/fixtures/image-ops-reference.ts)', () => {
  type Kind = 'rgb565' | 'grayscale';
  const anyImage = (kind: Kind, maxW: number, maxH: number) =>
    fc
      .record({ w: fc.integer({ min: 1, max: maxW }), h: fc.integer({ min: 1, max: maxH }), seed: fc.integer() })
      .map(({ w, h, seed }): MaixImage => {
        // Every 16-bit value (or byte) may occur: spilled channels included.
        let s = seed >>> 0;
        const next = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 8;
        return kind === 'rgb565'
          ? { kind, width: w, height: h, pixels: Uint16Array.from({ length: w * h }, () => next() & 0xffff) }
          : { kind, width: w, height: h, pixels: Uint8Array.from({ length: w * h }, () => next() & 0xff) };
      });
  const either = (maxW: number, maxH: number) =>
    fc.constantFrom<Kind>('rgb565', 'grayscale').chain((k) => anyImage(k, maxW, maxH));
  /** A target of the given size filled with garbage, to show every pixel is written. */
  const garbage = (kind: Kind, w: number, h: number): MaixImage =>
    kind === 'rgb565'
      ? { kind, width: w, height: h, pixels: new Uint16Array(w * h).fill(0xbeef) }
      : { kind, width: w, height: h, pixels: new Uint8Array(w * h).fill(0xa5) };

  it('cut and cutInto equal the reference: offsets past every edge, negative ones, out-of-buffer value', () => {
    fc.assert(
      fc.property(
        either(12, 12),
        fc.integer({ min: -16, max: 16 }),
        fc.integer({ min: -16, max: 16 }),
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 0, max: 0xffff }),
        (img, x, y, w, h, outOfBuffer) => {
          const want = Array.from(ref.cut(img, x, y, w, h, { outOfBuffer }).pixels);
          expect(Array.from(cut(img, x, y, w, h, { outOfBuffer }).pixels)).toEqual(want);
          const into = garbage(img.kind, w, h);
          cutInto(img, x, y, into, { outOfBuffer });
          expect(Array.from(into.pixels)).toEqual(want);
        },
      ),
      { seed: 18, numRuns: 600 },
    );
  });

  it('resize and resizeInto equal the reference in all branches (copy, nearest, bilinear), both formats', () => {
    fc.assert(
      fc.property(
        either(20, 20),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 0xffff }),
        (img, w, h, outOfBuffer) => {
          const want = Array.from(ref.resize(img, w, h, { outOfBuffer }).pixels);
          expect(Array.from(resize(img, w, h, { outOfBuffer }).pixels)).toEqual(want);
          const into = garbage(img.kind, w, h);
          resizeInto(img, into, { outOfBuffer });
          expect(Array.from(into.pixels)).toEqual(want);
        },
      ),
      { seed: 18, numRuns: 600 },
    );
  });

  it('the bilinear RGB565 branch (w0 < w, h0 ≤ h) equals the reference, up to the face sizes the script uses', () => {
    fc.assert(
      fc.property(
        anyImage('rgb565', 110, 100),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 40 }),
        (img, dw, dh) => {
          const w = img.width + dw,
            h = img.height + dh;
          const want = Array.from(ref.resizeRgb565(img as Rgb565Image, w, h).pixels);
          expect(Array.from(resizeRgb565(img as Rgb565Image, w, h).pixels)).toEqual(want);
        },
      ),
      { seed: 18, numRuns: 150 },
    );
    // The script's two faces: 61×55 and 101×86 cut from the frame, enlarged to 128×128.
    for (const [w0, h0] of [
      [61, 55],
      [101, 86],
    ]) {
      const img: Rgb565Image = {
        kind: 'rgb565',
        width: w0,
        height: h0,
        pixels: Uint16Array.from({ length: w0 * h0 }, (_, i) => Math.imul(i + 1, 40503) >>> 16),
      };
      expect(Array.from(resize(img, 128, 128).pixels)).toEqual(Array.from(ref.resize(img, 128, 128).pixels));
    }
  });

  it('draw_rectangle equals the reference: outlines of any thickness, fills, clipping, negative sizes', () => {
    fc.assert(
      fc.property(
        either(14, 14),
        fc.integer({ min: -12, max: 20 }),
        fc.integer({ min: -12, max: 20 }),
        fc.integer({ min: -4, max: 20 }),
        fc.integer({ min: -4, max: 20 }),
        fc.integer({ min: -0x20000, max: 0x20000 }),
        fc.integer({ min: -1, max: 7 }),
        fc.boolean(),
        (img, x, y, w, h, color, thickness, fill) => {
          const a = { ...img, pixels: img.pixels.slice() } as MaixImage;
          const b = { ...img, pixels: img.pixels.slice() } as MaixImage;
          drawRectangle(a, x, y, w, h, color, thickness, fill);
          ref.drawRectangle(b, x, y, w, h, color, thickness, fill);
          expect(Array.from(a.pixels)).toEqual(Array.from(b.pixels));
        },
      ),
      { seed: 18, numRuns: 600 },
    );
  });
});
