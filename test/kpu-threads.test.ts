/**
 * One layer on two threads (src/kpu/parallel): random layers of every kind give the same bytes
 * (output map, dense copy, the rest of the AI SRAM) on two threads as on one, and so do the
 * bundled models end to end. Two threads are forced here (a test runner's process may not be the
 * kind of thread that gets them by default), small layers included.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AI_SRAM_BYTES } from '../src/chip.js';
import type { BatchNormEntry } from '../src/kmodel-parser/kpu-layer-argument.js';
import { GOLDEN_NUMERICS, NNCASE01_NUMERICS, prepareKpuConv, runKpuConvWasm } from '../src/kpu/conv/index.js';
import { layerThreads, partsOf, setLayerThreads } from '../src/kpu/parallel/index.js';
import { kernelRuntime } from '../src/kpu/wasm/runtime.js';
import { prepare } from '../src/kpu/interpreter.js';
import { loadKmodel } from '../src/load.js';
import { seg, synthKpuLayer } from './fixtures/kpu-layer.js';
import { Lcg } from './lcg.js';

const MODELS = join(import.meta.dirname, '..', 'models');

/** Runs `f` with one layer on `n` threads (every layer shared when 2). */
function onThreads<T>(n: 1 | 2, f: () => T): T {
  setLayerThreads(n, { minMacs: 0, adaptive: false });
  return f();
}

/** Waits until the layer worker has started (it starts in the background on the first shared layer). */
async function workerUp(): Promise<void> {
  const pool = kernelRuntime()?.parts();
  for (let i = 0; i < 600 && pool && !pool.ready(); i++) await new Promise((r) => setTimeout(r, 50));
}

describe('one layer on two threads', () => {
  beforeAll(async () => {
    setLayerThreads(2, { minMacs: 0, adaptive: false });
    expect(layerThreads()).toBe(2);
    // a first shared layer starts the worker
    const c = prepareKpuConv(
      synthKpuLayer({
        IC: 4,
        OC: 16,
        W: 8,
        H: 8,
        kernel: 1,
        weights: new Uint8Array(64).fill(1),
        bn: Array.from({ length: 16 }, () => ({ norm_mul: 1, norm_shift: 0, norm_add: 0 })),
        act: [seg(-(2 ** 35), 1, 0, 0)],
        encodeTables: true,
      }),
      1,
      { layer: 0, type: 'test' },
    );
    runKpuConvWasm(c, new Uint8Array(AI_SRAM_BYTES));
    await workerUp();
  }, 60_000);
  afterAll(() => setLayerThreads(1));

  it('cuts output channels into parts of multiples of 4 that cover them once', () => {
    setLayerThreads(2);
    expect(partsOf(64, 1000).count).toBe(1); // too small to share
    for (const oc of [8, 13, 16, 17, 30, 64, 125, 1000]) {
      const { count, size } = partsOf(oc, 1 << 30);
      expect(size % 4).toBe(0);
      expect(count).toBeGreaterThanOrEqual(2);
      expect(count).toBeLessThanOrEqual(8);
      expect((count - 1) * size).toBeLessThan(oc);
      expect(count * size).toBeGreaterThanOrEqual(oc);
    }
    expect(partsOf(7, 1 << 30).count).toBe(1);
  });

  it('random layers: the same bytes on two threads as on one (fast-check, fixed seed)', () => {
    const arb = fc.record({
      IC: fc.integer({ min: 1, max: 40 }),
      OC: fc.integer({ min: 1, max: 44 }),
      W: fc.oneof(fc.integer({ min: 2, max: 21 }), fc.constantFrom(64, 65, 70)),
      H: fc.integer({ min: 2, max: 30 }),
      kernel: fc.constantFrom<1 | 3>(1, 3),
      depthwise: fc.boolean(),
      wide: fc.boolean(),
      pool: fc.constantFrom(0, 1, 1, 2, 5, 6),
      pad: fc.integer({ min: 0, max: 255 }),
      argX: fc.integer({ min: -300, max: 300 }),
      argW: fc.integer({ min: -300, max: 300 }),
      ym: fc.integer({ min: 1, max: 2000 }),
      shift: fc.integer({ min: 0, max: 16 }),
      batches: fc.integer({ min: 1, max: 2 }),
      seed: fc.integer({ min: 1, max: 2 ** 30 }),
    });
    const pool = kernelRuntime()!.parts()!;
    const before = { ...pool.stats };
    let shared = 0;
    fc.assert(
      fc.property(arb, (r) => {
        const lcg = new Lcg(r.seed);
        const rnd = (n: number): number => lcg.below(n);
        const IC = r.depthwise ? r.OC : r.IC;
        const G = r.depthwise ? 1 : IC;
        const pool = r.depthwise ? 0 : r.pool;
        const K2 = r.kernel * r.kernel;
        const bits = r.wide ? 16 : 8;
        const weights = Uint8Array.from({ length: r.OC * G * K2 * (bits / 8) }, () => rnd(256));
        const spread = 300 * Math.sqrt(G * K2) * (r.wide ? 256 : 1) + 1;
        const bn: BatchNormEntry[] = Array.from({ length: r.OC }, () => {
          const mul = (Math.round((200 * 2 ** 12) / spread) + 1) * (rnd(3) === 0 ? -1 : 1);
          return { norm_mul: mul, norm_shift: 12, norm_add: rnd(4001) - 2000 };
        });
        const start = rnd(400) - 200;
        const act = [
          seg(-(2 ** 35), 0, 0, 0),
          ...Array.from({ length: 14 }, (_, k) => seg(start + k * (1 + rnd(50)), r.ym, r.shift, rnd(40))),
          seg(start + 2000, 0, 0, 255),
        ];
        // Pools 1, 2, 5 and 6 halve the map, as synthKpuLayer's defaults for the output fields assume.
        const c = prepareKpuConv(
          synthKpuLayer({
            IC,
            OC: r.OC,
            W: r.W,
            H: r.H,
            kernel: r.kernel,
            depthwise: r.depthwise,
            poolType: pool,
            padValue: r.pad,
            argX: r.argX,
            argW: r.argW,
            dst: 20000,
            weights,
            weightBits: bits,
            bn,
            act,
          }),
          r.batches,
          { layer: 0, type: 'test' },
        );
        if (partsOf(r.OC, 1).count > 1) shared++;
        const ram = new Uint8Array(AI_SRAM_BYTES);
        for (let i = 0; i < ram.length; i += 7) ram[i] = rnd(256);
        for (const numerics of [GOLDEN_NUMERICS, NNCASE01_NUMERICS]) {
          const a = ram.slice();
          const b = ram.slice();
          const ma = new Uint8Array(c.denseOutputBytes);
          const mb = new Uint8Array(c.denseOutputBytes);
          onThreads(1, () => runKpuConvWasm(c, a, numerics, ma));
          onThreads(2, () => runKpuConvWasm(c, b, numerics, mb));
          expect(Buffer.compare(ma, mb)).toBe(0);
          expect(Buffer.compare(a, b)).toBe(0);
        }
      }),
      { seed: 1818, numRuns: 120 },
    );
    expect(shared, 'layers cut into parts').toBeGreaterThan(40);
    expect(pool.stats.parts - before.parts, 'parts run').toBeGreaterThan(100);
    expect(pool.stats.byWorker - before.byWorker, 'parts the worker ran').toBeGreaterThan(0);
  });

  it('the bundled models: the same outputs, and memories after every layer, on two threads as on one (default threshold)', () => {
    const manifest = JSON.parse(readFileSync(join(MODELS, 'manifest.json'), 'utf8')) as { models: { file: string }[] };
    const pool = kernelRuntime()!.parts()!;
    const before = pool.stats.parts;
    for (const { file } of manifest.models) {
      const pm = prepare(loadKmodel(join(MODELS, file)).model);
      const lcg = new Lcg(7);
      const xs = pm.inputs.map((d) => Uint8Array.from({ length: d.bytes }, () => lcg.below(256)));
      const traces: string[][] = [[], []];
      setLayerThreads(1);
      const one = pm.run(xs, { trace: (l) => traces[0].push(l) });
      setLayerThreads(2, { adaptive: false });
      const two = pm.run(xs, { trace: (l) => traces[1].push(l) });
      expect(traces[1]).toEqual(traces[0]);
      expect(traces[0].length).toBeGreaterThan(5);
      expect(two.outputs.length).toBe(one.outputs.length);
      one.outputs.forEach((o, i) => expect(Buffer.compare(Buffer.from(two.outputs[i]), Buffer.from(o))).toBe(0));
    }
    expect(pool.stats.parts - before, 'parts of the bundled models run shared').toBeGreaterThan(0);
  }, 120_000);
});
