/**
 * `kpusim board profile`: each layer's time on the board. MaixPy's `kpu.set_layers(task, n)` runs only
 * a v3 model's first n layers, so timing every prefix n = 1 … N (median over repeats) and taking
 * differences gives layer n − 1's board time: `T(i + 1) − T(i)`, `T(0) = 0`. Its spread is the sum of
 * the two prefixes' spreads (max − min of their repeats).
 *
 * A prefix run costs more than its layers, on the board as in the model: the per-run overhead (in
 * the first difference), and, where the prefix ends on a K210_CONV that writes only to KPU memory,
 * the download of that output to main memory which the firmware switches on
 * (src/maixpy/modules/kpu-layers.ts). Those extras are priced by the timing model and subtracted
 * from the differences (`correction_ms`, listed per layer; `raw_ms` keeps the plain difference), so
 * that `board_ms` is the layer's own time and compares with the layer's `predicted_ms` as
 * `kpusim profile` prints it. A wrong download or overhead price shows as opposite errors on
 * neighbouring layers; `kpusim board calibrate` measures both.
 *
 * Where the firmware has no `set_layers` (CanMV) or the model is not v3, the layers are measured
 * with single-layer models written by kpusim's builder instead (`layer-models`, layer-models.ts):
 * each layer's replica model and its trivial model are timed whole, and the difference, less what
 * the timing model says the two models do differently around the layer, is the layer's board time.
 * The whole model is timed too where the firmware can feed its input.
 */
import type { Kmodel } from '../../kmodel-parser/model.js';
import { parseKmodel } from '../../kmodel-parser/parse.js';
import { prepare, type PreparedModel } from '../../kpu/interpreter.js';
import { profile, type LayerTiming, type Profile } from '../../kpu/timing/profile.js';
import type { TimingParams } from '../../kpu/timing/params.js';
import { setLayers } from '../../maixpy/modules/kpu-layers.js';
import type { LoadedKpuModel } from '../../maixpy/storage.js';
import { BoardError } from '../errors.js';
import { median, spread, type BoardInfo, type TimingBoard, type TimingJob } from './board.js';
import { layerReplicas, type LayerModel } from './layer-models.js';

export interface BoardProfileLayer {
  readonly index: number;
  readonly type: string;
  readonly unit: 'KPU' | 'CPU';
  /** The layer's time in the timing model (as `kpusim profile` prints it), ms. */
  readonly predicted_ms: number;
  /** The layer's board time: `raw_ms − correction_ms` (+ `priced_ms`), ms; null: not measured (see `reason`). */
  readonly board_ms: number | null;
  /** Spread of the difference: the two runs' spreads (max − min) added, ms. */
  readonly spread_ms: number | null;
  /** 100 · (predicted − board) / board; null when the board time is not positive or not measured. */
  readonly error_pct: number | null;
  /** Difference of the medians of the two timed runs (prefixes n and n − 1, or replica and trivial model), ms. */
  readonly raw_ms: number | null;
  /** What the model says the two runs differ in beyond the layer (subtracted from raw_ms), ms. */
  readonly correction_ms: number;
  /**
   * layer-models: the original layer's transfers, which the replica does not run, priced by the model and added, ms.
   */
  readonly priced_ms?: number;
  /** What the correction is made of, and how the replica differs from the layer. */
  readonly corrections: readonly string[];
  /** Why the layer has no board time (board_ms null). */
  readonly reason?: string;
}

export type BoardProfileMethod = 'set_layers-prefixes' | 'layer-models';

export interface BoardProfile {
  readonly board: BoardInfo;
  readonly method: BoardProfileMethod;
  readonly repeats: number;
  readonly layers: readonly BoardProfileLayer[];
  /**
   * The whole model: predicted and measured per run (board_ms null with `reason` when the firmware
   * cannot feed its input); the per-layer sums over the measured layers, predicted and board.
   */
  readonly total: {
    readonly predicted_ms: number;
    readonly board_ms: number | null;
    readonly spread_ms: number | null;
    readonly reason?: string;
    /** The timing model's per-run overhead (outside every layer), ms. */
    readonly overhead_ms: number;
    readonly measured_layers: number;
    readonly layers_predicted_ms: number;
    readonly layers_board_ms: number;
  };
  /**
   * Every timed run: prefixes n = 1 … N, or the replica, trivial and whole models; loops per repeat and the repeats'
   * times, ms per run.
   */
  readonly prefixes: readonly {
    readonly name: string;
    readonly layers?: number;
    readonly loops: number;
    readonly runs_ms: readonly number[];
  }[];
  /** The timing model's profile of the whole model at the parameters used. */
  readonly profile: Profile;
}

export interface BoardProfileOptions {
  /** The name of the model (job names, reports). */
  readonly name: string;
  readonly model: Kmodel;
  readonly bytes: Uint8Array;
  readonly prepared: PreparedModel;
  /** The timing parameters of the predicted column, at the board's clocks. */
  readonly params: TimingParams;
  /** Timed repeats per prefix (default 5). */
  readonly repeats?: number;
  /** Board time each repeat should last, ms (sets the loops; default 2). */
  readonly targetMs?: number;
  readonly maxLoops?: number;
  readonly progress?: (done: number, total: number) => void;
  /** Default: `set_layers-prefixes` where the model and firmware allow it, else `layer-models`. */
  readonly method?: BoardProfileMethod;
  /** The firmware has MaixPy's `kpu.set_layers` (default true). */
  readonly hasSetLayers?: boolean;
  /** The firmware runs kmodel v4 through MaixPy's KPU module (which needs `set_outputs` for forward). */
  readonly maixpyApi?: boolean;
  /** The kmodel versions the firmware loads (the whole model is timed only if its version is among them). */
  readonly loads?: readonly number[];
}

/** Why a model cannot be profiled with set_layers prefixes (null: it can). */
export function boardProfileRefusal(model: Kmodel, prepared: PreparedModel): string | null {
  if (model.version !== 3)
    return `per-layer board times by kpu.set_layers prefixes need a kmodel v3 (MaixPy offers set_layers for v3 only); this model is v${model.version}: use --method layer-models`;
  if (prepared.inputs.length !== 1) return `the model takes ${prepared.inputs.length} inputs; kpu.forward feeds one`;
  const s = prepared.inputs[0].shape;
  const c = s.length >= 3 ? s[s.length - 3] : 1;
  if (c !== 3) return `the timing script feeds an RGB image (3 channels); this model's input has ${c} channel(s)`;
  return null;
}

const rnd = (x: number, d = 6) => Math.round(x * 10 ** d) / 10 ** d;

/** The method `boardProfile` uses by default. */
export function defaultBoardProfileMethod(model: Kmodel, prepared: PreparedModel, hasSetLayers: boolean) {
  return hasSetLayers && boardProfileRefusal(model, prepared) === null ? 'set_layers-prefixes' : 'layer-models';
}

export async function boardProfile(board: TimingBoard, o: BoardProfileOptions): Promise<BoardProfile> {
  const method = o.method ?? defaultBoardProfileMethod(o.model, o.prepared, o.hasSetLayers ?? true);
  return method === 'layer-models' ? layerModelProfile(board, o) : prefixProfile(board, o);
}

async function prefixProfile(board: TimingBoard, o: BoardProfileOptions): Promise<BoardProfile> {
  if (o.hasSetLayers === false)
    throw new BoardError('UNSUPPORTED', `${o.name}: this firmware has no kpu.set_layers; use --method layer-models`);
  const why = boardProfileRefusal(o.model, o.prepared);
  if (why) throw new BoardError('UNSUPPORTED', `${o.name}: ${why}`);
  const info = await board.info();
  const events = o.prepared.events;
  const n = events.length;
  const loaded = {
    source: o.name,
    bytes: o.bytes.length,
    model: o.model,
    prepared: o.prepared,
    boardMs: 0,
    timing: o.params,
    input: o.prepared.inputs[0],
    layerCount: n,
    lastLayerType: n ? events[n - 1].type : '',
  } satisfies LoadedKpuModel;
  const prof = profile(events, { params: o.params });
  // The model's time of each prefix run as the firmware runs it (kpu-layers.ts), and what it adds
  // beyond the prefix's layers: the forced download of its last conv's output.
  const predicted: number[] = [];
  const forced: number[] = [];
  let sum = prof.overhead_ms;
  for (let i = 0; i < n; i++) {
    const p = setLayers(loaded, i + 1).prefix;
    if (!p) throw new BoardError('UNSUPPORTED', `${o.name}: set_layers(${i + 1}) is not a prefix of this model`);
    sum += prof.layers[i].ms;
    predicted.push(p.boardMs);
    const extra = p.boardMs - sum;
    forced.push(extra > 1e-9 ? extra : 0); // float rounding of the sums is not a download
  }
  const s = o.prepared.inputs[0].shape;
  const input = { c: 3, h: s[s.length - 2], w: s[s.length - 1] };
  const repeats = o.repeats ?? 5;
  const target = o.targetMs ?? 2;
  const maxLoops = o.maxLoops ?? 50;
  const jobs: TimingJob[] = predicted.map((p, i) => ({
    name: `prefix${i + 1}`,
    kmodel: o.bytes,
    input,
    layers: i + 1,
    repeats,
    loops: Math.max(1, Math.min(maxLoops, Math.ceil(target / p))),
  }));
  const runs = await board.time(jobs, o.progress);
  const med = runs.map((r) => median(r.perRunMs));
  const spr = runs.map((r) => spread(r.perRunMs));
  const layers: BoardProfileLayer[] = prof.layers.map((l, i) => {
    const raw = med[i] - (i > 0 ? med[i - 1] : 0);
    const corrections: string[] = [];
    let corr = 0;
    if (i === 0) {
      corr += prof.overhead_ms;
      corrections.push(`per-run overhead ${rnd(prof.overhead_ms, 4)} ms`);
    }
    if (forced[i] > 0) {
      corr += forced[i];
      corrections.push(`forced download of this output ${rnd(forced[i], 4)} ms`);
    }
    if (i > 0 && forced[i - 1] > 0) {
      corr -= forced[i - 1];
      corrections.push(`previous layer's forced download −${rnd(forced[i - 1], 4)} ms`);
    }
    const boardMs = raw - corr;
    return {
      index: l.index,
      type: l.type,
      unit: l.unit,
      predicted_ms: rnd(l.ms),
      board_ms: rnd(boardMs),
      spread_ms: rnd(spr[i] + (i > 0 ? spr[i - 1] : 0)),
      error_pct: boardMs > 0 ? rnd((100 * (l.ms - boardMs)) / boardMs, 3) : null,
      raw_ms: rnd(raw),
      correction_ms: rnd(corr),
      corrections,
    };
  });
  return {
    board: info,
    method: 'set_layers-prefixes',
    repeats,
    layers,
    total: {
      predicted_ms: rnd(predicted[n - 1]),
      board_ms: rnd(med[n - 1]),
      spread_ms: rnd(spr[n - 1]),
      overhead_ms: rnd(prof.overhead_ms),
      measured_layers: n,
      layers_predicted_ms: rnd(layers.reduce((a, l) => a + l.predicted_ms, 0)),
      layers_board_ms: rnd(layers.reduce((a, l) => a + (l.board_ms ?? 0), 0)),
    },
    prefixes: runs.map((r, i) => ({
      name: jobs[i].name,
      layers: i + 1,
      loops: jobs[i].loops,
      runs_ms: r.perRunMs.map((x) => rnd(x)),
    })),
    profile: prof,
  };
}

/** Why the timing script cannot run the whole model (null: it can), and output 0's shape for MaixPy's set_outputs. */
function wholeModel(o: BoardProfileOptions): { why: string | null; output0?: { c: number; h: number; w: number } } {
  const ins = o.prepared.inputs;
  if (ins.length !== 1) return { why: `the model takes ${ins.length} inputs; the timing script feeds one` };
  const d = ins[0];
  const s = d.shape;
  const c = s.length >= 3 ? s[s.length - 3] : 1;
  if (d.dtype !== 'uint8') return { why: `the model's input is ${d.dtype}; the timing script feeds an image` };
  if (c !== 3 && c !== 1)
    return { why: `the model's input has ${c} channels; the timing script feeds an image (1 or 3)` };
  if (o.loads && !o.loads.includes(o.model.version))
    return { why: `this firmware does not load kmodel v${o.model.version}` };
  if (o.model.version === 4 && o.maixpyApi) {
    const out = o.prepared.outputs[0];
    const t = [...out.shape];
    while (t.length < 3) t.unshift(1);
    const [oc, oh, ow] = t.slice(-3);
    if (out.dtype !== 'float32' || oc * oh * ow * 4 !== out.bytes)
      return {
        why: `MaixPy's forward of a v4 model needs a float output 0 (kpu.set_outputs); this one is ${out.dtype}`,
      };
    return { why: null, output0: { c: oc, h: oh, w: ow } };
  }
  return { why: null };
}

/** Per-layer board times from single-layer replica models and their trivial models (layer-models.ts). */
async function layerModelProfile(board: TimingBoard, o: BoardProfileOptions): Promise<BoardProfile> {
  const info = await board.info();
  const events = o.prepared.events;
  const prof = profile(events, { params: o.params });
  const replicas = layerReplicas(events, o.model.version);
  const repeats = o.repeats ?? 5;
  const target = o.targetMs ?? 2;
  const maxLoops = o.maxLoops ?? 50;

  // One job per distinct model (replicas and trivial models repeat across layers), and the whole model.
  const jobs: TimingJob[] = [];
  const predictedOf = new Map<string, { total: number; layers: readonly LayerTiming[] }>();
  const jobOf = new Map<string, number>();
  const addModel = (m: LayerModel): void => {
    if (jobOf.has(m.name)) return;
    const p = prepare(parseKmodel(m.kmodel, m.name), {});
    const pr = profile(p.events, { params: o.params });
    predictedOf.set(m.name, { total: pr.total_ms, layers: pr.layers });
    jobOf.set(m.name, jobs.length);
    jobs.push({
      name: m.name,
      kmodel: m.kmodel,
      input: m.input,
      repeats,
      loops: Math.max(1, Math.min(maxLoops, Math.ceil(target / pr.total_ms))),
    });
  };
  for (const r of replicas)
    if (r.measured) {
      addModel(r.a);
      addModel(r.b);
    }
  const whole = wholeModel(o);
  let wholeJob = -1;
  if (whole.why === null) {
    wholeJob = jobs.length;
    jobs.push({
      name: 'whole',
      kmodel: o.bytes,
      input: inputOf(o.prepared),
      ...(whole.output0 ? { output0: whole.output0 } : {}),
      repeats,
      loops: Math.max(1, Math.min(maxLoops, Math.ceil(target / prof.total_ms))),
    });
  }
  const runs = await board.time(jobs, o.progress);
  const med = runs.map((r) => median(r.perRunMs));
  const spr = runs.map((r) => spread(r.perRunMs));

  const layers: BoardProfileLayer[] = prof.layers.map((l, i) => {
    const r = replicas[i];
    const base = { index: l.index, type: l.type, unit: l.unit, predicted_ms: rnd(l.ms) };
    if (!r.measured)
      return {
        ...base,
        board_ms: null,
        spread_ms: null,
        error_pct: null,
        raw_ms: null,
        correction_ms: 0,
        corrections: [],
        reason: r.reason,
      };
    const ja = jobOf.get(r.a.name)!;
    const jb = jobOf.get(r.b.name)!;
    const pa = predictedOf.get(r.a.name)!;
    const pb = predictedOf.get(r.b.name)!;
    // The replica's own part: its work, and those of its transfers the original layer has too (same
    // kind and size). The original's other transfers are not in the replica: priced and added.
    const rep = pa.layers[r.own];
    const unused = [...rep.transfers];
    let own = rep.compute_ms;
    const unmatched: (typeof l.transfers)[number][] = [];
    for (const t of l.transfers) {
      const k = unused.findIndex((u) => u.kind === t.kind && u.bytes === t.bytes);
      if (k < 0) unmatched.push(t);
      else own += unused.splice(k, 1)[0].ms;
    }
    const corr = pa.total - pb.total - own;
    const raw = med[ja] - med[jb];
    const priced = unmatched.reduce((a, t) => a + t.ms, 0);
    const boardMs = raw - corr + priced;
    const corrections = [
      `replica minus trivial model beyond the layer's own work: ${rnd(corr, 4)} ms (the two models' different downloads)`,
      ...r.notes,
    ];
    if (priced > 0)
      corrections.push(
        `the layer's own transfers (${unmatched.map((t) => `${t.kind} ${t.bytes} B`).join(', ')}), not in the replica: ${rnd(priced, 4)} ms priced by the model and added`,
      );
    return {
      ...base,
      board_ms: rnd(boardMs),
      spread_ms: rnd(spr[ja] + spr[jb]),
      error_pct: boardMs > 0 ? rnd((100 * (l.ms - boardMs)) / boardMs, 3) : null,
      raw_ms: rnd(raw),
      correction_ms: rnd(corr),
      ...(priced > 0 ? { priced_ms: rnd(priced) } : {}),
      corrections,
    };
  });
  const measured = layers.filter((l) => l.board_ms !== null);
  return {
    board: info,
    method: 'layer-models',
    repeats,
    layers,
    total: {
      predicted_ms: rnd(prof.total_ms),
      board_ms: wholeJob >= 0 ? rnd(med[wholeJob]) : null,
      spread_ms: wholeJob >= 0 ? rnd(spr[wholeJob]) : null,
      ...(whole.why !== null ? { reason: whole.why } : {}),
      overhead_ms: rnd(prof.overhead_ms),
      measured_layers: measured.length,
      layers_predicted_ms: rnd(measured.reduce((a, l) => a + l.predicted_ms, 0)),
      layers_board_ms: rnd(measured.reduce((a, l) => a + (l.board_ms ?? 0), 0)),
    },
    prefixes: runs.map((r, i) => ({
      name: jobs[i].name,
      loops: jobs[i].loops,
      runs_ms: r.perRunMs.map((x) => rnd(x)),
    })),
    profile: prof,
  };
}

function inputOf(p: PreparedModel): { c: number; h: number; w: number } {
  const s = p.inputs[0].shape;
  return { c: s.length >= 3 ? s[s.length - 3] : 1, h: s[s.length - 2] ?? 1, w: s[s.length - 1] };
}
