/**
 * Float reference and comparison for kmodel v5 (nncase 1.x).
 *
 * A v5 model's tensors are not in the file: the stackvm bytecode computes every address, shape
 * and stride at run time (and may branch). So the reference does not build a static graph as
 * for v3/v4; it follows the emulator's run through the per-op hook of kpu/v5 (hooks.ts), which
 * hands over each K210 op's and each stackvm tensor op's input and output views:
 *
 * - before an op: its float counterpart (v5-ops.ts) runs twice — on the emulator's own input
 *   values (isolated) and on the reference's shadow of memory (cumulative, v5-memory.ts);
 * - after it: the cumulative result goes into the shadow, and both results are compared with
 *   what the emulator wrote.
 *
 * A K210 function is entered by a stackvm CALL; the K210 ops read the caller's tensors and
 * write the caller's memory, so the float values flow through the call unchanged. The CALL's
 * own row compares the callee's results as the caller receives them.
 *
 * Quantisation (the real meaning of a uint8 map) is learned while the run goes, from the dataflow
 * as v3/v4's `inferQuant` does it statically: DEQUANTIZE states its input's scale and zero point
 * (real = q·scale + bias), QUANTIZE its output's (q = x·scale + bias), a kpu_conv2d its input's
 * zero point (arg_w = −zx when shr_w = 0); data movement (upload, download, copy, slice,
 * transpose, resize) keeps its input's quantisation. Facts can come after the layer they
 * describe, so every layer's agreement is accumulated as moments (sums, sums of squares and
 * products, max difference) in the quantised domain and turned into real-valued cosine, SNR
 * and max error once the run is over (v5 quantisation is per tensor, which makes that exact).
 */
import { KpuFault } from '../errors.js';
import { V5_DATATYPES, type K210Conv2dOp, type KmodelV5 } from '../kmodel-parser/v5/types.js';
import type { PreparedModel } from '../kpu/interpreter.js';
import type { V5Memories, V5OpHook, V5OpStep, V5View } from '../kpu/v5/hooks.js';
import { defaultStrides } from '../kpu/v5/tensor.js';
import type { MemBlock } from '../kpu/v5/memory.js';
import { runV5 } from '../kpu/v5/run.js';
import { TOLERANCES } from '../tolerances.js';
import type {
  CompareOptions,
  CompareRun,
  CumulativeMetrics,
  EmulatorLayerValues,
  IsolatedMetrics,
  LayerComparison,
  OutputComparison,
} from './compare.js';
import { NOT_EXECUTED, type RefLayer, type ReferenceModel } from './graph.js';
import { prepareKpuConvFloat, type KpuConvFloat } from './kpu-conv.js';
import { centredCosine, cosine, floatMismatchFraction, maxAbsDiff, snrDb } from './metrics.js';
import { floatOp, intRange, isFloatType, type V5FloatOp } from './v5-ops.js';
import { ShadowSpace, viewPositions } from './v5-memory.js';

/** The v5 part of a ReferenceModel: float KPU convs prepared once per layer. */
export interface V5Reference {
  readonly model: KmodelV5;
  kpuConv(op: K210Conv2dOp): KpuConvFloat;
}

/** Stackvm tensor functions and K210 ops with a float counterpart (v5-ops.ts). */
export const V5_FLOAT_OPS: readonly string[] = [
  'k210:kpu_upload',
  'k210:kpu_download',
  'k210:kpu_conv2d',
  'k210:copy',
  'stackvm:DEQUANTIZE',
  'stackvm:QUANTIZE',
  'stackvm:CONVERT',
  'stackvm:COPY',
  'stackvm:SLICE',
  'stackvm:TRANSPOSE',
  'stackvm:BINARY',
  'stackvm:REDUCE_WINDOW2D',
  'stackvm:RESIZE_IMAGE',
  'stackvm:CONV2D',
  'stackvm:CALL',
];

/**
 * The float reference of a v5 model. Its `layers` give index, type and unit of every layer (as
 * `kpusim info` prints them); their tensors are resolved during the run, so `inputs`/`outputs`
 * are empty and `compareOnce` follows the run instead (`v5`).
 */
export function buildReferenceV5(model: KmodelV5): ReferenceModel {
  const convs = new Map<K210Conv2dOp, KpuConvFloat>();
  const layers: RefLayer[] = model.layers.map((l) => ({
    index: l.index,
    type: l.type,
    unit: l.unit,
    inputs: [],
    outputs: [],
    ...(V5_FLOAT_OPS.includes(l.type)
      ? {}
      : { note: `no float counterpart of ${l.type}; the cumulative run takes the emulator's result` }),
  }));
  const v5: V5Reference = {
    model,
    kpuConv(op) {
      let c = convs.get(op);
      if (!c) {
        c = prepareKpuConvFloat(op.kpu, op.batches);
        convs.set(op, c);
      }
      return c;
    },
  };
  return {
    model,
    layers,
    inputs: [],
    outputs: [],
    constants: new Uint8Array(0),
    mainBytes: model.mainMemBytes,
    producers: [],
    v5,
    dispose() {
      for (const c of convs.values()) c.dispose();
      convs.clear();
    },
  };
}

// ---- agreement as moments ---------------------------------------------------------------------

/** Sums over element pairs (r, e) from which cosine, SNR and max error follow for any zero point and scale. */
class Moments {
  n = 0;
  sr = 0;
  se = 0;
  srr = 0;
  see = 0;
  sre = 0;
  /** Σ (r − e)², accumulated directly (no cancellation). */
  sdd = 0;
  maxd = 0;

  static of(r: ArrayLike<number>, e: ArrayLike<number>): Moments {
    const m = new Moments();
    const n = Math.min(r.length, e.length);
    for (let i = 0; i < n; i++) {
      const x = r[i];
      const y = e[i];
      m.sr += x;
      m.se += y;
      m.srr += x * x;
      m.see += y * y;
      m.sre += x * y;
      const d = x - y;
      m.sdd += d * d;
      const a = Math.abs(d);
      if (a > m.maxd || Number.isNaN(a)) m.maxd = a;
    }
    m.n = n;
    return m;
  }

  /** Cosine of (r − z) and (e − z). */
  cosine(z: number): number {
    const { n } = this;
    const rr = Math.max(0, this.srr - 2 * z * this.sr + n * z * z);
    const ee = Math.max(0, this.see - 2 * z * this.se + n * z * z);
    const re = this.sre - z * (this.sr + this.se) + n * z * z;
    if (rr === 0 && ee === 0) return 1;
    if (rr === 0 || ee === 0) return 0;
    const c = re / Math.sqrt(rr * ee);
    return c > 1 ? 1 : c < -1 ? -1 : c;
  }

  /** SNR of e against r after removing z (scale-free); null when identical. */
  snrDb(z: number): number | null {
    if (this.sdd === 0) return null;
    const s = Math.max(0, this.srr - 2 * z * this.sr + this.n * z * z);
    return 10 * Math.log10(Math.max(s, Number.MIN_VALUE) / this.sdd);
  }
}

// ---- quantisation learned from the dataflow ----------------------------------------------------

interface Fact {
  readonly zeroPoint?: number;
  /** Real units per quantum. */
  readonly scale?: number;
  readonly exact: boolean;
  readonly source: string;
}

interface V5Quant {
  readonly zeroPoint: number;
  readonly scale: number;
  readonly zeroPointKnown: boolean;
  readonly scaleKnown: boolean;
  readonly source: string;
}

/** Tags name op outputs (tag 0: memory no op wrote, e.g. the model input); union-find over them. */
class QuantTracker {
  private readonly parent: number[] = [0];
  readonly layerOf: number[] = [-1];
  private readonly facts = new Map<number, Fact[]>();
  private readonly fallback = new Map<number, { zeroPoint: number; source: string }>();

  newTag(layer: number): number {
    this.parent.push(this.parent.length);
    this.layerOf.push(layer);
    return this.parent.length - 1;
  }

  find(t: number): number {
    while (this.parent[t] !== t) {
      this.parent[t] = this.parent[this.parent[t]];
      t = this.parent[t];
    }
    return t;
  }

  union(a: number, b: number): void {
    if (a === 0 || b === 0) return;
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }

  addFact(tag: number, f: Fact): void {
    if (tag === 0) return;
    const list = this.facts.get(tag) ?? [];
    list.push(f);
    this.facts.set(tag, list);
  }

  setFallback(tag: number, zeroPoint: number, source: string): void {
    this.fallback.set(tag, { zeroPoint, source });
  }

  /** Quantisation of the group `tag` belongs to (call after the run). */
  resolve(tag: number): V5Quant {
    if (tag === 0)
      return {
        zeroPoint: 0,
        scale: 1,
        zeroPointKnown: false,
        scaleKnown: false,
        source: 'not written by any op (model input or untouched memory)',
      };
    const root = this.find(tag);
    const facts: Fact[] = [];
    let fb: { zeroPoint: number; source: string } | undefined;
    for (const [t, fs] of this.facts) if (this.find(t) === root) facts.push(...fs);
    for (const [t, f] of this.fallback) if (this.find(t) === root) fb ??= f;
    facts.sort((a, b) => Number(b.exact) - Number(a.exact));
    const zf = facts.find((f) => f.zeroPoint !== undefined);
    const sf = facts.find((f) => f.scale !== undefined);
    const parts: string[] = [];
    if (zf) parts.push(`zero point from ${zf.source}${zf.exact ? '' : ' (approximate)'}`);
    else parts.push(fb ? `zero point not stated (guessed from ${fb.source})` : 'zero point not stated (taken as 0)');
    parts.push(sf ? `scale from ${sf.source}` : 'scale not stated in the file (values in quanta)');
    return {
      zeroPoint: zf ? zf.zeroPoint! : (fb?.zeroPoint ?? 0),
      scale: sf ? sf.scale! : 1,
      zeroPointKnown: zf !== undefined,
      scaleKnown: sf !== undefined,
      source: parts.join('; '),
    };
  }
}

/** The activation's value at bn = 0 (real zero of a ReLU-like layer under nncase's BN folding). */
function activationAtZero(op: K210Conv2dOp): number {
  const segs = op.kpu.activation;
  let k = 15;
  while (k > 0 && !(0 > segs[k].x_start)) k--;
  const v = (0 - segs[k].x_start) * segs[k].y_mul * 2 ** -segs[k].shift_number + segs[k].bias;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Round half to even, then saturate to the integer type's range. */
function requantize(v: ArrayLike<number>, datatype: number): Float32Array {
  const [lo, hi] = intRange(datatype) ?? [0, 255];
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (!(x === x)) {
      out[i] = lo;
      continue;
    }
    let r = Math.round(x);
    if (r - x === 0.5 && r % 2 !== 0) r -= 1;
    out[i] = r < lo ? lo : r > hi ? hi : r;
  }
  return out;
}

// ---- the comparison ----------------------------------------------------------------------------

interface Pending {
  readonly step: V5OpStep;
  readonly op?: V5FloatOp;
  readonly inPos: Int32Array[];
  readonly outPos: Int32Array[];
  readonly cum?: Float32Array[];
  readonly iso?: Float32Array;
  readonly inTags: number[][];
  notes: string[];
  /** A nested op (inside a CALL) had no float counterpart. */
  carried: boolean;
}

interface LayerRecord {
  readonly index: number;
  readonly type: string;
  readonly unit: 'KPU' | 'CPU';
  readonly reference: 'float' | 'emulator';
  readonly datatype?: number;
  readonly shape?: readonly number[];
  /** Tag whose quantisation the output 0 values are in (integer outputs). */
  readonly tag: number;
  readonly cum?: Moments;
  readonly iso?: {
    readonly moments?: Moments;
    readonly maxLsb: number | null;
    readonly mismatch: number;
    readonly floatCosine?: number;
  };
  readonly producers: number[];
  readonly notes: string[];
}

const dtypeName = (dt: number) => V5_DATATYPES[dt] ?? `datatype ${dt}`;

function quantText(q: V5Quant): string {
  const z = Number(q.zeroPoint.toFixed(4));
  const s = q.scaleKnown ? String(Number(q.scale.toPrecision(6))) : 'unknown';
  return `zero point ${z}, scale ${s}: ${q.source}`;
}

/** Runs the emulator once on `inputs` with the float reference following it (see the file comment). */
export function compareOnceV5(
  prepared: PreparedModel,
  ref: ReferenceModel,
  inputs: readonly Uint8Array[],
  opts: CompareOptions = {},
): CompareRun {
  const v5 = ref.v5;
  if (!v5) throw new KpuFault('UNSUPPORTED', 'compareOnceV5 needs the reference of a v5 model', {}, 'prepare');
  const model = v5.model;
  const t0 = performance.now();
  let refMs = 0;
  const nLayers = model.layers.length;
  const [lo, hi] = opts.layers ?? [0, nLayers - 1];
  const inRange = (i: number) => i >= lo && i <= hi;
  const doIsolated = opts.isolated ?? true;

  const shadow = new ShadowSpace();
  const quant = new QuantTracker();
  const records = new Map<number, LayerRecord>();
  const stack: Pending[] = [];
  const kept = new Map<number, { values: Float32Array; tag: number; datatype: number }>();
  const poolReaders = new Set<string>();
  const uncovered = new Map<string, number>();
  const quirkLayerSet = new Set<number>();
  const ctx = { kpuConv: (s: V5OpStep) => v5.kpuConv(s.k210Op as K210Conv2dOp), kpuRules: prepared.kpuNumerics };

  const before = (step: V5OpStep, mem: V5Memories): Pending => {
    const inPos = step.inputs.map((v) => viewPositions(v));
    const outPos = step.outputs.map((v) => viewPositions(v));
    const notes: string[] = [];
    let op: V5FloatOp | undefined;
    try {
      op = floatOp(step, ctx);
    } catch (e) {
      notes.push(`reference could not be built: ${e instanceof Error ? e.message : String(e)}`);
    }
    const isCall = step.type === 'stackvm:CALL';
    let cum: Float32Array[] | undefined;
    let iso: Float32Array | undefined;
    if (op && !isCall) {
      try {
        cum = op.run(step.inputs.map((v, k) => shadow.readShadow(v, inPos[k])));
        if (doIsolated && inRange(step.index) && step.outputs.length) {
          const xs = step.inputs.map((v, k) => shadow.readEmulator(v, inPos[k]));
          if (op.runIsolated) {
            const r = op.runIsolated(xs);
            iso = r.value;
            if (r.note) notes.push(r.note);
          } else iso = op.run(xs)[0];
        }
      } catch (e) {
        notes.push(
          `reference failed: ${e instanceof Error ? e.message : String(e)}; the cumulative run took the emulator's result`,
        );
        cum = undefined;
        iso = undefined;
      }
      if (op.note) notes.push(op.note);
      const short = cum?.findIndex((c, k) => c.length < outPos[k].length) ?? -1;
      if (cum && short >= 0) {
        notes.push(
          `reference gave ${cum[short].length} values for output ${short} of ${outPos[short].length}; the cumulative run took the emulator's result`,
        );
        cum = undefined;
        iso = undefined;
      }
    }
    if (step.type === 'k210:kpu_conv2d' && notes.some((n) => n.includes('§6.4'))) quirkLayerSet.add(step.index);
    if (!isCall && !cum) {
      uncovered.set(step.type, (uncovered.get(step.type) ?? 0) + 1);
      for (const p of stack) p.carried = true;
    }
    // Operands in a data pool that no op wrote: the model reads memory it never initialises.
    if (step.type.startsWith('stackvm:') && !isCall) {
      const pools = new Set(mem.dataPools.map((b) => b.buffer));
      step.inputs.forEach((v, k) => {
        if (pools.has(v.block.bytes.buffer) && inPos[k].length && shadow.unwritten(v, inPos[k]) === inPos[k].length) {
          notes.push(
            `input ${k} (${v.shape.join('×')}) lies in a data pool no op wrote: its values are the pool's initial zeros, not weights from the file`,
          );
          poolReaders.add(step.type);
        }
      });
    }
    const inTags = step.inputs.map((v, k) => shadow.tags(v, inPos[k]));
    return { step, op, inPos, outPos, cum, iso, inTags, notes, carried: false };
  };

  const after = (step: V5OpStep, p: Pending): void => {
    const isCall = step.type === 'stackvm:CALL';
    const emu = step.outputs.map((v, k) => shadow.readEmulator(v, p.outPos[k]));
    let tag = 0;
    if (!isCall) {
      tag = quant.newTag(step.index);
      step.outputs.forEach((v, k) => shadow.write(v, p.cum ? p.cum[k] : emu[k], tag, p.outPos[k]));
      const intIn = step.inputs.map((v) => !isFloatType(v.datatype));
      if (p.op?.sameQuant) p.inTags.forEach((ts, k) => intIn[k] && ts.forEach((t) => quant.union(tag, t)));
      const prm = step.params;
      const src = `layer ${step.index} ${step.type}`;
      if (step.type === 'stackvm:DEQUANTIZE') {
        const s = prm.scale as number;
        const b = prm.bias as number;
        for (const t of p.inTags[0] ?? []) quant.addFact(t, { zeroPoint: -b / s, scale: s, exact: true, source: src });
      } else if (step.type === 'stackvm:QUANTIZE') {
        const s = prm.scale as number;
        const b = prm.bias as number;
        quant.addFact(tag, { zeroPoint: b, scale: 1 / s, exact: true, source: src });
      } else if (step.type === 'k210:kpu_conv2d') {
        const op = step.k210Op as K210Conv2dOp;
        const a = op.kpu.arg;
        for (const t of p.inTags[0] ?? [])
          quant.addFact(t, { zeroPoint: -a.arg_w * 2 ** -a.shr_w, exact: a.shr_w === 0, source: `${src} arg_w` });
        quant.setFallback(tag, activationAtZero(op), `the activation at bn = 0 of ${src}`);
      }
    }
    if (step.index < 0) return;
    const out0 = step.outputs[0];
    let cum: Moments | undefined;
    let outTag = tag;
    if (out0) {
      const r = shadow.readShadow(out0, p.outPos[0]);
      cum = Moments.of(r, emu[0]);
      if (isCall) outTag = shadow.tags(out0, p.outPos[0]).find((t) => t !== 0) ?? 0;
    }
    let iso: LayerRecord['iso'];
    if (p.iso && out0) {
      if (isFloatType(out0.datatype)) {
        iso = {
          maxLsb: null,
          mismatch: floatMismatchFraction(p.iso, emu[0], TOLERANCES.referenceIsolatedFloat),
          floatCosine: cosine(p.iso, emu[0]),
        };
      } else {
        const q = requantize(p.iso, out0.datatype);
        const e = emu[0];
        let m = 0;
        let k = 0;
        for (let i = 0; i < e.length; i++) {
          const d = Math.abs(q[i] - e[i]);
          if (d !== 0) k++;
          if (d > m) m = d;
        }
        iso = { moments: Moments.of(q, e), maxLsb: m, mismatch: e.length ? k / e.length : 0 };
      }
    }
    // A CALL's results come from the ops of the called function: its SNR drop is taken against
    // them (the ops' own rows carry the loss), not against the CALL's inputs.
    const fromTags = isCall && out0 ? [shadow.tags(out0, p.outPos[0])] : p.inTags;
    const producers = [...new Set(fromTags.flat().map((t) => quant.layerOf[t] ?? -1))];
    const notes = [...p.notes];
    if (isCall && p.carried)
      notes.push('some ops of the called function have no float counterpart: their emulator results were carried on');
    if (opts.keepValues && out0 && !isCall)
      kept.set(step.index, { values: emu[0], tag: outTag, datatype: out0.datatype });
    records.set(step.index, {
      index: step.index,
      type: step.type,
      unit: step.unit,
      reference: isCall ? 'float' : p.cum ? 'float' : 'emulator',
      ...(out0 ? { datatype: out0.datatype, shape: out0.shape } : {}),
      tag: outTag,
      ...(cum ? { cum } : {}),
      ...(iso ? { iso } : {}),
      producers,
      notes,
    });
  };

  const onOp: V5OpHook = (phase, step, mem) => {
    const t = performance.now();
    if (phase === 'before') stack.push(before(step, mem));
    else {
      const p = stack.pop();
      if (!p || p.step.index !== step.index || p.step.type !== step.type)
        throw new KpuFault('BAD_LAYER', `reference: op hooks out of order at layer ${step.index}`);
      after(step, p);
    }
    refMs += performance.now() - t;
  };

  const result = runV5(model, inputs[0] ?? new Uint8Array(0), {
    numerics: prepared.kpuNumerics,
    moreInputs: inputs.slice(1),
    onOp,
  });

  const t1 = performance.now();
  // Metrics, now that every quantisation fact is known.
  const quants = new Map<number, V5Quant>();
  const quantOf = (tag: number): V5Quant => {
    const root = tag === 0 ? 0 : quant.find(tag);
    let q = quants.get(root);
    if (!q) {
      q = quant.resolve(tag);
      quants.set(root, q);
    }
    return q;
  };
  const cumSnr = new Map<number, number | null>();
  const layers: LayerComparison[] = model.layers.map((l) => {
    const rec = records.get(l.index);
    if (!rec) return { index: l.index, type: l.type, unit: l.unit, reference: 'emulator', note: NOT_EXECUTED };
    const isInt = rec.datatype !== undefined && !isFloatType(rec.datatype);
    const q = isInt ? quantOf(rec.tag) : undefined;
    const z = q ? q.zeroPoint : 0;
    const s = q ? q.scale : 1;
    let cumulative: CumulativeMetrics | undefined;
    if (rec.cum) {
      const snr = rec.cum.snrDb(z);
      cumSnr.set(rec.index, snr);
      cumulative = {
        cosine: rec.cum.cosine(z),
        snr_db: snr,
        max_abs: rec.cum.maxd * s,
        max_abs_unit: !q || q.scaleKnown ? 'real' : 'lsb',
        snr_drop_db: null,
      };
    }
    let isolated: IsolatedMetrics | undefined;
    if (rec.iso)
      isolated = {
        cosine: rec.iso.floatCosine ?? rec.iso.moments!.cosine(z),
        max_lsb_diff: rec.iso.maxLsb,
        mismatch_fraction: rec.iso.mismatch,
      };
    return {
      index: rec.index,
      type: rec.type,
      unit: rec.unit,
      reference: rec.reference,
      ...(rec.datatype !== undefined
        ? { output: { dtype: dtypeName(rec.datatype), shape: rec.shape!, ...(q ? { quant: quantText(q) } : {}) } }
        : {}),
      ...(isolated ? { isolated } : {}),
      ...(cumulative ? { cumulative } : {}),
      ...(rec.notes.length ? { note: rec.notes.join('; ') } : {}),
    };
  });
  // SNR drop against the worst producer of the layer's inputs (exact inputs: null).
  for (let k = 0; k < layers.length; k++) {
    const c = layers[k];
    const rec = records.get(c.index);
    if (!c.cumulative || !rec) continue;
    const ins = rec.producers.filter((x) => x >= 0).map((x) => cumSnr.get(x));
    const finite = ins.filter((v): v is number => typeof v === 'number');
    const inSnr = finite.length ? Math.min(...finite) : null;
    const out = c.cumulative.snr_db;
    layers[k] = {
      ...c,
      cumulative: { ...c.cumulative, snr_drop_db: inSnr === null || out === null ? null : inSnr - out },
    };
  }

  const outputs: OutputComparison[] = [];
  const referenceOutputs: Float64Array[] = [];
  const emulatorOutputValues: Float64Array[] = [];
  const entry = model.modules[model.header.entryModule]?.functions[model.header.entryFunction];
  result.outputs.forEach((bytes, k) => {
    const desc = entry?.outputs[k];
    const datatype = desc?.range.datatype ?? 9;
    const shape = desc?.shape ?? [bytes.length / 4];
    const view: V5View = {
      block: { bytes } as MemBlock,
      offset: 0,
      datatype,
      shape,
      strides: defaultStrides(shape),
      layout: 'strided',
    };
    const pos = viewPositions(view);
    let r = Float64Array.from(shadow.readShadow(view, pos));
    let e = Float64Array.from(shadow.readEmulator(view, pos));
    if (!isFloatType(datatype)) {
      const q = quantOf(shadow.tags(view, pos).find((t) => t !== 0) ?? 0);
      r = r.map((v) => (v - q.zeroPoint) * q.scale);
      e = e.map((v) => (v - q.zeroPoint) * q.scale);
    }
    referenceOutputs.push(r);
    emulatorOutputValues.push(e);
    outputs.push({
      index: k,
      cosine: cosine(r, e),
      centred_cosine: centredCosine(r, e),
      snr_db: snrDb(r, e),
      max_abs: maxAbsDiff(r, e),
    });
  });

  const kpuConvs = model.layers.filter((l) => l.type === 'k210:kpu_conv2d').length;
  const quirkLayers = quirkLayerSet.size;
  const notes: string[] = [];
  if (uncovered.size) {
    notes.push(
      `not covered by the float model: ${[...uncovered].map(([t, n]) => `${t} (${n} op${n === 1 ? '' : 's'})`).join(', ')}; ` +
        "the cumulative run took the emulator's results there, so the quantisation loss of those ops (and the float error of anything after them that depends only on them) is not measured",
    );
  } else {
    notes.push(
      'the float model covers every op that ran: the cumulative run goes from the model input to the outputs without taking any emulator result',
    );
  }
  if (!kpuConvs) notes.push('no KPU conv layers: the isolated KPU check does not apply (every op runs on the CPU)');
  else if (quirkLayers) {
    notes.push(
      `the isolated check re-quantises each KPU conv with the KPU's activation rounding (docs/kpu-numerics.md §6.4), including nncase's rounding of negative products ` +
        `(decreasing segments of SiLU-like tables), which lands up to 2 LSB from the nearest integer: ${quirkLayers} of ${kpuConvs} KPU conv layers have values it moves (see each layer's note)`,
    );
  }
  if (poolReaders.size) {
    notes.push(
      `${[...poolReaders].join(', ')} read${poolReaders.size === 1 ? 's' : ''} operands from a data pool no op writes (zero-filled, as the golden driver leaves it): ` +
        'the file carries no values for them (e.g. an nncase benchmark_only build without weights), so both sides compute with zeros and their agreement says nothing about the arithmetic',
    );
  }
  const notRun = layers.filter((l) => l.note === NOT_EXECUTED).length;
  if (notRun)
    notes.push(
      `${notRun} layer${notRun === 1 ? '' : 's'} of the file did not run on this input (functions never called)`,
    );
  refMs += performance.now() - t1;

  return {
    layers: layers.filter((c) => inRange(c.index)),
    outputs,
    emulatorOutputs: result.outputs,
    referenceOutputs,
    emulatorOutputValues,
    timings: { total_ms: performance.now() - t0, reference_ms: refMs },
    notes,
    ...(opts.keepValues ? { emulatorLayers: keptValues(kept, records, quantOf) } : {}),
  };
}

/** The kept emulator outputs in real values (integer ones through their tracked quantisation). */
function keptValues(
  kept: ReadonlyMap<number, { values: Float32Array; tag: number; datatype: number }>,
  records: ReadonlyMap<number, LayerRecord>,
  quantOf: (tag: number) => V5Quant,
): EmulatorLayerValues[] {
  return [...kept].map(([index, k]) => {
    const rec = records.get(index)!;
    const q = isFloatType(k.datatype) ? undefined : quantOf(k.tag);
    const values = q ? Float64Array.from(k.values, (v) => (v - q.zeroPoint) * q.scale) : Float64Array.from(k.values);
    return { index, type: rec.type, unit: rec.unit, shape: rec.shape ?? [], values, producers: rec.producers };
  });
}
