/**
 * Cycle-approximate cost of one KPU conv layer from its shape on the hardware (kpu-numerics §6.8, §8).
 *
 * The KPU streams the input feature map from AI SRAM one 64-byte line per cycle. A line holds one
 * row segment of one channel (w > 32: ceil(w/64) lines per row) or a packed group of 2 (w ≤ 32) or
 * 4 (w ≤ 16) channels. For a normal conv the whole input is streamed once per output channel, 1×1
 * and 3×3 alike (so a 1×1 conv does 1/9 of the useful work per cycle); a depthwise conv streams
 * each channel group once. Per output channel there is a fixed set-up cost and the channel's
 * weights are fetched from main SRAM overlapped with its stream; weights arrive in chunks of at
 * most 30 KiB (8-bit) / 60 KiB (16-bit), and every chunk after the first stalls the pipeline.
 * Pooling adds a cost per row line. The CPU-side launch (register writes, interrupt) is counted at
 * the CPU clock. Every constant lives in params.ts.
 */
import { kpuBytes, kpuRowLayout } from '../../kmodel-parser/kpu-layout.js';
import type { KpuConvGeometry } from '../../kmodel-parser/model.js';
import { TIMING_PARAMS, type TimingParams } from './params.js';

export interface Clocks {
  readonly kpuMhz: number;
  readonly cpuMhz: number;
}

export const DEFAULT_CLOCKS: Clocks = { kpuMhz: TIMING_PARAMS.clocks.kpuMhz, cpuMhz: TIMING_PARAMS.clocks.cpuMhz };

/** Bytes a C×H×W map occupies in AI SRAM with row padding and channel packing (one batch item). */
export const kpuMapBytes = kpuBytes;

export type KpuConvShape = KpuConvGeometry & { readonly weightBits: 8 | 16 };

export interface KpuConvEstimate {
  /** KPU clock cycles the layer keeps the KPU busy (one batch item). */
  readonly cycles: number;
  /** Wall time of one launch: KPU cycles at the KPU clock plus the CPU-side launch. */
  readonly ms: number;
  readonly macs: number;
  /** MACs per KPU cycle over the busy cycles. */
  readonly macsPerCycle: number;
  /** macsPerCycle / 576, the fraction of the KPU's peak. */
  readonly utilisation: number;
  readonly weightBytes: number;
  readonly weightChunks: number;
  /** Input and output maps in AI SRAM (real layout), one batch item each. */
  readonly inputBytes: number;
  readonly outputBytes: number;
  readonly breakdown: {
    readonly streamCycles: number;
    readonly channelSetupCycles: number;
    readonly weightStallCycles: number;
    readonly chunkReloadCycles: number;
    readonly poolCycles: number;
    readonly launchMs: number;
  };
}

/** Multiply-accumulates of the conv (padding taps included, as the hardware does them). */
export function kpuConvMacs(g: KpuConvGeometry): number {
  const taps = g.kernel * g.kernel;
  const perOut = g.inWidth * g.inHeight * taps;
  return g.depthwise ? g.outChannels * perOut : g.outChannels * g.inChannels * perOut;
}

function checkShape(g: KpuConvShape): void {
  for (const k of ['inChannels', 'outChannels', 'inWidth', 'inHeight'] as const) {
    if (!Number.isSafeInteger(g[k]) || g[k] < 1) throw new RangeError(`${k} must be a positive integer, got ${g[k]}`);
  }
  if (g.kernel !== 1 && g.kernel !== 3) throw new RangeError(`kernel must be 1 or 3, got ${g.kernel}`);
  if (g.weightBits !== 8 && g.weightBits !== 16)
    throw new RangeError(`weightBits must be 8 or 16, got ${g.weightBits}`);
}

/** The model's time for one KPU conv layer (one batch item, one launch), with the built-in or a board's parameters. */
export function estimateKpuConv(
  g: KpuConvShape,
  clocks: Partial<Clocks> = {},
  params: TimingParams = TIMING_PARAMS,
): KpuConvEstimate {
  checkShape(g);
  const { kpuMhz, cpuMhz } = { kpuMhz: params.clocks.kpuMhz, cpuMhz: params.clocks.cpuMhz, ...clocks };
  const p = params.kpu;
  const inL = kpuRowLayout(g.inWidth);
  const linesPerChannelGroup = g.inHeight * inL.rowLen;
  const channelGroups = Math.ceil(g.inChannels / inL.groups);
  const taps = g.kernel * g.kernel;
  const bytesPerWeight = g.weightBits / 8;

  let streamCycles: number;
  let channelSetupCycles: number;
  let weightStallCycles = 0;
  let weightBytes: number;
  let weightChunks = 1;
  if (g.depthwise) {
    // One pass over every packed channel group; weights (C·K² values) fit in one chunk.
    streamCycles = p.depthwiseCyclesPerLine * channelGroups * linesPerChannelGroup;
    channelSetupCycles = p.depthwiseCyclesPerChannel * g.inChannels;
    weightBytes = g.outChannels * taps * bytesPerWeight;
  } else {
    const linesPerOutput = linesPerChannelGroup * channelGroups;
    const weightBytesPerOutput = g.inChannels * taps * bytesPerWeight;
    const stream = p.cyclesPerLine * linesPerOutput;
    const fetch = p.weightCyclesPerByte * weightBytesPerOutput;
    streamCycles = g.outChannels * stream;
    weightStallCycles = g.outChannels * Math.max(0, fetch - stream);
    channelSetupCycles = g.outChannels * p.cyclesPerOutputChannel;
    weightBytes = g.outChannels * weightBytesPerOutput;
    const outputsPerChunk = Math.max(1, Math.floor(p.weightChunkBytes[g.weightBits] / weightBytesPerOutput));
    weightChunks = Math.ceil(g.outChannels / outputsPerChunk);
  }
  const chunkReloadCycles = (weightChunks - 1) * p.weightChunkReloadCycles;
  const poolCycles = g.poolType !== 0 ? p.poolCyclesPerRowLine * g.outChannels * linesPerChannelGroup : 0;
  // The time is kept unrounded (a fit differentiates it); the cycle count is shown rounded.
  const exact = streamCycles + channelSetupCycles + weightStallCycles + chunkReloadCycles + poolCycles;
  const cycles = Math.round(exact);
  const launchMs = p.launchCpuCycles / (cpuMhz * 1000);
  const macs = kpuConvMacs(g);
  const macsPerCycle = cycles > 0 ? macs / cycles : 0;
  return {
    cycles,
    ms: exact / (kpuMhz * 1000) + launchMs,
    macs,
    macsPerCycle,
    utilisation: macsPerCycle / p.peakMacsPerCycle,
    weightBytes,
    weightChunks,
    inputBytes: kpuMapBytes(g.inWidth, g.inHeight, g.inChannels),
    outputBytes: kpuMapBytes(g.outWidth, g.outHeight, g.outChannels),
    breakdown: { streamCycles, channelSetupCycles, weightStallCycles, chunkReloadCycles, poolCycles, launchMs },
  };
}

/** Output size of a pool type (kpu-numerics §6.6): 2×2 stride 2 halves, 4×4 stride 4 quarters. */
export function pooledSize(size: number, poolType: number): number {
  switch (poolType) {
    case 1:
    case 2:
    case 5:
    case 6:
      return Math.max(1, Math.floor(size / 2));
    case 3:
    case 4:
    case 7:
      return Math.max(1, Math.floor(size / 4));
    default:
      return size;
  }
}
