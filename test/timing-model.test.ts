import fc from 'fast-check';
import { kpuRowLayout } from '../src/kmodel-parser/kpu-layout.js';
import { describe, expect, it } from 'vitest';
import type { KpuConvGeometry } from '../src/kmodel-parser/model.js';
import type { LayerEvent, TransferEvent } from '../src/kpu/events.js';
import {
  aiSramReport,
  budgetViolations,
  CPU_FAMILY_SPECS,
  cpuOpFamily,
  estimateKpuConv,
  firstFitFootprint,
  kpuMapBytes,
  mainMemoryReport,
  profile,
  TIMING_PARAMS,
  type KpuConvShape,
} from '../src/kpu/timing/index.js';
import { convGeometry, kpuConvEvent } from './fixtures/layer-events.js';

const MIB = 1024 * 1024;

function shape(over: Partial<KpuConvShape> = {}): KpuConvShape {
  const g = {
    inChannels: 32,
    outChannels: 32,
    inWidth: 64,
    inHeight: 64,
    outWidth: 64,
    outHeight: 64,
    kernel: 3 as const,
    depthwise: false,
    poolType: 0,
    weightBits: 8 as const,
    ...over,
  };
  return { ...g, outWidth: over.outWidth ?? g.inWidth, outHeight: over.outHeight ?? g.inHeight };
}

let nextIndex = 0;
function kpuEvent(
  g: KpuConvGeometry,
  inAddr: number,
  outAddr: number,
  transfers: TransferEvent[] = [],
  index = nextIndex++,
): LayerEvent {
  const weightBytes = g.inChannels * g.outChannels * g.kernel ** 2;
  return kpuConvEvent(g, { index, type: 'K210_CONV', inAddr, outAddr, transfers, weightBytes });
}
function cpuEvent(type: string, elements: number, index: number, transfers: TransferEvent[] = []): LayerEvent {
  return {
    index,
    type,
    unit: 'CPU',
    inputShapes: [[elements]],
    outputShapes: [[elements]],
    bytesIn: elements,
    bytesOut: 4 * elements,
    macs: 0,
    elements,
    transfers,
  };
}

describe('layout', () => {
  it('packs 4 channels per line up to 16 wide, 2 up to 32, then ceil(w/64) lines per row', () => {
    expect(kpuRowLayout(16)).toEqual({ groups: 4, rowPitch: 16, rowLen: 1 });
    expect(kpuRowLayout(17)).toEqual({ groups: 2, rowPitch: 32, rowLen: 1 });
    expect(kpuRowLayout(33)).toEqual({ groups: 1, rowPitch: 64, rowLen: 1 });
    expect(kpuRowLayout(320)).toEqual({ groups: 1, rowPitch: 64, rowLen: 5 });
    // kpu-numerics §6.8 example: 8×8×6 → 16 lines.
    expect(kpuMapBytes(8, 8, 6)).toBe(1024);
    // 320×240×3 is dense (320 is a multiple of 64).
    expect(kpuMapBytes(320, 240, 3)).toBe(320 * 240 * 3);
    // 20×15: 2 channels per 64-byte line, rows padded from 20 to 32 bytes.
    expect(kpuMapBytes(20, 15, 256)).toBe(64 * 15 * 128);
  });
});

describe('estimateKpuConv', () => {
  it('1×1 and 3×3 stream the same lines: same cycles apart from weights, 9× the MACs for 3×3', () => {
    const a = estimateKpuConv(shape({ kernel: 1, inWidth: 128, inHeight: 128 }));
    const b = estimateKpuConv(shape({ kernel: 3, inWidth: 128, inHeight: 128 }));
    expect(b.macs).toBe(9 * a.macs);
    expect(b.cycles / a.cycles).toBeGreaterThan(0.99);
    expect(b.cycles / a.cycles).toBeLessThan(1.05);
    expect(b.utilisation).toBeGreaterThan(8 * a.utilisation);
  });

  it('narrow maps pack channels: a 16-wide map streams a quarter of the lines of a 64-wide one with the same rows', () => {
    const narrow = estimateKpuConv(shape({ inWidth: 16, inChannels: 128, outChannels: 128 }));
    const wide = estimateKpuConv(shape({ inWidth: 64, inChannels: 128, outChannels: 128 }));
    expect(narrow.breakdown.streamCycles * 4).toBeCloseTo(wide.breakdown.streamCycles, 6);
  });

  it('depthwise is far cheaper than a full conv of the same channels', () => {
    const dw = estimateKpuConv(shape({ depthwise: true, inChannels: 128, outChannels: 128 }));
    const full = estimateKpuConv(shape({ inChannels: 128, outChannels: 128 }));
    expect(dw.cycles * 20).toBeLessThan(full.cycles);
    expect(dw.macs * 128).toBe(full.macs);
  });

  it('weights load in ≤ 30 KiB (8-bit) / 60 KiB (16-bit) chunks of whole output channels', () => {
    const e8 = estimateKpuConv(shape({ kernel: 1, inChannels: 256, outChannels: 256, inWidth: 20, inHeight: 15 }));
    expect(e8.weightBytes).toBe(65536);
    // 120 channels of 256 bytes per 30 KiB chunk, as layer 14 of the face detector (load_time 2)
    expect(e8.weightChunks).toBe(3);
    const e16 = estimateKpuConv(shape({ kernel: 3, inChannels: 128, outChannels: 128, weightBits: 16 }));
    expect(e16.weightBytes).toBe(294912);
    expect(e16.weightChunks).toBe(5);
    // On a big map the weight fetch hides under the line stream; on a 4×4 map it is the bottleneck.
    expect(e16.cycles).toBe(
      estimateKpuConv(shape({ kernel: 3, inChannels: 128, outChannels: 128, weightBits: 8 })).cycles,
    );
    const small = { kernel: 3, inChannels: 128, outChannels: 128, inWidth: 4, inHeight: 4 } as const;
    expect(estimateKpuConv(shape({ ...small, weightBits: 16 })).cycles).toBeGreaterThan(
      estimateKpuConv(shape({ ...small, weightBits: 8 })).cycles,
    );
  });

  it('pooling costs something, and the clock scales the KPU part only', () => {
    const plain = estimateKpuConv(shape());
    const pooled = estimateKpuConv(shape({ poolType: 1, outWidth: 32, outHeight: 32 }));
    expect(pooled.cycles).toBeGreaterThan(plain.cycles);
    const slow = estimateKpuConv(shape(), { kpuMhz: 200 });
    const fast = estimateKpuConv(shape(), { kpuMhz: 400 });
    expect(slow.cycles).toBe(fast.cycles);
    expect(slow.ms - slow.breakdown.launchMs).toBeCloseTo(2 * (fast.ms - fast.breakdown.launchMs), 9);
  });

  it('never gets faster when the map, the channels or the weight width grow (property)', () => {
    const dim = fc.integer({ min: 4, max: 256 });
    const ch = fc.integer({ min: 1, max: 512 });
    fc.assert(
      fc.property(
        dim,
        dim,
        ch,
        ch,
        fc.constantFrom<1 | 3>(1, 3),
        fc.boolean(),
        fc.integer({ min: 1, max: 64 }),
        (w, h, ic, oc, k, dw, grow) => {
          const base = shape({
            inWidth: w,
            inHeight: h,
            inChannels: ic,
            outChannels: dw ? ic : oc,
            kernel: k,
            depthwise: dw,
          });
          const t = estimateKpuConv(base).cycles;
          expect(estimateKpuConv({ ...base, inHeight: h + grow, outHeight: h + grow }).cycles).toBeGreaterThanOrEqual(
            t,
          );
          expect(estimateKpuConv({ ...base, inWidth: w + grow, outWidth: w + grow }).cycles).toBeGreaterThanOrEqual(t);
          expect(estimateKpuConv({ ...base, weightBits: 16 }).cycles).toBeGreaterThanOrEqual(t);
          if (!dw) expect(estimateKpuConv({ ...base, outChannels: oc + grow }).cycles).toBeGreaterThan(t);
          expect(estimateKpuConv(base).utilisation).toBeLessThanOrEqual(1);
        },
      ),
    );
  });

  it('refuses shapes the KPU cannot have', () => {
    expect(() => estimateKpuConv(shape({ inChannels: 0 }))).toThrow(RangeError);
    expect(() => estimateKpuConv({ ...shape(), kernel: 5 as never })).toThrow(/kernel/);
  });
});

describe('profile', () => {
  it('one entry per event in order; a transfer is charged to the layer that causes it; totals add up', () => {
    const g = convGeometry([3, 16], [320, 240], [160, 120], 3, 1);
    const g2 = convGeometry([16, 16], [160, 120], [160, 120], 3);
    const events = [
      kpuEvent(g, 0, 1 * MIB, [{ kind: 'upload-dma', bytes: 230400 }], 0),
      kpuEvent(g2, 1 * MIB, 0, [{ kind: 'download-cpu', bytes: 16 * 120 * 160 }], 1),
      cpuEvent('dequantize', 16 * 120 * 160, 2),
    ];
    const frozen = JSON.stringify(events);
    const p = profile(events);
    expect(JSON.stringify(events)).toBe(frozen); // a pass over the trace: never changes it
    expect(p.layers.map((l) => l.index)).toEqual([0, 1, 2]);
    expect(p.layers[0].transfer_ms).toBeCloseTo((230400 * 0.571) / 400e3, 9);
    // v4 CPU download of a 160-wide map: layout conversion, tens of ms (the "slow last layer" of nncase #96).
    expect(p.layers[1].transfer_ms).toBeGreaterThan(20);
    expect(p.layers[1].ms).toBeCloseTo(p.layers[1].compute_ms + p.layers[1].transfer_ms, 12);
    expect(p.kpu_ms).toBeCloseTo(p.layers[0].ms + p.layers[1].ms, 12);
    expect(p.cpu_ms).toBeCloseTo(p.layers[2].ms, 12);
    expect(p.total_ms).toBeCloseTo(p.kpu_ms + p.cpu_ms + p.overhead_ms, 12);
    expect(p.overhead_ms).toBeCloseTo(TIMING_PARAMS.cpu.runOverheadCycles / 400e3, 12);
    expect(p.fps).toBeCloseTo(1000 / p.total_ms, 9);
    expect(p.layers[2].calibrated).toBe(true);
    expect(p.layers[0].cycles).toBe(Math.round(p.layers[0].ms * 400e3));
  });

  it('a download of a 64-multiple-wide map needs no layout conversion', () => {
    const g = convGeometry([16, 16], [128, 64], [128, 64], 1);
    const dense = profile([kpuEvent(g, 0, MIB, [{ kind: 'download-cpu', bytes: 16 * 128 * 64 }], 0)]).layers[0]
      .transfer_ms;
    const g2 = { ...g, inWidth: 100, outWidth: 100 };
    const padded = profile([kpuEvent(g2, 0, MIB, [{ kind: 'download-cpu', bytes: 16 * 100 * 64 }], 0)]).layers[0]
      .transfer_ms;
    expect(padded / (16 * 100 * 64)).toBeGreaterThan(4 * (dense / (16 * 128 * 64)));
  });

  it('CPU ops: measured costs are marked calibrated, unknown ops fall back to an estimate', () => {
    expect(CPU_FAMILY_SPECS[cpuOpFamily('DEQUANTIZE').family].calibrated).toBe(true);
    const p = profile([
      cpuEvent('some_new_op', 1000, 0),
      cpuEvent('DEQUANTIZE', 9000, 1),
      cpuEvent('kpu_upload', 0, 2, [{ kind: 'upload-cpu', bytes: 1000 }]),
    ]);
    expect(p.layers[0].calibrated).toBe(false);
    // SDK dequantize of 9000 elements at 400 MHz: nncase #77 measured 0.404 ms.
    expect(p.layers[1].ms).toBeCloseTo(0.404, 2);
    expect(p.layers[2].transfer_ms).toBeGreaterThan(0);
  });

  it('refuses nonsense clocks', () => {
    expect(() => profile([], { kpuMhz: 0 })).toThrow(RangeError);
    expect(() => profile([], { cpuMhz: Number.NaN })).toThrow(RangeError);
  });
});

describe('memory', () => {
  it('a synthetic over-size layer is reported as not fitting, naming the layer', () => {
    // 3×3 conv 64→64 on a 512×256 map: 8 MiB of input alone.
    const g = convGeometry([64, 64], [512, 256], [256, 128], 3, 1);
    const inBytes = kpuMapBytes(512, 256, 64);
    expect(inBytes).toBe(8 * MIB);
    const p = profile([kpuEvent(g, 0, inBytes, [], 0)]);
    expect(p.memory.fits).toBe(false);
    expect(p.memory.ai_sram_peak_bytes).toBe(inBytes + kpuMapBytes(256, 128, 64));
    expect(p.memory.ai_sram_peak_layer).toBe(0);
    expect(p.memory.problems.join('\n')).toMatch(/past the 2\.00 MiB AI SRAM/);
    expect(p.memory.problems.join('\n')).toMatch(/layer 0 needs \d+ bytes of AI SRAM/);
    expect(budgetViolations(p, {}).length).toBeGreaterThan(0);
  });

  it('a layer that fits is reported as fitting, with its real padded size', () => {
    const g = convGeometry([256, 256], [20, 15], [20, 15], 1);
    const p = profile([kpuEvent(g, 0, 122880, [], 0)]);
    expect(p.memory.fits).toBe(true);
    // 256 channels of 20×15: 20 bytes of each 32-byte half-line used, 245760 bytes for 76800 values.
    expect(p.memory.ai_sram_peak_bytes).toBe(2 * 122880);
  });

  it('tracks liveness: a map read by a later layer (skip connection) stays live in between', () => {
    const g = convGeometry([16, 16], [64, 64], [64, 64], 3);
    const s = kpuMapBytes(64, 64, 16); // 64 KiB
    const events = [
      kpuEvent(g, 0, s, [], 0),
      kpuEvent(g, s, 2 * s, [], 1),
      kpuEvent(g, 2 * s, 3 * s, [], 2),
      kpuEvent(g, s, 4 * s, [], 3),
    ];
    const r = aiSramReport(events);
    // Layer 2 runs while map s (written by 0, read again by 3) is live: three maps.
    expect(r.perLayer[2]).toBe(3 * s);
    expect(r.perLayer[0]).toBe(2 * s);
    expect(r.fits).toBe(true);
  });

  it('a map uploaded over old maps starts at the upload, and side-by-side maps read as one stay live', () => {
    const g = (c: number, w: number, h: number): KpuConvGeometry => convGeometry([c, c], [w, h], [w, h], 1);
    const small = kpuMapBytes(64, 16, 4);
    const events = [
      kpuEvent(g(4, 64, 16), 0, small, [], 0),
      kpuEvent(g(4, 64, 16), small, 0, [{ kind: 'download-cpu', bytes: 4096 }], 1),
      cpuEvent('kpu_upload', 0, 2, [{ kind: 'upload-cpu', bytes: 8 * 4096 }]),
      kpuEvent(g(32, 64, 16), 0, 8 * small, [], 3), // reads 8 maps' worth at 0: the upload, not layer 1's output
    ];
    const r = aiSramReport(events);
    expect(r.warnings).toEqual([]);
    const read3 = r.regions.find((x) => x.lastLayer === 3 && x.start === 0);
    expect(read3).toMatchObject({ firstLayer: 2, end: 8 * small });
    // Two convs write halves of one map; a third reads the whole: both halves stay live until then.
    const half = kpuMapBytes(64, 16, 4);
    const cat = [
      kpuEvent(g(4, 64, 16), 4 * half, 0, [], 0),
      kpuEvent(g(4, 64, 16), 4 * half, half, [], 1),
      kpuEvent({ ...g(8, 64, 16) }, 0, 4 * half, [], 2),
    ];
    const rc = aiSramReport(cat);
    expect(rc.perLayer[1]).toBe(3 * half);
    expect(rc.regions.filter((x) => x.writer !== undefined && x.writer < 2 && x.lastLayer === 2).length).toBe(2);
  });

  it('reports fragmentation when live maps fit in total but not contiguously', () => {
    const regions = [
      { start: 0, end: 0.75 * MIB, firstLayer: 0, lastLayer: 3 },
      { start: 0.75 * MIB, end: 1.25 * MIB, firstLayer: 0, lastLayer: 1 },
      { start: 1.25 * MIB, end: 2 * MIB, firstLayer: 0, lastLayer: 3 },
      { start: 0.75 * MIB, end: 1.75 * MIB, firstLayer: 2, lastLayer: 3 },
    ];
    // At layer 2, 0.75 + 0.75 + 1 = 2.5 MiB would be live; a first-fit allocator needs more than 2 MiB.
    expect(firstFitFootprint(regions)).toBeGreaterThan(2 * MIB);
  });

  it('main SRAM: model + working buffer + input against 6 MiB', () => {
    const ok = mainMemoryReport([], { modelBytes: 388776, workingBytes: 45000, inputBytes: 230400 });
    expect(ok.bytes).toBe(388776 + 45000 + 230400);
    expect(ok.fits).toBe(true);
    const big = mainMemoryReport([], { modelBytes: 5.5 * MIB, workingBytes: MIB });
    expect(big.fits).toBe(false);
    expect(big.problems[0]).toMatch(/more than the 6\.00 MiB/);
    const est = mainMemoryReport([cpuEvent('dequantize', 1000, 0)], {});
    expect(est.workingEstimated).toBe(true);
    expect(est.parts.working).toBe(5000);
    expect(TIMING_PARAMS.memory.mainSramBytes).toBe(6 * MIB);
  });

  it('budgets: one sentence per violation', () => {
    const g = convGeometry([64, 64], [64, 64], [64, 64], 3);
    const p = profile([kpuEvent(g, 0, MIB, [], 0)], { main: { modelBytes: 100000, workingBytes: 1000 } });
    expect(budgetViolations(p, { maxMs: 1000, maxMainBytes: 1e6, maxAiSramBytes: 2 * MIB })).toEqual([]);
    const v = budgetViolations(p, { maxMs: 0.001, maxMainBytes: 1000, maxAiSramBytes: 1000 });
    expect(v).toHaveLength(3);
    expect(v[0]).toMatch(/^time: /);
    expect(v[1]).toMatch(/^main memory: /);
    expect(v[2]).toMatch(/^AI SRAM: peak \d+ bytes at layer 0/);
  });
});
