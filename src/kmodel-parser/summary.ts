/**
 * Static facts about a parsed model, for `kpusim info` and the memory report: per-layer shapes,
 * kernel, pool, activation, MACs and weight bytes, totals, main-memory need and the AI SRAM
 * footprint of the largest KPU layer. Pure functions of the parsed model.
 */
import type { ActivationSegment } from './kpu-layer-argument.js';
import { kpuRows } from './kpu-layout.js';
import type { LayerBase } from './layer.js';
import { kpuConvGeometry, POOL_TYPE_NAMES, type Kmodel, type KpuConvParams, type TensorDesc } from './model.js';

export interface LayerSummary {
  readonly index: number;
  readonly type: string;
  readonly unit: 'KPU' | 'CPU';
  readonly inputs: readonly (readonly number[])[];
  readonly outputs: readonly (readonly number[])[];
  readonly kernel?: number;
  readonly depthwise?: boolean;
  readonly pool?: string;
  readonly activation?: string;
  readonly macs: number;
  readonly weight_bytes: number;
  /** AI SRAM bytes of the layer's input and output maps in the 64-byte-row layout. */
  readonly ai_sram_bytes?: number;
}

export interface ModelSummary {
  readonly version: number;
  readonly generation: string;
  readonly inputs: readonly TensorDesc[];
  readonly outputs: readonly TensorDesc[];
  readonly layers: readonly LayerSummary[];
  readonly total_macs: number;
  readonly kpu_layers: number;
  readonly cpu_layers: number;
  /** Model bytes resident in main SRAM plus the runtime's working buffer. */
  readonly main_memory_bytes: number;
  readonly ai_sram_largest_layer: { readonly index: number; readonly bytes: number } | null;
}

export function kpuConvMacs(p: KpuConvParams, batches = 1): number {
  const g = kpuConvGeometry(p.arg);
  return batches * g.outChannels * g.inHeight * g.inWidth * (g.depthwise ? 1 : g.inChannels) * g.kernel * g.kernel;
}

/**
 * Classifies a 16-segment table for people by the slopes of its distinct pieces (segment 0, the
 * sentinel below the first breakpoint, included): equal slopes draw a line, a flat first piece
 * then rising ones a ReLU, a shallow first piece then steeper ones a leaky ReLU.
 */
export function describeActivation(segs: readonly ActivationSegment[]): string {
  const pieces: ActivationSegment[] = [];
  for (const s of segs)
    if (pieces.length === 0 || s.x_start !== pieces[pieces.length - 1].x_start) pieces.push(s);
    else pieces[pieces.length - 1] = s; // equal starts: the later segment wins (kpu-numerics §10 C9)
  const slopes = pieces.map((s) => s.y_mul / 2 ** s.shift_number);
  const [first, ...rest] = slopes;
  if (slopes.every((m) => m === first)) return first === 0 ? 'constant' : 'linear';
  if (rest.length === 0) return 'linear';
  const restPositive = rest.every((m) => m > 0);
  if (first === 0 && restPositive) return rest.every((m) => m === rest[0]) ? 'relu' : 'relu-like';
  if (first > 0 && restPositive && first < Math.min(...rest))
    return rest.every((m) => m === rest[0]) ? 'leaky-relu' : 'leaky-relu-like';
  return `piecewise (${pieces.length} pieces)`;
}

function shapesOf(t: readonly TensorDesc[] | undefined): number[][] {
  return (t ?? []).map((d) => [...d.shape]);
}

export function summarizeLayer(layer: LayerBase): LayerSummary {
  const base = {
    index: layer.index,
    type: layer.type,
    unit: layer.unit,
    inputs: shapesOf(layer.inputs),
    outputs: shapesOf(layer.outputs),
  };
  const p = layer.kpu;
  // A CPU layer's MACs and weights are static facts its parser took from the op's definition.
  if (!p) return { ...base, macs: layer.macs ?? 0, weight_bytes: layer.weightBytes ?? 0 };
  const g = kpuConvGeometry(p.arg);
  const batches = (layer as unknown as { batches?: number }).batches ?? 1;
  const inLines = kpuRows(g.inWidth, g.inHeight, g.inChannels) * batches;
  const outLines = kpuRows(g.outWidth, g.outHeight, g.outChannels) * batches;
  return {
    ...base,
    inputs: base.inputs.length ? base.inputs : [[batches, g.inChannels, g.inHeight, g.inWidth]],
    outputs: base.outputs.length ? base.outputs : [[batches, g.outChannels, g.outHeight, g.outWidth]],
    kernel: g.kernel,
    depthwise: g.depthwise,
    pool: POOL_TYPE_NAMES[g.poolType] ?? `pool ${g.poolType}`,
    activation: describeActivation(p.activation),
    macs: kpuConvMacs(p, batches),
    weight_bytes: p.weights.length,
    ai_sram_bytes: 64 * (inLines + outLines),
  };
}

export function summarizeModel(model: Kmodel, fileBytes: number): ModelSummary {
  const m = model as unknown as {
    version: number;
    generation?: string;
    inputs?: readonly TensorDesc[];
    outputs?: readonly TensorDesc[];
    layers: readonly LayerBase[];
    mainMemBytes?: number;
    dataPoolBytes?: number;
  };
  const layers = m.layers.map(summarizeLayer);
  let largest: { index: number; bytes: number } | null = null;
  for (const l of layers)
    if (l.ai_sram_bytes !== undefined && (!largest || l.ai_sram_bytes > largest.bytes))
      largest = { index: l.index, bytes: l.ai_sram_bytes };
  return {
    version: m.version,
    generation: m.generation ?? `kmodel v${m.version}`,
    inputs: m.inputs ?? [],
    outputs: m.outputs ?? [],
    layers,
    total_macs: layers.reduce((a, l) => a + l.macs, 0),
    kpu_layers: layers.filter((l) => l.unit === 'KPU').length,
    cpu_layers: layers.filter((l) => l.unit === 'CPU').length,
    main_memory_bytes: fileBytes + (m.mainMemBytes ?? 0) + (m.dataPoolBytes ?? 0),
    ai_sram_largest_layer: largest,
  };
}
