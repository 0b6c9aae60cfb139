/**
 * The WebAssembly conv kernels: the assembler they are written with, the proof behind their SIMD
 * activation path (`simdWindow`) on realistic tables, directed layers across a window's edge,
 * and the golden corpus through the other kernel ('js'), so both stay byte-exact end to end
 * (test/golden-nncase.test.ts runs the default, 'wasm'). The random-layer property holding every
 * engine to the reference is in test/kpu-conv.test.ts.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, test } from 'vitest';
import fc from 'fast-check';
import { Module, get, i32, i64, set, u32, forUp } from '../src/kpu/wasm/asm.js';
import { kernelRuntime } from '../src/kpu/wasm/runtime.js';
import { type ActivationSegment, type BatchNormEntry } from '../src/kmodel-parser/kpu-layer-argument.js';
import type { KpuConvParams } from '../src/kmodel-parser/model.js';
import { AI_SRAM_BYTES } from '../src/chip.js';
import { kpuRowLayout, kpuUpload } from '../src/kpu/layout.js';
import {
  GOLDEN_NUMERICS,
  NNCASE01_NUMERICS,
  defaultKpuKernel,
  prepareKpuConv,
  referenceActivation,
  runKpuConvReference,
  runKpuConvWasm,
  simdWindow,
} from '../src/kpu/conv/index.js';
import { lastWasmRunFallbacks, outputMonotone, wasmPlan, windowFinder } from '../src/kpu/conv/wasm.js';
import { CHAN, CHAN_BYTES } from '../src/kpu/wasm/abi.js';
import { prepare } from '../src/kpu/interpreter.js';
import { loadKmodel } from '../src/load.js';
import { GOLDEN_DIR, HAS_SHARED, kmodelPath, SHARED_SKIP_REASON } from './shared.js';
import { synthKpuLayer } from './fixtures/kpu-layer.js';
import { Lcg } from './lcg.js';

type WasmInstance = { exports: Record<string, (...a: (number | bigint)[]) => number | bigint> };
const WA = (
  globalThis as unknown as {
    WebAssembly: { Module: new (b: Uint8Array) => object; Instance: new (m: object, i: object) => WasmInstance };
  }
).WebAssembly;

describe('assembler', () => {
  it('encodes unsigned LEB128', () => {
    expect(u32(0)).toEqual([0]);
    expect(u32(127)).toEqual([127]);
    expect(u32(128)).toEqual([0x80, 1]);
    expect(u32(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(u32(0xffffffff)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
  });

  it('assembles a module that V8 compiles and runs (loops, i64 wrap, signed constants)', () => {
    const m = new Module();
    m.func('sum', [['n', 'i32']], 'i32', (f) => {
      const i = f.local('i32', 'i');
      const s = f.local('i32', 's');
      return [
        set(s, i32.const(0)),
        forUp(i, i32.const(0), get(f.param('n')), 1, set(s, i32.add(get(s), get(i)))),
        get(s),
      ];
    });
    // (2^62 + 1)·4 wraps to 4; −1 and −2^63 as signed LEB
    m.func('wrap', [['x', 'i64']], 'i64', (f) => [
      i64.add(i64.mul(get(f.param('x')), i64.const(4)), i64.add(i64.const(-1), i64.const(-(1n << 63n)))),
    ]);
    const inst = new WA.Instance(new WA.Module(m.assemble(1)), {});
    expect(inst.exports.sum(10)).toBe(45);
    expect(inst.exports.sum(0)).toBe(0);
    expect(inst.exports.wrap((1n << 62n) + 1n)).toBe(BigInt.asIntN(64, 4n - 1n - (1n << 63n)));
  });

  it('type-checks operands when the tree is built', () => {
    expect(() => i32.add(i32.const(1), i64.const(1))).toThrow(/i32\.add operand 1 must be i32, got i64/);
    expect(() => i32.const(2 ** 32)).toThrow(/i32\.const/);
  });

  it('the kernel module compiles here, so the default kernel is wasm', () => {
    expect(kernelRuntime()).not.toBeNull();
    expect(defaultKpuKernel()).toBe('wasm');
  });
});

// ---- the SIMD window -------------------------------------------------------------------------------

const seg = (x_start: number, y_mul: number, shift_number: number, bias: number): ActivationSegment => ({
  x_start,
  y_mul,
  shift_number,
  bias,
});
/** MaixPy's face detector: segments 0–9 output 0, segment 10 is ReLU (bn·1024 >> 20), 11–15 start near 2^35. */
const RELU = [
  seg(-(2 ** 35), 0, 0, 0),
  ...[-2192771912, -1898601972, -1604432032, -1293919318, -999749378, -705579438, -411409498, -100896784, -2840137].map(
    (x) => seg(x, 0, 0, 0),
  ),
  seg(0, 1024, 20, 0),
  ...[0, 1, 2, 3, 4].map((k) => seg(2 ** 35 - 16 + k, 0, 0, 0)),
];
/** CanMV's YOLO face detector (v4): ReLU6-like, segment 1 linear, 2–15 short steps at 252..255. */
const RELU6 = [
  seg(-(2 ** 35), 0, 0, 0),
  seg(0, 32, 20, 0),
  ...[
    8241491, 8249659, 8257827, 8265995, 8274163, 8282331, 8290499, 8298667, 8306835, 8315003, 8323171, 8331339, 8339507,
    8347675,
  ].map((x, k) => seg(x, 32, 20, 252 + (k >> 2))),
];

/** A leaky ReLU as the model builder writes it: slope 26214·2^−34 below 0, 2^−16 (+19) above. */
const LEAKY = [...new Array(14).fill(seg(-(2 ** 35), 0, 0, 0)), seg(-12451840, 26214, 34, 0), seg(0, 1, 16, 19)];

/**
 * Activation tables of the shapes real models have: ReLU (sentinel, one rising segment), ReLU6 as
 * CanMV's files write it (a rising segment, then 14 short steps of the same slope whose biases
 * climb 252..255 where the line reaches 251.5..255), and leaky ReLU (two rising segments).
 */
function tableOf(family: string, start: number, ym: number, shift: number, extra: number): ActivationSegment[] {
  let t: ActivationSegment[];
  if (family === 'leaky')
    t = [seg(-(2 ** 35), 0, 0, 0), seg(start - 100_000, ym, shift + 3, 0), seg(start, ym, shift, extra % 40)];
  else if (family === 'relu6' || family === 'jagged') {
    // jagged: the same steps with scrambled biases, so windows have to stop somewhere
    t = [seg(-(2 ** 35), 0, 0, 0), seg(start, ym, shift, 0)];
    for (let k = 0; k < 14; k++)
      t.push(
        seg(
          start + Math.round(((251.5 + k / 4) * 2 ** shift) / ym),
          ym,
          shift,
          family === 'jagged' ? 240 + ((k * 7 + extra) % 16) : 252 + (k >> 2),
        ),
      );
  } else if (family === 'swish')
    // a dip below the rising piece (as SiLU tables have): decreasing segments, where t < 0 rounds its own
    // way, so no window covers them and their lanes go through actExact
    t = [
      seg(-(2 ** 35), 0, 0, 1 + (extra % 3)),
      seg(start - 90_000, -ym, shift + 2, 1 + (extra % 3)),
      seg(start - 30_000, -ym, shift, 2),
      seg(start - 10_000, ym, shift + 1, 0),
      seg(start, ym, shift, extra % 5),
    ];
  else t = [seg(-(2 ** 35), 0, 0, 0), seg(start, ym, shift, 0)];
  while (t.length < 16) t.push(seg(2 ** 35 - 1, 0, 0, 0));
  return t;
}

describe('simdWindow', () => {
  it('the kernel formula on the window equals the reference at every bn (fast-check, fixed seed)', () => {
    // The kernel computes, for u = bn − x0 with lo < u ≤ hi: past the split the second segment's
    // rounding of (bn − x0')·y_mul'·2^−s' + bias', else the first's; lanes outside go to the scalar path.
    let pairs = 0;
    let cut = 0;
    fc.assert(
      fc.property(
        fc.record({
          family: fc.constantFrom('relu', 'relu6', 'relu6', 'jagged', 'jagged', 'leaky'),
          start: fc.integer({ min: -300, max: 300 }),
          ym: fc.integer({ min: 1, max: 4000 }),
          shift: fc.integer({ min: 4, max: 20 }),
          extra: fc.integer({ min: 0, max: 255 }),
          lo: fc.integer({ min: -200_000, max: 100_000 }),
          len: fc.integer({ min: 0, max: 30_000 }),
        }),
        (r) => {
          const table = tableOf(r.family, r.start, r.ym, r.shift, r.extra);
          // aim the range at the interesting part of the table: the steps, or the joint of the pieces
          const centre = r.family === 'relu6' || r.family === 'jagged' ? table[2].x_start : r.start;
          const bnLo = BigInt(centre - (Math.abs(r.lo) % (r.len + 1)));
          const bnHi = bnLo + BigInt(r.len);
          const w = simdWindow(bnLo, bnHi, table);
          if (!w) return;
          if (w.second) pairs++;
          if (w.lo !== -Infinity || w.hi !== Infinity) cut++;
          const x0 = Number(w.x0);
          const rne = (y: number): number => y + 1.5 * 2 ** 52 - 1.5 * 2 ** 52;
          for (let bn = Number(bnLo); bn <= Number(bnHi); bn++) {
            const u = bn - x0;
            if (u <= w.lo || u > w.hi) continue;
            const p = w.second && u > w.second.split ? w.second : w;
            const y = (bn - Number(p.x0)) * p.ymul * 2 ** -p.shift;
            const out = Math.max(0, Math.min(255, rne(y) + p.bias));
            if (out !== referenceActivation(BigInt(bn), table, GOLDEN_NUMERICS)) {
              throw new Error(
                `bn ${bn}: window formula ${out}, reference ${referenceActivation(BigInt(bn), table, GOLDEN_NUMERICS)}`,
              );
            }
          }
        },
      ),
      { seed: 4242, numRuns: 400 },
    );
    expect(pairs, 'two-piece windows').toBeGreaterThan(40);
    expect(cut, 'windows short of the range').toBeGreaterThan(40);
  });

  it('ReLU: segment 10 over the whole range (segments 0–9 output 0, as its formula clamps there)', () => {
    expect(simdWindow(-(10n ** 8n), 10n ** 9n, RELU)).toEqual({
      x0: 0n,
      ymul: 1024,
      shift: 20,
      bias: 0,
      lo: -Infinity,
      hi: Infinity,
    });
  });
  it('ReLU6 steps: segment 1 extends over the steps it agrees with, then a second piece takes over', () => {
    // (bn/2^15 rounded to even) equals the steps' 252 up to the end of segment 4; at 8 274 163 it
    // gives 252.51 → 253 where segment 5 still outputs 252. Segment 4's formula holds from 8 241 492
    // (its own step and the constant 252 steps around it) to 8 274 163: it takes over past 8 265 995.
    expect(simdWindow(-(10n ** 6n), 9n * 10n ** 6n, RELU6)).toEqual({
      x0: 0n,
      ymul: 32,
      shift: 20,
      bias: 0,
      lo: -Infinity,
      hi: 8274163,
      second: { x0: 8257827n, ymul: 32, shift: 20, bias: 252, split: 8265995 },
    });
  });
  it('ReLU6 steps: a constant 0 below bn = 0 and 255 from the last two steps (8 339 508) on', () => {
    // segment 0 (bn ≤ 0) has y_mul 0, bias 0; segment 1 rises; segments 14, 15 (x_start 8 339 507,
    // 8 347 675) add a non-negative rounded term to bias 255, so clamp to 255, while segment 13
    // (bias 254, (bn − x0)·32·2^−20 ≤ 8168·2^−15 < 0.5) outputs 254
    const f = windowFinder(RELU6);
    expect(f.head(-(10n ** 6n), 9n * 10n ** 6n)).toEqual({ at: 0n, value: 0 });
    expect(f.tail(-(10n ** 6n), 9n * 10n ** 6n)).toEqual({ at: 8339508n, value: 255 });
    // a range that ends inside segment 13: the four steps at 254 (segments 10–13, from 8 306 836)
    expect(f.tail(0n, 8335000n)).toEqual({ at: 8306836n, value: 254 });
  });
  it('ReLU: segment 10 rises then clamps within itself, so no constant top; the bottom is 0', () => {
    const f = windowFinder(RELU);
    expect(f.tail(-(10n ** 8n), 10n ** 9n)).toBeNull();
    expect(f.head(-(10n ** 8n), 10n ** 9n)).toEqual({ at: 0n, value: 0 });
  });
  it('leaky ReLU: two rising pieces cover the whole range', () => {
    expect(simdWindow(-(10n ** 8n), 10n ** 8n, LEAKY)).toEqual({
      x0: -12451840n,
      ymul: 26214,
      shift: 34,
      bias: 0,
      lo: -Infinity,
      hi: Infinity,
      second: { x0: 0n, ymul: 1, shift: 16, bias: 19, split: 12451840 },
    });
  });
  it('a range inside one step: that step alone, no checks', () => {
    const w = simdWindow(8250000n, 8257000n, RELU6)!;
    expect([w.x0, w.lo, w.hi]).toEqual([8249659n, -Infinity, Infinity]);
  });
  it('decreasing segments (y_mul < 0, where the reference rounds t < 0 its own way) are never the formula', () => {
    const table = [seg(-(2 ** 35), -5, 3, 200), ...new Array(15).fill(seg(2 ** 35 - 1, 0, 0, 0))];
    expect(simdWindow(-1000n, 1000n, table)).toBeNull();
  });
  it('cuts a segment where (bn − x0)·y_mul would reach 2^51', () => {
    // segments 1–15 all ReLU from 0 (equal starts: 15 is chosen), y_mul 32767, shift 25 (|y| stays far
    // below 2^30): exact while bn·32767 < 2^51, i.e. bn ≤ floor((2^51 − 1)/32767)
    const table = [seg(-(2 ** 35), 0, 0, 0), ...new Array(15).fill(seg(0, 32767, 25, 0))];
    const last = (2n ** 51n - 1n) / 32767n;
    expect(simdWindow(-5n, 2n ** 37n, table)).toEqual({
      x0: 0n,
      ymul: 32767,
      shift: 25,
      bias: 0,
      lo: -Infinity,
      hi: Number(last),
    });
    expect(last * 32767n < 2n ** 51n && (last + 1n) * 32767n >= 2n ** 51n).toBe(true);
    // with bn only up to 2^36 the whole range is one window
    expect(simdWindow(-5n, 2n ** 36n, table)).toEqual({
      x0: 0n,
      ymul: 32767,
      shift: 25,
      bias: 0,
      lo: -Infinity,
      hi: Infinity,
    });
  });
  it('cuts a segment where its rounded value would leave ±2^30 (the i32 lanes)', () => {
    // identity segment (y_mul 1, shift 0): y = bn, exact in i32 lanes below 2^30
    const table = [seg(-(2 ** 35), 0, 0, 0), seg(0, 1, 0, 0), ...new Array(14).fill(seg(2 ** 35 - 1, 0, 0, 0))];
    expect(simdWindow(-5n, 2n ** 31n, table)).toEqual({
      x0: 0n,
      ymul: 1,
      shift: 0,
      bias: 0,
      lo: -Infinity,
      hi: 2 ** 30 - 1,
    });
  });
});

// ---- directed layers across a window's edge ---------------------------------------------------------

function params(
  IC: number,
  OC: number,
  W: number,
  H: number,
  weights: Uint8Array,
  bn: BatchNormEntry[],
  act: ActivationSegment[],
  fields: Record<string, number> = {},
): KpuConvParams {
  return synthKpuLayer({ IC, OC, W, H, kernel: 1, dst: 4096, weights, bn, act, fields });
}

describe('wasm kernel across SIMD window edges (ReLU6 steps)', () => {
  // acc = 255·x (one channel, weight 255), bn = (acc·mul >> 15) + add sweeps −10^6 .. 9.6·10^6 over
  // x = 0..255: past the window's end (8 265 995) from x ≈ 238 on, so some 4-pixel groups fall back.
  const bn: BatchNormEntry[] = [
    { norm_mul: 154 * 32768, norm_add: -1_000_000, norm_shift: 15 },
    { norm_mul: 150 * 32768, norm_add: -400_000, norm_shift: 15 },
    { norm_mul: 140 * 32768, norm_add: 0, norm_shift: 15 },
  ];
  const c = prepareKpuConv(params(1, 3, 64, 16, Uint8Array.from([255, 255, 255]), bn, RELU6), 1, {
    layer: 0,
    type: 'test',
  });
  const modes = new DataView(wasmPlan(c).chan.buffer);
  const inputs: [string, (i: number) => number][] = [
    ['ramp (homogeneous groups)', (i) => i & 255],
    ['scrambled', (i) => (i * 167 + 13) & 255],
    ['high values only', (i) => 200 + (i % 56)],
  ];
  it('puts every channel on the windowed SIMD path', () => {
    for (let o = 0; o < 3; o++) expect(modes.getInt32(o * CHAN_BYTES + CHAN.mode, true)).toBe(2);
  });
  it.each(inputs)('wasm == reference, %s', (_, value) => {
    const ram = new Uint8Array(AI_SRAM_BYTES);
    for (let i = 0; i < 64 * 16; i++) ram[i] = value(i);
    const a = ram.slice();
    const b = ram.slice();
    runKpuConvReference(c, a, GOLDEN_NUMERICS);
    runKpuConvWasm(c, b, GOLDEN_NUMERICS);
    expect(Buffer.compare(a, b)).toBe(0);
    const groups = (3 * 64 * 16) / 4;
    const fb = lastWasmRunFallbacks();
    expect(fb).toBeGreaterThan(0);
    expect(fb).toBeLessThan(groups);
    // the outputs reach the steps (≥ 252) and the linear part
    const out = a.subarray(c.output.address, c.output.address + c.output.bytes);
    expect(out.some((v) => v >= 252)).toBe(true);
    expect(out.some((v) => v > 0 && v < 252)).toBe(true);
  });
  it.each(inputs)(
    'only groups with a bn between the window (to 8 274 163) and the top (8 339 508) fall back, %s',
    (_, value) => {
      // bn = 255·x·mul·2^−15 + add (exact here); the constant 0 below bn = 0 and 255 from the last
      // steps on take their values without the scalar kernel
      let expected = 0;
      for (const { norm_mul, norm_add } of bn)
        for (let g = 0; g < (64 * 16) / 4; g++) {
          const bns = [0, 1, 2, 3].map((k) => (255 * value(4 * g + k) * norm_mul) / 2 ** 15 + norm_add);
          if (bns.some((v) => v > 8274163 && v < 8339508)) expected++;
        }
      const ram = new Uint8Array(AI_SRAM_BYTES);
      for (let i = 0; i < 64 * 16; i++) ram[i] = value(i);
      runKpuConvWasm(c, ram, GOLDEN_NUMERICS);
      expect(lastWasmRunFallbacks()).toBe(expected);
    },
  );
});

describe('wasm kernel: 8 pixels a step where the window reaches the constant bottom', () => {
  // One channel, acc = x0 + 255·(x1 + … + x15) over 16 input channels (0 .. 975 630), bn = acc·mul·2^−15
  // + add from below 0 to past the table's top, so the channel takes the checked loop with a window
  // open at the bottom. Its pixels are chosen around each edge (61 accumulators each, a few hundred
  // bn either side, so whole 8-pixel groups fall on one side), the rest at random; in order and shuffled.
  //  - ReLU6 steps: the bottom (bn ≤ 0 → 0), far below it, the split of the window's two pieces
  //    (8 265 995), where the first piece's formula would round up and the second's does not
  //    (8 273 921 .. 8 274 163), the window's end (8 274 163: lanes past it fall back), the top
  //    (8 339 508 → 255).
  //  - A raised bottom: 10 for bn ≤ 0, then 10 + bn·2^−15 (whose formula gives 9, 8, … below 0,
  //    so the bottom's value must be selected), then a constant 140 from bn = 4 000 000 (the top).
  const RAISED = [
    seg(-(2 ** 35), 0, 0, 10),
    seg(0, 32, 20, 10),
    seg(4_000_000, 0, 0, 140),
    ...new Array(13).fill(seg(2 ** 35 - 1, 0, 0, 140)),
  ];
  const cases: [string, ActivationSegment[], BatchNormEntry, number[]][] = [
    [
      'ReLU6 steps',
      RELU6,
      { norm_mul: 10 * 32768, norm_add: -300_000, norm_shift: 15 },
      [0, -200_000, 8241491, 8265995, 8274042, 8274163, 8339508],
    ],
    [
      'a raised bottom',
      RAISED,
      { norm_mul: 5 * 32768, norm_add: -300_000, norm_shift: 15 },
      [0, -100_000, -30_000, 4_000_000],
    ],
  ];
  const IC = 16;
  const W = 61;
  const H = 7; // 427 pixels: not a multiple of 8, so the last ones take a 4-pixel step
  const weights = Uint8Array.from({ length: IC }, (_, k) => (k === 0 ? 1 : 255));
  describe.each(cases)('%s', (_, table, bn, edges) => {
    const c = prepareKpuConv(params(IC, 1, W, H, weights, [bn], table), 1, { layer: 0, type: 'test' });
    const chan = new DataView(wasmPlan(c).chan.buffer);
    const lcg = new Lcg(77);
    const accMax = 255 + 255 * 255 * (IC - 1);
    const accs: number[] = [];
    for (const e of edges) {
      const at = Math.round(((e - bn.norm_add) * 2 ** 15) / bn.norm_mul);
      for (let d = -30; d <= 30; d++) accs.push(Math.min(accMax, Math.max(0, at + d)));
    }
    while (accs.length < W * H) accs.push(lcg.below(accMax + 1));
    const shuffled = accs.slice();
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = lcg.below(i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
    }
    it('the channel takes the windowed SIMD path with a window open at the bottom', () => {
      expect(chan.getInt32(CHAN.mode, true)).toBe(2);
      expect(chan.getFloat64(CHAN.lo, true)).toBe(-Infinity);
    });
    it.each([
      ['in order', accs],
      ['shuffled', shuffled],
    ])('wasm == reference, pixels %s', (_, order) => {
      // the input planes: x0 = acc mod 255, then acc / 255 spread over x1 … x15 (≤ 255 each)
      const planes = new Uint8Array(IC * W * H);
      order.forEach((acc, i) => {
        planes[i] = acc % 255;
        let q = Math.floor(acc / 255);
        for (let k = 1; k < IC; k++, q -= Math.min(q, 255)) planes[k * W * H + i] = Math.min(q, 255);
      });
      const ram = new Uint8Array(AI_SRAM_BYTES);
      kpuUpload(planes, [1, IC, H, W], ram, c.input.address);
      const a = ram.slice();
      const b = ram.slice();
      runKpuConvReference(c, a, GOLDEN_NUMERICS);
      runKpuConvWasm(c, b, GOLDEN_NUMERICS);
      expect(Buffer.compare(a, b)).toBe(0);
      // every side of every edge is in the output: the bottom, rising values, the top
      const out = a.subarray(c.output.address, c.output.address + c.output.bytes);
      const bottom = table[0].bias;
      const top = table === RELU6 ? 255 : 140;
      expect(out.includes(bottom)).toBe(true);
      expect(out.includes(top)).toBe(true);
      expect(out.some((v) => v > bottom && v < top)).toBe(true);
    });
  });
});

describe('outputMonotone', () => {
  it('ReLU and the ReLU6 steps are non-decreasing; a step down or a decreasing segment is not', () => {
    expect(outputMonotone(-(10n ** 8n), 10n ** 9n, RELU)).toBe(true);
    expect(outputMonotone(-(10n ** 6n), 9n * 10n ** 6n, RELU6)).toBe(true);
    const down = [
      seg(-(2 ** 35), 0, 0, 0),
      seg(0, 1, 0, 0),
      seg(100, 0, 0, 50),
      ...new Array(13).fill(seg(2 ** 35 - 1, 0, 0, 0)),
    ];
    expect(outputMonotone(-5n, 99n, down)).toBe(true); // 0 … 99, the step to 50 is out of range
    expect(outputMonotone(-5n, 200n, down)).toBe(false); // 100 then 50
    const dec = [seg(-(2 ** 35), 0, 0, 0), seg(0, -1, 0, 200), ...new Array(14).fill(seg(2 ** 35 - 1, 0, 0, 0))];
    expect(outputMonotone(-5n, 200n, dec)).toBe(false);
    // segment 0 with y_mul > 0 below its own start (t < 0, the reference's rounding quirk)
    // (bn + 1000)/16 reaches 62 at bn = 0 (62.5 rounds to even); segment 1 goes on from 62 + 1
    const leaky = [seg(-1000, 1, 4, 0), seg(0, 4, 2, 62), ...new Array(14).fill(seg(2 ** 35 - 1, 0, 0, 0))];
    expect(outputMonotone(-999n, 500n, leaky)).toBe(true);
    expect(outputMonotone(-2000n, 500n, leaky)).toBe(false);
  });
});

describe('wasm kernel on realistic tables (ReLU, ReLU6 steps, leaky ReLU, a SiLU-like dip)', () => {
  // Layer shapes of every kind (1×1, 3×3, depthwise; pools 0, 1, 5, 6), batch-norm of both signs,
  // odd and even sizes, maps large enough for several chunks, 1–2 batch items: the SIMD window
  // (one or two pieces, with and without checks) and the max pool before the activation.
  const arb = fc.record({
    IC: fc.integer({ min: 1, max: 40 }),
    OC: fc.integer({ min: 1, max: 12 }),
    W: fc.oneof(fc.integer({ min: 2, max: 21 }), fc.constantFrom(64, 65, 70, 320)),
    H: fc.integer({ min: 2, max: 41 }),
    kernel: fc.constantFrom<1 | 3>(1, 3),
    depthwise: fc.boolean(),
    pool: fc.constantFrom(0, 1, 1, 5, 6),
    pad: fc.integer({ min: 0, max: 255 }),
    argX: fc.integer({ min: -300, max: 300 }),
    argW: fc.integer({ min: -300, max: 300 }),
    argAdd: fc.integer({ min: -100_000, max: 100_000 }),
    family: fc.constantFrom('relu', 'relu6', 'jagged', 'leaky', 'swish'),
    ym: fc.integer({ min: 1, max: 2000 }),
    shift: fc.integer({ min: 0, max: 16 }),
    batches: fc.integer({ min: 1, max: 2 }),
    seed: fc.integer({ min: 1, max: 2 ** 30 }),
  });
  it('== reference (fast-check, fixed seed)', () => {
    const stats = { channels: 0, prepooled: 0, two: 0, fallbackRuns: 0, swishFallbackRuns: 0, chunked: 0 };
    fc.assert(
      fc.property(arb, (r) => {
        const lcg = new Lcg(r.seed);
        const rnd = (n: number): number => lcg.below(n);
        const H = r.W >= 320 ? Math.min(r.H, 6) : r.H;
        const IC = r.depthwise ? r.OC : r.IC;
        const G = r.depthwise ? 1 : IC;
        const pool = r.depthwise ? 0 : r.pool;
        const K2 = r.kernel * r.kernel;
        const weights = Uint8Array.from({ length: r.OC * G * K2 }, () => rnd(256));
        const spread = 300 * Math.sqrt(G * K2) + 1;
        const bn: BatchNormEntry[] = Array.from({ length: r.OC }, () => {
          const mul = (Math.round((200 * 2 ** 12) / spread) + 1) * (rnd(3) === 0 ? -1 : 1);
          return { norm_mul: mul, norm_shift: 12, norm_add: rnd(4001) - 2000 };
        });
        const act = tableOf(r.family, rnd(400) - 200, r.ym, r.shift, rnd(256));
        const stride = pool === 0 ? 1 : 2;
        const OW = Math.floor(r.W / stride);
        const OH = Math.floor(H / stride);
        const lo = kpuRowLayout(OW);
        const c = prepareKpuConv(
          params(IC, r.OC, r.W, H, weights, bn, act, {
            kernel_type: r.kernel === 3 ? 1 : 0,
            depth_wise_layer: r.depthwise ? 1 : 0,
            pad_value: r.pad,
            arg_x: r.argX,
            arg_w: r.argW,
            arg_add: r.argAdd,
            pool_type: pool,
            o_row_wid: OW - 1,
            o_col_high: OH - 1,
            wb_row_switch_addr: lo.rowLen,
            wb_group: lo.groups,
            wb_channel_switch_addr: lo.rowLen * OH,
            channel_byte_num: OW * OH - 1,
            dma_total_byte: OW * OH * r.OC - 1,
            image_dst_addr: 20000,
          }),
          r.batches,
          { layer: 0, type: 'test' },
        );
        const plan = wasmPlan(c);
        const ram = new Uint8Array(AI_SRAM_BYTES);
        for (let i = 0; i < c.input.bytes; i++) ram[i] = rnd(256);
        // the output map's padding lanes hold bytes that the engines must leave as they are
        const pad = new Lcg(r.seed + 1);
        for (let i = c.output.address; i < c.output.address + c.output.bytes; i++) ram[i] = pad.byte();
        for (const numerics of [GOLDEN_NUMERICS, NNCASE01_NUMERICS]) {
          const a = ram.slice();
          const b = ram.slice();
          const ma = new Uint8Array(c.denseOutputBytes);
          const mb = new Uint8Array(c.denseOutputBytes);
          runKpuConvReference(c, a, numerics, ma);
          runKpuConvWasm(c, b, numerics, mb);
          expect(Buffer.compare(ma, mb)).toBe(0);
          expect(Buffer.compare(a, b)).toBe(0);
          if (numerics === GOLDEN_NUMERICS && lastWasmRunFallbacks() > 0) {
            stats.fallbackRuns++;
            if (r.family === 'swish') stats.swishFallbackRuns++;
          }
        }
        const dv = new DataView(plan.chan.buffer);
        for (let o = 0; o < r.OC; o++) {
          if (dv.getInt32(o * CHAN_BYTES + CHAN.two, true) === 1 && dv.getInt32(o * CHAN_BYTES + CHAN.mode, true) !== 0)
            stats.two++;
        }
        stats.channels += r.OC;
        stats.prepooled += plan.prepoolChannels;
        if (plan.descs[0][9] < plan.descs[0][6]) stats.chunked++;
      }),
      { seed: 8088, numRuns: 200 },
    );
    expect(stats.prepooled, 'channels pooled before their activation').toBeGreaterThan(0.15 * stats.channels);
    expect(stats.two, 'channels on a two-piece window').toBeGreaterThan(0.15 * stats.channels);
    expect(stats.fallbackRuns, 'runs where lanes left the window').toBeGreaterThan(3);
    expect(stats.swishFallbackRuns, 'runs where lanes of a dip went through actExact').toBeGreaterThan(3);
    // (the relu6 family catches a second piece applied with the wrong origin: its steps make the
    // second segment's span start left of the segment itself)
    expect(stats.chunked, 'layers split into several chunks').toBeGreaterThan(5);
  });
});

// ---- the golden corpus through the js kernel -------------------------------------------------------------

describe.skipIf(!HAS_SHARED)(
  `golden runs on the js kernel (${HAS_SHARED ? 'shared corpus' : SHARED_SKIP_REASON})`,
  () => {
    const sets = ['v3-shared', 'v4-shared'];
    for (const set of sets) {
      const dir = join(GOLDEN_DIR, set);
      const names = existsSync(dir)
        ? readdirSync(dir)
            .filter((n) => !n.endsWith('.sha256'))
            .sort()
        : [];
      for (const name of names) {
        test(`${set}/${name} (lcg_1)`, () => {
          const prepared = prepare(loadKmodel(kmodelPath(name)).model, { kpuKernel: 'js' });
          expect(prepared.kpuNumerics.kernel).toBe('js');
          const run = join(dir, name, 'lcg_1');
          const lines: string[] = [];
          const r = prepared.run([new Uint8Array(readFileSync(join(run, 'input.bin')))], {
            trace: (l) => lines.push(l),
          });
          const golden = readFileSync(join(run, 'trace.txt'), 'utf8').trim().split('\n');
          const first = golden.findIndex((g, i) => g !== lines[i]);
          expect(first === -1 ? null : { layer: first, got: lines[first], want: golden[first] }).toBeNull();
          r.outputs.forEach((o, i) =>
            expect(Buffer.compare(Buffer.from(o), readFileSync(join(run, `output_${i}.bin`))), `output ${i}`).toBe(0),
          );
        });
      }
    }
  },
);
