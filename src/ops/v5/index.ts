/**
 * The stackvm tensor-function table of kmodel v5: every `tensor_function_t` name the supported nncase releases define
 * (src/kmodel-parser/v5/stackvm/isa.ts) and its definition, typed total over `TensorFunctionName`: a function kpusim
 * does not run says why, and preparing a model that uses it fails naming the function and its pc. docs/adding-an-op.md
 * walks through adding one.
 */
import type { StackvmInstruction, TensorFunctionName } from '../../kmodel-parser/v5/stackvm/isa.js';
import { isNotApplicable, notApplicable } from '../not-applicable.js';
import { binaryFn } from './binary.js';
import { callFn } from './call.js';
import { conv2dFn } from './conv2d.js';
import { convertFn } from './convert.js';
import { copyFn } from './copy.js';
import { defineV5Function, type Shapes, type V5FunctionDef } from './def.js';
import { dequantizeFn } from './dequantize.js';
import { padFn } from './pad.js';
import { quantizeFn } from './quantize.js';
import { reduceWindow2dFn } from './reduce-window2d.js';
import { resizeImageFn } from './resize-image.js';
import { sliceFn } from './slice.js';
import { transposeFn } from './transpose.js';
import { unaryFn } from './unary.js';

/** A function the releases name but give no operand reader: the decoder refuses it, so no model reaches prepare. */
const NO_READER = notApplicable('nncase has no operand reader for it, so the decoder refuses it');
/** A function that decodes but whose kernel kpusim does not have yet. */
const NOT_YET = notApplicable('kpusim has no kernel for it yet');

const undecodable = <N extends TensorFunctionName>(name: N) => defineV5Function({ name, run: NO_READER });
const notYet = <N extends TensorFunctionName>(name: N) => defineV5Function({ name, run: NOT_YET });

export const V5_FUNCTIONS = {
  BATCH_TO_SPACE: notYet('BATCH_TO_SPACE'),
  BINARY: binaryFn,
  BROADCAST: notYet('BROADCAST'),
  CALL: callFn,
  CLAMP: undecodable('CLAMP'),
  CONV2D: conv2dFn,
  CONV2D_TRANSPOSE: undecodable('CONV2D_TRANSPOSE'),
  CONVERT: convertFn,
  COPY: copyFn,
  CUMSUM: notYet('CUMSUM'),
  DEQUANTIZE: dequantizeFn,
  GATHER: notYet('GATHER'),
  GATHER_ND: notYet('GATHER_ND'),
  LOGISTIC: undecodable('LOGISTIC'),
  LUT1D: notYet('LUT1D'),
  MATMUL: undecodable('MATMUL'),
  ONEHOT: notYet('ONEHOT'),
  PAD: padFn,
  QUANTIZE: quantizeFn,
  REDUCE: notYet('REDUCE'),
  REDUCEARG: notYet('REDUCEARG'),
  REDUCE_WINDOW2D: reduceWindow2dFn,
  RESIZE_IMAGE: resizeImageFn,
  SLICE: sliceFn,
  SOFTMAX: undecodable('SOFTMAX'),
  SPACE_TO_BATCH: undecodable('SPACE_TO_BATCH'),
  TAKE: undecodable('TAKE'),
  TRANSPOSE: transposeFn,
  UNARY: unaryFn,
} satisfies { readonly [N in TensorFunctionName]: V5FunctionDef<N> };

const BY_NAME: ReadonlyMap<string, V5FunctionDef<TensorFunctionName>> = new Map(
  Object.values(V5_FUNCTIONS).map((d) => [d.name, d]),
);

/** The definition of a decoded TENSOR instruction's function (undefined only for a name no release defines). */
export function v5Function(ins: StackvmInstruction): V5FunctionDef<TensorFunctionName> | undefined {
  return BY_NAME.get(ins.tensorName ?? '');
}

/**
 * Why kpusim cannot run a decoded TENSOR instruction, known from the instruction alone (prepare reports it before
 * anything runs; the parser has already refused datatypes a kernel does not take); undefined when it can.
 */
export function tensorOpUnsupported(ins: StackvmInstruction): string | undefined {
  const def = v5Function(ins);
  if (!def || isNotApplicable(def.run))
    return `tensor function ${ins.tensorName ?? ''} is known but not implemented by kpusim`;
  return def.check?.(ins);
}

/**
 * What a TENSOR instruction's event says, from its decoded arguments and the shapes the decoder tracked (prepare's
 * events before the first run): the same shapes and MAC counts the executors report.
 */
export function staticTensorOpInfo(
  ins: StackvmInstruction,
  inputs: Shapes,
  outputs: Shapes,
): { inputShapes: Shapes; macs: number } {
  return v5Function(ins)?.staticInfo?.(ins, inputs, outputs) ?? { inputShapes: inputs, macs: 0 };
}
