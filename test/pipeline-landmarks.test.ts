import { describe, expect, it } from 'vitest';
import {
  arcfaceTemplate,
  CANMV_PRESET,
  decodeLandmarksLd5,
  decodeLandmarksMaixpy,
  extendBox,
} from '../src/pipeline/index.js';

describe('MaixPy landmark decode', () => {
  const box = { x: 100, y: 50, w: 80, h: 100 };
  const p = Float32Array.of(0.25, 0.5, 0.75, 0.5, 0.5, 0.625, 0.3, 0.8, 0.7, 0.8);

  it('scales fractions of the face box, with the demo’s −10 on the left-eye x', () => {
    // le = (100 + int(0.25·80 − 10), 50 + int(0.5·100)) = (110, 100); re = (100 + 60, 100);
    // nose = (140, 50 + int(62.5)) = (140, 112); lm = (100 + int(24.0000…), 50 + int(80.0000…)) = (124, 130);
    // rm = (100 + int(0.7f·80 = 55.99999905 → binary32 56.0), 130) = (156, 130).
    expect(decodeLandmarksMaixpy(p, box)).toEqual([
      [110, 100],
      [160, 100],
      [140, 112],
      [124, 130],
      [156, 130],
    ]);
  });

  it('drops the offset when asked (the first version of the demo)', () => {
    expect(decodeLandmarksMaixpy(p, box, { leftEyeXOffset: 0 })[0]).toEqual([120, 100]);
  });

  it('rounds each product to binary32 before truncating', () => {
    // p = 0.58f, w = 50: the exact product is 28.99999917, binary32 rounds it to 29 → x + 29
    // (double arithmetic would give 28). p = 0.84f, w = 75: 62.99999803 → binary32 62.99999619 → 62.
    const q = Float32Array.of(0.58, 0, 0.84, 0, 0, 0, 0, 0, 0, 0);
    const pts = decodeLandmarksMaixpy(q, { x: 0, y: 0, w: 50, h: 10 }, { leftEyeXOffset: 0 });
    expect(pts[0][0]).toBe(29);
    const pts2 = decodeLandmarksMaixpy(q, { x: 0, y: 0, w: 75, h: 10 }, { leftEyeXOffset: 0 });
    expect(pts2[1][0]).toBe(62);
  });

  it('truncates toward zero for negative values (int() of −3.5 is −3)', () => {
    // left-eye x: 0.1·65 − 10 = −3.5 → −3.
    const q = Float32Array.of(0.1, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    expect(decodeLandmarksMaixpy(q, { x: 10, y: 0, w: 65, h: 10 })[0][0]).toBe(7);
  });

  it('refuses short outputs', () => {
    expect(() => decodeLandmarksMaixpy([1, 2, 3], box)).toThrow(/10 are needed/);
  });
});

describe('CanMV ld5 decode', () => {
  it('applies the sigmoid and scales the pre-resize crop', () => {
    // Logit 0 → σ = 0.5: x = int(0.5·41 + 10) = 30, y = int(0.5·61 + 20) = 50.
    // Logit ln 3 → σ ≈ 0.75: x = int(0.75·41 + 10) = int(40.75) = 40; y = int(0.75·61 + 20) = int(65.75) = 65.
    // Logit −ln 3 → σ ≈ 0.25: x = int(10.25 + 10) = 20; y = int(15.25 + 20) = 35.
    const l3 = Math.log(3);
    const out = [0, 0, l3, l3, -l3, -l3, 0, l3, l3, 0];
    expect(decodeLandmarksLd5(out, { x: 10, y: 20, w: 41, h: 61 })).toEqual([
      [30, 50],
      [40, 65],
      [20, 35],
      [30, 65],
      [40, 50],
    ]);
  });
});

describe('CanMV extend_box', () => {
  it('with RATIO 0 includes both corners and stays inside columns 1…319, rows 1…239', () => {
    // (0, 0, 50, 60): x1 = 1 (0 > 1 is false), y1 = 1, x2 = 50, y2 = 60 → (1, 1, 50, 60).
    expect(extendBox({ x: 0, y: 0, w: 50, h: 60 }, 0)).toEqual({ x: 1, y: 1, w: 50, h: 60 });
    // (100, 80, 40, 50): x2 = 140, y2 = 130 → one pixel wider and taller: (100, 80, 41, 51).
    expect(extendBox({ x: 100, y: 80, w: 40, h: 50 }, 0)).toEqual({ x: 100, y: 80, w: 41, h: 51 });
    // (300, 200, 40, 50): x2 = 340 → 319, y2 = 250 → 239: (300, 200, 20, 40).
    expect(extendBox({ x: 300, y: 200, w: 40, h: 50 }, 0)).toEqual({ x: 300, y: 200, w: 20, h: 40 });
  });

  it('grows by scale·w and scale·h in binary32 for a float ratio', () => {
    // scale 0.08, (100, 80, 50, 100): 0.08f·50 = 4.0000001 → x1_t = 95.9999999 → binary32 96 → 96;
    // x2_t = 150 + 4 = 154 → 154; 0.08f·100 = 8.0000001 → y1_t = 72 → 72, y2_t = 188 → 188.
    // → (96, 72, 59, 117).
    expect(extendBox({ x: 100, y: 80, w: 50, h: 100 }, 0.08)).toEqual({ x: 96, y: 72, w: 59, h: 117 });
    // The frame size is a parameter (face_attribute.py's copy clamps y to 255).
    expect(extendBox({ x: 10, y: 200, w: 10, h: 100 }, 0, { frameHeight: 256 })).toEqual({
      x: 10,
      y: 200,
      w: 11,
      h: 56,
    });
  });
});

describe('ArcFace template', () => {
  it('truncates X·size/112 in binary32 (nose y becomes 40, not 41)', () => {
    expect(arcfaceTemplate(64)).toEqual([
      [21, 29],
      [42, 29],
      [32, 40],
      [23, 52],
      [40, 52],
    ]);
    expect(CANMV_PRESET.alignment.template).toEqual(arcfaceTemplate(64));
    // face_attribute.py's 128 version: 43.77, 59.08 / 84.04, 58.86 / 64.03, 81.98 / 47.48, 105.56 / 80.83, 105.38.
    expect(arcfaceTemplate(128)).toEqual([
      [43, 59],
      [84, 58],
      [64, 81],
      [47, 105],
      [80, 105],
    ]);
  });
});
