/**
 * Per-layer board times without `kpu.set_layers` (kmodel v4/v5, CanMV firmware): for each layer,
 * two small kmodel v3 files written by kpusim's builder (src/builder), timed whole on the board.
 *
 * - `a`: a 1×1 "feeder" conv from the 3-channel input to the layer's input shape, then a replica of
 *   the layer (the same KPU conv geometry: channels, map size, kernel, depthwise, pool, 8-bit
 *   weights), its result sent to main memory;
 * - `b`: the same feeder alone, its result sent to main memory (the trivial model of that input).
 *
 * `T(a) − T(b)` is the replica's time plus what the two models do differently around it (the two
 * downloads of different sizes). The timing model prices that difference and it is subtracted
 * (`correction_ms`); what remains is the layer's own KPU time on the board. Transfers the original
 * layer causes (v4's CPU download of a conv output, v3's input upload) are not in the replica: the
 * timing model prices them and they are added, listed in the row (`priced_ms`). Weight values,
 * activations and quantisation do not enter the timing model (docs/timing.md), so the replica's
 * weights are pseudo-random.
 *
 * CPU layers: kmodel v3's DEQUANTIZE, GLOBAL_AVERAGE_POOL2D and FULLY_CONNECTED have builder
 * replicas of the same size (the same runtime code on the board). Every other CPU layer is
 * "not measured" with the reason; in particular the nncase 0.2 runtime's ops (v4, v5) run
 * different code from the SDK runtime a v3 model runs, so no v3 model can time them.
 */
import type { LayerEvent } from '../../kpu/events.js';
import { PlanBuilder } from './suite.js';

export interface LayerModel {
  readonly name: string;
  readonly kmodel: Uint8Array;
  /** The model's input (3 channels, u8). */
  readonly input: { readonly c: 3; readonly h: number; readonly w: number };
}

/** How one layer is measured, or why it is not. */
export type LayerReplica =
  | {
      readonly index: number;
      readonly measured: true;
      /** The replica model and the trivial one. */
      readonly a: LayerModel;
      readonly b: LayerModel;
      /** The replica's layer in `a` (an index into a's events). */
      readonly own: number;
      /** What differs between the original layer and its replica (none: empty). */
      readonly notes: readonly string[];
    }
  | { readonly index: number; readonly measured: false; readonly reason: string };

/** The builder's pool type with the same output size (the timing model prices every pool type alike). */
function builderPool(poolType: number): { pool: number; note?: string } {
  if (poolType === 0 || poolType === 1 || poolType === 5 || poolType === 6 || poolType === 9) return { pool: poolType };
  if (poolType === 2) return { pool: 1, note: 'pool type 2 written as type 1 (the same 2×2 stride-2 window)' };
  if (poolType === 8) return { pool: 9, note: 'pool type 8 written as type 9 (the same stride-1 window)' };
  // 3, 4, 7: 4×4 stride 4; the builder writes none of them.
  return {
    pool: 1,
    note: `pool type ${poolType} (4×4 stride 4) written as type 1 (2×2 stride 2): the builder writes no 4×4 pool`,
  };
}

const dims3 = (s: readonly number[] | undefined): [number, number, number] => {
  const t = [...(s ?? [])];
  while (t.length < 3) t.unshift(1);
  const [c, h, w] = t.slice(-3);
  return [c, h, w];
};

const MAX_MAP = 2048;

/** The trivial model of a KPU map c×h×w: the feeder conv alone, to main memory. */
function trivial(c: number, h: number, w: number, tail?: 'dequantize' | 'gap'): LayerModel {
  const name = `lm_feed_${c}_${w}x${h}${tail ? `_${tail}` : ''}`;
  const b = new PlanBuilder(name, 3, h, w);
  let t = b.conv(b.input, { oc: c, k: 1, main: true }).main!;
  if (tail) t = b.cpu('dequantize', t, b.tensors[t], 'main', 'f32');
  if (tail === 'gap') t = b.cpu('gap', t, { c, h: 1, w: 1 }, 'main', 'f32');
  return { name, kmodel: b.build(t), input: { c: 3, h, w } };
}

function kpuReplica(ev: LayerEvent): LayerReplica {
  const k = ev.kpu!;
  const g = k.geometry;
  const i = ev.index;
  if (k.weightBits !== 8)
    return {
      index: i,
      measured: false,
      reason: `16-bit weights: kpusim's builder writes 8-bit weights only, and the timing of 16-bit weights differs`,
    };
  if (k.batches > 1)
    return { index: i, measured: false, reason: `${k.batches} batch items in one layer: the builder writes one` };
  if (g.kernel !== 1 && g.kernel !== 3)
    return { index: i, measured: false, reason: `kernel ${g.kernel}×${g.kernel}: the builder writes 1×1 and 3×3` };
  if (g.depthwise && g.outChannels !== g.inChannels)
    return { index: i, measured: false, reason: 'a depthwise conv with a channel multiplier: the builder writes none' };
  if (g.inWidth > MAX_MAP || g.inHeight > MAX_MAP)
    return { index: i, measured: false, reason: `a ${g.inWidth}×${g.inHeight} map is larger than the replicas' limit` };
  const { pool, note } = builderPool(g.poolType);
  const notes = note ? [note] : [];
  const name = `lm_conv_${g.inChannels}_${g.outChannels}_${g.inWidth}x${g.inHeight}_k${g.kernel}${g.depthwise ? 'dw' : ''}_p${pool}`;
  const b = new PlanBuilder(name, 3, g.inHeight, g.inWidth);
  const feed = b.conv(b.input, { oc: g.inChannels, k: 1 });
  const r = b.conv(feed.out, { oc: g.outChannels, k: g.kernel as 1 | 3, dw: g.depthwise, pool, main: true });
  return {
    index: i,
    measured: true,
    a: { name, kmodel: b.build(r.main!), input: { c: 3, h: g.inHeight, w: g.inWidth } },
    b: trivial(g.inChannels, g.inHeight, g.inWidth),
    own: 1,
    notes,
  };
}

function cpuReplica(ev: LayerEvent, version: number): LayerReplica {
  const i = ev.index;
  if (version !== 3)
    return {
      index: i,
      measured: false,
      reason: `an op of the nncase 0.2 runtime (kmodel v${version}): a v3 replica would run the SDK runtime's different code`,
    };
  const [c, h, w] = dims3(ev.inputShapes[0]);
  if (ev.type === 'DEQUANTIZE' || ev.type === 'GLOBAL_AVERAGE_POOL2D') {
    if (h > MAX_MAP || w > MAX_MAP || c * h * w !== ev.inputShapes[0]?.reduce((x, y) => x * y, 1))
      return { index: i, measured: false, reason: `input shape ${String(ev.inputShapes[0])} has no replica` };
    const gap = ev.type === 'GLOBAL_AVERAGE_POOL2D';
    const name = `lm_${gap ? 'gap' : 'deq'}_${c}_${w}x${h}`;
    const b = new PlanBuilder(name, 3, h, w);
    let t = b.conv(b.input, { oc: c, k: 1, main: true }).main!;
    t = b.cpu('dequantize', t, b.tensors[t], 'main', 'f32');
    if (gap) t = b.cpu('gap', t, { c, h: 1, w: 1 }, 'main', 'f32');
    return {
      index: i,
      measured: true,
      a: { name, kmodel: b.build(t), input: { c: 3, h, w } },
      b: trivial(c, h, w, gap ? 'dequantize' : undefined),
      own: gap ? 2 : 1,
      notes: [],
    };
  }
  if (ev.type === 'QUANTIZED_RESIZE_NEAREST_NEIGHBOR' || ev.type === 'K210_UPLOAD') {
    const [oc, oh, ow] = dims3(ev.outputShapes[0]);
    const whole = (s: readonly number[] | undefined, n: number) => (s ?? []).reduce((x, y) => x * y, 1) === n;
    if (
      Math.max(h, w, oh, ow) > MAX_MAP ||
      !whole(ev.inputShapes[0], c * h * w) ||
      !whole(ev.outputShapes[0], oc * oh * ow) ||
      oc !== c
    )
      return {
        index: i,
        measured: false,
        reason: `shapes ${String(ev.inputShapes[0])} → ${String(ev.outputShapes[0])} have no replica`,
      };
    const up = ev.type === 'K210_UPLOAD';
    if (up && (oh !== h || ow !== w))
      return { index: i, measured: false, reason: 'an upload that changes the map size has no replica' };
    const name = `lm_${up ? 'upload' : 'resize'}_${c}_${w}x${h}_${ow}x${oh}`;
    const b = new PlanBuilder(name, 3, h, w);
    const t = b.conv(b.input, { oc: c, k: 1, main: true }).main!;
    // An upload's map needs a KPU conv after it (a v3 model ends in main memory): a small 1×1 conv to 4 channels.
    const out = up
      ? b.conv(b.cpu('upload', t, b.tensors[t], 'kpu', 'u8'), { oc: 4, k: 1, main: true }).main!
      : b.cpu('resize', t, { c, h: oh, w: ow }, 'main', 'u8');
    return {
      index: i,
      measured: true,
      a: { name, kmodel: b.build(out), input: { c: 3, h, w } },
      b: trivial(c, h, w),
      own: 1,
      notes: up ? ['the replica adds a 1×1 conv to 4 channels after the upload (priced in the correction)'] : [],
    };
  }
  if (ev.type === 'FULLY_CONNECTED') {
    const nIn = (ev.inputShapes[0] ?? []).reduce((x, y) => x * y, 1);
    const nOut = (ev.outputShapes[0] ?? []).reduce((x, y) => x * y, 1);
    if (!(nIn > 0 && nOut > 0 && nIn * nOut === ev.macs))
      return { index: i, measured: false, reason: 'its input and output sizes do not give its MACs' };
    if (nIn > 4096) return { index: i, measured: false, reason: `${nIn} inputs: more channels than a replica feeds` };
    // The input vector: a global average pool of an nIn-channel 4×4 map.
    const name = `lm_fc_${nIn}_${nOut}`;
    const b = new PlanBuilder(name, 3, 4, 4);
    let t = b.conv(b.input, { oc: nIn, k: 1, main: true }).main!;
    t = b.cpu('dequantize', t, b.tensors[t], 'main', 'f32');
    t = b.cpu('gap', t, { c: nIn, h: 1, w: 1 }, 'main', 'f32');
    t = b.fc(t, nOut);
    return {
      index: i,
      measured: true,
      a: { name, kmodel: b.build(t), input: { c: 3, h: 4, w: 4 } },
      b: trivial(nIn, 4, 4, 'gap'),
      own: 3,
      notes: [],
    };
  }
  return {
    index: i,
    measured: false,
    reason: "kpusim's builder writes no one-layer v3 model of this op",
  };
}

/** How each layer of a model is measured by the layer-model method. */
export function layerReplicas(events: readonly LayerEvent[], version: number): LayerReplica[] {
  return events.map((ev) => {
    if (ev.kpu) return kpuReplica(ev);
    if (ev.unit === 'KPU')
      return { index: ev.index, measured: false, reason: 'a KPU layer without a conv geometry: no replica' };
    return cpuReplica(ev, version);
  });
}
