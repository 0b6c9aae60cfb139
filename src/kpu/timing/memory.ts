/**
 * Memory report: AI SRAM occupancy per layer with the real feature-map layout, and the main SRAM a
 * model needs. A pass over the event trace, like the timing model; it never touches data.
 *
 * AI SRAM: every KPU layer reads one map and writes one map at fixed addresses the compiler chose.
 * A map is live from the layer that writes it (or the upload before its first reader) to its last
 * reader; its size is the padded, channel-packed layout (kpu-numerics §6.8), times the batch count.
 * Occupancy of a layer = bytes covered by the maps live while it runs.
 */
import type { Kmodel } from '../../kmodel-parser/model.js';
import type { LayerEvent } from '../events.js';
import { kpuMapBytes } from './kpu-conv.js';
import { CPU_FAMILY_SPECS, cpuOpFamily, TIMING_PARAMS } from './params.js';

export interface AiSramRegion {
  readonly start: number;
  readonly end: number;
  /** First and last layer during which the map is live. */
  readonly firstLayer: number;
  readonly lastLayer: number;
  /** Layer that wrote it; undefined for a map put there by an upload or the host. */
  readonly writer?: number;
}

export interface AiSramReport {
  readonly limitBytes: number;
  /** Occupancy while each event's layer runs (0 for layers that touch no AI SRAM and see nothing live). */
  readonly perLayer: readonly number[];
  readonly peakBytes: number;
  /** Index of the layer at the peak (the first one if several tie); -1 when the model never uses AI SRAM. */
  readonly peakLayer: number;
  /** Highest byte address any map reaches (its end), as the compiler placed it. */
  readonly highestAddress: number;
  /** Footprint a first-fit allocator would need for the same live maps (lines of 64 bytes). */
  readonly firstFitBytes: number;
  readonly fits: boolean;
  /** One sentence per reason it does not fit: a map beyond 2 MiB, a peak over 2 MiB, a fragmentation failure. */
  readonly problems: readonly string[];
  /** Oddities that do not stop it fitting: two live maps sharing bytes. */
  readonly warnings: readonly string[];
  readonly regions: readonly AiSramRegion[];
}

interface MutableRegion {
  start: number;
  end: number;
  firstLayer: number;
  lastLayer: number;
  writer?: number;
}

function mapRanges(ev: LayerEvent): { input: [number, number]; output: [number, number] } | undefined {
  const k = ev.kpu;
  if (!k) return undefined;
  const g = k.geometry;
  const n = Math.max(1, k.batches);
  // The real layout, not the event's byte counts: row padding and channel packing included.
  const inBytes = kpuMapBytes(g.inWidth, g.inHeight, g.inChannels) * n;
  const outBytes = kpuMapBytes(g.outWidth, g.outHeight, g.outChannels) * n;
  return {
    input: [k.input.address, k.input.address + inBytes],
    output: [k.output.address, k.output.address + outBytes],
  };
}

/** True when the layer writes AI SRAM from main memory: an upload transfer, or an op whose work is one
 *  (K210_UPLOAD, K210_ADD_PADDING, kpu_upload: `basis: 'transfer'` in the cost table). */
export function writesAiSram(ev: LayerEvent): boolean {
  if (ev.transfers.some((t) => t.kind === 'upload-cpu' || t.kind === 'upload-dma')) return true;
  return ev.unit === 'CPU' && CPU_FAMILY_SPECS[cpuOpFamily(ev.type).family].basis === 'transfer';
}

/** Live maps of AI SRAM, from the order in which KPU layers read and write them. */
export function aiSramRegions(events: readonly LayerEvent[]): AiSramRegion[] {
  const done: MutableRegion[] = [];
  let live: MutableRegion[] = [];
  let lastUpload = -1;
  let lastCpu = -1;
  for (let i = 0; i < events.length; i++) {
    const ev = events[i];
    // Uploads that say where they write start a map there and end the maps they overwrite.
    for (const t of ev.transfers) {
      if (!t.aiSram) continue;
      const [ua, ub] = [t.aiSram.address, t.aiSram.address + t.aiSram.bytes];
      live = live.filter((m) => {
        const dead = m.start < ub && ua < m.end && m.lastLayer < i;
        if (dead) done.push(m);
        return !dead;
      });
      live.push({ start: ua, end: ub, firstLayer: i, lastLayer: i, writer: i });
    }
    const r = mapRanges(ev);
    if (r) {
      const [a, b] = r.input;
      // Not written by a KPU layer: by this layer's own upload (v3 first layer), by the last upload
      // before it, else by the last CPU layer before it, else placed by the host before the run.
      const uploaded = writesAiSram(ev) ? i : lastUpload >= 0 ? lastUpload : lastCpu >= 0 ? lastCpu : 0;
      const inside = live.filter((m) => m.start >= a && m.end <= b);
      const exact = inside.filter((m) => m.start === a && m.end === b).at(-1);
      if (exact) {
        // The map the previous layer (or an earlier one: a skip connection) wrote here.
        exact.lastLayer = i;
      } else if (inside.length > 0 && inside.every((m) => m.lastLayer > lastUpload && !writesAiSram(ev))) {
        // Maps written side by side and read as one (a concatenation in AI SRAM); gaps came from elsewhere.
        for (const m of inside) m.lastLayer = i;
        let at = a;
        for (const m of [...inside].sort((x, y) => x.start - y.start)) {
          if (m.start > at) live.push({ start: at, end: m.start, firstLayer: Math.min(uploaded, i), lastLayer: i });
          at = Math.max(at, m.end);
        }
        if (at < b) live.push({ start: at, end: b, firstLayer: Math.min(uploaded, i), lastLayer: i });
      } else {
        // Uploaded since the maps at these addresses were last used (or never written by the KPU).
        live.push({ start: a, end: b, firstLayer: Math.min(uploaded, i), lastLayer: i });
      }
      const [oa, ob] = r.output;
      // Maps overwritten by this output are dead from now on unless still read at this layer.
      const keep: MutableRegion[] = [];
      for (const m of live) {
        if (m.start < ob && oa < m.end && m.lastLayer < i) done.push(m);
        else keep.push(m);
      }
      live = keep;
      live.push({ start: oa, end: ob, firstLayer: i, lastLayer: i, writer: i });
    }
    if (!r && writesAiSram(ev)) lastUpload = i;
    if (ev.unit === 'CPU') lastCpu = i;
  }
  return [...done, ...live]
    .sort((x, y) => x.firstLayer - y.firstLayer || x.start - y.start)
    .map((m) => Object.freeze({ ...m }));
}

function unionBytes(ranges: readonly (readonly [number, number])[]): number {
  const s = [...ranges].sort((x, y) => x[0] - y[0]);
  let total = 0;
  let curA = -1;
  let curB = -1;
  for (const [a, b] of s) {
    if (a > curB) {
      if (curB > curA) total += curB - curA;
      curA = a;
      curB = b;
    } else curB = Math.max(curB, b);
  }
  if (curB > curA) total += curB - curA;
  return total;
}

/** Footprint of a first-fit allocator (64-byte lines, lowest free address) for these live intervals. */
export function firstFitFootprint(regions: readonly AiSramRegion[]): number {
  const line = TIMING_PARAMS.memory.lineBytes;
  const order = [...regions].sort((x, y) => x.firstLayer - y.firstLayer || y.end - y.start - (x.end - x.start));
  const placed: { a: number; b: number; last: number }[] = [];
  let top = 0;
  for (const r of order) {
    const size = Math.ceil((r.end - r.start) / line) * line;
    const busy = placed.filter((p) => p.last >= r.firstLayer).sort((x, y) => x.a - y.a);
    let at = 0;
    for (const p of busy) {
      if (at + size <= p.a) break;
      at = Math.max(at, p.b);
    }
    placed.push({ a: at, b: at + size, last: r.lastLayer });
    top = Math.max(top, at + size);
  }
  return top;
}

const fmtMiB = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MiB`;

export function aiSramReport(events: readonly LayerEvent[]): AiSramReport {
  const limit = TIMING_PARAMS.memory.aiSramBytes;
  const regions = aiSramRegions(events);
  const perLayer = events.map((_, i) =>
    unionBytes(regions.filter((r) => r.firstLayer <= i && i <= r.lastLayer).map((r) => [r.start, r.end] as const)),
  );
  let peakBytes = 0;
  let peakLayer = -1;
  perLayer.forEach((b, i) => {
    if (b > peakBytes) {
      peakBytes = b;
      peakLayer = i;
    }
  });
  const highestAddress = regions.reduce((m, r) => Math.max(m, r.end), 0);
  const firstFitBytes = firstFitFootprint(regions);
  const problems: string[] = [];
  for (const r of regions) {
    if (r.end > limit) {
      const who = r.writer !== undefined ? `the output of layer ${r.writer}` : `the input of layer ${r.lastLayer}`;
      problems.push(`${who} needs AI SRAM bytes ${r.start}..${r.end - 1}, past the ${fmtMiB(limit)} AI SRAM`);
    }
  }
  if (peakBytes > limit) {
    problems.push(
      `layer ${peakLayer} needs ${peakBytes} bytes of AI SRAM live at once (${fmtMiB(peakBytes)}), more than ${fmtMiB(limit)}`,
    );
  } else if (firstFitBytes > limit) {
    problems.push(
      `fragmentation: the live maps total at most ${fmtMiB(peakBytes)}, but a first-fit allocator needs ${fmtMiB(firstFitBytes)}`,
    );
  }
  const warnings: string[] = [];
  for (let i = 0; i < regions.length; i++) {
    for (let j = i + 1; j < regions.length; j++) {
      const x = regions[i];
      const y = regions[j];
      // Two maps may share addresses when one dies at the layer the other is born; sharing bytes over a
      // longer stretch means one clobbers the other.
      if (x.start < y.end && y.start < x.end && x.firstLayer < y.lastLayer && y.firstLayer < x.lastLayer) {
        warnings.push(
          `maps at bytes ${x.start} (layers ${x.firstLayer}–${x.lastLayer}) and ${y.start} (layers ${y.firstLayer}–${y.lastLayer}) overlap while both are live`,
        );
      }
    }
  }
  return {
    limitBytes: limit,
    perLayer,
    peakBytes,
    peakLayer,
    highestAddress,
    firstFitBytes,
    fits: problems.length === 0,
    problems,
    warnings,
    regions,
  };
}

/** What the runtime keeps in main SRAM, as far as the caller knows it (from the model file). */
export interface MainMemoryInputs {
  /** The kmodel bytes: the runtimes read weights and tables from the loaded model in place. */
  readonly modelBytes?: number;
  /** The runtime's working buffer (v3 `main_mem_usage`, v4 `main_mem`, v5 data section). */
  readonly workingBytes?: number;
  /** Input buffers the caller allocates (the image), when they are not inside the working buffer. */
  readonly inputBytes?: number;
  /** Anything else to count (firmware heap reserve, other models). */
  readonly otherBytes?: number;
}

export interface MainMemoryReport {
  readonly limitBytes: number;
  readonly bytes: number;
  readonly parts: { readonly model: number; readonly working: number; readonly input: number; readonly other: number };
  /** True when the working buffer was not given and was estimated from the trace (a lower bound). */
  readonly workingEstimated: boolean;
  readonly fits: boolean;
  readonly problems: readonly string[];
}

/**
 * What a model file tells about main SRAM: its size (the runtimes keep the kmodel in memory and read
 * weights from it in place), the working buffer it declares (`mainMemBytes`: v3 `main_mem_usage`,
 * v4 `main_mem`), and for v3 the caller's input buffer (`kpu_run_kmodel`'s `src`); v4/v5 inputs live
 * in the model's own memory ranges.
 */
export function mainMemoryInputsOf(model: Kmodel, fileBytes: number): MainMemoryInputs {
  const m = model as unknown as { version: number; mainMemBytes?: unknown; inputs?: readonly { bytes: number }[] };
  return {
    modelBytes: fileBytes,
    workingBytes: typeof m.mainMemBytes === 'number' ? m.mainMemBytes : undefined,
    inputBytes: m.version === 3 ? (m.inputs ?? []).reduce((s, t) => s + t.bytes, 0) : 0,
  };
}

/**
 * Main SRAM need. The working buffer, when unknown, is bounded below by the largest CPU layer's
 * input plus output bytes (both must be in main memory at once).
 */
export function mainMemoryReport(events: readonly LayerEvent[], inputs: MainMemoryInputs = {}): MainMemoryReport {
  const limit = TIMING_PARAMS.memory.mainSramBytes;
  const estimatedWorking = events.reduce((m, e) => (e.unit === 'CPU' ? Math.max(m, e.bytesIn + e.bytesOut) : m), 0);
  const workingEstimated = inputs.workingBytes === undefined;
  const parts = {
    model: inputs.modelBytes ?? 0,
    working: inputs.workingBytes ?? estimatedWorking,
    input: inputs.inputBytes ?? 0,
    other: inputs.otherBytes ?? 0,
  };
  const bytes = parts.model + parts.working + parts.input + parts.other;
  const problems =
    bytes > limit
      ? [`main SRAM need ${bytes} bytes (${fmtMiB(bytes)}) is more than the ${fmtMiB(limit)} of the chip`]
      : [];
  return { limitBytes: limit, bytes, parts, workingEstimated, fits: problems.length === 0, problems };
}
