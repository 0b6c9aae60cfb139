/**
 * The camera's frame cache (src/maixpy/camera.ts): every snapshot, first or repeated, from the cache
 * or not, is the bytes the snapshot computed before there was a cache (decode, scale, mirror/flip,
 * convert, written out here as it was); the cache stays within its bound; a frame made ahead
 * (`prefetched`) is used only for exactly the snapshot it was made for.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Camera, type CameraOrientation, type PrefetchedFile } from '../src/maixpy/camera.js';
import { flipRgb, resizeRgb, rgbToLuma, rgbToPlanar, type ResizeMode } from '../src/pipeline/convert.js';
import { encodePng, readImageFile } from '../src/pipeline/image-io.js';
import { rgbToRgb565 } from '../src/pipeline/rgb565.js';
import type { RgbImage } from '../src/pipeline/types.js';
import { REPO, tempDir } from './fixtures/maixpy/helpers.js';
import { Lcg } from './lcg.js';

const HOPPER = join(REPO, 'examples/images/grace_hopper.jpg');

/** A snapshot as the camera made it before it cached anything. */
function snapshotOf(
  file: string,
  w: number,
  h: number,
  gray: boolean,
  flipH: boolean,
  flipV: boolean,
  fit: ResizeMode,
): { display: Uint8Array | Uint16Array; ai: Uint8Array } {
  const img = readImageFile(file);
  let rgb: RgbImage = img;
  if (img.width !== w || img.height !== h) {
    const shrinking = w < img.width || h < img.height;
    rgb = resizeRgb(img, w, h, { mode: fit, filter: shrinking ? 'area' : 'bilinear' }).image;
  }
  if (flipH || flipV) rgb = flipRgb(rgb, flipH, flipV);
  if (gray) {
    const luma = rgbToLuma(rgb).data;
    return { display: luma, ai: luma };
  }
  return { display: rgbToRgb565(rgb).pixels, ai: rgbToPlanar(rgb).data };
}

const bytes = (a: Uint8Array | Uint16Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Small PNG files of random pixels (a 32×24 one is a frame's own size: no scaling). */
function files(): string[] {
  const dir = tempDir('camera-cache');
  const g = new Lcg(5);
  return [
    [40, 30],
    [32, 24],
    [17, 50],
  ].map(([w, h], i) => {
    const f = join(dir, `f${i}.png`);
    writeFileSync(f, encodePng({ width: w, height: h, data: Uint8Array.from({ length: w * h * 3 }, () => g.byte()) }));
    return f;
  });
}

describe('camera frame cache', () => {
  const FILES = files();

  it('every snapshot is the uncached snapshot, and the cache keeps within its bound', () => {
    const shot = fc.record({
      file: fc.nat(FILES.length - 1),
      size: fc.constantFrom<[number, number]>([32, 24], [16, 12], [48, 36]),
      gray: fc.boolean(),
      hm: fc.boolean(),
      vf: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.record({
          shots: fc.array(shot, { minLength: 1, maxLength: 14 }),
          fit: fc.constantFrom<ResizeMode>('crop', 'fit', 'stretch'),
          orientation: fc.constantFrom<CameraOrientation>('script', 'raw'),
          // from less than one frame to all of them
          cacheBytes: fc.constantFrom(1000, 4000, 12_000, 64 << 20),
        }),
        ({ shots, fit, orientation, cacheBytes }) => {
          const order = shots.map((s) => FILES[s.file]);
          const cam = new Camera(order, { fit, orientation, cacheBytes });
          let ref: { hm: boolean; vf: boolean } | undefined;
          for (const s of shots) {
            const [w, h] = s.size;
            const got = cam.capture(w, h, s.gray, s.hm, s.vf)!;
            ref ??= orientation === 'script' ? { hm: s.hm, vf: s.vf } : { hm: false, vf: false };
            const want = snapshotOf(FILES[s.file], w, h, s.gray, s.hm !== ref.hm, s.vf !== ref.vf, fit);
            expect(bytes(got.display).equals(bytes(want.display))).toBe(true);
            expect(bytes(got.ai).equals(bytes(want.ai))).toBe(true);
            const { frames, bytes: held } = cam.cached;
            expect(frames).toBeGreaterThanOrEqual(1);
            // a single frame larger than the bound is kept alone (it is the one in use)
            expect(held <= cacheBytes || frames === 1).toBe(true);
          }
        },
      ),
      { seed: 21, numRuns: 60 },
    );
  });

  it('a repeated file is decoded once per size while it stays in the cache, again once dropped', () => {
    const decoded: string[] = [];
    const spy = (f: string): PrefetchedFile => (decoded.push(f), { image: readImageFile(f) });
    const seq = [FILES[0], FILES[1], FILES[0], FILES[1], FILES[0]];
    const big = new Camera(seq, { prefetched: spy });
    for (let i = 0; i < seq.length; i++) big.capture(16, 12, i === 4, false, false);
    expect(decoded).toEqual([FILES[0], FILES[1]]);
    // room for one file's frame and snapshot (16×12: 576 + 384 + 576 bytes) but not two
    decoded.length = 0;
    const small = new Camera(seq, { prefetched: spy, cacheBytes: 2000 });
    for (let i = 0; i < seq.length; i++) small.capture(16, 12, false, false, false);
    expect(decoded).toEqual(seq);
    expect(small.cached).toEqual({ frames: 1, bytes: 16 * 12 * 8 });
  });

  it('beyond the bound, snapshots are dropped before frames: files cycling within the bound are not decoded again', () => {
    const decoded: string[] = [];
    const spy = (f: string): PrefetchedFile => (decoded.push(f), { image: readImageFile(f) });
    // three 16×12 frames (576 bytes each) fit in 2700 bytes, with one snapshot (960 bytes) but not two
    const seq = [...FILES, ...FILES, ...FILES];
    const cam = new Camera(seq, { prefetched: spy, cacheBytes: 2700 });
    for (let i = 0; i < seq.length; i++) {
      const got = cam.capture(16, 12, false, false, false)!;
      const want = snapshotOf(seq[i], 16, 12, false, false, false, 'crop');
      expect(bytes(got.ai).equals(bytes(want.ai))).toBe(true);
      expect(cam.cached.bytes).toBeLessThanOrEqual(2700);
    }
    expect(decoded).toEqual(FILES);
    expect(cam.cached).toEqual({ frames: 3, bytes: 3 * 576 + 960 });
  });

  it('a frame made ahead stands for exactly the snapshot it was made for, and only that', () => {
    const image = readImageFile(HOPPER);
    // a marker frame no scaling of the file could give: it shows where it is used
    const g = new Lcg(9);
    const rgb = { width: 320, height: 240, data: Uint8Array.from({ length: 320 * 240 * 3 }, () => g.byte()) };
    const made: PrefetchedFile = {
      image,
      frame: {
        width: 320,
        height: 240,
        fit: 'crop',
        rgb,
        display: rgbToRgb565(rgb).pixels,
        ai: rgbToPlanar(rgb).data,
      },
    };
    const first = (fit: ResizeMode, w: number, h: number, gray: boolean, hm: boolean) =>
      new Camera([HOPPER], { fit, orientation: 'raw', prefetched: () => made }).capture(w, h, gray, hm, false)!;
    const used = first('crop', 320, 240, false, false);
    expect(used.display).toBe(made.frame!.display);
    expect(used.ai).toBe(made.frame!.ai);
    // another snapshot of the same frame is made from the frame made ahead
    expect(bytes(first('crop', 320, 240, true, false).ai).equals(bytes(rgbToLuma(rgb).data))).toBe(true);
    // another fit or size: the file's own image, scaled here
    for (const [fit, w, h] of [
      ['fit', 320, 240],
      ['crop', 240, 320],
      ['crop', 320, 200],
    ] as const) {
      const want = snapshotOf(HOPPER, w, h, false, false, false, fit);
      expect(bytes(first(fit, w, h, false, false).ai).equals(bytes(want.ai))).toBe(true);
    }
  });
});
