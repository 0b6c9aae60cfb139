/**
 * Emulator against float reference, layer by layer, in one pass of the emulator.
 *
 * - isolated: before layer i runs, the reference layer i is fed the emulator's own input to it
 *   (read from the emulated memories), and its result, re-quantised to the layer's output type,
 *   is compared with what the emulator then writes: max LSB difference, fraction of differing
 *   elements, cosine of the dequantised maps. This checks emulator against reference.
 * - cumulative: the reference runs the whole model from the model input on its own shadow
 *   memory, never rounding; after every layer its result is compared with the emulator's:
 *   cosine, SNR and max abs error of the real values. This is the model's quantisation-error
 *   profile.
 * Layers the reference has no counterpart for take the emulator's result in the cumulative run
 * (said in the layer's `reference` field).
 */
import type { PreparedModel } from '../kpu/interpreter.js';
import { kpuUpload } from '../kpu/layout.js';
import { AI_SRAM_BYTES } from '../chip.js';
import { TOLERANCES } from '../tolerances.js';
import type { ReferenceModel } from './graph.js';
import {
  centredCosine,
  cosine,
  floatMismatchFraction,
  lsbAgreement,
  maxAbsDiff,
  requantizeU8,
  snrDb,
} from './metrics.js';
import { realValues } from './quant.js';
import {
  readBytes,
  readShadow,
  writeShadow,
  type ByteMemories,
  type ShadowMemories,
  type TensorRef,
} from './tensors.js';
import { compareOnceV5 } from './v5.js';

export const FLOAT_MODEL_STATEMENT =
  'The float model is reconstructed from the quantised file: weights, batch-norm and activation tables are dequantised as the compiler encoded them, ' +
  'so this measures activation quantisation and the KPU arithmetic, not the loss from quantising the original weights (the original network is not in the file).';

export interface IsolatedMetrics {
  readonly cosine: number;
  /** null for float32 results. */
  readonly max_lsb_diff: number | null;
  readonly mismatch_fraction: number;
}

export interface CumulativeMetrics {
  readonly cosine: number;
  /** null: identical (infinite SNR). */
  readonly snr_db: number | null;
  readonly max_abs: number;
  /** 'real' when the map's scale is known, else 'lsb' (quanta of the map). */
  readonly max_abs_unit: 'real' | 'lsb';
  /** SNR of the worst input minus this SNR (null when the inputs are exact). */
  readonly snr_drop_db: number | null;
}

export interface LayerComparison {
  readonly index: number;
  readonly type: string;
  readonly unit: 'KPU' | 'CPU';
  /**
   * 'float': the layer's float counterpart ran; 'emulator': none (or it failed), the cumulative run took the emulator's
   * result.
   */
  readonly reference: 'float' | 'emulator';
  readonly output?: { readonly dtype: string; readonly shape: readonly number[]; readonly quant?: string };
  readonly isolated?: IsolatedMetrics;
  readonly cumulative?: CumulativeMetrics;
  readonly note?: string;
}

export interface OutputComparison {
  readonly index: number;
  readonly cosine: number;
  readonly centred_cosine: number;
  readonly snr_db: number | null;
  readonly max_abs: number;
}

export interface CompareRun {
  readonly layers: LayerComparison[];
  readonly outputs: OutputComparison[];
  /** Emulator outputs as the runtime returns them, and the reference's real-valued outputs. */
  readonly emulatorOutputs: Uint8Array[];
  readonly referenceOutputs: Float64Array[];
  readonly emulatorOutputValues: Float64Array[];
  readonly timings: { readonly total_ms: number; readonly reference_ms: number };
  /** Model-level remarks: what the float model covers and what it does not (v5). */
  readonly notes?: readonly string[];
  /** v5 with `keepValues`: each op's output 0 as the emulator computed it, in real values where the scale is known. */
  readonly emulatorLayers?: readonly EmulatorLayerValues[];
}

export interface EmulatorLayerValues {
  readonly index: number;
  readonly type: string;
  readonly unit: 'KPU' | 'CPU';
  readonly shape: readonly number[];
  readonly values: Float64Array;
  /** The layers that produced the op's inputs (−1: the model input). */
  readonly producers: readonly number[];
}

export interface CompareOptions {
  /** Report layers a..b only (inclusive); everything still runs. */
  readonly layers?: readonly [number, number];
  /** Compute isolated metrics (default true). */
  readonly isolated?: boolean;
  /** v5: also return each op's emulator output (`emulatorLayers`), for `compare --float`'s per-layer curve. */
  readonly keepValues?: boolean;
}

const EMPTY_F32 = new Float32Array(0);

function valuesOfInput(r: TensorRef, bytes: Uint8Array): Float32Array {
  if (r.dtype === 'uint8') return Float32Array.from(bytes.subarray(0, r.elements));
  return new Float32Array(bytes.slice(0, 4 * r.elements).buffer);
}

function placeBytes(r: TensorRef, bytes: Uint8Array, mem: ByteMemories): void {
  if (r.layout === 'kpu') {
    const [n, c, h, w] = r.shape;
    kpuUpload(bytes, [n, c, h, w], mem.ai, r.address);
  } else if (r.memory === 'main' || r.memory === 'ai') {
    mem[r.memory].set(bytes.subarray(0, r.elements * (r.dtype === 'float32' ? 4 : 1)), r.address);
  }
}

function isolatedOf(r: TensorRef, ref: Float32Array, emu: Float32Array): IsolatedMetrics {
  if (r.dtype === 'uint8') {
    const q = Float32Array.from(ref, requantizeU8);
    const lsb = lsbAgreement(q, emu);
    return {
      cosine: cosine(realValues(r, q), realValues(r, emu)),
      max_lsb_diff: lsb.maxLsbDiff,
      mismatch_fraction: lsb.mismatchFraction,
    };
  }
  return {
    cosine: cosine(ref, emu),
    max_lsb_diff: null,
    mismatch_fraction: floatMismatchFraction(ref, emu, TOLERANCES.referenceIsolatedFloat),
  };
}

function quantText(r: TensorRef): string | undefined {
  if (r.dtype !== 'uint8' || !r.quant) return undefined;
  const q = r.quant;
  const z = q.zeroPoint.length === 1 ? round(q.zeroPoint[0], 4) : `per channel (${q.zeroPoint.length})`;
  const s = q.scaleKnown
    ? q.scale.length === 1
      ? String(Number(q.scale[0].toPrecision(6)))
      : `per channel (${q.scale.length})`
    : 'unknown';
  return `zero point ${z}, scale ${s}: ${q.source}`;
}

function round(v: number, digits: number): number {
  return Number(v.toFixed(digits));
}

/** Runs the emulator once on `inputs` with the reference alongside. */
export function compareOnce(
  prepared: PreparedModel,
  ref: ReferenceModel,
  inputs: readonly Uint8Array[],
  opts: CompareOptions = {},
): CompareRun {
  if (ref.v5) return compareOnceV5(prepared, ref, inputs, opts);
  const t0 = performance.now();
  let refMs = 0;
  const nLayers = ref.layers.length;
  const [lo, hi] = opts.layers ?? [0, nLayers - 1];
  const inRange = (i: number) => i >= lo && i <= hi;
  const doIsolated = opts.isolated ?? true;

  const pre: ByteMemories = {
    main: new Uint8Array(ref.mainBytes),
    ai: new Uint8Array(AI_SRAM_BYTES),
    const: ref.constants,
  };
  const shadow: ShadowMemories = { main: new Float32Array(ref.mainBytes), ai: new Float32Array(AI_SRAM_BYTES) };
  ref.inputs.forEach((r, i) => {
    placeBytes(r, inputs[i], pre);
    writeShadow(r, shadow, valuesOfInput(r, inputs[i]));
  });

  const notes: (string | undefined)[] = ref.layers.map((l) => l.note);
  const tryRun = (i: number, ins: Float32Array[]): Float32Array[] | undefined => {
    const l = ref.layers[i];
    if (!l.run) return undefined;
    try {
      return l.run(ins);
    } catch (e) {
      notes[i] =
        `reference failed: ${e instanceof Error ? e.message : String(e)}; the cumulative run took the emulator's result`;
      return undefined;
    }
  };
  const isolatedFor = (i: number, mem: ByteMemories): Float32Array | undefined => {
    const l = ref.layers[i];
    if (!doIsolated || !l?.run || !inRange(i) || l.outputs.length === 0) return undefined;
    const t = performance.now();
    const out = tryRun(
      i,
      l.inputs.map((r) => readBytes(r, mem)),
    );
    refMs += performance.now() - t;
    return out?.[0];
  };

  const layers: LayerComparison[] = [];
  const cumSnr: (number | null | undefined)[] = new Array(nLayers).fill(undefined);
  let pending = isolatedFor(0, pre);

  const result = prepared.run(inputs, {
    onLayer: (step, state) => {
      const i = step.index;
      const l = ref.layers[i];
      const mem: ByteMemories = { main: state.main, ai: state.ai, const: ref.constants };
      const t = performance.now();
      let isolated: IsolatedMetrics | undefined;
      let cumulative: CumulativeMetrics | undefined;
      let reference: 'float' | 'emulator' = 'emulator';
      const out0 = l.outputs[0];
      const emu = out0 ? readBytes(out0, mem) : EMPTY_F32;
      if (pending && out0) isolated = isolatedOf(out0, pending, emu);
      pending = undefined;

      const cum = l.run
        ? tryRun(
            i,
            l.inputs.map((r) => readShadow(r, shadow, ref.constants)),
          )
        : undefined;
      if (cum) {
        reference = 'float';
        l.outputs.forEach((r, k) => writeShadow(r, shadow, cum[k]));
      } else {
        for (const r of l.outputs) writeShadow(r, shadow, r === out0 ? emu : readBytes(r, mem));
      }
      if (out0) {
        const refReal = realValues(out0, cum ? cum[0] : emu);
        const emuReal = realValues(out0, emu);
        const snr = snrDb(refReal, emuReal);
        cumSnr[i] = snr;
        cumulative = {
          cosine: cosine(refReal, emuReal),
          snr_db: snr,
          max_abs: maxAbsDiff(refReal, emuReal),
          max_abs_unit: out0.dtype === 'float32' || out0.quant?.scaleKnown ? 'real' : 'lsb',
          snr_drop_db: null,
        };
      }
      refMs += performance.now() - t;
      if (i + 1 < nLayers) pending = isolatedFor(i + 1, mem);
      layers.push({
        index: i,
        type: l.type,
        unit: l.unit,
        reference,
        ...(out0
          ? { output: { dtype: out0.dtype, shape: out0.shape, ...(quantText(out0) ? { quant: quantText(out0) } : {}) } }
          : {}),
        ...(isolated ? { isolated } : {}),
        ...(cumulative ? { cumulative } : {}),
      });
    },
  });

  // SNR drop: against the worst producer of the layer's inputs (exact inputs: null).
  for (const c of layers) {
    if (!c.cumulative) continue;
    const ins = (ref.producers[c.index] ?? []).filter((p) => p >= 0).map((p) => cumSnr[p]);
    const finite = ins.filter((v): v is number => typeof v === 'number');
    const inSnr = finite.length ? Math.min(...finite) : null;
    const out = c.cumulative.snr_db;
    (c as { cumulative: CumulativeMetrics }).cumulative = {
      ...c.cumulative,
      snr_drop_db: inSnr === null || out === null ? null : inSnr - out,
    };
  }
  layers.forEach((c, k) => {
    if (notes[c.index]) layers[k] = { ...c, note: notes[c.index] };
  });

  const t = performance.now();
  const outputs: OutputComparison[] = [];
  const referenceOutputs: Float64Array[] = [];
  const emulatorOutputValues: Float64Array[] = [];
  ref.outputs.forEach((r, k) => {
    const bytes = result.outputs[k];
    const emuVals = realValues(r, valuesOfInput(r, bytes));
    const refVals = realValues(r, readShadow(r, shadow, ref.constants));
    referenceOutputs.push(refVals);
    emulatorOutputValues.push(emuVals);
    outputs.push({
      index: k,
      cosine: cosine(refVals, emuVals),
      centred_cosine: centredCosine(refVals, emuVals),
      snr_db: snrDb(refVals, emuVals),
      max_abs: maxAbsDiff(refVals, emuVals),
    });
  });
  refMs += performance.now() - t;
  return {
    layers: layers.filter((c) => inRange(c.index)),
    outputs,
    emulatorOutputs: result.outputs,
    referenceOutputs,
    emulatorOutputValues,
    timings: { total_ms: performance.now() - t0, reference_ms: refMs },
  };
}
