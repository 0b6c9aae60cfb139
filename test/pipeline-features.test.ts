import { describe, expect, it } from 'vitest';
import { bestMatch, faceCompare, faceEncode, featureCompare, l2Normalize } from '../src/pipeline/index.js';

describe('face_encode (MaixPy)', () => {
  it("matches the doc's examples", () => {
    // 0.1·512 = 51.2 → 51; −0.3 clamps to −0.25 → −128; 0.25 → 128 → stored as −128 (the quirk);
    // 0.2499·512 = 127.95 → 127; −0.0019·512 = −0.97 → 0 (truncation toward zero).
    expect(Array.from(faceEncode([0.1, -0.3, 0.25, 0.2499, -0.0019]))).toEqual([51, -128, -128, 127, 0]);
  });

  it('maps NaN to −0.25 (fmax) and anything ≥ 0.25 to −128', () => {
    expect(Array.from(faceEncode([NaN, 7, Infinity, -Infinity]))).toEqual([-128, -128, -128, -128]);
  });

  it('refuses more than 512 values', () => {
    expect(faceEncode(new Array(512).fill(0))).toHaveLength(512);
    expect(() => faceEncode(new Array(513).fill(0))).toThrow(/exceeds 512/);
  });
});

describe('face_compare (MaixPy)', () => {
  it('scores 50·(1 + cos)', () => {
    expect(faceCompare(Int8Array.of(64, 0), Int8Array.of(0, 64))).toBe(50);
    expect(faceCompare(Int8Array.of(3, -4, 5), Int8Array.of(3, -4, 5))).toBe(100);
    expect(faceCompare(Int8Array.of(3, -4), Int8Array.of(-3, 4))).toBe(0);
  });

  it("gives the doc's example score", () => {
    // dot = 2040 + 12800 − 2560 + 16129 + 0 = 28409; na = 51498; nb = 28138;
    // cos = 28409/√(51498·28138) = 0.7463013…; 50·(1 + cos) = 87.31506.
    const s = faceCompare(Int8Array.of(51, -128, -128, 127, 0), Int8Array.of(40, -100, 20, 127, 3));
    expect(s).toBeCloseTo(87.31506, 4);
    expect(Math.fround(s)).toBe(s);
  });

  it('is NaN for an all-zero vector and refuses unequal lengths', () => {
    expect(faceCompare(Int8Array.of(0, 0), Int8Array.of(1, 2))).toBeNaN();
    expect(() => faceCompare(Int8Array.of(1), Int8Array.of(1, 2))).toThrow(RangeError);
  });

  it('reads plain numbers as signed bytes', () => {
    // 200 as a byte is −56: (−56)·(−56) vs itself → 100; against +56 → 0.
    expect(faceCompare([200], [-56])).toBe(100);
    expect(faceCompare([200], [56])).toBe(0);
  });
});

describe('CanMV l2normalize and feature_compare', () => {
  it('normalises in binary32', () => {
    // [3, 4]: S = 25, N = 5 → [0.6, 0.8] as binary32.
    expect(Array.from(l2Normalize([3, 4]))).toEqual([Math.fround(0.6), Math.fround(0.8)]);
    expect(Array.from(l2Normalize([0, 0])).every(Number.isNaN)).toBe(true);
  });

  it('scores (0.5 + 0.5·dot)·100', () => {
    expect(featureCompare([1, 0], [0, 1])).toBe(50);
    expect(featureCompare([1, 0], [-1, 0])).toBe(0);
    // dot = 0.6·0.8 + 0.8·0.6 = 0.96 → (0.5 + 0.48)·100 = 98.
    expect(featureCompare([0.6, 0.8], [0.8, 0.6])).toBeCloseTo(98, 4);
    expect(() => featureCompare([1], [1, 0])).toThrow(/feature len error/);
  });

  it('rounds each accumulation step unless told to fuse', () => {
    // a = (1, 1 + 2^−23), b = (1, 1 + 2^−12). Second product p = 1 + 2049·2^−23 + 2^−35.
    // Unfused: f32(p) = 1 + 2049·2^−23; 1 + f32(p) = 2 + 2049·2^−23 is a tie at ulp 2^−22 → even:
    //   dot = 2 + 2048·2^−23 = 2 + 2^−12. Fused: the 2^−35 breaks the tie upward: dot = 2 + 2050·2^−23.
    // Scores: (0.5 + 0.5·dot)·100 → 150 + 800·2^−16 (exact) and 150 + 100·1025·2^−23 = 150 + 800.78·2^−16 → 150 +
    // 801·2^−16.
    const a = [1, 1 + 2 ** -23],
      b = [1, 1 + 2 ** -12];
    expect(featureCompare(a, b)).toBe(150 + 800 * 2 ** -16);
    expect(featureCompare(a, b, { fusedMultiplyAdd: true })).toBe(150 + 801 * 2 ** -16);
  });
});

describe('matching (the demos’ max/index/threshold)', () => {
  const entries = [
    { name: 'ada', feature: 80 },
    { name: 'bob', feature: 90 },
    { name: 'cy', feature: 90 },
  ];
  const score = (stored: number, probe: number): number => stored - probe;

  it('takes the first maximum and accepts strictly above the threshold', () => {
    expect(bestMatch(entries, 0, score, 85)).toEqual({ name: 'bob', score: 90, index: 1 });
    expect(bestMatch(entries, 0, score, 90)).toEqual({ name: null, score: 90, index: 1 });
    expect(bestMatch(entries, 5, score, 80.5)).toEqual({ name: 'bob', score: 85, index: 1 });
  });

  it('gives no name and no score when nobody is enrolled', () => {
    expect(bestMatch([], 0, score, 85)).toEqual({ name: null, score: null, index: null });
  });

  it('compares with the threshold as binary32, like a MicroPython float', () => {
    // 80.3 is stored as 80.30000305…; a score of exactly 80.3 (double) is not above it.
    const one = [{ name: 'x', feature: 80.3 }];
    expect(bestMatch(one, 0, score, 80.3).name).toBeNull();
    expect(bestMatch([{ name: 'x', feature: 80.300004 }], 0, score, 80.3).name).toBe('x');
  });
});
