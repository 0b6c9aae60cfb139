/**
 * The kmodel v3 layer table: every `kpu_model_layer_type_t` value (kpu-numerics §2.5) and its definition, typed
 * total over `V3LayerTypeName` (a missing type, or a definition missing a part, fails the type check). A value whose
 * body layout no source defines has a row saying so: parsing one fails with that reason, distinct from an unknown
 * value. docs/adding-an-op.md walks through adding one.
 */
import type { V3LayerType, V3LayerTypeName } from '../../kmodel-parser/v3/types.js';
import { addOp } from './add.js';
import { channelwiseDequantizeOp } from './channelwise-dequantize.js';
import { concatOp, quantizedConcatOp } from './concat.js';
import { defineV3Undefined, type V3BodyReader, type V3OpEntry, type V3UndefinedType } from './def.js';
import { dequantizeOp } from './dequantize.js';
import { l2NormalizationOp, logisticOp, softmaxOp } from './float-vector.js';
import { fullyConnectedOp } from './fully-connected.js';
import { globalAveragePool2dOp } from './global-average-pool2d.js';
import { k210ConvOp } from './k210-conv.js';
import { k210AddPaddingOp, k210RemovePaddingOp } from './k210-padding.js';
import { k210UploadOp } from './k210-upload.js';
import { averagePool2dOp, maxPool2dOp, quantizedMaxPool2dOp } from './pool2d.js';
import { quantizeOp } from './quantize.js';
import { quantizedAddOp } from './quantized-add.js';
import { requantizeOp } from './requantize.js';
import { quantizedResizeNearestNeighborOp, resizeNearestNeighborOp } from './resize-nearest-neighbor.js';
import { quantizedTensorflowFlattenOp, tensorflowFlattenOp } from './tensorflow-flatten.js';

const NO_SDK = 'the SDK has no case for it and no nncase 0.1 generator writes it';
const NETRON_ONLY = 'only netron names it; no source defines its body';

export const V3_OPS = {
  INVALID: defineV3Undefined(0, 'INVALID', "it is the enum's invalid marker"),
  ADD: addOp,
  QUANTIZED_ADD: quantizedAddOp,
  GLOBAL_MAX_POOL2D: defineV3Undefined(3, 'GLOBAL_MAX_POOL2D', NO_SDK),
  QUANTIZED_GLOBAL_MAX_POOL2D: defineV3Undefined(4, 'QUANTIZED_GLOBAL_MAX_POOL2D', NO_SDK),
  GLOBAL_AVERAGE_POOL2D: globalAveragePool2dOp,
  QUANTIZED_GLOBAL_AVERAGE_POOL2D: defineV3Undefined(6, 'QUANTIZED_GLOBAL_AVERAGE_POOL2D', NO_SDK),
  MAX_POOL2D: maxPool2dOp,
  QUANTIZED_MAX_POOL2D: quantizedMaxPool2dOp,
  AVERAGE_POOL2D: averagePool2dOp,
  QUANTIZED_AVERAGE_POOL2D: defineV3Undefined(10, 'QUANTIZED_AVERAGE_POOL2D', NO_SDK),
  QUANTIZE: quantizeOp,
  DEQUANTIZE: dequantizeOp,
  REQUANTIZE: requantizeOp,
  L2_NORMALIZATION: l2NormalizationOp,
  SOFTMAX: softmaxOp,
  CONCAT: concatOp,
  QUANTIZED_CONCAT: quantizedConcatOp,
  FULLY_CONNECTED: fullyConnectedOp,
  QUANTIZED_FULLY_CONNECTED: defineV3Undefined(19, 'QUANTIZED_FULLY_CONNECTED', NO_SDK),
  TENSORFLOW_FLATTEN: tensorflowFlattenOp,
  QUANTIZED_TENSORFLOW_FLATTEN: quantizedTensorflowFlattenOp,
  RESIZE_NEAREST_NEIGHBOR: resizeNearestNeighborOp,
  QUANTIZED_RESIZE_NEAREST_NEIGHBOR: quantizedResizeNearestNeighborOp,
  CHANNELWISE_DEQUANTIZE: channelwiseDequantizeOp,
  LOGISTIC: logisticOp,
  CONV: defineV3Undefined(1000, 'CONV', NETRON_ONLY),
  DWCONV: defineV3Undefined(1001, 'DWCONV', NETRON_ONLY),
  QUANTIZED_RESHAPE: defineV3Undefined(1002, 'QUANTIZED_RESHAPE', NETRON_ONLY),
  RESHAPE: defineV3Undefined(1003, 'RESHAPE', NETRON_ONLY),
  K210_CONV: k210ConvOp,
  K210_ADD_PADDING: k210AddPaddingOp,
  K210_REMOVE_PADDING: k210RemovePaddingOp,
  K210_UPLOAD: k210UploadOp,
} satisfies {
  readonly [K in V3LayerTypeName]: K extends V3LayerType ? V3OpEntry<K> : V3UndefinedType<K>;
};

/** One row of the type table as the parser sees it: the value, the name and the body reader or why there is none. */
export interface V3LayerTypeRow {
  readonly code: number;
  readonly name: V3LayerTypeName;
  readonly parse: V3BodyReader | null;
  /** Why a row has no parser. */
  readonly note?: string;
}

export const V3_LAYER_TYPES: readonly V3LayerTypeRow[] = Object.freeze(
  Object.values(V3_OPS)
    .map((d): V3LayerTypeRow =>
      'undefinedBody' in d
        ? { code: d.code, name: d.name, parse: null, note: d.undefinedBody }
        : { code: d.code, name: d.name, parse: d.read },
    )
    .sort((a, b) => a.code - b.code)
    .map((row) => Object.freeze(row)),
);

const BY_CODE = new Map(V3_LAYER_TYPES.map((row) => [row.code, row]));

export function v3LayerType(code: number): V3LayerTypeRow | undefined {
  return BY_CODE.get(code);
}
