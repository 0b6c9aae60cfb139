/**
 * What an nncase 1.x stackvm tensor function is to kpusim (kmodel v5): one definition per `tensor_function_t` name
 * holding its executor (which pops its operands from the evaluation stack as nncase's runtime does, runs the kernel
 * and reports what it touched), the check prepare runs on its decoded arguments, and the shapes and MACs of its
 * event before a run. The table in `index.ts` is total over the names the supported releases define. Float
 * counterparts are in `src/reference/v5-ops.ts`. See docs/adding-an-op.md.
 */
import type { StackvmInstruction, TensorFunctionName } from '../../kmodel-parser/v5/stackvm/isa.js';
import type { V5OpParams } from '../../kpu/v5/hooks.js';
import type { Padding, Window2d } from '../../kpu/ops/common.js';
import { quantize } from '../../kpu/ops/v5/quantize.js';
import { windowedOutputSize } from '../../kpu/ops/v5/window.js';
import { elementCount, elemSize, type StridedTensor } from '../../kpu/v5/tensor.js';
import type { StackvmRun, TensorOpInfo } from '../../kpu/v5/stackvm.js';
import { asR4 } from '../../kpu/v5/stack.js';
import type { NotApplicable } from '../not-applicable.js';

export type Shapes = readonly (readonly number[])[];

export interface V5FunctionDef<N extends TensorFunctionName> {
  readonly name: N;
  /** Pops the operands, resolves the tensors, runs the kernel; or why kpusim does not run the function. */
  readonly run: ((vm: StackvmRun, ins: StackvmInstruction) => TensorOpInfo) | NotApplicable;
  /** Why this instruction cannot run, from its decoded arguments alone (prepare); undefined when it can. */
  readonly check?: (ins: StackvmInstruction) => string | undefined;
  /** The event's input shapes and MACs from the shapes the decoder tracked (prepare's events, before a run). */
  readonly staticInfo?: (
    ins: StackvmInstruction,
    inputs: Shapes,
    outputs: Shapes,
  ) => { inputShapes: Shapes; macs: number };
}

/** Infers the function name from the definition's `name`. */
export function defineV5Function<N extends TensorFunctionName>(def: V5FunctionDef<N>): V5FunctionDef<N> {
  return def;
}

// ---- helpers the definitions share ----

export const bytesOf = (t: StridedTensor, shape = t.shape): number => elementCount(shape) * elemSize(t.datatype);

/** One input, one output of the same shape (`shapeField` names its shape register). */
export function unaryLike(
  vm: StackvmRun,
  ins: StackvmInstruction,
  inType: number,
  outType: number,
  kernel: (i: StridedTensor, o: StridedTensor) => void,
  shapeField = 'rshape_src',
  params: V5OpParams = {},
): TensorOpInfo {
  const output = vm.popAddr();
  const input = vm.popAddr();
  const shape = vm.shapeReg(ins.args[shapeField]);
  const i = vm.tensor(input, inType, shape, vm.shapeReg(ins.args.rstride_src), false);
  const o = vm.tensor(output, outType, shape, vm.shapeReg(ins.args.rstride_dest), true);
  vm.ready(params);
  kernel(i, o);
  return { inputShapes: [shape], outputShapes: [shape], bytesIn: bytesOf(i), bytesOut: bytesOf(o), macs: 0 };
}

/** QUANTIZE and DEQUANTIZE: scale and bias are popped (bias on top) before the two addresses. */
export function quantLike(vm: StackvmRun, ins: StackvmInstruction, kernel: typeof quantize): TensorOpInfo {
  const bias = asR4(vm.stack.pop());
  const scale = asR4(vm.stack.pop());
  return unaryLike(
    vm,
    ins,
    ins.args.in_datatype,
    ins.args.dst_datatype,
    (i, o) => kernel(i, o, scale, bias),
    'rshape_src',
    { scale, bias },
  );
}

/** The geometry of a 2-D window from the instruction and the paddings popped for it. */
export function window2d(
  a: Readonly<Record<string, number>>,
  filterH: number,
  filterW: number,
  padH: Padding,
  padW: Padding,
): Window2d {
  return {
    filterH,
    filterW,
    strideH: a.stride_h,
    strideW: a.stride_w,
    dilationH: a.dilation_h,
    dilationW: a.dilation_w,
    paddingH: padH,
    paddingW: padW,
  };
}

/** NCHW output of a 2-D window over a rank-4 `shape` with `outC` channels. */
export function windowOutputShape(shape: readonly number[], outC: number, w: Window2d): number[] {
  return [
    shape[0],
    outC,
    windowedOutputSize(shape[2], w.filterH, w.strideH, w.dilationH, w.paddingH),
    windowedOutputSize(shape[3], w.filterW, w.strideW, w.dilationW, w.paddingW),
  ];
}
