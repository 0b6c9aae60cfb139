/**
 * `kpusim face` glue without the shared models: role checks on hand-made tensor shapes, the
 * bundled manifest, the CPU-step timing estimate, --set parsing, the label font and the --out
 * drawing.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSet } from '../src/pipeline/presets.js';
import { annotate, faceLabel } from '../src/face/annotate.js';
import { bundledPreset, readManifest } from '../src/face/bundled.js';
import { drawText, textWidth } from '../src/face/font.js';
import { roleMismatch, type LoadedFaceModel } from '../src/face/models.js';
import type { FaceReport } from '../src/face/session.js';
import { FACE_CPU_CYCLES, faceCycles, frameBoardTime, regionCycles, resizeBranch } from '../src/face/timing.js';
import type { TensorDesc } from '../src/kmodel-parser/model.js';
import { CANMV_PRESET, MAIXPY_PRESET } from '../src/pipeline/presets.js';
import type { RgbImage } from '../src/pipeline/types.js';

const u8 = (...shape: number[]): TensorDesc => ({ shape, dtype: 'uint8', bytes: shape.reduce((a, b) => a * b, 1) });
const f32 = (...shape: number[]): TensorDesc => ({
  shape,
  dtype: 'float32',
  bytes: 4 * shape.reduce((a, b) => a * b, 1),
});
const fake = (inputs: TensorDesc[], outputs: TensorDesc[]): Pick<LoadedFaceModel, 'prepared'> =>
  ({ prepared: { inputs, outputs } }) as unknown as Pick<LoadedFaceModel, 'prepared'>;

describe('model roles', () => {
  it('accepts the shapes of the real models for their presets', () => {
    expect(roleMismatch(fake([u8(1, 3, 240, 320)], [f32(1, 30, 15, 20)]), 'detector', MAIXPY_PRESET)).toBeNull();
    expect(roleMismatch(fake([u8(1, 3, 240, 320)], [f32(1, 54, 8, 10)]), 'detector', CANMV_PRESET)).toBeNull();
    expect(roleMismatch(fake([u8(1, 3, 128, 128)], [f32(1, 10)]), 'landmarks', CANMV_PRESET)).toBeNull();
    expect(roleMismatch(fake([u8(1, 3, 64, 64)], [f32(1, 192, 1, 1)]), 'features', CANMV_PRESET)).toBeNull();
    expect(roleMismatch(fake([u8(1, 3, 128, 128)], [f32(1, 196)]), 'features', MAIXPY_PRESET)).toBeNull();
  });

  it('names what is wrong', () => {
    // CanMV's 54-channel detector under MaixPy's rule: 54/5 − 5 = 5 classes, 5·10 ≠ 54.
    expect(roleMismatch(fake([u8(1, 3, 240, 320)], [f32(1, 54, 8, 10)]), 'detector', MAIXPY_PRESET)).toMatch(
      /54 channels do not make 5 anchors/,
    );
    expect(roleMismatch(fake([u8(1, 3, 240, 320)], [f32(1, 30, 15, 20)]), 'detector', CANMV_PRESET)).toMatch(
      /30 channels do not make 9 anchors/,
    );
    expect(roleMismatch(fake([u8(1, 3, 128, 128)], [f32(1, 10)]), 'detector', CANMV_PRESET)).toMatch(
      /input is 1×3×128×128 uint8; the face detector takes 1×3×240×320 uint8/,
    );
    expect(roleMismatch(fake([u8(1, 3, 128, 128)], [f32(1, 136)]), 'landmarks', CANMV_PRESET)).toMatch(/136 values/);
    expect(roleMismatch(fake([u8(1, 3, 64, 64)], [f32(1, 256)]), 'features', CANMV_PRESET)).toMatch(/192/);
    expect(roleMismatch(fake([u8(1, 3, 128, 128)], [f32(1, 600)]), 'features', MAIXPY_PRESET)).toMatch(/at most 512/);
    expect(roleMismatch(fake([u8(1, 3, 128, 128)], [u8(1, 10)]), 'landmarks', CANMV_PRESET)).toMatch(/float32/);
    expect(
      roleMismatch(fake([u8(1, 3, 128, 128), u8(1, 3, 128, 128)], [f32(1, 10)]), 'landmarks', CANMV_PRESET),
    ).toMatch(/2 inputs/);
  });
});

describe('bundled manifest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kpusim-face-manifest-'));
  const write = (doc: unknown): string => {
    const p = join(dir, `m${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(p, typeof doc === 'string' ? doc : JSON.stringify(doc));
    return p;
  };
  const sha = 'a'.repeat(64);

  it('says the file is not there', () => {
    expect(() => readManifest(join(dir, 'none.json'))).toThrow(/not there/);
  });

  it('refuses a bad manifest with the reason', () => {
    expect(() => readManifest(write('{'))).toThrow(/not valid JSON/);
    expect(() =>
      readManifest(write({ schema_version: 1, models: [{ role: 'eyes', file: 'a', sha256: sha }] })),
    ).toThrow(/role must be/);
    expect(() =>
      readManifest(write({ schema_version: 1, models: [{ role: 'detector', file: 'a', sha256: sha }] })),
    ).toThrow(/needs "anchors"/);
    expect(() =>
      readManifest(write({ schema_version: 1, models: [{ role: 'features', file: 'a', sha256: 'XY' }] })),
    ).toThrow(/sha256/);
  });

  it('makes a MaixPy-flow preset with the manifest anchors and the models’ sizes', () => {
    const p = write({
      schema_version: 1,
      models: [
        {
          role: 'detector',
          file: 'det.kmodel',
          sha256: sha,
          anchors: [
            [1, 2],
            [3, 4],
          ],
          threshold: 0.6,
        },
        { role: 'features', file: 'fe.kmodel', sha256: sha },
      ],
    });
    const m = readManifest(p);
    expect(m.models.detector!.file).toBe(join(dir, 'det.kmodel'));
    const preset = bundledPreset(m, { features: { width: 64, height: 64 } });
    expect(preset.name).toBe('bundled');
    expect(preset.detector.anchors).toEqual([1, 2, 3, 4]);
    expect(preset.detector.threshold).toBe(0.6);
    expect(preset.detector.nmsValue).toBe(0.3);
    expect(preset.landmarks.leftEyeXOffset).toBe(0);
    // MaixPy's 128×128 template halved and truncated.
    expect(preset.alignment.template).toEqual([
      [22, 29],
      [42, 29],
      [32, 41],
      [23, 52],
      [40, 52],
    ]);
    expect(preset.features.scoring).toBe('face-compare');
  });
});

describe('board time of the CPU steps', () => {
  it('picks MaixPy’s resize branch (≥ for width, > for height)', () => {
    expect(resizeBranch(128, 128, 128, 128)).toBe('copy');
    expect(resizeBranch(128, 100, 128, 128)).toBe('nearest');
    expect(resizeBranch(100, 129, 128, 128)).toBe('nearest');
    expect(resizeBranch(100, 128, 128, 128)).toBe('bilinear');
  });

  it('prices the region layer by boxes, sort and NMS', () => {
    const c = FACE_CPU_CYCLES;
    // CanMV: 9 anchors × 10×8 = 720 boxes, 1 class, 3 candidates, 2 kept.
    const want =
      720 * (6 * c.transcendental + c.regionBoxOverhead) +
      720 * Math.log2(720) * c.sortStep +
      2 * 720 * c.iou +
      3 * 200;
    expect(regionCycles({ boxes: 720, classes: 1, candidates: 3, kept: 2 })).toBeCloseTo(want, 6);
  });

  it('adds models per processed face and converts cycles at the CPU clock', () => {
    const face = { crop: { x: 0, y: 0, w: 100, h: 100 }, comparisons: 2, featureLength: 192 };
    const det = { boxes: 720, classes: 1, candidates: 1, kept: 1 };
    const t = frameBoardTime(
      { detection: det, faces: [face, face], detectorMs: 10, landmarksMs: 1, featuresMs: 50, cpuMhz: 400 },
      CANMV_PRESET,
    );
    const cycles = regionCycles(det) + c4(FACE_CPU_CYCLES.pythonCallsPerFrame) + 2 * faceCycles(face, CANMV_PRESET);
    expect(t.landmarks_ms).toBe(2);
    expect(t.features_ms).toBe(100);
    expect(t.cpu_ms).toBeCloseTo(cycles / 400_000, 9);
    expect(t.board_ms).toBeCloseTo(10 + 2 + 100 + t.cpu_ms, 9);
    expect(t.fps).toBeCloseTo(1000 / t.board_ms, 9);
    // 100×100 < 128×128 → bilinear: more than the nearest branch of a 200×200 crop minus its bigger cut.
    const bil = faceCycles(face, CANMV_PRESET) - 100 * 100 * FACE_CPU_CYCLES.cutPixel;
    const near =
      faceCycles({ ...face, crop: { x: 0, y: 0, w: 200, h: 200 } }, CANMV_PRESET) -
      200 * 200 * FACE_CPU_CYCLES.cutPixel;
    expect(bil - near).toBe(128 * 128 * (FACE_CPU_CYCLES.resizeBilinearPixel - FACE_CPU_CYCLES.resizeNearestPixel));
  });
});

function c4(calls: number): number {
  return calls * FACE_CPU_CYCLES.pythonCall;
}

describe('--set', () => {
  it('builds a nested override, JSON values or plain strings', () => {
    expect(parseSet('detector.threshold=0.6')).toEqual({ detector: { threshold: 0.6 } });
    expect(parseSet('detector.facesPerFrame=all')).toEqual({ detector: { facesPerFrame: 'all' } });
    expect(parseSet('detector.anchors=[1,2]')).toEqual({ detector: { anchors: [1, 2] } });
    expect(() => parseSet('threshold')).toThrow(/path=value/);
    expect(() => parseSet('a..b=1')).toThrow(/bad field path/);
  });
});

const blank = (w: number, h: number): RgbImage => ({ width: w, height: h, data: new Uint8Array(3 * w * h) });
const lit = (img: RgbImage, x: number, y: number): boolean => img.data[3 * (y * img.width + x)] > 0;

describe('labels and pictures', () => {
  it('draws 5×7 glyphs, one column apart, clipped', () => {
    const img = blank(20, 10);
    drawText(img, 0, 0, 'I1', [255, 255, 255]);
    // 'I' = columns 0x00 0x41 0x7f 0x41 0x00: its middle column is solid rows 0…6.
    for (let y = 0; y < 7; y++) expect(lit(img, 2, y)).toBe(true);
    expect(lit(img, 0, 3)).toBe(false);
    expect(lit(img, 1, 0)).toBe(true);
    expect(lit(img, 1, 3)).toBe(false);
    // '1' starts at x = 6: columns 0x00 0x42 0x7f 0x40 0x00 → column 8 solid.
    for (let y = 0; y < 7; y++) expect(lit(img, 8, y)).toBe(true);
    expect(textWidth('I1')).toBe(11);
    expect(textWidth('I1', 2)).toBe(22);
    expect(() => drawText(img, 15, 5, 'é~', [255, 0, 0], 3)).not.toThrow();
  });

  it('colours faces by outcome and labels them', () => {
    const base: FaceReport = {
      box: [10, 20, 30, 30],
      score: 0.9375,
      landmarks: [
        [20, 30],
        [30, 30],
        [25, 35],
        [20, 42],
        [30, 42],
      ],
      name: 'ada',
      similarity: 91.25,
      processed: true,
      frame_box: [10, 20, 30, 30],
      frame_landmarks: [
        [20, 30],
        [30, 30],
        [25, 35],
        [20, 42],
        [30, 42],
      ],
    };
    expect(faceLabel(base)).toBe('ada 91.3');
    expect(faceLabel({ ...base, name: null, similarity: 60 })).toBe('? 60.0');
    expect(faceLabel({ ...base, name: null, similarity: null })).toBe('0.94');
    const img = blank(80, 80);
    const out = annotate(img, [base]);
    expect(img.data.every((v) => v === 0)).toBe(true); // the input is not changed
    // left edge green
    expect(Array.from(out.data.subarray(3 * (35 * 80 + 10), 3 * (35 * 80 + 10) + 3))).toEqual([0, 220, 0]);
    expect(out.data[3 * (30 * 80 + 20)]).toBe(255); // a red landmark dot
    const grey = annotate(img, [{ ...base, processed: false, name: null, similarity: null, landmarks: null }]);
    expect(Array.from(grey.data.subarray(3 * (35 * 80 + 10), 3 * (35 * 80 + 10) + 3))).toEqual([160, 160, 160]);
  });
});
