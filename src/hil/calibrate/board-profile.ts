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
 */
import type { Kmodel } from '../../kmodel-parser/model.js';
import type { PreparedModel } from '../../kpu/interpreter.js';
import { profile, type Profile } from '../../kpu/timing/profile.js';
import type { TimingParams } from '../../kpu/timing/params.js';
import { setLayers } from '../../maixpy/modules/kpu-layers.js';
import type { LoadedKpuModel } from '../../maixpy/storage.js';
import { BoardError } from '../errors.js';
import { median, spread, type BoardInfo, type TimingBoard, type TimingJob } from './board.js';

export interface BoardProfileLayer {
  readonly index: number;
  readonly type: string;
  readonly unit: 'KPU' | 'CPU';
  /** The layer's time in the timing model (as `kpusim profile` prints it), ms. */
  readonly predicted_ms: number;
  /** The layer's board time: `raw_ms − correction_ms`, ms. */
  readonly board_ms: number;
  /** Spread of the difference: the two prefixes' spreads added, ms. */
  readonly spread_ms: number;
  /** 100 · (predicted − board) / board; null when the board time is not positive. */
  readonly error_pct: number | null;
  /** Difference of the medians of prefixes index + 1 and index, ms. */
  readonly raw_ms: number;
  /** What the model says the prefix runs add beyond the layer (subtracted from raw_ms), ms. */
  readonly correction_ms: number;
  /** What the correction is made of. */
  readonly corrections: readonly string[];
}

export interface BoardProfile {
  readonly board: BoardInfo;
  readonly method: 'set_layers-prefixes';
  readonly repeats: number;
  readonly layers: readonly BoardProfileLayer[];
  /** The whole model (all N layers): predicted and measured per run. */
  readonly total: { readonly predicted_ms: number; readonly board_ms: number; readonly spread_ms: number };
  /** Per prefix n = 1 … N: loops per repeat and the repeats' times, ms per run. */
  readonly prefixes: readonly {
    readonly layers: number;
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
}

/** Why a model cannot be profiled per layer on this board (null: it can). */
export function boardProfileRefusal(model: Kmodel, prepared: PreparedModel): string | null {
  if (model.version !== 3)
    return `per-layer board times need kpu.set_layers, which MaixPy offers for kmodel v3 only; this model is v${model.version} (timing single-layer models instead is not available in this version of kpusim)`;
  if (prepared.inputs.length !== 1) return `the model takes ${prepared.inputs.length} inputs; kpu.forward feeds one`;
  const s = prepared.inputs[0].shape;
  const c = s.length >= 3 ? s[s.length - 3] : 1;
  if (c !== 3) return `the timing script feeds an RGB image (3 channels); this model's input has ${c} channel(s)`;
  return null;
}

const rnd = (x: number, d = 6) => Math.round(x * 10 ** d) / 10 ** d;

export async function boardProfile(board: TimingBoard, o: BoardProfileOptions): Promise<BoardProfile> {
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
    total: { predicted_ms: rnd(predicted[n - 1]), board_ms: rnd(med[n - 1]), spread_ms: rnd(spr[n - 1]) },
    prefixes: runs.map((r, i) => ({ layers: i + 1, loops: jobs[i].loops, runs_ms: r.perRunMs.map((x) => rnd(x)) })),
    profile: prof,
  };
}
