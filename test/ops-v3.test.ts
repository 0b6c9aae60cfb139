// v3 CPU layers (Kendryte SDK kpu.c semantics, kpu-numerics §7.1 and §10). Expected values are
// derived by hand in the comments, not from the code under test.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addV3,
  averagePool2dV3,
  channelwiseDequantizeV3,
  concatV3,
  dequantizeV3,
  FcActivationV3,
  fullyConnectedV3,
  globalAveragePool2dV3,
  k210AddPaddingV3,
  k210RemovePaddingV3,
  l2NormalizationV3,
  logisticV3,
  quantizedAddV3,
  quantizedAddV3Span,
  quantizedMaxPool2dV3,
  quantizeV3,
  requantizeV3,
  resizeNearestNeighborV3,
  softmaxV3,
  tensorflowFlattenV3,
  type Pool2dV3Geometry,
  type QuantizedAddV3Params,
} from '../src/kpu/ops/index.js';
import { Lcg } from './lcg.js';

const f32 = Math.fround;
const F = (xs: number[]): Float32Array => Float32Array.from(xs);
const U = (xs: number[]): Uint8Array => Uint8Array.from(xs);
const arr = (x: ArrayLike<number>): number[] => Array.from(x);
/** fround(1/3) = 11184811 / 2^25 (2^25 / 3 = 11184810.67 rounds up). */
const THIRD = 11184811 / 2 ** 25;

describe('ADD (1)', () => {
  it('adds in float32', () => {
    const out = new Float32Array(2);
    addV3(F([1.5, 2 ** 24]), F([2.25, 1]), out);
    // 2^24 + 1 is not a float32; the tie goes to the even 2^24
    expect(arr(out)).toEqual([3.75, 2 ** 24]);
  });
});

describe('QUANTIZED_ADD (2)', () => {
  const base: QuantizedAddV3Params = {
    inAOffset: 1,
    inAMul: 3,
    inAShift: 1,
    inBOffset: -2,
    inBMul: 1,
    inBShift: 1,
    outOffset: 5,
    outMul: 3,
    outShift: 2,
  };
  const run = (a: number, b: number, p: QuantizedAddV3Params): number => {
    const out = new Uint8Array(8);
    quantizedAddV3(U([a, 0, 0, 0, 0, 0, 0, 0]), U([b, 0, 0, 0, 0, 0, 0, 0]), out, 1, p);
    return out[0]!;
  };
  it('equal shifts: (a′ + b′) >> s, then SDK carry shift', () => {
    // a′ = (10+1)·3 = 33, b′ = (20−2)·1 = 18, (33+18) >> 1 = 25; 25·3 = 75;
    // kpu_carry_shift(75, 2): 75 >> 1 = 37 (odd) → 18 + 1 = 19; + 5 = 24
    expect(run(10, 20, base)).toBe(24);
  });
  it('different shifts: (a′ >> sa) + (b′ >> sb)', () => {
    // 33 >> 1 = 16, 18 >> 2 = 4, v = 20; 20·3 = 60; 60 >> 1 = 30 (even) → 15; + 5 = 20
    expect(run(10, 20, { ...base, inBShift: 2 })).toBe(20);
  });
  it('floors negative values and clamps', () => {
    // a′ = (0−5)·1 = −5, −5 >> 1 = −3 (floor); b′ = 0; v = −3; ·1, shift 0; + 10 = 7
    const p = { ...base, inAOffset: -5, inAMul: 1, inBOffset: 0, inBShift: 2, outMul: 1, outShift: 0, outOffset: 10 };
    expect(run(0, 0, p)).toBe(7);
    expect(run(0, 0, { ...p, outOffset: 300 })).toBe(255);
    expect(run(0, 0, { ...p, outOffset: 0 })).toBe(0);
  });
  it('processes ALIGN_UP(count, 8) elements like the SDK', () => {
    expect(quantizedAddV3Span(1)).toBe(8);
    expect(quantizedAddV3Span(8)).toBe(8);
    expect(quantizedAddV3Span(9)).toBe(16);
    const out = new Uint8Array(8);
    const p = {
      ...base,
      inAOffset: 0,
      inAMul: 1,
      inBOffset: 0,
      inBMul: 1,
      outMul: 1,
      outShift: 0,
      outOffset: 0,
      inBShift: 0,
      inAShift: 0,
    };
    quantizedAddV3(U([1, 2, 3, 4, 5, 6, 7, 8]), U([10, 10, 10, 10, 10, 10, 10, 10]), out, 3, p);
    expect(arr(out)).toEqual([11, 12, 13, 14, 15, 16, 17, 18]); // elements 3..7 are written too
    expect(() => quantizedAddV3(U([1, 2, 3]), U([1, 2, 3]), new Uint8Array(3), 3, p)).toThrow(RangeError);
  });
});

describe('GLOBAL_AVERAGE_POOL2D (5)', () => {
  it('sums in order and divides', () => {
    const out = new Float32Array(2);
    globalAveragePool2dV3(F([1, 2, 2, 3, 3, 3]), out, 3, 2);
    // 5 / 3: 5/3·2^23 = 13981013.33 → 13981013 / 2^23 (the multiply by fround(1/3) would give 13981014)
    expect(out[0]).toBe(13981013 / 2 ** 23);
    expect(out[1]).toBe(3);
  });
});

const pool3x3: Pool2dV3Geometry = {
  inWidth: 3,
  inHeight: 3,
  outWidth: 2,
  outHeight: 2,
  channels: 1,
  kernelWidth: 2,
  kernelHeight: 2,
  strideWidth: 2,
  strideHeight: 2,
  paddingWidth: 1,
  paddingHeight: 1,
};
// Input 1..9 (row-major 3×3). Windows (origin −1 or 1): (0,0) → {1}; (0,1) → {2,3}; (1,0) → {4,7};
// (1,1) → {5,6,8,9}. Padding never enters.

describe('pooling (8, 9)', () => {
  it('QUANTIZED_MAX_POOL2D takes the max of the in-range taps', () => {
    const out = new Uint8Array(4);
    quantizedMaxPool2dV3(U([1, 2, 3, 4, 5, 6, 7, 8, 9]), out, pool3x3);
    expect(arr(out)).toEqual([1, 3, 7, 9]);
  });
  it('AVERAGE_POOL2D divides by the count of in-range taps', () => {
    const out = new Float32Array(4);
    averagePool2dV3(F([1, 2, 3, 4, 5, 6, 7, 8, 9]), out, pool3x3);
    expect(arr(out)).toEqual([1, 2.5, 5.5, 7]);
  });
});

describe('QUANTIZE (11)', () => {
  it('uses roundf (ties away from zero), not rint, and clamps', () => {
    const out = new Uint8Array(8);
    quantizeV3(F([0.5, 1.5, 2.5, -0.5, 254.5, 255.5, 300, -3]), out, 1, 0, 'golden');
    // rint would give 0, 2, 2 for the first three
    expect(arr(out)).toEqual([1, 2, 3, 0, 255, 255, 255, 0]);
  });
  it('computes (x − bias)·(1/scale)', () => {
    const out = new Uint8Array(1);
    quantizeV3(F([2.25]), out, 0.5, 1, 'golden'); // (2.25 − 1)·2 = 2.5 → 3
    expect(out[0]).toBe(3);
  });
  it('NaN and overflow: x86 gives INT32_MIN (→ 0), the board saturates', () => {
    const g = new Uint8Array(3);
    const b = new Uint8Array(3);
    quantizeV3(F([NaN, Infinity, 1e10]), g, 1, 0, 'golden');
    quantizeV3(F([NaN, Infinity, 1e10]), b, 1, 0, 'board');
    expect(arr(g)).toEqual([0, 0, 0]);
    expect(arr(b)).toEqual([255, 255, 255]);
  });
});

describe('DEQUANTIZE (12) and CHANNELWISE_DEQUANTIZE (24)', () => {
  it('golden rounds q·scale before adding the bias; board fuses (FMA)', () => {
    // q = 3, scale = fround(1/3) = 11184811/2^25, bias = −1.
    // 3·scale = 33554433/2^25 = 1 + 2^-25 exactly; as a float that is 1, so golden = 1 − 1 = 0.
    // A fused multiply-add keeps 1 + 2^-25 and gives 2^-25.
    const g = new Float32Array(2);
    const b = new Float32Array(2);
    dequantizeV3(U([3, 10]), g, THIRD, -1, 'golden');
    dequantizeV3(U([3, 10]), b, THIRD, -1, 'board');
    expect(g[0]).toBe(0);
    expect(b[0]).toBe(2 ** -25);
    // q = 10: golden rounds 10·scale = 111848110/2^25 first (ulp 2^-22 at 3.33: 111848110/8 =
    // 13981013.75 → 13981014·2^-22), minus 1 = 9786710·2^-22 exactly.
    expect(g[1]).toBe(13981014 / 2 ** 22 - 1);
    // board: exact 111848110/2^25 − 1 = 78293678/2^25; /8 = 9786709.75 → 9786710·2^-22 (same here)
    expect(b[1]).toBe(9786710 / 2 ** 22);
  });
  it('CHANNELWISE_DEQUANTIZE applies (scale, bias) per channel, same two readings', () => {
    const g = new Float32Array(4);
    const b = new Float32Array(4);
    const params = F([0.5, 1, THIRD, -1]);
    channelwiseDequantizeV3(U([2, 4, 3, 0]), g, 2, 2, params, 'golden');
    channelwiseDequantizeV3(U([2, 4, 3, 0]), b, 2, 2, params, 'board');
    expect(arr(g)).toEqual([2, 3, 0, -1]);
    expect(arr(b)).toEqual([2, 3, 2 ** -25, -1]);
  });
});

describe('REQUANTIZE (13)', () => {
  it('looks up the table', () => {
    const table = Uint8Array.from({ length: 256 }, (_, i) => 255 - i);
    const out = new Uint8Array(3);
    requantizeV3(U([0, 10, 255]), out, table);
    expect(arr(out)).toEqual([255, 245, 0]);
  });
});

describe('L2_NORMALIZATION (14)', () => {
  it('multiplies by 1/sqrtf(Σx²)', () => {
    const out = new Float32Array(2);
    l2NormalizationV3(F([3, 4]), out, 2, 'golden');
    // Σ = 25, r = fround(1/5) = 13421773/2^26. 3r = 40265319/2^26 → ulp 2^-24: 10066329.75 → 10066330/2^24;
    // 4r = 13421773/2^24 exactly.
    expect(arr(out)).toEqual([10066330 / 2 ** 24, 13421773 / 2 ** 24]);
  });
  it('floors the sum at 1e-10f', () => {
    const out = new Float32Array(2);
    l2NormalizationV3(F([1e-6, 0]), out, 2, 'golden');
    // Σ = 1e-12 < 1e-10 → Σ = fround(1e-10); r = fround(1/fround(sqrt(Σ)))
    const r = f32(1 / f32(Math.sqrt(f32(1e-10))));
    expect(out[0]).toBe(f32(f32(1e-6) * r));
    expect(out[0]).toBeCloseTo(0.1, 6); // 1e-6 · 1e5
    expect(out[1]).toBe(0);
  });
});

describe('SOFTMAX (15)', () => {
  it('starts the max at FLT_MIN: very negative inputs underflow to 0/0', () => {
    const out = new Float32Array(2);
    softmaxV3(F([-200, -201]), out, 2);
    // m = FLT_MIN (not −200); expf(−200) and expf(−201) underflow to 0 in float; 0/0 = NaN.
    // With a −∞ start this would be [0.731, 0.269].
    expect(out[0]).toBeNaN();
    expect(out[1]).toBeNaN();
  });
  it('all-negative ordinary inputs', () => {
    const out = new Float32Array(2);
    softmaxV3(F([-1, -2]), out, 2);
    // −1 − FLT_MIN rounds to −1, so e = [expf(−1), expf(−2)], normalised in float
    const e0 = f32(Math.exp(-1));
    const e1 = f32(Math.exp(-2));
    const s = f32(e0 + e1);
    expect(arr(out)).toEqual([f32(e0 / s), f32(e1 / s)]);
  });
  it('positive inputs subtract the max', () => {
    const out = new Float32Array(3);
    softmaxV3(F([1, 2, 3]), out, 3);
    const e = [f32(Math.exp(-2)), f32(Math.exp(-1)), 1];
    const s = f32(f32(e[0]! + e[1]!) + e[2]!);
    expect(arr(out)).toEqual(e.map((v) => f32(v / s)));
  });
});

describe('CONCAT (16/17)', () => {
  it('copies the ranges back to back', () => {
    const out = new Uint8Array(5);
    concatV3([U([1, 2]), U([3]), U([4, 5])], out);
    expect(arr(out)).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('FULLY_CONNECTED (18)', () => {
  it('accumulates sequentially from index 0 in float32', () => {
    const out = new Float32Array(2);
    // row 0: 2^24 + 1 → 2^24 (tie to even), + 1 → 2^24 again;
    // row 1: 1 + 1 = 2, + 2^24 = 2^24 + 2 (exact). A double or reversed sum would differ.
    fullyConnectedV3(
      F([1, 1, 1]),
      out,
      F([2 ** 24, 1, 1, 1, 1, 2 ** 24]),
      F([0, 0]),
      3,
      2,
      FcActivationV3.Linear,
      'golden',
    );
    expect(arr(out)).toEqual([2 ** 24, 2 ** 24 + 2]);
  });
  it('adds the bias after the sum, then the activation', () => {
    const out = new Float32Array(3);
    // rows: 2·1 + 3·2 = 8, −8, 1.5; bias [0, 0, 0.5]
    const w = F([2, 3, -2, -3, 0.5, 0.5]);
    fullyConnectedV3(F([1, 2]), out, w, F([0, 0, 0.5]), 2, 3, FcActivationV3.Relu6, 'golden');
    expect(arr(out)).toEqual([6, 0, 2]);
    fullyConnectedV3(F([1, 2]), out, w, F([0, 0, 0.5]), 2, 3, FcActivationV3.Relu, 'golden');
    expect(arr(out)).toEqual([8, 0, 2]);
  });
  it('board fuses sum += in·w', () => {
    // in = [1, 1 + 2^-12], w = [−(1 + 2^-11), 1 + 2^-12]. Golden: (1+2^-12)² = 1 + 2^-11 + 2^-24 rounds
    // to 1 + 2^-11 and the sum is 0. Fused: −(1 + 2^-11) + (1 + 2^-11 + 2^-24) = 2^-24.
    const a = 1 + 2 ** -12;
    const g = new Float32Array(1);
    const b = new Float32Array(1);
    fullyConnectedV3(F([1, a]), g, F([-(1 + 2 ** -11), a]), F([0]), 2, 1, FcActivationV3.Linear, 'golden');
    fullyConnectedV3(F([1, a]), b, F([-(1 + 2 ** -11), a]), F([0]), 2, 1, FcActivationV3.Linear, 'board');
    expect(g[0]).toBe(0);
    expect(b[0]).toBe(2 ** -24);
  });
});

describe('TENSORFLOW_FLATTEN (20/21)', () => {
  it('reorders CHW to HWC', () => {
    // w = 2, h = 1, c = 3: CHW [c0: 1 2 | c1: 3 4 | c2: 5 6] → HWC (x0: 1 3 5) (x1: 2 4 6)
    const out = new Float32Array(6);
    tensorflowFlattenV3(F([1, 2, 3, 4, 5, 6]), out, 2, 1, 3);
    expect(arr(out)).toEqual([1, 3, 5, 2, 4, 6]);
    const q = new Uint8Array(6);
    tensorflowFlattenV3(U([1, 2, 3, 4, 5, 6]), q, 2, 1, 3);
    expect(arr(q)).toEqual([1, 3, 5, 2, 4, 6]);
  });
});

describe('RESIZE_NEAREST_NEIGHBOR (22/23)', () => {
  it('downscales with floor(ox·in/out)', () => {
    const out = new Float32Array(2);
    resizeNearestNeighborV3(F([10, 20, 30]), out, 3, 1, 1, 2, 1); // scale 1.5: x = 0, 1
    expect(arr(out)).toEqual([10, 20]);
  });
  it('upscales with the float scale', () => {
    // scale = fround(2/5) = 0.4000000059604645: ox·scale = 0, 0.4, 0.8, 1.2, 1.6 (floats) → 0 0 0 1 1
    const out = new Uint8Array(10);
    resizeNearestNeighborV3(U([7, 9, 1, 2]), out, 2, 1, 2, 5, 1);
    expect(arr(out)).toEqual([7, 7, 7, 9, 9, 1, 1, 1, 2, 2]);
  });
  it('equals the per-element statement on any sizes, same width (row copies) or not (fast-check)', () => {
    // kpu-numerics §7.1 element by element: dst[c][oy][ox] = src[c][min(⌊oy·hs⌋, h−1)][min(⌊ox·ws⌋, w−1)]
    const plain = (src: Uint8Array, w: number, h: number, c: number, ow: number, oh: number): Uint8Array => {
      const hs = Math.fround(h / oh);
      const ws = Math.fround(w / ow);
      const out = new Uint8Array(c * oh * ow);
      for (let ch = 0; ch < c; ch++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++) {
            const iy = Math.min(Math.floor(Math.fround(oy * hs)), h - 1);
            const ix = Math.min(Math.floor(Math.fround(ox * ws)), w - 1);
            out[(ch * oh + oy) * ow + ox] = src[(ch * h + iy) * w + ix];
          }
      return out;
    };
    fc.assert(
      fc.property(
        fc.record({
          w: fc.integer({ min: 1, max: 40 }),
          h: fc.integer({ min: 1, max: 40 }),
          c: fc.integer({ min: 1, max: 4 }),
          ow: fc.integer({ min: 1, max: 80 }),
          oh: fc.integer({ min: 1, max: 80 }),
          sameWidth: fc.boolean(),
          seed: fc.integer({ min: 1, max: 2 ** 30 }),
        }),
        (r) => {
          const ow = r.sameWidth ? r.w : r.ow;
          const src = new Lcg(r.seed).bytes(r.w * r.h * r.c);
          const out = new Uint8Array(r.c * r.oh * ow);
          resizeNearestNeighborV3(src, out, r.w, r.h, r.c, ow, r.oh);
          expect(Buffer.compare(out, plain(src, r.w, r.h, r.c, ow, r.oh))).toBe(0);
        },
      ),
      { seed: 7101, numRuns: 300 },
    );
  });
});

describe('LOGISTIC (25)', () => {
  it('computes 1/(1 + expf(−x))', () => {
    const out = new Float32Array(3);
    logisticV3(F([0, 100, -100]), out, 3);
    // 0 → 1/2; expf(−100) ≈ 3.7e-44 vanishes next to 1 → 1; expf(100) overflows to ∞ → 1/∞ = 0
    expect(arr(out)).toEqual([0.5, 1, 0]);
  });
});

describe('K210_ADD_PADDING (10241) / K210_REMOVE_PADDING (10242)', () => {
  it('writes pixel (0,0) of each 4×4 channel in the w ≤ 16 layout', () => {
    const kpu = new Uint8Array(512).fill(0xee);
    k210AddPaddingV3(U([1, 2, 3, 4, 5, 6]), kpu, 6);
    // c → (c div 4)·4 lines·64 + (c mod 4)·16: 0, 16, 32, 48, 256, 272
    const want = new Uint8Array(512).fill(0xee);
    [0, 16, 32, 48, 256, 272].forEach((off, c) => (want[off] = c + 1));
    expect(arr(kpu)).toEqual(arr(want));
  });
  it('takes every 16th byte', () => {
    const src = new Uint8Array(48);
    src[0] = 9;
    src[16] = 8;
    src[32] = 7;
    const out = new Uint8Array(3);
    k210RemovePaddingV3(src, out, 3);
    expect(arr(out)).toEqual([9, 8, 7]);
  });
});
