import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { CANMV_PRESET, MAIXPY_PRESET, presetClassCount, resolvePreset } from '../src/pipeline/index.js';

describe('presets', () => {
  it('carry the MaixPy demo values', () => {
    const p = resolvePreset('maixpy');
    expect(p.detector.anchors).toEqual([
      1.889, 2.5245, 2.9465, 3.94056, 3.99987, 5.3658, 5.155437, 6.92275, 6.718375, 9.01025,
    ]);
    expect([p.detector.threshold, p.detector.nmsValue, p.detector.inputWidth, p.detector.inputHeight]).toEqual([
      0.5, 0.3, 320, 240,
    ]);
    expect(presetClassCount(p.detector, 30)).toBe(1);
    expect(p.detector.facesPerFrame).toBe('first');
    expect(p.landmarks).toMatchObject({
      inputWidth: 128,
      inputHeight: 128,
      leftEyeXOffset: -10,
      drawRectangleBeforeCut: true,
    });
    expect(p.alignment.template).toEqual([
      [44, 59],
      [84, 59],
      [64, 82],
      [47, 105],
      [81, 105],
    ]);
    expect([p.alignment.width, p.alignment.height]).toEqual([128, 128]);
    expect(p.features).toMatchObject({ postprocess: 'face-encode', scoring: 'face-compare', threshold: 85 });
  });

  it('carry the CanMV demo values', () => {
    const p = resolvePreset('canmv');
    expect(p.detector.anchors).toHaveLength(18);
    expect(p.detector.anchors.slice(0, 2)).toEqual([0.1075, 0.126875]);
    expect(p.detector.anchors.slice(16)).toEqual([2.129062, 2.425937]);
    expect([p.detector.threshold, p.detector.nmsValue, p.detector.classes]).toEqual([0.5, 0.2, 1]);
    expect(presetClassCount(p.detector, 54)).toBe(1);
    expect(p.landmarks).toMatchObject({ crop: 'extend-box', cropScale: 0, decode: 'ld5-sigmoid', leftEyeXOffset: 0 });
    expect([p.alignment.width, p.alignment.height]).toEqual([64, 64]);
    expect(p.features).toMatchObject({
      length: 192,
      postprocess: 'l2-normalize',
      scoring: 'feature-compare',
      threshold: 80.5,
    });
  });

  it('apply overrides field by field without touching the built-in preset', () => {
    const p = resolvePreset('canmv', { detector: { threshold: 0.7, maxObjects: 10 }, features: { threshold: 75 } });
    expect([p.detector.threshold, p.detector.maxObjects, p.detector.nmsValue, p.features.threshold]).toEqual([
      0.7, 10, 0.2, 75,
    ]);
    expect(CANMV_PRESET.detector.threshold).toBe(0.5);
    expect(resolvePreset('maixpy', { detector: { classes: 'per-anchor' } }).detector.classes).toBe('per-anchor');
    expect(resolvePreset(MAIXPY_PRESET, { landmarks: { leftEyeXOffset: 0 } }).landmarks.leftEyeXOffset).toBe(0);
    expect(resolvePreset('maixpy', { detector: { maxObjects: null } }).detector.maxObjects).toBeNull();
  });

  it('refuse bad overrides with a UsageError naming the field', () => {
    const msg = (over: unknown, base = 'maixpy'): string => {
      try {
        resolvePreset(base, over);
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(msg({}, 'nope')).toBe('unknown preset "nope" (known: maixpy, canmv)');
    expect(msg({ detector: { treshold: 0.5 } })).toBe('preset override: unknown field "detector.treshold"');
    expect(msg({ detector: { threshold: '0.5' } })).toBe('preset override: "detector.threshold" must be a number');
    expect(msg({ detector: { threshold: 1.5 } })).toBe('preset: "detector.threshold" must lie in [0, 1], got 1.5');
    expect(msg({ detector: { anchors: [1, 2, 3] } })).toMatch(
      /"detector.anchors" must be a non-empty list of \(w, h\) pairs/,
    );
    expect(msg({ detector: { anchors: [1, -2] } })).toMatch(/"detector.anchors\[1\]" must be a positive number/);
    expect(msg({ detector: { classes: 'five' } })).toMatch(/"detector.classes" must be one of maixpy, per-anchor/);
    expect(msg({ alignment: { template: [[1, 2]] } })).toBe('preset: "alignment.template" must hold 5 points');
    expect(msg({ alignment: { width: 0 } })).toMatch(/"alignment.width" must be a positive integer/);
    expect(msg({ features: { scoring: 'feature-compare' } })).toMatch(/does not fit features encoded by "face-encode"/);
    expect(msg([1])).toBe('preset override: the override must be an object');
    expect(msg({ detector: 3 })).toBe('preset override: detector must be an object');
  });
});
