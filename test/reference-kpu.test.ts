/**
 * The float reference of a KPU conv layer (TensorFlow.js geometry, float BN and activation).
 * Hand-computed cases first (expected values worked out from kpu-numerics §6 by hand, written
 * next to each case, never taken from either engine), then a fast-check property: for random
 * small layers the emulator's engine and the float reference agree within 1 LSB.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { type ActivationSegment, type BatchNormEntry } from '../src/kmodel-parser/kpu-layer-argument.js';
import type { KpuConvParams } from '../src/kmodel-parser/model.js';
import { GOLDEN_NUMERICS, prepareKpuConv, runKpuConv } from '../src/kpu/conv/index.js';
import { kpuDownload, kpuUpload } from '../src/kpu/layout.js';
import { AI_SRAM_BYTES } from '../src/chip.js';
import { initReferenceBackend } from '../src/reference/backend.js';
import { prepareKpuConvFloat } from '../src/reference/kpu-conv.js';
import { requantizeU8 } from '../src/reference/metrics.js';
import { SENTINEL, seg, synthKpuLayer, type SynthLayerSpec } from './fixtures/kpu-layer.js';
import { Lcg } from './lcg.js';

type Spec = Omit<SynthLayerSpec, 'dst' | 'encodeTables'>;

/** Registers and tables passed through the encoders, as a file would carry them. */
const params = (s: Spec): KpuConvParams => synthKpuLayer({ ...s, dst: 2048, encodeTables: true });

/** The float reference's output for a dense N=1 input. */
function reference(s: Spec, input: readonly number[]): number[] {
  const f = prepareKpuConvFloat(params(s), 1);
  try {
    return Array.from(f.run(Float32Array.from(input)));
  } finally {
    f.dispose();
  }
}

const RAM = new Uint8Array(AI_SRAM_BYTES);
/** The emulator's engine on the same layer. */
function emulator(s: Spec, input: Uint8Array): Uint8Array {
  const c = prepareKpuConv(params(s), 1, { layer: 0, type: 'K210_CONV' });
  RAM.fill(0);
  kpuUpload(input, [1, s.IC, s.H, s.W], RAM, c.input.address);
  runKpuConv(c, RAM, GOLDEN_NUMERICS);
  const out = new Uint8Array(c.denseOutputBytes);
  kpuDownload(RAM, c.output.address, c.output.shape, out);
  return out;
}

const UNIT_BN: BatchNormEntry = { norm_mul: 1, norm_shift: 0, norm_add: 0 };
/** out = bn for bn > 0 (segment 1 from 0 with slope 1), 0 below. */
const IDENTITY = [SENTINEL, seg(0, 1, 0, 0)];
const u8 = (a: readonly number[]) => Uint8Array.from(a);

beforeAll(async () => {
  await initReferenceBackend('wasm');
});

describe('float KPU layer, hand-computed geometry', () => {
  // X = 1 2 3 / 4 5 6 / 7 8 9, one channel, 3×3 kernel all 1 with centre 2, no offsets.
  const X = [1, 2, 3, 4, 5, 6, 7, 8, 9];
  const W = u8([1, 1, 1, 1, 2, 1, 1, 1, 1]);
  const conv3 = (extra: Partial<Spec> = {}) =>
    reference({ IC: 1, OC: 1, W: 3, H: 3, kernel: 3, weights: W, bn: [UNIT_BN], act: IDENTITY, ...extra }, X);

  it('3×3 with zero padding: the window is centred and clipped by the border', () => {
    // (0,0): 2·1 + 2 + 4 + 5 = 13; (0,1): 1 + 2·2 + 3 + 4 + 5 + 6 = 23; (1,1): 45 + 5 = 50;
    // (2,2): 5 + 6 + 8 + 2·9 = 37
    const y = conv3();
    expect(y[0]).toBe(13);
    expect(y[1]).toBe(23);
    expect(y[4]).toBe(50);
    expect(y[8]).toBe(37);
  });

  it('BN and activation are evaluated without rounding', () => {
    // bn = acc·1·2^−1 + 3 → (0,0): 13/2 + 3 = 9.5; segment 1 slope 3·2^−2: out = 0.75·bn
    const y = conv3({ bn: [{ norm_mul: 1, norm_shift: 1, norm_add: 3 }], act: [SENTINEL, seg(0, 3, 2, 0)] });
    expect(y[0]).toBeCloseTo(0.75 * 9.5, 6);
    expect(y[4]).toBeCloseTo(0.75 * 28, 6);
  });

  it('the border is pad_value + a: pad 1 adds the five border weights at the corner', () => {
    // corner (0,0) has 5 border taps, weights 1 each: 13 + 5·1 = 18; centre unchanged 50
    const y = conv3({ padValue: 1 });
    expect(y[0]).toBe(18);
    expect(y[4]).toBe(50);
    // with arg_w = −1 (a = −1) the input is centred (x − 1) and the border is 1 − 1 = 0:
    // (0,0): 2·0 + 1 + 3 + 4 = 8, plus arg_add·G = 10 → 18
    expect(conv3({ padValue: 1, argW: -1, argAdd: 10 })[0]).toBe(18);
  });

  it('weight offset b = arg_x·2^−shr_x and the arg_add residual', () => {
    // arg_x = −2^15, shr_x 15 → b = −1: weights become 0 0 0 / 0 1 0 / 0 0 0: out = x
    expect(conv3({ argX: -(2 ** 15), shrX: 15 })).toEqual(X);
  });

  it('1×1 conv over channels: out[o] = Σ_c w[o][c]·x[c], output channel order kept', () => {
    // x0 = 1, 2; x1 = 10, 20 (two pixels); w = [[1, 2], [3, 0], [0, 1]]
    const y = reference(
      {
        IC: 2,
        OC: 3,
        W: 2,
        H: 1,
        kernel: 1,
        weights: u8([1, 2, 3, 0, 0, 1]),
        bn: [UNIT_BN, UNIT_BN, UNIT_BN],
        act: IDENTITY,
      },
      [1, 2, 10, 20],
    );
    expect(y).toEqual([21, 42, 3, 6, 10, 20]);
  });

  it('depthwise 3×3: each channel convolves only its own plane with its own kernel', () => {
    // channel 0: X with the centre-2 kernel; channel 1: 10·X with a kernel picking the left neighbour
    const w = u8([1, 1, 1, 1, 2, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
    const y = reference(
      { IC: 2, OC: 2, W: 3, H: 3, kernel: 3, depthwise: true, weights: w, bn: [UNIT_BN, UNIT_BN], act: IDENTITY },
      [...X, ...X.map((v) => 10 * v)],
    );
    expect(y.slice(0, 9)).toEqual([13, 23, 19, 31, 50, 39, 31, 47, 37]);
    // left neighbour (x − 1), 0 at the left border
    expect(y.slice(9)).toEqual([0, 10, 20, 0, 40, 50, 0, 70, 80]);
  });

  describe('pooling on a 4×5 map (1×1 identity conv, so the map is the input)', () => {
    const M = [
      [10, 20, 30, 40, 50],
      [1, 2, 3, 4, 5],
      [100, 0, 7, 9, 11],
      [8, 6, 250, 3, 1],
    ];
    const pooled = (poolType: number) =>
      reference(
        { IC: 1, OC: 1, W: 5, H: 4, kernel: 1, poolType, weights: u8([1]), bn: [UNIT_BN], act: IDENTITY },
        M.flat(),
      );
    it('bypass', () => expect(pooled(0)).toEqual(M.flat()));
    it('max 2 s2 (last column dropped)', () => expect(pooled(1)).toEqual([20, 40, 100, 250]));
    it('mean 2 s2 is the real mean (the KPU floors it)', () =>
      expect(pooled(2)).toEqual([33 / 4, 77 / 4, 114 / 4, 269 / 4]));
    it('max 4 s4', () => expect(pooled(3)).toEqual([250]));
    it('mean 4 s4', () => expect(pooled(4)[0]).toBeCloseTo(493 / 16, 5));
    it('left_top 2 s2 picks even rows and columns', () => expect(pooled(5)).toEqual([10, 30, 100, 7]));
    it('right_top 2 s2 picks even rows, odd columns', () => expect(pooled(6)).toEqual([20, 40, 0, 9]));
    it('left_top 4 s4', () => expect(pooled(7)).toEqual([10]));
    it('mean 2 s1 replicates the bottom row and right column', () => {
      const want = [33, 55, 77, 99, 110, 103, 12, 23, 29, 32, 114, 263, 269, 24, 24, 28, 512, 506, 8, 4].map(
        (v) => v / 4,
      );
      expect(pooled(8)).toEqual(want);
    });
    it('max 2 s1 ignores taps past the edge', () => {
      expect(pooled(9)).toEqual([20, 30, 40, 50, 50, 100, 7, 9, 11, 11, 100, 250, 250, 11, 11, 8, 250, 250, 3, 1]);
    });
  });

  it('activation: the highest segment whose start is below bn, no rounding, saturation kept', () => {
    // bn = x. Segment 1 from −100 slope 2^−3 bias 0; segment 2 from 40 slope 2 bias 5.
    const act = [SENTINEL, seg(-100, 1, 3, 0), seg(40, 2, 0, 5)];
    const y = reference(
      { IC: 1, OC: 1, W: 5, H: 1, kernel: 1, weights: u8([1]), bn: [UNIT_BN], act },
      [0, 12, 40, 41, 200],
    );
    // 0 → (0+100)/8 = 12.5; 12 → 14; 40 → not > 40, segment 1: 17.5; 41 → (1)·2 + 5 = 7; 200 → 325 → 255
    expect(y).toEqual([12.5, 14, 17.5, 7, 255]);
  });
});

// ---- property: emulator and reference within 1 LSB ----------------------------------------

/**
 * Random layers in two regimes.
 * exact: nncase 0.2 style offsets (shifts 0) and a batch-norm multiplier that is an integer
 *   multiple of 2^shift, so the KPU's floors lose nothing and only the activation rounding
 *   differs: every pool type.
 * floors: v3-style shifted offsets and arbitrary batch-norm shifts; the floors move bn by less
 *   than 2m + 1 (m = norm_mul·2^−shift), so the activation slopes are drawn with
 *   (2m + 1)·slope ≤ 1/4, as the compilers' tables are (slopes ~2^−10 per bn unit). Mean pools
 *   are left out here: floor(Σ/4) of values already ≤ 1 LSB apart can reach 2.
 * Tables are continuous up to the integer bias (the value of the previous segment at each start,
 * rounded), have non-negative slopes (nncase 0.2's rounding of negative t is off by up to 2,
 * kpu-numerics §6.4, and no compiler emits them) and start with the sentinel.
 */
const layerArb = fc
  .record({
    regime: fc.constantFrom('exact', 'floors'),
    IC: fc.integer({ min: 1, max: 5 }),
    OC: fc.integer({ min: 1, max: 5 }),
    W: fc.integer({ min: 4, max: 20 }),
    H: fc.integer({ min: 4, max: 12 }),
    kernel: fc.constantFrom<1 | 3>(1, 3),
    depthwise: fc.boolean(),
    pool: fc.integer({ min: 0, max: 9 }),
    zx: fc.integer({ min: 0, max: 255 }),
    zw: fc.integer({ min: 0, max: 255 }),
    shrX: fc.integer({ min: 0, max: 15 }),
    shrW: fc.integer({ min: 0, max: 15 }),
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    segments: fc.integer({ min: 1, max: 15 }),
  })
  .map((r) => {
    const lcg = new Lcg(r.seed);
    const rnd = () => lcg.unit();
    const int = (lo: number, hi: number) => lcg.int(lo, hi);
    const IC = r.depthwise ? r.OC : r.IC;
    const OC = r.OC;
    const K = r.kernel;
    const G = r.depthwise ? 1 : IC;
    const pool = r.regime === 'floors' && [2, 4, 8].includes(r.pool) ? 1 : r.pool;
    const weights = Uint8Array.from({ length: OC * G * K * K }, () => int(0, 255));
    let argX: number, shrX: number, argW: number, shrW: number, argAdd: number;
    if (r.regime === 'exact') {
      [argX, shrX, argW, shrW] = [-r.zw, 0, -r.zx, 0];
      argAdd = K * K * r.zw * r.zx;
    } else {
      shrX = r.shrX;
      shrW = r.shrW;
      argX = Math.round(-(r.zw + rnd()) * 2 ** shrX);
      argW = Math.round(-(r.zx + rnd()) * 2 ** shrW);
      argAdd = Math.round(argX * 2 ** -shrX * (argW * 2 ** -shrW) * K * K);
    }
    // |acc| ≤ 255·255·G·K² roughly; scale it into a few thousand bn units.
    const accMax = 255 * 128 * G * K * K;
    const bn: BatchNormEntry[] = [];
    let m = 0;
    for (let o = 0; o < OC; o++) {
      const shift = int(0, 15);
      const mul = r.regime === 'exact' ? int(1, 3) * 2 ** shift : int(1, 2 ** 20);
      m = Math.max(m, mul * 2 ** -shift);
      bn.push({ norm_mul: mul, norm_shift: shift, norm_add: int(-2000, 2000) });
    }
    const bnMax = accMax * m + 2000;
    const maxSlope = r.regime === 'exact' ? 4 : 0.25 / (2 * m + 1);
    // Segment starts spread over the bn range, slopes ≤ maxSlope (y_mul < 2^15, shift ≤ 40).
    const starts = Array.from({ length: r.segments }, () => Math.round((rnd() * 2 - 1) * bnMax)).sort((a, b) => a - b);
    const act: ActivationSegment[] = [SENTINEL];
    let prev: { xs: number; slope: number; bias: number } = { xs: -(2 ** 35), slope: 0, bias: 0 };
    for (const xs of starts) {
      const target = rnd() * Math.min(maxSlope, 300 / Math.max(1, bnMax));
      let shift = 0;
      while (shift < 40 && target * 2 ** (shift + 1) < 32767) shift++;
      const y_mul = Math.floor(target * 2 ** shift);
      const valueAtStart = (xs - prev.xs) * prev.slope + prev.bias;
      const bias = Math.max(0, Math.min(255, Math.round(act.length === 1 ? rnd() * 10 : valueAtStart)));
      act.push(seg(xs, y_mul, shift, bias));
      prev = { xs, slope: y_mul * 2 ** -shift, bias };
    }
    const spec: Spec = {
      IC,
      OC,
      W: r.W,
      H: r.H,
      kernel: K,
      depthwise: r.depthwise,
      poolType: pool,
      padValue: r.zx,
      argX,
      shrX,
      argW,
      shrW,
      argAdd,
      weights,
      bn,
      act,
    };
    const input = Uint8Array.from({ length: IC * r.H * r.W }, () => int(0, 255));
    return { spec, input, regime: r.regime };
  });

describe('float KPU layer against the emulator engine (fast-check)', () => {
  it('random small layers agree within 1 LSB', () => {
    fc.assert(
      fc.property(layerArb, ({ spec, input }) => {
        const emu = emulator(spec, input);
        const ref = reference(spec, Array.from(input)).map(requantizeU8);
        expect(ref.length).toBe(emu.length);
        let worst = 0;
        for (let i = 0; i < emu.length; i++) worst = Math.max(worst, Math.abs(ref[i] - emu[i]));
        expect(worst).toBeLessThanOrEqual(1);
      }),
      { numRuns: 150 },
    );
  });
});
