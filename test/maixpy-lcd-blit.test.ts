/**
 * The panel's row-at-a-time fill and display (`fillPanel`, `displayOnPanel` in src/maixpy/modules/lcd.ts)
 * against their definition pixel by pixel through `lcdPixelOffset`: the same panel bytes for every
 * address mode, image size, roi, offset and panel size, including parts off the image or the panel.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  displayOnPanel,
  fillPanel,
  fillWholePanel,
  lcdLogicalSize,
  lcdPixelOffset,
  panelImage,
} from '../src/maixpy/modules/lcd.js';
import { rgb565RgbTable, rgb565ToRgb888Pixel } from '../src/pipeline/rgb565.js';
import type { MaixImage, RgbImage } from '../src/pipeline/types.js';
import { Lcg } from './lcg.js';

const COLS = 240;
const ROWS = 320;

/** A panel of random bytes (so an untouched byte is told from a written one). */
function panel(seed: number): Uint8Array {
  const g = new Lcg(seed);
  return Uint8Array.from({ length: COLS * ROWS * 3 }, () => g.byte());
}

/** The definition: each logical pixel of the rectangle within the logical size, through lcdPixelOffset. */
function fillByPixel(rgb: Uint8Array, dir: number, x: number, y: number, w: number, h: number, c: number[]): void {
  const [W, H] = lcdLogicalSize(dir);
  for (let yy = Math.max(0, y); yy < Math.min(H, y + h); yy++)
    for (let xx = Math.max(0, x); xx < Math.min(W, x + w); xx++) {
      const o = lcdPixelOffset(dir, xx, yy);
      if (o >= 0) rgb.set(c, o);
    }
}

/** The definition of lcd.display's copy: every pixel inside the image and inside PW × PH and the panel. */
function blitByPixel(
  rgb: Uint8Array,
  dir: number,
  img: RgbImage,
  [X, Y, W, H]: number[],
  left: number,
  top: number,
  PW: number,
  PH: number,
): void {
  for (let yy = 0; yy < H; yy++)
    for (let xx = 0; xx < W; xx++) {
      const sx = X + xx,
        sy = Y + yy,
        tx = left + xx,
        ty = top + yy;
      if (sx < 0 || sx >= img.width || sy < 0 || sy >= img.height || tx < 0 || tx >= PW || ty < 0 || ty >= PH) continue;
      const o = lcdPixelOffset(dir, tx, ty);
      if (o >= 0) rgb.set(img.data.subarray(3 * (sy * img.width + sx), 3 * (sy * img.width + sx) + 3), o);
    }
}

/** A w×h RGB565 image of random pixels. */
function rgb565Image(w: number, h: number, g: Lcg): MaixImage {
  return { kind: 'rgb565', width: w, height: h, pixels: Uint16Array.from({ length: w * h }, () => g.u32() >>> 16) };
}

/** The image made RGB888 pixel by pixel through MaixPy's tables (gray: R = G = B). */
function asRgb888(img: MaixImage): RgbImage {
  const n = img.width * img.height;
  const data = new Uint8Array(3 * n);
  for (let k = 0; k < n; k++)
    data.set(img.kind === 'rgb565' ? rgb565ToRgb888Pixel(img.pixels[k]) : [0, 1, 2].map(() => img.pixels[k]), 3 * k);
  return { width: img.width, height: img.height, data };
}

const dirs = fc.constantFrom(0x00, 0x20, 0x40, 0x60, 0x80, 0xa0, 0xc0, 0xe0);
const coord = fc.oneof(fc.integer({ min: -40, max: 40 }), fc.integer({ min: -400, max: 400 }));

describe('lcd panel fill and copy a row at a time', () => {
  it('fillPanel writes what the pixel-by-pixel fill writes', () => {
    fc.assert(
      fc.property(
        fc.record({ dir: dirs, x: coord, y: coord, w: coord, h: coord, seed: fc.nat(), c: fc.nat(0xffffff) }),
        ({ dir, x, y, w, h, seed, c }) => {
          const colour: [number, number, number] = [c >> 16, (c >> 8) & 255, c & 255];
          const want = panel(seed);
          const got = want.slice();
          fillByPixel(want, dir, x, y, w, h, colour);
          fillPanel(got, dir, x, y, w, h, colour);
          expect(Buffer.compare(got, want)).toBe(0);
        },
      ),
      { seed: 7, numRuns: 150 },
    );
  });

  it('an image and a panel size larger than the logical panel: nothing past its edge', () => {
    // lcd.width()/height() beyond the panel (a script's own set_dir) and a 400×300 image
    const g = new Lcg(4);
    const img = rgb565Image(400, 300, g);
    for (const dir of [0x00, 0x20, 0x40, 0x60, 0x80, 0xa0, 0xc0, 0xe0]) {
      const want = panel(dir + 1);
      const got = want.slice();
      blitByPixel(want, dir, asRgb888(img), [0, 0, 400, 300], 0, 0, 400, 400);
      displayOnPanel(got, dir, img, 0, 0, 400, 300, 0, 0, 400, 400, false);
      expect(Buffer.compare(got, want)).toBe(0);
    }
  });

  it('lcd.display of a QVGA frame in every mode: the whole frame, centred as MaixPy centres it', () => {
    // the case the face demo takes every frame: the image as large as the logical panel or larger
    const g = new Lcg(3);
    const img = rgb565Image(320, 240, g);
    for (const dir of [0x00, 0x20, 0x40, 0x60, 0x80, 0xa0, 0xc0, 0xe0]) {
      const [PW, PH] = lcdLogicalSize(dir);
      const want = panel(dir);
      const got = want.slice();
      blitByPixel(want, dir, asRgb888(img), [0, 0, 320, 240], 0, 0, PW, PH);
      displayOnPanel(got, dir, img, 0, 0, 320, 240, 0, 0, PW, PH, false, rgb565RgbTable());
      expect(Buffer.compare(got, want)).toBe(0);
    }
  });

  it("displayOnPanel in one pass writes what lcd.display's black fill, conversion and copy write (with and without the look-up table)", () => {
    fc.assert(
      fc.property(
        fc.record({
          dir: dirs,
          gray: fc.boolean(),
          iw: fc.oneof(fc.constant(320), fc.integer({ min: 1, max: 400 })),
          ih: fc.oneof(fc.constant(240), fc.integer({ min: 1, max: 340 })),
          roi: fc.oneof(fc.constant(null), fc.tuple(coord, coord, coord, coord)),
          left: fc.oneof(fc.constant(0), coord),
          top: fc.oneof(fc.constant(0), coord),
          PW: fc.oneof(fc.constantFrom(320, 240), fc.integer({ min: 0, max: 400 })),
          PH: fc.oneof(fc.constantFrom(240, 320), fc.integer({ min: 0, max: 400 })),
          clear: fc.boolean(),
          table: fc.boolean(),
          seed: fc.nat(),
        }),
        ({ dir, gray, iw, ih, roi, left, top, PW, PH, clear, table, seed }) => {
          const g = new Lcg(seed ^ 0x3c3c);
          const img: MaixImage = gray
            ? { kind: 'grayscale', width: iw, height: ih, pixels: Uint8Array.from({ length: iw * ih }, () => g.byte()) }
            : {
                kind: 'rgb565',
                width: iw,
                height: ih,
                pixels: Uint16Array.from({ length: iw * ih }, () => g.u32() >>> 16),
              };
          const [X, Y, W, H] = roi ?? [0, 0, iw, ih];
          const want = panel(seed);
          const got = want.slice();
          if (clear) fillByPixel(want, dir, 0, 0, PW, PH, [0, 0, 0]);
          blitByPixel(want, dir, asRgb888(img), [X, Y, W, H], left, top, PW, PH);
          displayOnPanel(got, dir, img, X, Y, W, H, left, top, PW, PH, clear, table ? rgb565RgbTable() : undefined);
          expect(Buffer.compare(got, want)).toBe(0);
        },
      ),
      { seed: 9, numRuns: 200 },
    );
  });

  it('the whole-panel fill (lcd.init) and the logical image of the panel (the PNGs) are their pixel-by-pixel definitions', () => {
    fc.assert(
      fc.property(dirs, fc.nat(), fc.nat(0xffffff), fc.boolean(), (dir, seed, c, gray) => {
        const colour: [number, number, number] = gray
          ? [c & 255, c & 255, c & 255]
          : [c >> 16, (c >> 8) & 255, c & 255];
        const filled = panel(seed);
        fillWholePanel(filled, colour);
        const every = new Uint8Array(filled.length);
        for (let o = 0; o < every.length; o += 3) every.set(colour, o);
        expect(Buffer.compare(filled, every)).toBe(0);
        const p = panel(seed);
        const [W, H] = lcdLogicalSize(dir);
        const want = new Uint8Array(W * H * 3);
        for (let y = 0; y < H; y++)
          for (let x = 0; x < W; x++) {
            const o = lcdPixelOffset(dir, x, y);
            want.set(p.subarray(o, o + 3), 3 * (y * W + x));
          }
        const img = panelImage(p, dir);
        expect([img.width, img.height]).toEqual([W, H]);
        expect(Buffer.compare(img.data, want)).toBe(0);
      }),
      { seed: 10, numRuns: 24 },
    );
  });
});
