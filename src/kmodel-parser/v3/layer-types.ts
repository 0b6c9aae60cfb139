/**
 * Every v3 layer type in one table (SDK `kpu_model_layer_type_t`, kpu-numerics §2.5): value,
 * upstream name, body parser. A row without a parser is a type whose body layout no source
 * defines; parsing one fails with its own message, distinct from an unknown value.
 */
import * as b from './bodies.js';
import type { BodyParser } from './body.js';
import { parseK210Conv } from './k210-conv.js';
import type { V3LayerTypeName } from './types.js';

export interface V3LayerTypeRow {
  readonly code: number;
  readonly name: V3LayerTypeName;
  readonly parse: BodyParser | null;
  /** Why a row has no parser. */
  readonly note?: string;
}

const NO_SDK = 'the SDK has no case for it and no nncase 0.1 generator writes it';

// MAX_POOL2D (7): the SDK lacks the case, but nncase 0.1 writes the AVERAGE_POOL2D fields for it.
// QUANTIZED_TENSORFLOW_FLATTEN (21): nothing writes it; netron reads the type 20 fields.
// prettier-ignore
const ROWS: V3LayerTypeRow[] = [
  { code:     0, name: 'INVALID',                           parse: null, note: 'it is the enum\'s invalid marker' },
  { code:     1, name: 'ADD',                               parse: b.parseAdd },
  { code:     2, name: 'QUANTIZED_ADD',                     parse: b.parseQuantizedAdd },
  { code:     3, name: 'GLOBAL_MAX_POOL2D',                 parse: null, note: NO_SDK },
  { code:     4, name: 'QUANTIZED_GLOBAL_MAX_POOL2D',       parse: null, note: NO_SDK },
  { code:     5, name: 'GLOBAL_AVERAGE_POOL2D',             parse: b.parseGlobalAveragePool2d },
  { code:     6, name: 'QUANTIZED_GLOBAL_AVERAGE_POOL2D',   parse: null, note: NO_SDK },
  { code:     7, name: 'MAX_POOL2D',                        parse: b.parseMaxPool2d },
  { code:     8, name: 'QUANTIZED_MAX_POOL2D',              parse: b.parseQuantizedMaxPool2d },
  { code:     9, name: 'AVERAGE_POOL2D',                    parse: b.parseAveragePool2d },
  { code:    10, name: 'QUANTIZED_AVERAGE_POOL2D',          parse: null, note: NO_SDK },
  { code:    11, name: 'QUANTIZE',                          parse: b.parseQuantize },
  { code:    12, name: 'DEQUANTIZE',                        parse: b.parseDequantize },
  { code:    13, name: 'REQUANTIZE',                        parse: b.parseRequantize },
  { code:    14, name: 'L2_NORMALIZATION',                  parse: b.parseChannels },
  { code:    15, name: 'SOFTMAX',                           parse: b.parseChannels },
  { code:    16, name: 'CONCAT',                            parse: b.parseConcat },
  { code:    17, name: 'QUANTIZED_CONCAT',                  parse: b.parseQuantizedConcat },
  { code:    18, name: 'FULLY_CONNECTED',                   parse: b.parseFullyConnected },
  { code:    19, name: 'QUANTIZED_FULLY_CONNECTED',         parse: null, note: NO_SDK },
  { code:    20, name: 'TENSORFLOW_FLATTEN',                parse: b.parseTensorflowFlatten },
  { code:    21, name: 'QUANTIZED_TENSORFLOW_FLATTEN',      parse: b.parseQuantizedTensorflowFlatten },
  { code:    22, name: 'RESIZE_NEAREST_NEIGHBOR',           parse: b.parseResizeNearestNeighbor },
  { code:    23, name: 'QUANTIZED_RESIZE_NEAREST_NEIGHBOR', parse: b.parseQuantizedResizeNearestNeighbor },
  { code:    24, name: 'CHANNELWISE_DEQUANTIZE',            parse: b.parseChannelwiseDequantize },
  { code:    25, name: 'LOGISTIC',                          parse: b.parseChannels },
  { code:  1000, name: 'CONV',                              parse: null, note: 'only netron names it; no source defines its body' },
  { code:  1001, name: 'DWCONV',                            parse: null, note: 'only netron names it; no source defines its body' },
  { code:  1002, name: 'QUANTIZED_RESHAPE',                 parse: null, note: 'only netron names it; no source defines its body' },
  { code:  1003, name: 'RESHAPE',                           parse: null, note: 'only netron names it; no source defines its body' },
  { code: 10240, name: 'K210_CONV',                         parse: parseK210Conv },
  { code: 10241, name: 'K210_ADD_PADDING',                  parse: b.parseK210AddPadding },
  { code: 10242, name: 'K210_REMOVE_PADDING',               parse: b.parseK210RemovePadding },
  { code: 10243, name: 'K210_UPLOAD',                       parse: b.parseK210Upload },
];

export const V3_LAYER_TYPES: readonly V3LayerTypeRow[] = Object.freeze(ROWS.map((row) => Object.freeze(row)));

const BY_CODE = new Map(V3_LAYER_TYPES.map((row) => [row.code, row]));

export function v3LayerType(code: number): V3LayerTypeRow | undefined {
  return BY_CODE.get(code);
}
