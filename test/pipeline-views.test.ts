import { describe, expect, it } from 'vitest';
import { adjustRgb, jpegRoundTrip, rotateRgb, shiftRgb } from '../src/pipeline/index.js';
import type { RgbImage } from '../src/pipeline/index.js';

const img = (w: number, h: number, f: (x: number, y: number) => number): RgbImage => {
  const data = new Uint8Array(3 * w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.fill(f(x, y), 3 * (y * w + x), 3 * (y * w + x) + 3);
  return { width: w, height: h, data };
};
const at = (i: RgbImage, x: number, y: number): number => i.data[3 * (y * i.width + x)];

describe('views', () => {
  it('rotates about the centre: 90° clockwise moves the top-left corner to the top-right', () => {
    const src = img(4, 4, (x, y) => (x === 0 && y === 0 ? 200 : 10));
    const r = rotateRgb(src, 90);
    expect(at(r, 3, 0)).toBe(200);
    expect(at(r, 0, 0)).toBe(10);
    expect(Array.from(rotateRgb(src, 0).data)).toEqual(Array.from(src.data));
  });

  it('shifts by whole and half pixels with padding', () => {
    const src = img(3, 1, (x) => [0, 100, 200][x]);
    expect([0, 1, 2].map((x) => at(shiftRgb(src, 1, 0, [7, 7, 7]), x, 0))).toEqual([7, 0, 100]);
    // Half a pixel: each target centre lies between two sources: (0+100)/2, (100+200)/2; x=0 samples at −0.5 + ½ → edge
    // → 0.
    expect([0, 1, 2].map((x) => at(shiftRgb(src, 0.5, 0), x, 0))).toEqual([0, 50, 150]);
  });

  it('changes lighting through a table', () => {
    const src = img(3, 1, (x) => [0, 100, 200][x]);
    expect([0, 1, 2].map((x) => at(adjustRgb(src, { gain: 1.5 }), x, 0))).toEqual([0, 150, 255]);
    expect([0, 1, 2].map((x) => at(adjustRgb(src, { bias: -20 }), x, 0))).toEqual([0, 80, 180]);
    // gamma 2: 255·(100/255)^(1/2) = 159.7 → 160.
    expect(at(adjustRgb(src, { gamma: 2 }), 1, 0)).toBe(160);
  });

  it('re-encodes as JPEG with small errors on smooth content', () => {
    const src = img(16, 16, (x, y) => 8 * x + 4 * y);
    const back = jpegRoundTrip(src, 90);
    expect([back.width, back.height]).toEqual([16, 16]);
    let worst = 0;
    for (let i = 0; i < src.data.length; i++) worst = Math.max(worst, Math.abs(src.data[i] - back.data[i]));
    expect(worst).toBeLessThan(12);
  });
});
