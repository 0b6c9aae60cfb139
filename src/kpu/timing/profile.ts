/**
 * The timing pass: interpreter events in, per-layer times and memory out. It reads only shapes
 * and byte counts, so changing a constant in params.ts can never change an output byte.
 */
import type { LayerEvent, TransferEvent } from '../events.js';
import { estimateKpuConv, type Clocks } from './kpu-conv.js';
import {
  aiSramReport,
  mainMemoryReport,
  type AiSramReport,
  type MainMemoryInputs,
  type MainMemoryReport,
} from './memory.js';
import {
  CPU_FAMILY_SPECS,
  cpuOpFamily,
  TIMING_PARAMS,
  type CpuCostFamily,
  type FamilyCost,
  type FamilySpec,
  type TimingParams,
} from './params.js';

export interface ProfileOptions {
  /** Clocks in MHz; default: the parameters' clocks (400/400 built in, or a timing file's board). */
  readonly kpuMhz?: number;
  readonly cpuMhz?: number;
  /** The timing model's parameters: the built-in `TIMING_PARAMS` unless a timing file replaces them. */
  readonly params?: TimingParams;
  /** What the caller knows of main-memory use (model size, working buffer); see MainMemoryInputs. */
  readonly main?: MainMemoryInputs;
}

export interface TransferTiming {
  readonly kind: TransferEvent['kind'];
  readonly bytes: number;
  readonly ms: number;
}

export interface LayerTiming {
  readonly index: number;
  readonly type: string;
  readonly unit: 'KPU' | 'CPU';
  /** Wall time of the layer including the transfers it causes, as the board's per-layer timers count it. */
  readonly ms: number;
  /** `ms` in cycles of the unit's clock (KPU clock for KPU layers, CPU clock for CPU layers). */
  readonly cycles: number;
  /** Cycles the KPU is busy computing (KPU layers; 0 for CPU layers). */
  readonly kpu_cycles: number;
  readonly macs: number;
  /** MACs per KPU busy cycle (KPU layers) or per CPU cycle (CPU layers). */
  readonly macs_per_cycle: number;
  /** KPU: macs_per_cycle / 576 (the KPU's peak). CPU: 0. */
  readonly utilisation: number;
  /** AI SRAM bytes live while the layer runs (real layout). */
  readonly ai_sram_bytes: number;
  /** Time without transfers (KPU: launch + compute; CPU: the op). */
  readonly compute_ms: number;
  readonly transfer_ms: number;
  readonly transfers: readonly TransferTiming[];
  /** False when part of the cost comes from an ESTIMATE in params.ts rather than a measurement. */
  readonly calibrated: boolean;
  /** CPU layers: the cost family that priced it (params.ts). */
  readonly family?: CpuCostFamily;
}

export interface MemorySummary {
  readonly main_bytes: number;
  readonly main_limit_bytes: number;
  readonly ai_sram_peak_bytes: number;
  readonly ai_sram_peak_layer: number;
  readonly ai_sram_limit_bytes: number;
  readonly fits: boolean;
  /** One sentence per reason it does not fit. */
  readonly problems: readonly string[];
  readonly main: MainMemoryReport;
  readonly ai_sram: AiSramReport;
}

export interface Profile {
  readonly clocks: { readonly kpu_mhz: number; readonly cpu_mhz: number };
  readonly layers: readonly LayerTiming[];
  readonly kpu_ms: number;
  readonly cpu_ms: number;
  /** Per run, outside every layer (the runtime's set-up and the firmware's call): `cpu.runOverheadCycles`. */
  readonly overhead_ms: number;
  /** kpu_ms + cpu_ms + overhead_ms. */
  readonly total_ms: number;
  readonly fps: number;
  readonly memory: MemorySummary;
}

function checkClock(name: string, mhz: number): number {
  if (!Number.isFinite(mhz) || mhz <= 0 || mhz > 2000)
    throw new RangeError(`${name} must be a clock in MHz (0 < f ≤ 2000), got ${mhz}`);
  return mhz;
}

export function resolveClocks(
  opts: { kpuMhz?: number; cpuMhz?: number } = {},
  params: TimingParams = TIMING_PARAMS,
): Clocks {
  return {
    kpuMhz: checkClock('kpuMhz', opts.kpuMhz ?? params.clocks.kpuMhz),
    cpuMhz: checkClock('cpuMhz', opts.cpuMhz ?? params.clocks.cpuMhz),
  };
}

/** Time of one transfer. `width` is the map width where known (a multiple of 64 needs no conversion). */
export function transferMs(
  t: TransferEvent,
  clocks: Clocks,
  width?: number,
  params: TimingParams = TIMING_PARAMS,
): number {
  const p = params.transfers;
  const dense = width !== undefined && width % 64 === 0;
  switch (t.kind) {
    case 'upload-dma':
      return (t.bytes * p.uploadDmaCpuCyclesPerByte) / (clocks.cpuMhz * 1000);
    case 'upload-cpu':
      return (t.bytes * (dense ? p.uploadCpuDenseCyclesPerByte : p.uploadCpuCyclesPerByte)) / (clocks.cpuMhz * 1000);
    case 'download-dma':
      return (t.bytes * p.downloadDmaKpuCyclesPerByte) / (clocks.kpuMhz * 1000);
    case 'download-cpu':
      return (
        (t.bytes * (dense ? p.downloadCpuDenseCyclesPerByte : p.downloadCpuCyclesPerByte)) / (clocks.cpuMhz * 1000)
      );
  }
}

const product = (s: readonly number[] | undefined) => (s ? s.reduce((a, b) => a * b, 1) : 0);

/** The family of a CPU op type, its cost numbers and its spec (family `other` for unknown types). */
export function cpuOpCost(
  type: string,
  params: TimingParams = TIMING_PARAMS,
): { family: CpuCostFamily; cost: FamilyCost; spec: FamilySpec; known: boolean } {
  const { family, known } = cpuOpFamily(type);
  return { family, cost: params.cpu.families[family], spec: CPU_FAMILY_SPECS[family], known };
}

/** CPU cycles of a CPU layer's own work (transfers excluded): the family's fixed cost plus its per-unit cost. */
export function cpuLayerCycles(
  ev: LayerEvent,
  params: TimingParams = TIMING_PARAMS,
): { cycles: number; calibrated: boolean; family: CpuCostFamily } {
  const { cost, spec, family } = cpuOpCost(ev.type, params);
  let units: number;
  switch (spec.basis) {
    case 'element':
      units = ev.elements;
      break;
    case 'input-element':
      units = ev.inputShapes.reduce((s, sh) => s + product(sh), 0);
      break;
    case 'byte':
      units = ev.bytesOut;
      break;
    case 'mac':
      units = ev.macs;
      break;
    case 'transfer':
      units = 0;
      break;
  }
  return { cycles: cost.fixedCycles + units * cost.perUnitCycles, calibrated: spec.calibrated, family };
}

/** Transfers of an event; an upload op with none recorded gets one sized by its output. */
function effectiveTransfers(ev: LayerEvent): readonly TransferEvent[] {
  if (ev.transfers.length > 0 || ev.unit !== 'CPU') return ev.transfers;
  if (cpuOpCost(ev.type).spec.basis !== 'transfer') return ev.transfers;
  // The SDK's K210_UPLOAD / K210_ADD_PADDING and nncase's kpu_upload are CPU copies (only a v3 model's
  // input upload uses DMA); a 64-multiple width makes it a plain copy, priced in transferMs.
  return [{ kind: 'upload-cpu', bytes: ev.bytesOut }];
}

function transferWidth(ev: LayerEvent, t: TransferEvent): number | undefined {
  const g = ev.kpu?.geometry;
  const up = t.kind === 'upload-cpu' || t.kind === 'upload-dma';
  if (g) return up ? g.inWidth : g.outWidth;
  const s = up ? ev.outputShapes[0] : ev.inputShapes[0];
  return s ? s[s.length - 1] : undefined;
}

/** Time and work of one layer, without memory. */
export function layerTiming(
  ev: LayerEvent,
  clocks: Clocks,
  params: TimingParams = TIMING_PARAMS,
): Omit<LayerTiming, 'ai_sram_bytes'> {
  const transfers = effectiveTransfers(ev).map((t) => ({
    kind: t.kind,
    bytes: t.bytes,
    ms: transferMs(t, clocks, transferWidth(ev, t), params),
  }));
  const transfer_ms = transfers.reduce((s, t) => s + t.ms, 0);
  let compute_ms: number;
  let kpu_cycles = 0;
  let calibrated = true;
  let macs = ev.macs;
  let family: CpuCostFamily | undefined;
  if (ev.kpu) {
    const batches = Math.max(1, ev.kpu.batches);
    const est = estimateKpuConv({ ...ev.kpu.geometry, weightBits: ev.kpu.weightBits }, clocks, params);
    kpu_cycles = est.cycles * batches;
    compute_ms = est.ms * batches;
    if (!(macs > 0)) macs = est.macs * batches;
  } else if (ev.unit === 'KPU') {
    // A KPU layer without geometry: price its MACs at the peak rate plus a launch.
    kpu_cycles = Math.ceil(macs / params.kpu.peakMacsPerCycle);
    compute_ms = kpu_cycles / (clocks.kpuMhz * 1000) + params.kpu.launchCpuCycles / (clocks.cpuMhz * 1000);
    calibrated = false;
  } else {
    const c = cpuLayerCycles(ev, params);
    compute_ms = c.cycles / (clocks.cpuMhz * 1000);
    calibrated = c.calibrated;
    family = c.family;
  }
  const ms = compute_ms + transfer_ms;
  const unitMhz = ev.unit === 'KPU' ? clocks.kpuMhz : clocks.cpuMhz;
  const cycles = Math.round(ms * unitMhz * 1000);
  const macs_per_cycle = ev.unit === 'KPU' ? (kpu_cycles > 0 ? macs / kpu_cycles : 0) : cycles > 0 ? macs / cycles : 0;
  return {
    index: ev.index,
    type: ev.type,
    unit: ev.unit,
    ms,
    cycles,
    kpu_cycles,
    macs,
    macs_per_cycle,
    utilisation: ev.unit === 'KPU' ? macs_per_cycle / params.kpu.peakMacsPerCycle : 0,
    compute_ms,
    transfer_ms,
    transfers,
    calibrated,
    ...(family ? { family } : {}),
  };
}

/**
 * `profile(events, opts).total_ms`, summed in the same order, without the per-layer records and
 * the memory reports (what a caller that prices runs needs, e.g. MaixPy's `kpu.load`).
 */
export function profileTotalMs(events: readonly LayerEvent[], opts: ProfileOptions = {}): number {
  const params = opts.params ?? TIMING_PARAMS;
  const clocks = resolveClocks(opts, params);
  let kpu_ms = 0;
  let cpu_ms = 0;
  for (const ev of events) {
    const { ms } = layerTiming(ev, clocks, params);
    if (ev.unit === 'KPU') kpu_ms += ms;
    else if (ev.unit === 'CPU') cpu_ms += ms;
  }
  const overhead_ms = events.length > 0 ? params.cpu.runOverheadCycles / (clocks.cpuMhz * 1000) : 0;
  return kpu_ms + cpu_ms + overhead_ms;
}

/** Per-layer times, totals and memory for one run's event trace. */
export function profile(events: readonly LayerEvent[], opts: ProfileOptions = {}): Profile {
  const params = opts.params ?? TIMING_PARAMS;
  const clocks = resolveClocks(opts, params);
  const ai = aiSramReport(events);
  const main = mainMemoryReport(events, opts.main);
  const layers = events.map((ev, i) => ({ ...layerTiming(ev, clocks, params), ai_sram_bytes: ai.perLayer[i] }));
  const kpu_ms = layers.reduce((s, l) => s + (l.unit === 'KPU' ? l.ms : 0), 0);
  const cpu_ms = layers.reduce((s, l) => s + (l.unit === 'CPU' ? l.ms : 0), 0);
  const overhead_ms = events.length > 0 ? params.cpu.runOverheadCycles / (clocks.cpuMhz * 1000) : 0;
  const total_ms = kpu_ms + cpu_ms + overhead_ms;
  return {
    clocks: { kpu_mhz: clocks.kpuMhz, cpu_mhz: clocks.cpuMhz },
    layers,
    kpu_ms,
    cpu_ms,
    overhead_ms,
    total_ms,
    fps: total_ms > 0 ? 1000 / total_ms : 0,
    memory: {
      main_bytes: main.bytes,
      main_limit_bytes: main.limitBytes,
      ai_sram_peak_bytes: ai.peakBytes,
      ai_sram_peak_layer: ai.peakLayer,
      ai_sram_limit_bytes: ai.limitBytes,
      fits: main.fits && ai.fits,
      problems: [...main.problems, ...ai.problems],
      main,
      ai_sram: ai,
    },
  };
}
