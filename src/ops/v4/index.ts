/**
 * The kmodel v4 op table: every nncase 0.2 `runtime_opcode` and its definition, typed total over `V4OpName`
 * (a missing op, or a definition missing a part, fails the type check). docs/adding-an-op.md walks through adding one.
 */
import type { V4OpName } from '../../kmodel-parser/v4/types.js';
import type { V4OpDef } from './def.js';
import { binaryOp } from './binary.js';
import { concatOp } from './concat.js';
import { conv2dOp } from './conv2d.js';
import { conv2dTransposeOp } from './conv2d-transpose.js';
import { cpuConv2dOp } from './cpu-conv2d.js';
import { cpuDepthwiseConv2dOp } from './cpu-depthwise-conv2d.js';
import { cpuQuantizedConv2dOp } from './cpu-quantized-conv2d.js';
import { cpuQuantizedDepthwiseConv2dOp } from './cpu-quantized-depthwise-conv2d.js';
import { cpuReduceWindow2dOp } from './cpu-reduce-window2d.js';
import { dequantizeOp } from './dequantize.js';
import { kpuConv2dOp } from './kpu-conv2d.js';
import { kpuUploadOp } from './kpu-upload.js';
import { matmulOp } from './matmul.js';
import { memoryCopyOp } from './memory-copy.js';
import { nnilUnaryMethodOp } from './nnil-unary-method.js';
import { padOp } from './pad.js';
import { quantizeOp } from './quantize.js';
import { quantizedBinaryOp } from './quantized-binary.js';
import { quantizedConv2dOp } from './quantized-conv2d.js';
import { quantizedMatmulOp } from './quantized-matmul.js';
import { reduceOp } from './reduce.js';
import { reduceWindow2dOp } from './reduce-window2d.js';
import { resizeImageOp } from './resize-image.js';
import { softmaxOp } from './softmax.js';
import { stridedSliceOp } from './strided-slice.js';
import { tableLookup1dOp } from './table-lookup1d.js';
import { transposeOp } from './transpose.js';
import { unaryOp } from './unary.js';

export const V4_OPS = {
  binary: binaryOp,
  concat: concatOp,
  conv2d: conv2dOp,
  dequantize: dequantizeOp,
  matmul: matmulOp,
  pad: padOp,
  quantize: quantizeOp,
  reduce: reduceOp,
  reduce_window2d: reduceWindow2dOp,
  memory_copy: memoryCopyOp,
  resize_image: resizeImageOp,
  softmax: softmaxOp,
  transpose: transposeOp,
  strided_slice: stridedSliceOp,
  unary: unaryOp,
  quantized_conv2d: quantizedConv2dOp,
  quantized_matmul: quantizedMatmulOp,
  quantized_binary: quantizedBinaryOp,
  table_lookup1d: tableLookup1dOp,
  conv2d_transpose: conv2dTransposeOp,
  nnil_unary_method: nnilUnaryMethodOp,
  cpu_conv2d: cpuConv2dOp,
  cpu_depthwise_conv2d: cpuDepthwiseConv2dOp,
  cpu_reduce_window2d: cpuReduceWindow2dOp,
  cpu_quantized_conv2d: cpuQuantizedConv2dOp,
  cpu_quantized_depthwise_conv2d: cpuQuantizedDepthwiseConv2dOp,
  kpu_upload: kpuUploadOp,
  kpu_conv2d: kpuConv2dOp,
} satisfies { readonly [K in V4OpName]: V4OpDef<K> };

/** Any op's definition, for code that handles every op alike. */
export type AnyV4OpDef = (typeof V4_OPS)[V4OpName];

/** Definition of an opcode value, or undefined for a value nncase 0.2 does not define. */
export const V4_OP_BY_CODE: ReadonlyMap<number, AnyV4OpDef> = new Map(Object.values(V4_OPS).map((d) => [d.code, d]));
