/**
 * The typed, immutable model every other room uses. The parser fills these types; nothing
 * here executes. Per-version details live in `v3/types.ts`, `v4/types.ts`, `v5/types.ts`.
 */
import type { ActivationSegment, BatchNormEntry, KpuLayerArgument } from './kpu-layer-argument.js';
import type { KmodelV3 } from './v3/types.js';
import type { KmodelV4 } from './v4/types.js';
import type { KmodelV5 } from './v5/types.js';

export type { KmodelV3, KmodelV4, KmodelV5 };
export type Kmodel = KmodelV3 | KmodelV4 | KmodelV5;

/** Element types of tensors the runtimes exchange. */
export type DType =
  | 'uint8'
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'float16'
  | 'float32'
  | 'float64'
  | 'bfloat16';

export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  uint8: 1,
  int8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  uint64: 8,
  float16: 2,
  float32: 4,
  float64: 8,
  bfloat16: 2,
};

/** A model input or output as a user sees it. Shapes are NCHW where the format says so. */
export interface TensorDesc {
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Byte size of the tensor as the runtime exchanges it. */
  readonly bytes: number;
  /** Quantisation where the format states it: real = (q − zeroPoint) · scale. */
  readonly quant?: { readonly scale: number; readonly zeroPoint: number };
}

/**
 * Everything a KPU conv layer needs, the same for v3, v4 and v5: the 12 register words as
 * stored in the file, their decoded fields, and the three parameter tables (zero-copy views
 * of the file bytes). The engine reads only this.
 */
export interface KpuConvParams {
  /** The 12 words exactly as stored (address fields are 0 or skip counts in files). */
  readonly words: readonly bigint[];
  readonly arg: KpuLayerArgument;
  /** Raw weight bytes: one byte per weight (8-bit) or little-endian u16 pairs (16-bit, v3 only). */
  readonly weights: Uint8Array;
  readonly weightBits: 8 | 16;
  readonly batchNorm: readonly BatchNormEntry[];
  readonly activation: readonly ActivationSegment[];
  /** Absolute file offsets of the blocks, for `info` and error messages. */
  readonly fileOffsets: {
    readonly registers: number;
    readonly weights: number;
    readonly batchNorm: number;
    readonly activation: number;
  };
}

/** Shape summary of a KPU conv layer derived from its registers (kpu-numerics §6.1). */
export interface KpuConvGeometry {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly inWidth: number;
  readonly inHeight: number;
  readonly outWidth: number;
  readonly outHeight: number;
  readonly kernel: 1 | 3;
  readonly depthwise: boolean;
  readonly poolType: number;
}

export function kpuConvGeometry(arg: KpuLayerArgument): KpuConvGeometry {
  return {
    inChannels: arg.i_ch_num + 1,
    outChannels: arg.o_ch_num + 1,
    inWidth: arg.i_row_wid + 1,
    inHeight: arg.i_col_high + 1,
    outWidth: arg.o_row_wid + 1,
    outHeight: arg.o_col_high + 1,
    kernel: arg.kernel_type === 1 ? 3 : 1,
    depthwise: arg.depth_wise_layer === 1,
    poolType: arg.pool_type,
  };
}

/** Pool type names (kpu-numerics §6.6). */
export const POOL_TYPE_NAMES = [
  'bypass',
  'max_2_s2',
  'mean_2_s2',
  'max_4_s4',
  'mean_4_s4',
  'left_top_2_s2',
  'right_top_2_s2',
  'left_top_4_s4',
  'mean_2_s1',
  'max_2_s1',
] as const;
