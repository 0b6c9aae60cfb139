/**
 * The emulated kmodel against its original float network (`kpusim compare --float`): the whole
 * quantisation loss (weights and activations), where the reconstructed reference of
 * src/reference/ sees only the activation part.
 *
 * - Outputs are matched by shape (size-1 dimensions ignored; a float NHWC map against the
 *   kmodel's NCHW one is transposed), one-to-one, best agreement first; the matching is reported.
 * - Layers: kmodels carry no layer names, so each kmodel layer is matched to a float tensor of
 *   the same shape, in order (never earlier than the previous match, and after it unless the layer
 *   is a CPU layer reading that match's result), taking the earliest
 *   candidate within `TOLERANCES.floatLayerMatch` of the best cosine. Cosine is independent of a
 *   map's scale, which the file does not state for maps between two KPU layers (src/reference/quant.ts).
 * - Mapping check: the float model is also run under the documented alternative input mappings
 *   and the swapped layout; when one agrees clearly better than the given mapping, the report says
 *   so and by how much (a wrong mapping looks like a large quantisation loss).
 */
import type { TensorDesc } from '../kmodel-parser/model.js';
import type { PreparedModel } from '../kpu/interpreter.js';
import { compareOnce } from '../reference/compare.js';
import type { ReferenceModel } from '../reference/graph.js';
import { centredCosine, cosine, maxAbsDiff, snrDb } from '../reference/metrics.js';
import { realValues } from '../reference/quant.js';
import { readBytes } from '../reference/tensors.js';
import { TOLERANCES } from '../tolerances.js';
import { alternativeMappings, mappingText, toFloatInput, type FloatMapping } from './mapping.js';
import type { FloatModel, FloatTensor } from './types.js';

export interface EmulatorTensor {
  readonly shape: readonly number[];
  readonly values: Float64Array;
}

export interface EmulatorLayer extends EmulatorTensor {
  readonly index: number;
  readonly type: string;
  readonly unit: 'KPU' | 'CPU';
  /** The layers that produced this layer's inputs (−1: the model input), when the dataflow is known. */
  readonly producers?: readonly number[];
}

export interface EmulatorRun {
  readonly outputs: readonly EmulatorTensor[];
  /** Every layer's first output, real-valued (in quanta where the scale is unknown). */
  readonly layers?: readonly EmulatorLayer[];
  readonly ms: number;
}

/**
 * Runs the kmodel once. `ref` (v3/v4) gives where each layer's result lives and the real values
 * of uint8 tensors; without it only float32 outputs are returned as real values. With `perLayer`
 * and a v5 reference, the run goes through the reference's op hook, which keeps every op's result.
 */
export function emulate(
  prepared: PreparedModel,
  ref: ReferenceModel | undefined,
  inputs: readonly Uint8Array[],
  perLayer: boolean,
): EmulatorRun {
  const t0 = performance.now();
  if (perLayer && ref?.v5) {
    // v5 places tensors at run time: the reference follows the run op by op and keeps each op's
    // result, in real values through the quantisation it tracks (src/reference/v5.ts).
    const r = compareOnce(prepared, ref, inputs, { isolated: false, keepValues: true });
    return {
      outputs: prepared.outputs.map((d, k) => ({ shape: d.shape, values: r.emulatorOutputValues[k] })),
      layers: r.emulatorLayers ?? [],
      ms: performance.now() - t0,
    };
  }
  const layers: EmulatorLayer[] = [];
  const useRef = ref && !ref.v5;
  const result = prepared.run(inputs, {
    onLayer:
      perLayer && useRef
        ? (step, state) => {
            const l = ref.layers[step.index];
            const out = l?.outputs[0];
            if (!out) return;
            const mem = { main: state.main, ai: state.ai, const: ref.constants };
            layers.push({
              index: step.index,
              type: l.type,
              unit: l.unit,
              producers: ref.producers[step.index] ?? [],
              shape: out.shape,
              values: realValues(out, readBytes(out, mem)),
            });
          }
        : undefined,
  });
  const outputs = prepared.outputs.map((d: TensorDesc, k) => {
    const bytes = result.outputs[k];
    const r = useRef ? ref.outputs[k] : undefined;
    if (d.dtype === 'float32') {
      const f = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
      return { shape: d.shape, values: Float64Array.from(f) };
    }
    const q = Float32Array.from(bytes);
    return { shape: d.shape, values: r ? realValues(r, q) : Float64Array.from(q) };
  });
  return { outputs, ...(useRef && perLayer ? { layers } : {}), ms: performance.now() - t0 };
}

const squeeze = (s: readonly number[]) => s.filter((d) => d !== 1);
const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

export type Arrangement = 'same' | 'nhwc→nchw' | 'nchw→nhwc' | 'flat';

/** How a float tensor lines up with a kmodel tensor of shape `k`, if it does. */
export function arrangementOf(f: FloatTensor, k: readonly number[], allowFlat: boolean): Arrangement | undefined {
  const fs = f.shape;
  if (same(squeeze(fs), squeeze(k))) return 'same';
  if (fs.length === 4 && k.length === 4) {
    if (f.layout !== 'nchw' && same([fs[0], fs[3], fs[1], fs[2]], k)) return 'nhwc→nchw';
    if (f.layout !== 'nhwc' && same([fs[0], fs[2], fs[3], fs[1]], k)) return 'nchw→nhwc';
  }
  if (allowFlat && fs.reduce((a, b) => a * b, 1) === k.reduce((a, b) => a * b, 1)) return 'flat';
  return undefined;
}

/** The float tensor's values in the kmodel tensor's element order. */
export function arrange(f: FloatTensor, a: Arrangement): Float64Array {
  const v = f.values;
  if (a === 'same' || a === 'flat') return Float64Array.from(v);
  const out = new Float64Array(v.length);
  const [n, d1, d2, d3] = f.shape;
  // nhwc→nchw: f is [n, h, w, c]; nchw→nhwc: f is [n, c, h, w].
  for (let b = 0; b < n; b++)
    for (let i = 0; i < d1; i++)
      for (let j = 0; j < d2; j++)
        for (let c = 0; c < d3; c++) {
          const src = ((b * d1 + i) * d2 + j) * d3 + c;
          const dst = a === 'nhwc→nchw' ? ((b * d3 + c) * d1 + i) * d2 + j : ((b * d2 + j) * d3 + c) * d1 + i;
          out[dst] = v[src];
        }
  return out;
}

export interface OutputAgreement {
  /** kmodel output index. */
  readonly index: number;
  readonly shape: readonly number[];
  /** The float output it was matched with. */
  readonly float_output: number;
  readonly float_name: string;
  readonly float_shape: readonly number[];
  readonly arrangement: Arrangement;
  readonly cosine: number;
  readonly centred_cosine: number;
  readonly snr_db: number | null;
  readonly max_abs: number;
}

function metrics(ref: Float64Array, test: Float64Array) {
  return {
    cosine: cosine(ref, test),
    centred_cosine: centredCosine(ref, test),
    snr_db: snrDb(ref, test),
    max_abs: maxAbsDiff(ref, test),
  };
}

/**
 * Matches kmodel outputs to float outputs by shape, one-to-one; where several float outputs fit
 * one kmodel output, the best agreeing one. Unmatched kmodel outputs are left out (listed by the caller).
 */
export function matchOutputs(kmodel: readonly EmulatorTensor[], float: readonly FloatTensor[]): OutputAgreement[] {
  const used = new Set<number>();
  const out: OutputAgreement[] = [];
  const order = (allowFlat: boolean) => {
    kmodel.forEach((k, ki) => {
      if (out.some((o) => o.index === ki)) return;
      let best: OutputAgreement | undefined;
      float.forEach((f, fi) => {
        if (used.has(fi)) return;
        const a = arrangementOf(f, k.shape, allowFlat);
        if (!a) return;
        const m = metrics(arrange(f, a), k.values);
        if (!best || m.cosine > best.cosine)
          best = {
            index: ki,
            shape: k.shape,
            float_output: fi,
            float_name: f.name,
            float_shape: f.shape,
            arrangement: a,
            ...m,
          };
      });
      if (best) {
        used.add(best.float_output);
        out.push(best);
      }
    });
  };
  order(false);
  order(true);
  return out.sort((a, b) => a.index - b.index);
}

export interface LayerAgreement {
  readonly index: number;
  readonly type: string;
  readonly unit: 'KPU' | 'CPU';
  readonly shape: readonly number[];
  readonly float_tensor: string;
  readonly float_op: string;
  /** Position of the float tensor in the float graph's execution order. */
  readonly float_position: number;
  readonly cosine: number;
  /**
   * Cosine of this layer minus that of its inputs (the worst matched layer upstream in the
   * dataflow; without dataflow, the previous matched layer). Negative: loss entered here.
   */
  readonly drop: number;
}

/**
 * The cumulative error curve: each kmodel layer against the float tensor it matches (see the
 * file comment). Layers without a float tensor of their shape are left out.
 */
export function layerCurve(kmodel: readonly EmulatorLayer[], float: readonly FloatTensor[]): LayerAgreement[] {
  const out: LayerAgreement[] = [];
  let last = 0;
  let prev = 1;
  let first = true;
  let lastLayer = -1;
  const matchedAt = new Map<number, number>();
  // The cosine each layer's result carries: its own where matched, else the worst of its inputs'.
  const carried = new Map<number, number>();
  const upstream = (k: EmulatorLayer) => {
    if (!k.producers) return prev;
    let c = 1;
    for (const p of k.producers) c = Math.min(c, p < 0 ? 1 : (carried.get(p) ?? 1));
    return c;
  };
  for (const k of kmodel) {
    const base = upstream(k);
    carried.set(k.index, base);
    const cands: { j: number; a: Arrangement; cos: number }[] = [];
    // A KPU layer computes something new (a convolution): its counterpart comes after the previous
    // match. A CPU layer that reads the previous match's result may only move or requantise it
    // (transpose, dequantize, download) and may match the same float tensor.
    const moves = k.unit === 'CPU' && (!k.producers || k.producers.includes(lastLayer));
    const from = first || moves ? last : last + 1;
    const tryTensor = (j: number) => {
      const a = arrangementOf(float[j], k.shape, false);
      if (a) cands.push({ j, a, cos: cosine(arrange(float[j], a), k.values) });
    };
    // A CPU layer reading an earlier match's result (a download, a dequantize) may be that same
    // tensor moved, even when later layers have matched since.
    if (k.unit === 'CPU')
      for (const p of new Set(k.producers ?? [])) {
        const j = matchedAt.get(p);
        if (j !== undefined && j < from) tryTensor(j);
      }
    const { window, span } = TOLERANCES.floatLayerMatch;
    const end = first ? float.length : Math.min(float.length, last + 1 + span);
    for (let j = from; j < end && cands.length < window; j++) tryTensor(j);
    if (!cands.length) continue;
    cands.sort((x, y) => x.j - y.j);
    const best = Math.max(...cands.map((c) => c.cos));
    const pick = cands.find((c) => c.cos >= best - TOLERANCES.floatLayerMatch.cosine)!;
    // A float tensor of the right shape that agrees far worse than the layer's inputs is not this
    // layer's counterpart (e.g. a KPU conv computed at full resolution before its stride-2 pool).
    if (pick.cos < base - TOLERANCES.floatLayerMatch.maxDrop) continue;
    last = Math.max(last, pick.j);
    lastLayer = k.index;
    matchedAt.set(k.index, pick.j);
    first = false;
    carried.set(k.index, pick.cos);
    const f = float[pick.j];
    out.push({
      index: k.index,
      type: k.type,
      unit: k.unit,
      shape: k.shape,
      float_tensor: f.name,
      float_op: f.op,
      float_position: pick.j,
      cosine: pick.cos,
      drop: pick.cos - base,
    });
    prev = pick.cos;
  }
  return out;
}

/** The layers where the cosine fell most (where the loss enters), worst first. */
export function lossEntries(curve: readonly LayerAgreement[], count = 3): LayerAgreement[] {
  return [...curve]
    .filter((l) => l.drop < -TOLERANCES.floatLayerMatch.cosine)
    .sort((a, b) => a.drop - b.drop)
    .slice(0, count);
}

export interface MappingTrial {
  readonly mapping: string;
  readonly mean: readonly number[];
  readonly std: readonly number[];
  readonly layout: 'nchw' | 'nhwc';
  /** Mean over the matched outputs of the output cosine. */
  readonly mean_cosine: number;
  readonly given: boolean;
}

export interface MappingCheck {
  readonly trials: readonly MappingTrial[];
  /** Set when another mapping agrees clearly better than the given one. */
  readonly better?: MappingTrial;
  readonly verdict: string;
}

const meanCos = (m: readonly OutputAgreement[]) => (m.length ? m.reduce((a, o) => a + o.cosine, 0) / m.length : 0);

/**
 * Runs the float model under the given mapping's alternatives (documented mappings × both
 * layouts) and says whether the given mapping is the one that fits.
 */
export async function checkMapping(
  float: FloatModel,
  desc: TensorDesc,
  input: Uint8Array,
  emu: EmulatorRun,
  given: FloatMapping,
  givenCosine: number,
): Promise<MappingCheck> {
  const want = float.inputs[0].shape.reduce((a, b) => a * b, 1);
  const layouts: ('nchw' | 'nhwc')[] =
    desc.shape.length === 4 && desc.shape[1] > 1
      ? [given.layout, given.layout === 'nhwc' ? 'nchw' : 'nhwc']
      : [given.layout];
  const trials: MappingTrial[] = [
    {
      mapping: mappingText(given),
      mean: given.mean,
      std: given.std,
      layout: given.layout,
      mean_cosine: givenCosine,
      given: true,
    },
  ];
  const tried = new Set([`${given.mean}|${given.std}|${given.layout}`]);
  for (const layout of layouts)
    for (const alt of [
      { name: mappingText(given), mean: [...given.mean], std: [...given.std] },
      ...alternativeMappings(desc),
    ]) {
      const key = `${alt.mean}|${alt.std}|${layout}`;
      if (tried.has(key)) continue;
      tried.add(key);
      const m: FloatMapping = { mean: alt.mean, std: alt.std, layout, source: 'alternative' };
      const r = await float.run([toFloatInput(input, desc, m, want)]);
      trials.push({
        mapping: alt.name,
        mean: alt.mean,
        std: alt.std,
        layout,
        mean_cosine: meanCos(matchOutputs(emu.outputs, r.outputs)),
        given: false,
      });
    }
  const best = trials.reduce((a, b) => (b.mean_cosine > a.mean_cosine ? b : a));
  const margin = TOLERANCES.floatMappingMargin;
  if (!best.given && best.mean_cosine > givenCosine + margin) {
    return {
      trials,
      better: best,
      verdict: `the input mapping looks wrong: with ${best.mapping}, layout ${best.layout} the mean output cosine is ${best.mean_cosine.toFixed(5)} instead of ${givenCosine.toFixed(5)} with the mapping given (${mappingText(given)}, layout ${given.layout}); check --float-mean/--float-std/--float-layout`,
    };
  }
  return {
    trials,
    verdict: `the mapping given fits best: no documented alternative raises the mean output cosine by more than ${margin}`,
  };
}
