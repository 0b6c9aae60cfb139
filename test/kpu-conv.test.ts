/**
 * The KPU conv engine. Expected values are worked out by hand from the formulas of reference
 * kpu-numerics §6.2–6.6 (written next to each case), never by calling the code under test; then a fast-check
 * property holds the fast engine equal to the reference engine at extreme parameter values.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodeKpuLayerArgument,
  encodeKpuLayerArgument,
  type ActivationSegment,
  type BatchNormEntry,
} from '../src/kmodel-parser/kpu-layer-argument.js';
import type { KpuConvParams } from '../src/kmodel-parser/model.js';
import { parseKmodel } from '../src/kmodel-parser/parse.js';
import { KmodelError, KpuFault } from '../src/errors.js';
import { AI_SRAM_BYTES } from '../src/chip.js';
import { Machine } from '../src/kpu/memory.js';
import { kpuDownload, kpuRows, kpuUpload } from '../src/kpu/layout.js';
import {
  GOLDEN_NUMERICS,
  NNCASE01_NUMERICS,
  prepareKpuConv,
  runKpuConv,
  runKpuConvJs,
  runKpuConvReference,
  runKpuConvWasm,
  type KpuNumerics,
  type PreparedKpuConv,
} from '../src/kpu/conv/index.js';
import { lastWasmRunFallbacks, wasmPlan } from '../src/kpu/conv/wasm.js';
import { CHAN, CHAN_BYTES } from '../src/kpu/wasm/abi.js';
import { HAS_SHARED, KMODELS_DIR } from './shared.js';
import { POOL_STRIDE, synthKpuLayer, type SynthLayerSpec } from './fixtures/kpu-layer.js';
import { Lcg } from './lcg.js';

// ---- building synthetic layers ---------------------------------------------------------------

const STRIDE = POOL_STRIDE;
type LayerSpec = SynthLayerSpec;
const makeParams = synthKpuLayer;

const NEVER = 2 ** 35 - 1; // the largest signed 36-bit start_x: no bn of these tests exceeds it
const seg = (x_start: number, y_mul: number, shift_number: number, bias: number): ActivationSegment => ({
  x_start,
  y_mul,
  shift_number,
  bias,
});

/** Segment 0 = `first` (default: the compilers' sentinel, output 0), segment 1 = `main`, the rest never chosen. */
function actTable(
  main: ActivationSegment,
  first: ActivationSegment = seg(-(2 ** 35), 0, 0, 0),
  more: ActivationSegment[] = [],
): ActivationSegment[] {
  const t = [first, main, ...more];
  while (t.length < 16) t.push(seg(NEVER, 0, 0, 0));
  return t;
}
/** out = bn for 0 ≤ bn ≤ 255: bn ≤ 0 takes the sentinel (0), bn > 0 gives (bn − 0)·1 >> 0 + 0. */
const IDENTITY_ACT = actTable(seg(0, 1, 0, 0));
const UNIT_BN: BatchNormEntry = { norm_mul: 1, norm_add: 0, norm_shift: 0 };

type Engine = 'reference' | 'js' | 'wasm';
const ENGINES: Engine[] = ['reference', 'js', 'wasm'];
const RUN = { reference: runKpuConvReference, js: runKpuConvJs, wasm: runKpuConvWasm } as const;

/** The wasm engine's activation mode per output channel (0 scalar int64, 1 SIMD, 2 SIMD with a window check). */
function wasmModes(c: PreparedKpuConv): DataView {
  const chan = wasmPlan(c).chan;
  return new DataView(chan.buffer, chan.byteOffset, chan.byteLength);
}
/** Runs `f` with every channel of the wasm engine on its scalar int64 path (internal state, test only). */
function withScalarWasm(c: PreparedKpuConv, f: () => void): void {
  const dv = wasmModes(c);
  const saved = Array.from({ length: c.geometry.outChannels }, (_, o) => dv.getInt32(o * CHAN_BYTES + CHAN.mode, true));
  saved.forEach((_, o) => dv.setInt32(o * CHAN_BYTES + CHAN.mode, 0, true));
  try {
    f();
  } finally {
    saved.forEach((m, o) => dv.setInt32(o * CHAN_BYTES + CHAN.mode, m, true));
  }
}

/** Uploads `input` (dense N×C×H×W) at the layer's source, runs, returns the dense output and the machine. */
function run(
  engine: Engine,
  spec: LayerSpec,
  input: Uint8Array,
  opts: { batches?: number; numerics?: KpuNumerics } = {},
): { out: Uint8Array; c: PreparedKpuConv; m: Machine; main: Uint8Array } {
  const batches = opts.batches ?? 1;
  const c = prepareKpuConv(makeParams(spec), batches, { layer: 7, type: 'K210_CONV' });
  const m = new Machine();
  kpuUpload(input, [batches, spec.IC, spec.H, spec.W], m.aiSram, c.input.address);
  const main = new Uint8Array(c.denseOutputBytes);
  RUN[engine](c, m.aiSram, opts.numerics ?? GOLDEN_NUMERICS, main);
  const out = new Uint8Array(c.denseOutputBytes);
  kpuDownload(m.aiSram, c.output.address, c.output.shape, out);
  return { out, c, m, main };
}

const u8 = (a: readonly number[]): Uint8Array => Uint8Array.from(a);

// ---- hand-computed cases ---------------------------------------------------------------------

describe.each(ENGINES)('KPU conv, hand-computed cases (%s engine)', (engine) => {
  // Identity layer: 1 channel, 1×1, w = 1, no offsets: acc = x, bn = x, out = x (IDENTITY_ACT).
  // The map, H = 4, W = 5:
  const X = [
    [10, 20, 30, 40, 50],
    [1, 2, 3, 4, 5],
    [100, 0, 7, 9, 11],
    [8, 6, 250, 3, 1],
  ];
  const pooled = (poolType: number): number[] =>
    Array.from(
      run(
        engine,
        { IC: 1, OC: 1, W: 5, H: 4, kernel: 1, poolType, weights: u8([1]), bn: [UNIT_BN], act: IDENTITY_ACT },
        u8(X.flat()),
      ).out,
    );

  it('pool 0 bypass', () => expect(pooled(0)).toEqual(X.flat()));
  it('pool 1 max 2×2 s2: max of each window, odd column dropped', () => {
    // max(10,20,1,2) max(30,40,3,4) / max(100,0,8,6) max(7,9,250,3)
    expect(pooled(1)).toEqual([20, 40, 100, 250]);
  });
  it('pool 2 mean 2×2 s2: floor(sum/4)', () => {
    // 33/4 → 8, 77/4 → 19, 114/4 → 28, 269/4 → 67
    expect(pooled(2)).toEqual([8, 19, 28, 67]);
  });
  it('pool 3 max 4×4 s4', () => expect(pooled(3)).toEqual([250]));
  it('pool 4 mean 4×4 s4: floor(493/16)', () => {
    // 100 + 10 + 116 + 267 = 493; 493/16 = 30.8 → 30
    expect(pooled(4)).toEqual([30]);
  });
  it('pool 5 left-top 2 s2: A[2oy][2ox]', () => expect(pooled(5)).toEqual([10, 30, 100, 7]));
  it('pool 6 right-top 2 s2: A[2oy][2ox+1]', () => expect(pooled(6)).toEqual([20, 40, 0, 9]));
  it('pool 7 left-top 4 s4: A[4oy][4ox]', () => expect(pooled(7)).toEqual([10]));
  it('pool 8 mean 2×2 s1: edge replicated, floor(sum/4)', () => {
    expect(pooled(8)).toEqual([
      // row 0: 33, 55, 77, 99, 50+50+5+5=110 → /4
      8, 13, 19, 24, 27,
      // row 1: 103, 12, 23, 29, 5+5+11+11=32
      25, 3, 5, 7, 8,
      // row 2: 114, 263, 269, 24, 11+11+1+1=24
      28, 65, 67, 6, 6,
      // row 3 (row 4 := row 3): 8+6+8+6=28, 512, 506, 8, 4
      7, 128, 126, 2, 1,
    ]);
  });
  it('pool 9 max 2×2 s1: out-of-range elements ignored', () => {
    expect(pooled(9)).toEqual([20, 30, 40, 50, 50, 100, 7, 9, 11, 11, 100, 250, 250, 11, 11, 8, 250, 250, 3, 1]);
  });

  // Activation rounding: bn = x (identity conv and BN), segment 1 = {start 0, y_mul, shift 2, bias}.
  const actOut = (ym: number, shift: number, bias: number, xs: number[], numerics: KpuNumerics): number[] =>
    Array.from(
      run(
        engine,
        {
          IC: 1,
          OC: 1,
          W: xs.length,
          H: 1,
          kernel: 1,
          weights: u8([1]),
          bn: [UNIT_BN],
          act: actTable(seg(0, ym, shift, bias)),
        },
        u8(xs),
        { numerics },
      ).out,
    );

  it('activation rounding nncase02 ("banker"), t ≥ 0, shift 2', () => {
    // t = x; q = floor(t/4), f = t − 4q, h = 2:
    // t=2: q0 f=h q even → 0; t=6: q1 f=h odd → 2; t=10: q2 f=h even → 2; t=5: f<h → 1; t=7: f>h → 2; t=14: q3 f=h odd
    // → 4
    expect(actOut(1, 2, 0, [2, 6, 10, 5, 7, 14], GOLDEN_NUMERICS)).toEqual([0, 2, 2, 1, 2, 4]);
  });
  it('activation rounding nncase01 (round half up), t ≥ 0, shift 2', () => {
    // v = t >> 1; odd v → (v >> 1) + 1, even → v >> 1:
    // t=2: v1 → 1; t=6: v3 → 2; t=10: v5 → 3; t=5: v2 → 1; t=7: v3 → 2; t=14: v7 → 4
    expect(
      actOut(1, 2, 0, [2, 6, 10, 5, 7, 14], { activationRounding: 'nncase01', segmentBoundary: 'strict' }),
    ).toEqual([1, 2, 3, 1, 2, 4]);
  });
  it('activation rounding with negative y_mul (t < 0), both variants', () => {
    // y_mul = −1 → t = −x; bias 10.
    // nncase02: t=−2: q=−1 f=2=h, q odd → q−1 = −2 → 8;  t=−6: q=−2 f=2, even → −2 → 8;
    //           t=−5: q=−2 f=3>h → −3 → 7;  t=−7: q=−2 f=1 → −2 → 8;  t=−1: q=−1 f=3>h → −2 → 8;  t=−10: q=−3 f=2 odd →
    //           −4 → 6
    expect(actOut(-1, 2, 10, [2, 6, 5, 7, 1, 10], GOLDEN_NUMERICS)).toEqual([8, 8, 7, 8, 8, 6]);
    // nncase01: v = floor(t/2): t=−2: v=−1 odd → (−1>>1)−1 = −2 → 8;  t=−6: v=−3 → −2−1 = −3 → 7;  t=−5: v=−3 → −3 → 7;
    //           t=−7: v=−4 even → −2 → 8;  t=−1: v=−1 → −2 → 8;  t=−10: v=−5 → −3−1 = −4 → 6
    expect(
      actOut(-1, 2, 10, [2, 6, 5, 7, 1, 10], { activationRounding: 'nncase01', segmentBoundary: 'strict' }),
    ).toEqual([8, 7, 7, 8, 8, 6]);
  });
  it('activation shift 0 is no rounding at all, then + bias and clamp', () => {
    // y_mul 3, bias 4: 3x + 4 → 7, 25, 76, 255 (3·90+4 = 274 clamps), x=0 takes segment 0 → 0
    expect(actOut(3, 0, 4, [1, 7, 24, 90, 0], GOLDEN_NUMERICS)).toEqual([7, 25, 76, 255, 0]);
    // inclusive: bn=0 ≥ 0 → segment 1 → 0·3 + 4
    expect(actOut(3, 0, 4, [1, 7, 24, 90, 0], NNCASE01_NUMERICS)).toEqual([7, 25, 76, 255, 4]);
  });

  it('segment boundary: bn equal to start_x, strict vs inclusive', () => {
    // segment 0 {sentinel, bias 50}, 1 {start 0, y_mul 1}, 2 {start 10, y_mul 0, bias 200}
    const act = actTable(seg(0, 1, 0, 0), seg(-(2 ** 35), 0, 0, 50), [seg(10, 0, 0, 200)]);
    const xs = [10, 11, 0, 9];
    const spec = { IC: 1, OC: 1, W: 4, H: 1, kernel: 1 as const, weights: u8([1]), bn: [UNIT_BN], act };
    // strict: 10 → seg 1 → 10; 11 → seg 2 → 200; 0 → seg 0 → 50; 9 → seg 1 → 9
    expect(Array.from(run(engine, spec, u8(xs), { numerics: GOLDEN_NUMERICS }).out)).toEqual([10, 200, 50, 9]);
    // inclusive: 10 → seg 2 → 200; 11 → 200; 0 → seg 1 → 0; 9 → 9
    expect(
      Array.from(
        run(engine, spec, u8(xs), { numerics: { activationRounding: 'nncase02', segmentBoundary: 'inclusive' } }).out,
      ),
    ).toEqual([200, 200, 0, 9]);
  });
  it('no segment qualifies → segment 0, with a negative distance', () => {
    // segment 0 {start 5, y_mul 2, bias 100}; bn = 3: (3 − 5)·2 = −4 → 96; bn = 5 (strict: not > 5) → 0·2 + 100 = 100
    const act = actTable(seg(NEVER, 0, 0, 0), seg(5, 2, 0, 100));
    expect(
      Array.from(
        run(engine, { IC: 1, OC: 1, W: 2, H: 1, kernel: 1, weights: u8([1]), bn: [UNIT_BN], act }, u8([3, 5])).out,
      ),
    ).toEqual([96, 100]);
  });

  it('batch-norm shift floors negative products', () => {
    // acc = x − 100 (arg_add −100, G 1); bn = (acc·3 >> 2) + 80
    // x=1: −99·3 = −297 → floor(−74.25) = −75 → 5 (truncation would give 6)
    // x=3: −291 → −73 → 7 (truncation: 8);  x=200: 300 → 75 → 155;  x=100: 0 → 80
    const spec = {
      IC: 1,
      OC: 1,
      W: 4,
      H: 1,
      kernel: 1 as const,
      argAdd: -100,
      weights: u8([1]),
      bn: [{ norm_mul: 3, norm_shift: 2, norm_add: 80 }],
      act: IDENTITY_ACT,
    };
    expect(Array.from(run(engine, spec, u8([1, 3, 200, 100])).out)).toEqual([5, 7, 155, 80]);
  });

  it('arg_x / arg_w shifts floor negative products; arg_add once per group channel', () => {
    // w = 5, SX = x, SW = 5: acc = 5x + floor(−3x/4) + floor(−35/2) + 100 = 5x + floor(−3x/4) − 18 + 100
    // x=0: 82; x=1: 5 − 1 + 82 = 86; x=2: 10 − 2 + 82 = 90; x=5: 25 − 4 + 82 = 103; x=30: 150 − 23 + 82 = 209
    const spec = {
      IC: 1,
      OC: 1,
      W: 5,
      H: 1,
      kernel: 1 as const,
      argX: -3,
      shrX: 2,
      argW: -7,
      shrW: 1,
      argAdd: 100,
      weights: u8([5]),
      bn: [UNIT_BN],
      act: IDENTITY_ACT,
    };
    expect(Array.from(run(engine, spec, u8([0, 1, 2, 5, 30])).out)).toEqual([82, 86, 90, 103, 209]);
    // Two input channels (G = 2), weights 1 and 2, arg_add 7 → added twice:
    // acc = x0 + 2·x1 + 14;  (1,2) → 19;  (10,0) → 24;  (0,100) → 214
    const spec2 = {
      IC: 2,
      OC: 1,
      W: 3,
      H: 1,
      kernel: 1 as const,
      argAdd: 7,
      weights: u8([1, 2]),
      bn: [UNIT_BN],
      act: IDENTITY_ACT,
    };
    expect(Array.from(run(engine, spec2, u8([1, 10, 0, 2, 0, 100])).out)).toEqual([19, 24, 214]);
  });

  const X3 = [1, 2, 3, 4, 5, 6, 7, 8, 9];
  it('3×3 pads one pixel of pad_value on every side (S and SX)', () => {
    // all weights 1, pad_value 10: each output = in-range window sum + 10 · (padding taps)
    // (0,0) 12+50  (0,1) 21+30  (0,2) 16+50 / (1,0) 27+30  (1,1) 45  (1,2) 33+30 / (2,0) 24+50  (2,1) 39+30  (2,2)
    // 28+50
    const spec = {
      IC: 1,
      OC: 1,
      W: 3,
      H: 3,
      kernel: 3 as const,
      padValue: 10,
      weights: new Uint8Array(9).fill(1),
      bn: [UNIT_BN],
      act: IDENTITY_ACT,
    };
    expect(Array.from(run(engine, spec, u8(X3)).out)).toEqual([62, 51, 66, 57, 45, 63, 74, 69, 78]);
    // arg_x = −1 cancels S exactly (S = SX here) and arg_w = 2·SW = 18: every output 18
    const spec2 = { ...spec, argX: -1, argW: 2 };
    expect(Array.from(run(engine, spec2, u8(X3)).out)).toEqual(new Array(9).fill(18));
  });

  it('depthwise: each output channel sees only its own input channel; arg_add is added once', () => {
    // channel 0: all weights 1 (window sums, pad 0); channel 1: centre weight 2 → 2x; arg_add 5
    const w = new Uint8Array(18);
    w.fill(1, 0, 9);
    w[9 + 4] = 2;
    const spec = {
      IC: 2,
      OC: 2,
      W: 3,
      H: 3,
      kernel: 3 as const,
      depthwise: true,
      argAdd: 5,
      weights: w,
      bn: [UNIT_BN, UNIT_BN],
      act: IDENTITY_ACT,
    };
    const x1 = [10, 20, 30, 40, 50, 60, 70, 80, 90];
    expect(Array.from(run(engine, spec, u8([...X3, ...x1])).out)).toEqual([
      17,
      26,
      21,
      32,
      50,
      38,
      29,
      44,
      33, // 12 21 16 27 45 33 24 39 28, + 5
      25,
      45,
      65,
      85,
      105,
      125,
      145,
      165,
      185, // 2x + 5
    ]);
    // depthwise 1×1: weights 3 and 1 → 3x and x
    const spec1 = {
      IC: 2,
      OC: 2,
      W: 2,
      H: 1,
      kernel: 1 as const,
      depthwise: true,
      weights: u8([3, 1]),
      bn: [UNIT_BN, UNIT_BN],
      act: IDENTITY_ACT,
    };
    expect(Array.from(run(engine, spec1, u8([1, 50, 7, 9])).out)).toEqual([3, 150, 7, 9]);
  });

  it('16-bit weights (little-endian u16)', () => {
    // w = 300 = 0x012C: x=200 → 60000, bn = 60000 >> 8 = floor(234.375) = 234
    const a = {
      IC: 1,
      OC: 1,
      W: 1,
      H: 1,
      kernel: 1 as const,
      weightBits: 16 as const,
      weights: u8([0x2c, 0x01]),
      bn: [{ norm_mul: 1, norm_shift: 8, norm_add: 0 }],
      act: IDENTITY_ACT,
    };
    expect(Array.from(run(engine, a, u8([200])).out)).toEqual([234]);
    // w = 65535, arg_w = −1 (SW = 65535), bn = acc >> 15 (norm_shift is 4 bits):
    // x=255: 255·65535 − 65535 = 16 645 890 → floor(/32768) = 507 → clamps to 255;  x=1: 65535 − 65535 = 0 → 0
    const b = { ...a, W: 2, argW: -1, weights: u8([0xff, 0xff]), bn: [{ norm_mul: 1, norm_shift: 15, norm_add: 0 }] };
    expect(Array.from(run(engine, b, u8([255, 1])).out)).toEqual([255, 0]);
    const c = { ...b, bn: [{ norm_mul: 1, norm_shift: 15, norm_add: -300 }] }; // 507 − 300 = 207;  0 − 300 → 0
    expect(Array.from(run(engine, c, u8([255, 1])).out)).toEqual([207, 0]);
  });

  it('64-bit products wrap like the x86 simulator (pathological layers)', () => {
    // 8 channels, weights 0, arg_add 2^38: acc = 2^38·8 = 2^41; norm_mul −2^23: acc·mul = −2^64 ≡ 0 (mod 2^64);
    // bn = 0 + 100 = 100 → 100 (unbounded arithmetic would give a hugely negative bn → 0)
    const a = {
      IC: 8,
      OC: 1,
      W: 2,
      H: 1,
      kernel: 1 as const,
      argAdd: 2 ** 38,
      weights: new Uint8Array(8),
      bn: [{ norm_mul: -(2 ** 23), norm_shift: 0, norm_add: 100 }],
      act: IDENTITY_ACT,
    };
    expect(Array.from(run(engine, a, new Uint8Array(16).fill(9)).out)).toEqual([100, 100]);
    // 512 channels, arg_add −2^39: acc = bn = −2^48; segment 0 {start 0, y_mul −2^15, shift 60, bias 100} is the
    // default: t = (−2^48)·(−2^15) = 2^63 ≡ −2^63; −2^63 >> 60 = −8 exactly → 92 (unbounded: +8 → 108)
    const b = {
      IC: 512,
      OC: 1,
      W: 1,
      H: 1,
      kernel: 1 as const,
      argAdd: -(2 ** 39),
      weights: new Uint8Array(512),
      bn: [UNIT_BN],
      act: actTable(seg(NEVER, 0, 0, 0), seg(0, -32768, 60, 100)),
    };
    for (const numerics of [GOLDEN_NUMERICS, NNCASE01_NUMERICS])
      expect(Array.from(run(engine, b, new Uint8Array(512), { numerics }).out)).toEqual([92]);
  });

  it('largest sums: 3×3 with all inputs, padding and weights 255 (at the packing bound of the fast engine)', () => {
    // S = 255·255·9·G per pixel (pad_value 255 too); arg_add −585 224 per channel brings acc back to G:
    // G = 114: 66 715 650 − 66 715 536 = 114;  G = 115: 67 300 875 − 67 300 760 = 115
    // (the fast engine packs two channels per double while a sum stays below 2^26: 114 channels of 3×3)
    for (const G of [114, 115]) {
      const spec = {
        IC: G,
        OC: 3,
        W: 2,
        H: 2,
        kernel: 3 as const,
        padValue: 255,
        argAdd: -585_224,
        weights: new Uint8Array(3 * G * 9).fill(255),
        bn: [UNIT_BN, UNIT_BN, UNIT_BN],
        act: IDENTITY_ACT,
      };
      expect(Array.from(run(engine, spec, new Uint8Array(G * 4).fill(255)).out)).toEqual(new Array(12).fill(G));
    }
  });

  it('batches: item b is read at src + b·rows and written at dst + b·rows; dense copy is N×C×H×W', () => {
    // identity with two channels (w = [[1,0],[0,1]] as 1×1), 2 batch items of 2×2×1... W=3,H=1
    const spec = {
      IC: 2,
      OC: 2,
      W: 3,
      H: 1,
      kernel: 1 as const,
      weights: u8([1, 0, 0, 1]),
      bn: [UNIT_BN, UNIT_BN],
      act: IDENTITY_ACT,
    };
    const input = u8([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const { out, main, c, m } = run(engine, spec, input, { batches: 2 });
    expect(Array.from(out)).toEqual(Array.from(input));
    expect(Array.from(main)).toEqual(Array.from(input));
    // W = 3 → 4 channels per line, rows = 1 line per item: item 1 channel 1 = bytes 64+16.. of the output
    expect(c.output.rowsPerBatch).toBe(1);
    expect(Array.from(m.aiSram.subarray(c.output.address + 64 + 16, c.output.address + 64 + 19))).toEqual([10, 11, 12]);
  });

  it('writes only the layout bytes of the output (padding lanes untouched)', () => {
    const spec = {
      IC: 1,
      OC: 2,
      W: 3,
      H: 2,
      kernel: 1 as const,
      weights: u8([1, 2]),
      bn: [UNIT_BN, UNIT_BN],
      act: IDENTITY_ACT,
    };
    const c = prepareKpuConv(makeParams(spec), 1, { layer: 0, type: 'K210_CONV' });
    const ram = new Uint8Array(AI_SRAM_BYTES).fill(0xee);
    kpuUpload(u8([1, 2, 3, 4, 5, 6]), [1, 1, 2, 3], ram, c.input.address);
    RUN[engine](c, ram);
    const o = c.output.address;
    // line 0: channel 0 at bytes 0..2, channel 1 at 16..18; line 1: row 1
    expect(Array.from(ram.subarray(o, o + 20))).toEqual([1, 2, 3, 0xee, ...new Array(12).fill(0xee), 2, 4, 6, 0xee]);
    expect(Array.from(ram.subarray(o + 64, o + 67))).toEqual([4, 5, 6]);
    expect(ram[o + 67]).toBe(0xee);
    expect(ram[o + 128]).toBe(0xee);
  });
});

// ---- prepare-time validation -----------------------------------------------------------------

describe('prepareKpuConv validation', () => {
  const base: LayerSpec = {
    IC: 4,
    OC: 4,
    W: 8,
    H: 8,
    kernel: 3,
    weights: new Uint8Array(4 * 4 * 9),
    bn: new Array(4).fill(UNIT_BN),
    act: IDENTITY_ACT,
  };
  const fault = (spec: LayerSpec, batches = 1): KpuFault => {
    try {
      prepareKpuConv(makeParams(spec), batches, { layer: 3, type: 'kpu_conv2d' });
    } catch (e) {
      expect(e).toBeInstanceOf(KpuFault);
      return e as KpuFault;
    }
    throw new Error('expected a KpuFault');
  };

  it('accepts a consistent layer and reports its regions', () => {
    const c = prepareKpuConv(makeParams({ ...base, src: 10, dst: 100 }), 2, { layer: 0, type: 'K210_CONV' });
    expect(c.input).toEqual({ address: 640, bytes: 2 * 8 * 64, rowsPerBatch: 8, shape: [2, 4, 8, 8] });
    expect(c.output.address).toBe(6400);
    expect(c.macs).toBe(2 * 4 * 64 * 4 * 9);
    expect(c.warnings).toEqual([]);
  });
  it('output map past the end of AI SRAM: OUT_OF_RANGE naming layer, address and size', () => {
    const f = fault({ ...base, dst: 32767 });
    expect(f.code).toBe('OUT_OF_RANGE');
    expect(f.phase).toBe('prepare');
    expect(f.context).toMatchObject({ layer: 3, address: 32767 * 64, size: 512 });
    expect(f.message).toMatch(/^layer 3 \(kpu_conv2d\): output map/);
  });
  it('input map (with batches) past the end', () => {
    const f = fault({ ...base, src: 32767 - 8 }, 2);
    expect(f.code).toBe('OUT_OF_RANGE');
    expect(f.context).toMatchObject({ address: (32767 - 8) * 64, size: 1024 });
  });
  it('output size inconsistent with the pool type', () => {
    expect(fault({ ...base, poolType: 1, fields: { o_row_wid: 7 } }).code).toBe('BAD_LAYER');
    expect(fault({ ...base, W: 3, H: 3, poolType: 3 }).code).toBe('BAD_LAYER'); // 3×3 map under a stride-4 pool
  });
  it('depthwise with IC ≠ OC, unknown kernel or pool types, short tables', () => {
    expect(fault({ ...base, depthwise: true, OC: 2, bn: [UNIT_BN, UNIT_BN] }).code).toBe('BAD_LAYER');
    expect(fault({ ...base, fields: { kernel_type: 2 } }).code).toBe('UNSUPPORTED');
    expect(fault({ ...base, fields: { pool_type: 10 } }).code).toBe('UNSUPPORTED');
    expect(fault({ ...base, weights: new Uint8Array(10) }).code).toBe('BAD_LAYER');
    expect(fault({ ...base, weightBits: 16 }).code).toBe('BAD_LAYER'); // 16-bit needs twice the bytes
    expect(fault({ ...base, bn: [UNIT_BN] }).code).toBe('BAD_LAYER');
    expect(fault({ ...base, act: IDENTITY_ACT.slice(0, 15) }).code).toBe('BAD_LAYER');
    expect(fault(base, 0).code).toBe('BAD_LAYER');
  });
  it('warns about unusual register fields instead of refusing them', () => {
    const c = prepareKpuConv(makeParams({ ...base, fields: { first_stride: 1, coef_group: 1 } }), 1, {
      layer: 0,
      type: 'K210_CONV',
    });
    expect(c.warnings.join('\n')).toMatch(/first_stride/);
    expect(c.warnings.join('\n')).toMatch(/coef_group = 1 but the input width implies 4/);
  });
  it('run checks the dense output buffer size once', () => {
    const c = prepareKpuConv(makeParams(base), 1, { layer: 0, type: 'K210_CONV' });
    expect(() => runKpuConv(c, new Uint8Array(AI_SRAM_BYTES), GOLDEN_NUMERICS, new Uint8Array(10))).toThrow(KpuFault);
  });
});

// ---- fast path == reference path -------------------------------------------------------------

const I24 = 2 ** 23;
const I40 = 2 ** 39;
/** Small values mostly, the extremes of the field often. */
const signed = (half: number, small: number): fc.Arbitrary<number> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: -small, max: small }) },
    { weight: 2, arbitrary: fc.constantFrom(-half, half - 1, -half + 1, half - 2) },
    { weight: 1, arbitrary: fc.integer({ min: -half, max: half - 1 }) },
  );

interface RandomLayer {
  spec: LayerSpec;
  batches: number;
  numerics: KpuNumerics;
  fill: number;
}

/**
 * Two regimes. 'extreme': field extremes everywhere (arg_add near ±2^39, norm_mul ±2^23, shifts 15,
 * 16-bit weights 65535, 1000+ channels), where int64 wrapping and the BigInt fallback matter but
 * most outputs saturate. 'calibrated': batch-norm chosen (from a rough estimate of the
 * accumulator's mean and spread over random bytes) so that bn ≈ ±1000, with segment starts in that
 * range, small y_mul and shifts — outputs land inside 0..255 and rounding ties are common.
 */
const layerArb: fc.Arbitrary<RandomLayer> = fc
  .record({
    regime: fc.constantFrom('calibrated', 'calibrated', 'calibrated', 'extreme'),
    shape: fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({
          IC: fc.integer({ min: 1, max: 6 }),
          OC: fc.integer({ min: 1, max: 5 }),
          W: fc.integer({ min: 1, max: 20 }),
          H: fc.integer({ min: 1, max: 6 }),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          IC: fc.integer({ min: 1, max: 9 }),
          OC: fc.integer({ min: 1, max: 9 }),
          W: fc.integer({ min: 1, max: 4 }),
          H: fc.integer({ min: 1, max: 4 }),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          IC: fc.integer({ min: 1, max: 2 }),
          OC: fc.integer({ min: 1, max: 2 }),
          W: fc.constantFrom(31, 33, 64, 65, 70),
          H: fc.integer({ min: 1, max: 3 }),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          IC: fc.integer({ min: 1000, max: 1024 }),
          OC: fc.integer({ min: 1, max: 3 }),
          W: fc.integer({ min: 1, max: 2 }),
          H: fc.integer({ min: 1, max: 2 }),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          IC: fc.integer({ min: 100, max: 300 }),
          OC: fc.integer({ min: 1, max: 5 }),
          W: fc.integer({ min: 1, max: 3 }),
          H: fc.integer({ min: 1, max: 3 }),
        }),
      },
    ),
    kernel: fc.constantFrom<1 | 3>(1, 3),
    depthwise: fc.boolean(),
    pool: fc.integer({ min: 0, max: 9 }),
    weightBits: fc.constantFrom<8 | 16>(8, 8, 16),
    weightMode: fc.constantFrom('random', 'random', 'max', 'sparse'),
    padValue: fc.integer({ min: 0, max: 255 }),
    argX: signed(I24, 300),
    argW: signed(I24, 300),
    shrX: fc.integer({ min: 0, max: 15 }),
    shrW: fc.integer({ min: 0, max: 15 }),
    argAdd: signed(I40, 200_000),
    bnMode: fc.constantFrom('extreme', 'random'),
    actMode: fc.constantFrom('sorted', 'unsorted'),
    batches: fc.integer({ min: 1, max: 2 }),
    numerics: fc.constantFrom<KpuNumerics>(
      GOLDEN_NUMERICS,
      NNCASE01_NUMERICS,
      { activationRounding: 'nncase02', segmentBoundary: 'inclusive' },
      { activationRounding: 'nncase01', segmentBoundary: 'strict' },
    ),
    src: fc.integer({ min: 0, max: 200 }),
    dst: fc.integer({ min: 0, max: 200 }),
    seed: fc.integer({ min: 1, max: 2 ** 30 }),
  })
  .map((r) => {
    const lcg = new Lcg(r.seed);
    const rnd = (n: number): number => lcg.below(n);
    const calibrated = r.regime === 'calibrated';
    const { IC } = r.shape;
    const OC = r.depthwise ? IC : r.shape.OC;
    const stride = STRIDE[r.pool];
    const pool = r.shape.W >= stride && r.shape.H >= stride ? r.pool : 0;
    const G = r.depthwise ? 1 : IC;
    const K2 = r.kernel * r.kernel;
    const bytes = r.weightBits / 8;
    const weights = new Uint8Array(OC * G * K2 * bytes);
    for (let i = 0; i < weights.length; i++)
      weights[i] = r.weightMode === 'max' ? 255 : r.weightMode === 'sparse' ? (rnd(8) === 0 ? 255 : 0) : rnd(256);
    const wv = (i: number): number => (bytes === 1 ? weights[i] : weights[2 * i] | (weights[2 * i + 1] << 8));
    const argX = calibrated ? rnd(601) - 300 : r.argX;
    const argW = calibrated ? rnd(601) - 300 : r.argW;
    const argAdd = calibrated ? rnd(400_001) - 200_000 : r.argAdd;
    const bn: BatchNormEntry[] = [];
    for (let o = 0; o < OC; o++) {
      if (calibrated) {
        // acc ≈ Σ x·(w + arg_x/2^shr_x) + arg_w·SW/2^shr_w + arg_add·G with x uniform on 0..255
        const ax = argX / 2 ** r.shrX;
        let sw = 0;
        let sq = 0;
        let lin = 0;
        for (let i = o * G * K2; i < (o + 1) * G * K2; i++) {
          sw += wv(i);
          lin += wv(i) + ax;
          sq += (wv(i) + ax) ** 2;
        }
        const mean = 127.5 * lin + (argW * sw) / 2 ** r.shrW + argAdd * G;
        const spread = 74 * Math.sqrt(sq) + 1;
        const shift = 8 + rnd(8);
        const mul =
          Math.max(-(I24 - 1), Math.min(I24 - 1, Math.round((1000 * 2 ** shift) / spread) * (rnd(5) === 0 ? -1 : 1))) ||
          1;
        const add = Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, -Math.round((mean * mul) / 2 ** shift)));
        bn.push({ norm_mul: mul, norm_shift: shift, norm_add: add });
      } else if (r.bnMode === 'extreme')
        bn.push({
          norm_mul: rnd(2) ? I24 - 1 : -I24,
          norm_shift: rnd(2) ? 15 : 0,
          norm_add: rnd(2) ? 2 ** 31 - 1 : -(2 ** 31),
        });
      else bn.push({ norm_mul: rnd(2 * I24) - I24, norm_shift: rnd(16), norm_add: rnd(2 ** 32) - 2 ** 31 });
    }
    const act: ActivationSegment[] = [];
    for (let k = 0; k < 16; k++) {
      const start = k === 0 && rnd(4) > 0 ? -(2 ** 35) : calibrated ? rnd(5001) - 2500 : rnd(2 ** 36) - 2 ** 35;
      act.push(
        calibrated
          ? { x_start: start, y_mul: rnd(9) - 4, shift_number: rnd(10) === 0 ? 54 + rnd(200) : rnd(7), bias: rnd(256) }
          : {
              x_start: start,
              y_mul: rnd(4) === 0 ? (rnd(2) ? 32767 : -32768) : rnd(2001) - 1000,
              shift_number: rnd(8) === 0 ? rnd(256) : rnd(21),
              bias: rnd(256),
            },
      );
    }
    if (r.actMode === 'sorted') {
      const starts = act.map((s) => s.x_start).sort((a, b) => a - b);
      if (rnd(3) === 0) starts[5] = starts[4]; // equal consecutive starts (kpu-numerics §10 C9)
      act.forEach((s, k) => ((s as { x_start: number }).x_start = starts[k]));
    }
    const spec: LayerSpec = {
      IC,
      OC,
      W: r.shape.W,
      H: r.shape.H,
      kernel: r.kernel,
      depthwise: r.depthwise,
      poolType: pool,
      padValue: r.padValue,
      argX,
      shrX: r.shrX,
      argW,
      shrW: r.shrW,
      argAdd,
      src: r.src,
      dst: r.dst,
      weights,
      weightBits: r.weightBits,
      bn,
      act,
    };
    return { spec, batches: r.batches, numerics: r.numerics, fill: r.seed };
  });

describe('fast engines == reference engine', () => {
  const stats = { runs: 0, elements: 0, inside: 0, modes: [0, 0, 0, 0], windowGroups: 0, fallbackGroups: 0 };
  it('on random layers with extreme parameters, js and wasm kernels (fast-check, fixed seed)', () => {
    fc.assert(
      fc.property(layerArb, ({ spec, batches, numerics, fill }) => {
        const c = prepareKpuConv(makeParams(spec), batches, { layer: 0, type: 'K210_CONV' });
        const ram0 = new Uint8Array(AI_SRAM_BYTES);
        const end = Math.max(c.input.address + c.input.bytes, c.output.address + c.output.bytes);
        ram0.set(new Lcg(fill).bytes(end));
        const ramRef = ram0.slice();
        const mainRef = new Uint8Array(c.denseOutputBytes);
        runKpuConvReference(c, ramRef, numerics, mainRef);
        const same = (what: string, run: (ram: Uint8Array, main: Uint8Array) => void): void => {
          const ram = ram0.slice();
          const main = new Uint8Array(c.denseOutputBytes);
          run(ram, main);
          expect(Buffer.compare(mainRef, main), what).toBe(0);
          expect(Buffer.compare(ramRef, ram), what).toBe(0);
        };
        same('js', (ram, main) => runKpuConvJs(c, ram, numerics, main));
        // The BigInt fallback of the js kernel must agree too: force it on every channel (internal state, test only).
        const exact = c.fast.exact.slice();
        c.fast.exact.fill(0);
        same('js, BigInt channels', (ram, main) => runKpuConvJs(c, ram, numerics, main));
        c.fast.exact.set(exact);
        same('wasm', (ram, main) => runKpuConvWasm(c, ram, numerics, main));
        const fallbacks = lastWasmRunFallbacks();
        same('wasm, twice (reused state)', (ram, main) => runKpuConvWasm(c, ram, numerics, main));
        // ... and the wasm kernel's scalar int64 path on every channel
        same('wasm, scalar channels', (ram, main) => withScalarWasm(c, () => runKpuConvWasm(c, ram, numerics, main)));
        same('default kernel', (ram, main) => runKpuConv(c, ram, numerics, main));
        const modes = wasmModes(c);
        const golden = numerics.segmentBoundary === 'strict' && numerics.activationRounding === 'nncase02';
        for (let o = 0; o < c.geometry.outChannels; o++) {
          const mode = modes.getInt32(o * CHAN_BYTES + CHAN.mode, true);
          stats.modes[mode]++;
          if (mode === 2 && golden)
            stats.windowGroups += batches * Math.ceil((c.geometry.inWidth * c.geometry.inHeight) / 4);
        }
        stats.fallbackGroups += fallbacks;
        stats.runs++;
        for (const v of mainRef) {
          stats.elements++;
          if (v !== 0 && v !== 255) stats.inside++;
        }
      }),
      { seed: 20240611, numRuns: 400 },
    );
    // The generator must produce mostly unsaturated outputs, or rounding bugs could hide.
    expect(stats.inside / stats.elements).toBeGreaterThan(0.3);
    // ... and channels on each of the wasm kernel's activation paths.
    expect(stats.modes[0], 'channels on the scalar int64 path').toBeGreaterThan(1000);
    expect(stats.modes[1], 'channels whose SIMD window is their whole range').toBeGreaterThan(10);
    expect(stats.modes[2], 'channels with a SIMD window check').toBeGreaterThan(1000);
    expect(stats.modes[3], 'exact channels without a window (actExact)').toBeGreaterThan(100);
    // windowed channels take both branches (random tables give narrow windows, so most 4-pixel
    // groups fall back here; test/kpu-wasm.test.ts covers wide windows on realistic tables)
    expect(stats.fallbackGroups, `${stats.fallbackGroups} of ${stats.windowGroups} groups`).toBeGreaterThan(100);
    expect(stats.fallbackGroups, `${stats.fallbackGroups} of ${stats.windowGroups} groups`).toBeLessThan(
      stats.windowGroups - 100,
    );
  });

  it('exercises both the proven-Number and the BigInt channel paths', () => {
    // A real-looking layer is proven exact; arg_add near 2^39 with norm_mul 2^23 cannot be.
    const mk = (argAdd: number, mul: number): PreparedKpuConv =>
      prepareKpuConv(
        makeParams({
          IC: 8,
          OC: 2,
          W: 4,
          H: 4,
          kernel: 3,
          argX: -128,
          argW: -120,
          argAdd,
          weights: new Uint8Array(144).fill(128),
          bn: [{ norm_mul: mul, norm_shift: 15, norm_add: 5 }, UNIT_BN],
          act: IDENTITY_ACT,
        }),
        1,
        {
          layer: 0,
          type: 'K210_CONV',
        },
      );
    expect(mk(8 * 9 * 128 * 120, 3_000_000).fast.exactChannels).toBe(2);
    const big = mk(I40 - 1, I24 - 1);
    expect(Array.from(big.fast.exact)).toEqual([0, 1]);
  });

  it('draws the Number/BigInt line exactly where the proof says (|acc·mul| < 2^52, |t| < 2^51)', () => {
    // weights 0, one channel: acc = arg_add exactly, so the bounds are tight.
    const flag = (argAdd: number, bn: BatchNormEntry, yMul: number): number =>
      prepareKpuConv(
        makeParams({
          IC: 1,
          OC: 1,
          W: 1,
          H: 1,
          kernel: 1,
          argAdd,
          weights: u8([0]),
          bn: [bn],
          act: actTable(seg(0, yMul, 0, 0)),
        }),
        1,
        { layer: 0, type: 'K210_CONV' },
      ).fast.exact[0];
    expect(flag(2 ** 29, { norm_mul: I24 - 1, norm_shift: 0, norm_add: 0 }, 0)).toBe(1); // 2^52 − 2^29
    expect(flag(2 ** 29, { norm_mul: -I24, norm_shift: 0, norm_add: 0 }, 0)).toBe(0); // −2^52
    expect(flag(2 ** 36, UNIT_BN, I24 / 256 - 1)).toBe(1); // t < 2^36·2^15 = 2^51
    expect(flag(2 ** 36 - 1, UNIT_BN, -(I24 / 256))).toBe(1); // |t| = 2^51 − 2^15
    expect(flag(2 ** 36, UNIT_BN, -(I24 / 256))).toBe(0); // |t| = 2^51
  });
});

it('kpuRows of the shapes used above', () => {
  expect(kpuRows(3, 1, 2)).toBe(1);
  expect(kpuRows(8, 8, 4)).toBe(8);
});

// ---- real parameters from the shared corpus ----------------------------------------------------

describe.skipIf(!HAS_SHARED)('real layers of the shared kmodels', () => {
  const layers: { name: string; index: number; kpu: KpuConvParams; batches: number }[] = [];
  // The describe body runs at collection even when skipped: list the corpus only when it exists.
  for (const f of HAS_SHARED ? readdirSync(KMODELS_DIR).filter((f) => f.endsWith('.kmodel')) : []) {
    let m: { layers?: readonly unknown[] };
    try {
      m = parseKmodel(readFileSync(resolve(KMODELS_DIR, f))) as unknown as { layers?: readonly unknown[] };
    } catch (e) {
      if (e instanceof KmodelError && e.code === 'UNSUPPORTED_VERSION') continue; // kmodel v1 is not supported
      throw e;
    }
    for (const l of (m.layers ?? []) as { index: number; kpu?: KpuConvParams; batches?: number }[]) {
      if (l.kpu) layers.push({ name: f, index: l.index, kpu: l.kpu, batches: l.batches ?? 1 });
    }
  }

  it('all prepare without warnings, and none needs the BigInt fallback (the fast path stays fast)', () => {
    expect(layers.length).toBeGreaterThan(800);
    for (const l of layers) {
      const c = prepareKpuConv(l.kpu, l.batches, { layer: l.index, type: l.name });
      expect(c.warnings).toEqual([]);
      expect(c.fast.exactChannels, `${l.name} layer ${l.index}`).toBe(c.geometry.outChannels);
    }
  });

  it('js and wasm == reference with their real weights, batch-norm and activation tables on a 4×4 map', () => {
    // Each layer keeps its kernel, pool, offsets, input channels and tables, but runs on a 4×4 input
    // and only its first two output channels (weights and batch-norm entries are prefixes), so the
    // BigInt reference stays quick. Both rule sets run: the tables decide segment choice and rounding.
    const lcg = new Lcg(1);
    for (const l of layers) {
      const a = l.kpu.arg;
      const dw = a.depth_wise_layer === 1;
      const oc = Math.min(a.o_ch_num + 1, 2);
      const ic = dw ? oc : a.i_ch_num + 1;
      const out = Math.floor(4 / STRIDE[a.pool_type]);
      const arg = {
        ...a,
        i_ch_num: ic - 1,
        o_ch_num: oc - 1,
        i_row_wid: 3,
        i_col_high: 3,
        o_row_wid: out - 1,
        o_col_high: out - 1,
        image_src_addr: 0,
        image_dst_addr: 2048,
      };
      const K2 = a.kernel_type === 1 ? 9 : 1;
      const words = encodeKpuLayerArgument(arg);
      const p: KpuConvParams = {
        ...l.kpu,
        words,
        arg: decodeKpuLayerArgument(words),
        weights: l.kpu.weights.subarray(0, oc * (dw ? 1 : ic) * K2 * (l.kpu.weightBits / 8)),
        batchNorm: l.kpu.batchNorm.slice(0, oc),
      };
      const c = prepareKpuConv(p, 1, { layer: l.index, type: l.name });
      const ram = new Uint8Array(AI_SRAM_BYTES);
      ram.set(lcg.bytes(c.input.bytes));
      for (const numerics of [GOLDEN_NUMERICS, NNCASE01_NUMERICS]) {
        const mainA = new Uint8Array(c.denseOutputBytes);
        const mainB = new Uint8Array(c.denseOutputBytes);
        runKpuConvReference(c, ram, numerics, mainA);
        for (const kernel of ['js', 'wasm'] as const) {
          RUN[kernel](c, ram, numerics, mainB);
          expect(
            Buffer.compare(mainA, mainB),
            `${l.name} layer ${l.index} ${numerics.activationRounding} ${kernel}`,
          ).toBe(0);
        }
      }
    }
  });
});
