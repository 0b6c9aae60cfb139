import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ref from './fixtures/image-ops-reference.js';
import {
  cameraFrame,
  flipRgb,
  mapPointToSource,
  mapPointToTarget,
  mapRectToSource,
  planarToRgb,
  planResize,
  resizeRgb,
  rgbToLuma,
  rgbToPlanar,
  unpackRgb565,
} from '../src/pipeline/index.js';
import type { RgbImage } from '../src/pipeline/index.js';

/** A gray RGB image from one value per pixel. */
const grayRgb = (w: number, h: number, v: number[]): RgbImage => ({
  width: w,
  height: h,
  data: Uint8Array.from(v.flatMap((x) => [x, x, x])),
});
const reds = (img: RgbImage): number[] => Array.from({ length: img.width * img.height }, (_, i) => img.data[3 * i]);

describe('planResize', () => {
  it('fits a 512×600 portrait into 320×240 (letterbox left and right)', () => {
    // s = min(320/512, 240/600) = 0.4 → content 204.8 → 205 × 240, offset ⌊(320 − 205)/2⌋ = 57.
    const m = planResize(512, 600, 320, 240, 'fit');
    expect([m.offsetX, m.offsetY, m.scaleX, m.scaleY]).toEqual([57, 0, 205 / 512, 0.4]);
  });

  it('crops a 512×600 portrait to 320×240 (cut top and bottom)', () => {
    // s = max(0.625, 0.4) = 0.625 → 320 × 375, offset ⌊(240 − 375)/2⌋ = −68.
    const m = planResize(512, 600, 320, 240, 'crop');
    expect([m.offsetX, m.offsetY, m.scaleX, m.scaleY]).toEqual([0, -68, 0.625, 0.625]);
  });

  it('stretches without keeping the aspect', () => {
    const m = planResize(512, 600, 320, 240, 'stretch');
    expect([m.offsetX, m.offsetY, m.scaleX, m.scaleY]).toEqual([0, 0, 0.625, 0.4]);
  });

  it('maps points and boxes back to the source', () => {
    const m = planResize(512, 600, 320, 240, 'fit');
    const [x, y] = mapPointToSource(m, ...mapPointToTarget(m, 100, 250));
    expect(x).toBeCloseTo(100, 9);
    expect(y).toBeCloseTo(250, 9);
    // The content rectangle maps to the whole source.
    const r = mapRectToSource(m, { x: 57, y: 0, w: 205, h: 240 });
    expect([r.x, r.y, r.w, r.h].map((v) => Math.round(v * 1e9) / 1e9)).toEqual([0, 0, 512, 600]);
    // A box in the left padding shrinks to nothing; unclipped it lies left of the image.
    expect(mapRectToSource(m, { x: 0, y: 0, w: 50, h: 50 }).w).toBe(0);
    expect(mapRectToSource(m, { x: 0, y: 0, w: 50, h: 50 }, { clip: false }).x).toBeCloseTo(-57 / (205 / 512), 9);
  });

  it('refuses bad sizes and modes', () => {
    expect(() => planResize(0, 10, 10, 10, 'fit')).toThrow(RangeError);
    expect(() => planResize(10, 10, 10, 10, 'zoom' as never)).toThrow(/unknown mode/);
  });
});

describe('resizeRgb', () => {
  it('samples pixel centres: nearest, bilinear and area on a 4 → 2 reduction', () => {
    // Target centres map to source u = 1 and 3: nearest → columns 1, 3; bilinear → midpoints of (0,1), (2,3).
    const src = grayRgb(4, 1, [10, 20, 30, 40]);
    expect(reds(resizeRgb(src, 2, 1, { mode: 'stretch', filter: 'nearest' }).image)).toEqual([20, 40]);
    expect(reds(resizeRgb(src, 2, 1, { mode: 'stretch', filter: 'bilinear' }).image)).toEqual([15, 35]);
    expect(reds(resizeRgb(src, 2, 1, { mode: 'stretch', filter: 'area' }).image)).toEqual([15, 35]);
  });

  it('weights partial pixels in the area filter', () => {
    // 3 → 2: pixel 0 covers [0, 1.5): (10·1 + 20·0.5)/1.5 = 13.33 → 13; pixel 1: (20·0.5 + 30)/1.5 = 26.67 → 27.
    expect(reds(resizeRgb(grayRgb(3, 1, [10, 20, 30]), 2, 1, { mode: 'stretch', filter: 'area' }).image)).toEqual([
      13, 27,
    ]);
  });

  it('interpolates an enlargement with clamped edges and rounds half up', () => {
    // 2 → 4: u − ½ = −0.25, 0.25, 0.75, 1.25 → 10 (clamped), 12.5 → 13, 17.5 → 18, 20 (clamped).
    expect(reds(resizeRgb(grayRgb(2, 1, [10, 20]), 4, 1, { mode: 'stretch' }).image)).toEqual([10, 13, 18, 20]);
  });

  it('pads the letterbox with the given colour and returns the mapping', () => {
    // 4×2 into 4×4 with fit: s = 1, content rows 1..2, rows 0 and 3 padded.
    const { image, mapping } = resizeRgb(grayRgb(4, 2, [1, 2, 3, 4, 5, 6, 7, 8]), 4, 4, {
      filter: 'nearest',
      pad: [9, 9, 9],
    });
    expect(mapping.offsetY).toBe(1);
    expect(reds(image)).toEqual([9, 9, 9, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9]);
  });
});

describe('layouts', () => {
  const img: RgbImage = { width: 2, height: 1, data: Uint8Array.of(255, 0, 0, 0, 255, 255) };

  it('makes R, G, B planes (or B, G, R) and back', () => {
    expect(Array.from(rgbToPlanar(img).data)).toEqual([255, 0, 0, 255, 0, 255]);
    expect(Array.from(rgbToPlanar(img, 'bgr').data)).toEqual([0, 255, 0, 255, 255, 0]);
    expect(Array.from(planarToRgb(rgbToPlanar(img, 'bgr'), 'bgr').data)).toEqual(Array.from(img.data));
  });

  it('computes luma with OpenMV weights (38, 75, 15) >> 7', () => {
    // red: 38·255 >> 7 = 75; green: 75·255 >> 7 = 149; blue: 15·255 >> 7 = 29; white: 128·255 >> 7 = 255.
    const l = rgbToLuma({ width: 4, height: 1, data: Uint8Array.of(255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255) });
    expect([l.channels, ...l.data]).toEqual([1, 75, 149, 29, 255]);
  });

  it('mirrors and flips', () => {
    const m = flipRgb(grayRgb(2, 2, [1, 2, 3, 4]), true, false);
    expect(reds(m)).toEqual([2, 1, 4, 3]);
    expect(reds(flipRgb(grayRgb(2, 2, [1, 2, 3, 4]), true, true))).toEqual([4, 3, 2, 1]);
  });

  it('builds a camera frame: AI planes from the RGB888 values, display pixels via the tables', () => {
    const f = cameraFrame({ width: 1, height: 1, data: Uint8Array.of(200, 100, 7) });
    expect(Array.from(f.ai.data)).toEqual([200, 100, 7]);
    // 200·31/255 = 24.3 → 24; 100·63/255 = 24.7 → 25; 7·31/255 = 0.85 → 1.
    expect(unpackRgb565(f.display.pixels[0])).toEqual([24, 25, 1]);
  });
});

describe('rgbToPlanar against the plain per-pixel loop (test/fixtures/image-ops-reference.ts)', () => {
  it('gives the reference planes in both orders, from sources at any byte offset (4 pixels a step or 1)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 9 }),
        fc.constantFrom<'rgb' | 'bgr'>('rgb', 'bgr'),
        fc.integer({ min: 0, max: 7 }),
        fc.integer(),
        (w, h, order, offset, seed) => {
          let s = seed >>> 0;
          const next = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24;
          // The pixels start `offset` bytes into their buffer, as a view of a larger one may.
          const bytes = Uint8Array.from({ length: offset + 3 * w * h + 3 }, next);
          const img: RgbImage = { width: w, height: h, data: bytes.subarray(offset, offset + 3 * w * h) };
          const got = rgbToPlanar(img, order);
          const want = ref.rgbToPlanar(img, order);
          expect([got.width, got.height, got.channels]).toEqual([want.width, want.height, want.channels]);
          expect(Array.from(got.data)).toEqual(Array.from(want.data));
        },
      ),
      { seed: 18, numRuns: 300 },
    );
  });
});
