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
