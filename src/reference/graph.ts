/**
 * The float reference of a whole model: one `RefLayer` per model layer, in file order, each
 * naming the tensors it reads and writes (where they live in the emulated memories) and its float
 * counterpart. Built by `v3.ts` / `v4.ts`; `quant.ts` then attaches a real-valued scale and zero
 * point to every uint8 tensor.
 */
import type { Kmodel } from '../kmodel-parser/model.js';
import type { TensorRef } from './tensors.js';
import type { V5Reference } from './v5.js';

/** The note of a layer the run never reached (v5: a function no CALL entered on this input). */
export const NOT_EXECUTED = 'not executed in this run';

/** A statement a layer makes about the quantisation of one of its uint8 tensors. */
export interface QuantFact {
  readonly ref: TensorRef;
  /** Quantised value of real zero (per channel when an array). */
  readonly zeroPoint?: number | readonly number[];
  /** Real units per quantum (per channel when an array). */
  readonly scale?: number | readonly number[];
  /** Elements per channel, for per-channel facts. */
  readonly channelSize?: number;
  /** True when the file states it exactly (a (de)quantize's parameters, nncase 0.2 offsets);
   *  false when it is derived to a limited precision (nncase 0.1's 24-bit mantissa offsets). */
  readonly exact: boolean;
  /** Where it comes from, for the report ("layer 3 dequantize"). */
  readonly source: string;
}

/** A QuantFact; a zero point or scale left undefined is left out. */
export function quantFact(
  ref: TensorRef,
  source: string,
  zeroPoint: number | undefined,
  scale?: number,
  exact = true,
): QuantFact {
  return {
    ref,
    source,
    exact,
    ...(zeroPoint !== undefined ? { zeroPoint } : {}),
    ...(scale !== undefined ? { scale } : {}),
  };
}

export interface RefLayer {
  readonly index: number;
  /** Upstream name as `kpusim info` prints it. */
  readonly type: string;
  readonly unit: 'KPU' | 'CPU';
  readonly inputs: readonly TensorRef[];
  /** outputs[0] is the layer's result; further outputs are copies of it or extra results. */
  readonly outputs: readonly TensorRef[];
  /**
   * Float counterpart: input values → one array per output. uint8 tensors carry unrounded
   * values of their quantised domain, float32 tensors real values. Absent when the reference
   * has no counterpart: the cumulative run then takes the emulator's result for this layer.
   */
  readonly run?: (inputs: readonly Float32Array[]) => Float32Array[];
  /** Groups of tensors that share one quantisation (data movement, a KPU result and its copy). */
  readonly sameQuant?: readonly (readonly TensorRef[])[];
  readonly quantFacts?: readonly QuantFact[];
  /** Why there is no float counterpart, or what it approximates. */
  readonly note?: string;
  dispose?(): void;
}

export interface ReferenceModel {
  readonly model: Kmodel;
  readonly layers: readonly RefLayer[];
  /** Where the model's inputs are placed before the first layer. */
  readonly inputs: readonly TensorRef[];
  /** The model's outputs, in the order the emulator returns them. */
  readonly outputs: readonly TensorRef[];
  /** The constant blob (v4) that `const` tensors index. */
  readonly constants: Uint8Array;
  /** Bytes of the main working buffer. */
  readonly mainBytes: number;
  /**
   * For every layer, the layer that produced each of its inputs (−1: a model input or memory no
   * earlier layer wrote). Filled by `inferQuant`.
   */
  producers: number[][];
  /**
   * kmodel v5: the stackvm computes every tensor's place at run time, so the layers carry index,
   * type and unit only and the comparison follows the run through the op hook (v5.ts).
   */
  readonly v5?: V5Reference;
  dispose(): void;
}
