/**
 * What a model's load does and what waits for its first run. Loading validates and raises every
 * fault a model can raise; the conv engines' per-channel state is made on first use, and MaixPy's
 * `kpu.load` prices a run with `profileTotalMs` rather than the full profile. These tests hold the
 * split to that: faults still at load, the same run outputs, the same board time.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KpuFault } from '../src/errors.js';
import type { KpuConvParams } from '../src/kmodel-parser/model.js';
import { parseKmodel } from '../src/kmodel-parser/parse.js';
import { prepareKpuConv, runKpuConvReference, runKpuConvWasm } from '../src/kpu/conv/index.js';
import { wasmPlan } from '../src/kpu/conv/wasm.js';
import { channelIsExact, channelIsExactBig } from '../src/kpu/conv/prepare.js';
import { prepare } from '../src/kpu/interpreter.js';
import { profile, profileTotalMs } from '../src/kpu/timing/profile.js';
import { TIMING_PARAMS } from '../src/kpu/timing/params.js';
import { AI_SRAM_BYTES, MAIN_SRAM_BYTES } from '../src/chip.js';
import { runScript, tempDir, REPO } from './fixtures/maixpy/helpers.js';
import { SENTINEL, seg, synthKpuLayer } from './fixtures/kpu-layer.js';
import { thrown } from './fixtures/thrown.js';
import { Lcg } from './lcg.js';

const BUNDLED = ['face_detect_320x240', 'face_landmarks5_128', 'face_features512_128'].map((n) =>
  join(REPO, 'models', `${n}.kmodel`),
);

/** A 3×3 layer with `IC` input channels, every weight `w`, and hand-set (undecoded) accumulator fields. */
function layer(IC: number, bits: 8 | 16, w: number, fields: Record<string, number>): KpuConvParams {
  const OC = 2;
  const n = OC * IC * 9 * (bits / 8);
  const p = synthKpuLayer({
    IC,
    OC,
    W: 4,
    H: 4,
    kernel: 3,
    weights: new Uint8Array(n).fill(w),
    weightBits: bits,
    bn: [
      { norm_mul: 1, norm_shift: 0, norm_add: 0 },
      { norm_mul: 1, norm_shift: 0, norm_add: 0 },
    ],
    act: [SENTINEL, seg(0, 1, 0, 0)],
    encodeTables: true,
  });
  // fields past their register widths: only a hand-made layer can hold them
  return { ...p, arg: { ...p.arg, ...fields } };
}

describe('a KPU conv layer: faults at prepare, state on first use', () => {
  it('an accumulator bound past 2^53 is still a fault of prepareKpuConv, not of the first run', () => {
    // Σw = 2·9·255 = 4590 per channel, so C = arg_w·Σw = 2^41·4590 ≈ 1.0·10^16 > 2^53 ≈ 9.0·10^15
    const p = layer(2, 8, 255, { arg_w: 2 ** 41, shr_w: 0 });
    const e = thrown(() => prepareKpuConv(p, 1, { layer: 7, type: 'K210_CONV' }), KpuFault);
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.message).toMatch(/output channel 0: accumulator bound \d+ exceeds 2\^53/);
  });

  it('whatever the fields, prepare either faults or the first use of the state does not (property)', () => {
    const big = fc.oneof(
      fc.integer({ min: -(2 ** 24), max: 2 ** 24 }),
      fc.integer({ min: -(2 ** 45), max: 2 ** 45 }),
      fc.constantFrom(2 ** 43, -(2 ** 43), 2 ** 39 - 1, -(2 ** 39)),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.constantFrom<8 | 16>(8, 16),
        fc.integer({ min: 0, max: 255 }),
        big,
        big,
        big,
        fc.integer({ min: 0, max: 15 }),
        fc.integer({ min: 0, max: 15 }),
        (IC, bits, w, argW, argX, argAdd, shrW, shrX) => {
          const p = layer(IC, bits, w, { arg_w: argW, arg_x: argX, arg_add: argAdd, shr_w: shrW, shr_x: shrX });
          let c;
          try {
            c = prepareKpuConv(p, 1, { layer: 0, type: 'K210_CONV' });
          } catch (e) {
            if (!(e instanceof KpuFault)) throw e;
            return;
          }
          // any fault would surface here, after the load
          expect(c.fast.exact.length).toBe(2);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('the state made on first use gives the reference output (wasm engine, random layers)', () => {
    const rng = new Lcg(18);
    for (let i = 0; i < 20; i++) {
      const IC = rng.int(1, 8);
      const OC = rng.int(1, 8);
      const bits = rng.below(2) === 0 ? 8 : 16;
      const p = synthKpuLayer({
        IC,
        OC,
        W: 8,
        H: 6,
        kernel: rng.below(2) === 0 ? 1 : 3,
        weights: rng.bytes(OC * IC * 9 * (bits / 8)),
        weightBits: bits,
        argX: rng.int(-1000, 999),
        shrX: rng.below(8),
        argW: rng.int(-1000, 999),
        shrW: rng.below(8),
        argAdd: rng.int(-10000, 9999),
        bn: Array.from({ length: OC }, () => ({
          norm_mul: rng.int(-2000, 1999),
          norm_shift: rng.below(16),
          norm_add: rng.int(-10000, 9999),
        })),
        act: [SENTINEL, seg(-rng.below(100000), rng.int(1, 300), rng.below(12), rng.below(256))],
        encodeTables: true,
      });
      const ram = new Uint8Array(AI_SRAM_BYTES);
      ram.set(rng.bytes(2 * 65536));
      const a = ram.slice();
      const b = ram.slice();
      runKpuConvReference(prepareKpuConv(p, 1, { layer: 0, type: 'K210_CONV' }), a);
      runKpuConvWasm(prepareKpuConv(p, 1, { layer: 0, type: 'K210_CONV' }), b);
      expect(Buffer.compare(a, b), `layer ${i}`).toBe(0);
    }
  });
});

describe("a conv layer's per-channel state in doubles", () => {
  const X36 = 2 ** 35;
  const seg16 = fc.array(
    fc.record({
      x: fc.oneof(fc.integer({ min: -X36, max: X36 - 1 }), fc.integer({ min: -5000, max: 5000 })),
      y: fc.oneof(fc.integer({ min: -(2 ** 15), max: 2 ** 15 - 1 }), fc.constantFrom(0, 1, -1)),
    }),
    { minLength: 16, maxLength: 16 },
  );

  it('channelIsExact answers as its BigInt specification, inside the field widths and past them', () => {
    const wide = fc.oneof(
      fc.integer({ min: -(2 ** 23), max: 2 ** 23 - 1 }),
      fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
    );
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(2n ** 53n) + 1n, max: 2n ** 53n - 1n }),
        fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 20n }), fc.bigInt({ min: 0n, max: 2n ** 53n })),
        fc.oneof(wide, fc.integer({ min: -300, max: 300 })),
        fc.oneof(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 70 })),
        fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: -(2 ** 45), max: 2 ** 45 })),
        seg16,
        (lo, len, mul, shift, add, segs) => {
          const hi = lo + len < 2n ** 53n ? lo + len : 2n ** 53n - 1n;
          const xs = segs.map((t) => t.x);
          const ym = segs.map((t) => t.y);
          const spec = channelIsExactBig(lo, hi, mul, shift, add, xs.map(BigInt), ym.map(BigInt));
          expect(channelIsExact(Number(lo), Number(hi), mul, shift, add, xs, ym)).toBe(spec);
        },
      ),
      { seed: 181, numRuns: 20000 },
    );
  });

  it('C, the accumulator range and the exact flags are the BigInt formulas (random layers, extreme fields)', () => {
    const rng = new Lcg(1818);
    const pick = (...v: number[]): number => v[rng.below(v.length)];
    let exactSeen = 0;
    let notExactSeen = 0;
    for (let i = 0; i < 300; i++) {
      const IC = pick(1, 3, 64, 1024);
      const OC = rng.int(1, 6);
      const bits = pick(8, 16) as 8 | 16;
      const kernel = pick(1, 3) as 1 | 3;
      const n = OC * IC * kernel * kernel * (bits / 8);
      const weights = pick(0, 1) ? rng.bytes(n) : new Uint8Array(n).fill(pick(0, 255));
      const p = synthKpuLayer({
        IC,
        OC,
        W: 4,
        H: 4,
        kernel,
        weights,
        weightBits: bits,
        argW: pick(0, 1, -1, 2 ** 23 - 1, -(2 ** 23), rng.int(-(2 ** 23), 2 ** 23 - 1)),
        shrW: rng.below(16),
        argX: pick(0, 2 ** 23 - 1, -(2 ** 23), rng.int(-(2 ** 23), 2 ** 23 - 1)),
        shrX: rng.below(16),
        argAdd: pick(0, 2 ** 39 - 1, -(2 ** 39), rng.int(-(2 ** 20), 2 ** 20)),
        bn: Array.from({ length: OC }, () => ({
          norm_mul: pick(1, -1, 2 ** 23 - 1, -(2 ** 23), rng.int(-5000, 5000)),
          norm_shift: rng.below(16),
          norm_add: pick(0, 2 ** 31 - 1, -(2 ** 31), rng.int(-(2 ** 20), 2 ** 20)),
        })),
        act: [SENTINEL, seg(rng.int(-(2 ** 30), 2 ** 30), rng.int(-(2 ** 15), 2 ** 15 - 1), rng.below(40), 7)],
        encodeTables: true,
      });
      const c = prepareKpuConv(p, 1, { layer: 0, type: 'K210_CONV' });
      const a = p.arg;
      const G = IC;
      const K2 = kernel * kernel;
      const tx = (BigInt(a.arg_x) * BigInt(255 * G * K2)) >> BigInt(a.shr_x);
      const xs = p.activation.map((t) => BigInt(t.x_start));
      const ym = p.activation.map((t) => BigInt(t.y_mul));
      for (let o = 0; o < OC; o++) {
        // Σw of channel o (16-bit weights: low byte + 256·high byte)
        let sw = 0n;
        const per = G * K2;
        for (let j = 0; j < per; j++)
          sw +=
            bits === 8
              ? BigInt(weights[o * per + j])
              : BigInt(weights[2 * (o * per + j)] + 256 * weights[2 * (o * per + j) + 1]);
        const C = ((BigInt(a.arg_w) * sw) >> BigInt(a.shr_w)) + BigInt(a.arg_add) * BigInt(G);
        const lo = C + (tx < 0n ? tx : 0n);
        const hi = C + 255n * sw + (tx > 0n ? tx : 0n);
        expect(c.fast.constTerm[o], `layer ${i} channel ${o}`).toBe(Number(C));
        expect(c.fast.accLo[o]).toBe(Number(lo));
        expect(c.fast.accHi[o]).toBe(Number(hi));
        const bn = p.batchNorm[o];
        const ex = channelIsExactBig(lo, hi, bn.norm_mul, bn.norm_shift, bn.norm_add, xs, ym);
        expect(c.fast.exact[o]).toBe(ex ? 1 : 0);
        if (ex) exactSeen++;
        else notExactSeen++;
      }
    }
    // both kinds of channel were met
    expect(exactSeen).toBeGreaterThan(50);
    expect(notExactSeen).toBeGreaterThan(50);
  });
});

describe('one SIMD window for a whole layer', () => {
  it("serves the bundled models' layers where it covers every channel, with the reference's bytes", () => {
    let shared = 0;
    let layers = 0;
    for (const f of BUNDLED) {
      const m = parseKmodel(new Uint8Array(readFileSync(f)), f);
      if (m.version !== 3) continue;
      for (const l of m.layers) {
        if (l.type !== 'K210_CONV') continue;
        const c = prepareKpuConv(l.kpu, 1, { layer: l.index, type: l.type });
        layers++;
        if (wasmPlan(c).layerWindow) shared++;
        // (the reference engine is slow on the larger models; test/golden-bundled.test.ts runs them whole)
        if (f !== BUNDLED[0]) continue;
        const rng = new Lcg(l.index + 1);
        const ram = new Uint8Array(AI_SRAM_BYTES);
        ram.set(rng.bytes(c.input.bytes), c.input.address);
        const a = ram.slice();
        const b = ram.slice();
        runKpuConvReference(c, a);
        runKpuConvWasm(c, b);
        expect(Buffer.compare(a, b), `${f} layer ${l.index}`).toBe(0);
      }
    }
    // not vacuous: most layers take the one window
    expect(shared).toBeGreaterThan(layers / 2);
  });
});

describe('profileTotalMs', () => {
  it('equals profile(events).total_ms on the bundled models, at the built-in and at other clocks', () => {
    for (const f of BUNDLED) {
      const events = prepare(parseKmodel(new Uint8Array(readFileSync(f)), f)).events;
      for (const opts of [{}, { kpuMhz: 300, cpuMhz: 416 }, { params: TIMING_PARAMS, kpuMhz: 123.4 }]) {
        expect(profileTotalMs(events, opts), f).toBe(profile(events, opts).total_ms);
      }
      expect(profileTotalMs(events.slice(0, 3))).toBe(profile(events.slice(0, 3)).total_ms);
    }
    expect(profileTotalMs([])).toBe(profile([]).total_ms);
  });

  it('refuses a bad clock as profile does', () => {
    expect(() => profileTotalMs([], { kpuMhz: 0 })).toThrow(/kpuMhz must be a clock in MHz/);
  });
});

describe('MaixPy kpu.load of a model that cannot run', () => {
  it('fails at kpu.load, with the fault of preparing it, before the script goes on', async () => {
    const dir = tempDir('load-split');
    const bytes = new Uint8Array(readFileSync(BUNDLED[0]));
    // the v3 header's main_mem_usage (byte 20): a main buffer larger than the chip's main SRAM
    new DataView(bytes.buffer).setUint32(20, MAIN_SRAM_BYTES + 64, true);
    const model = join(dir, 'big.kmodel');
    writeFileSync(model, bytes);
    const r = await runScript(
      {
        source: `
import KPU as kpu
try:
    kpu.load(0x300000)
    print('loaded')
except Exception as e:
    print('load failed:', e)
print('next')
`,
      },
      { flash: [{ address: 0x300000, bytes, source: model }] },
    );
    expect(r.lines[0]).toMatch(
      new RegExp(`^load failed: .*main buffer of ${MAIN_SRAM_BYTES + 64} bytes; the K210 has ${MAIN_SRAM_BYTES} bytes`),
    );
    expect(r.lines[1]).toBe('next');
  });
});
