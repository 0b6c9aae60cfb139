/**
 * Per-op hook of a v5 run, for tools that follow the dataflow (the float reference of
 * `kpusim compare`, layer dumps): every K210 op and every stackvm TENSOR instruction is
 * described by the tensors it reads and writes, as views of the machine's buffers, and the
 * scalar operands the bytecode gave it.
 *
 * - `before`: operands resolved, nothing written yet. Every K210 op (the AI SRAM state a
 *   kpu_conv2d reads is still intact) and every stackvm tensor op (a CALL's `before` comes
 *   before the ops of the function it calls).
 * - `after`: the op finished (for a CALL: after the callee's ops). The trace line is written
 *   just before.
 *
 * The hook costs nothing when absent: views are only recorded when a hook is installed.
 */
import type { K210Op } from '../../kmodel-parser/v5/types.js';
import type { StackvmInstruction } from '../../kmodel-parser/v5/stackvm/isa.js';
import type { Padding } from '../ops/common.js';
import type { MemBlock } from './memory.js';

/**
 * A tensor in one of the machine's buffers.
 * - `strided`: element [i…] at byte `offset + elemSize·Σ i_k·strides_k` of `block.bytes`
 *   (nncase strides: in elements, aligned to the trailing dimensions, 0 for size-1 dims).
 * - `kpu`: an N×C×H×W uint8 map in the AI SRAM layout (kpu-numerics §6.8) at byte `offset` of the
 *   K210 module's KPU RAM; `strides` is empty.
 * A block may be a window of another (`block.parent`): then `block.bytes` is a sub-array of the
 * parent's bytes (same ArrayBuffer), so `bytes.byteOffset + offset` locates the tensor in the
 * underlying buffer either way.
 */
export interface V5View {
  readonly block: MemBlock;
  readonly offset: number;
  /** nncase datatype code (4 = uint8, 9 = float32, …). */
  readonly datatype: number;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly layout: 'strided' | 'kpu';
}

/** Scalar operands taken from the stack (quantisation, paddings, sizes, slice bounds, …). */
export type V5OpParams = Readonly<Record<string, number | readonly number[] | Padding>>;

export interface V5OpStep {
  /** Index of the op in `model.layers` (−1 when the op is not one of them). */
  readonly index: number;
  /** `stackvm:<TENSOR_FUNCTION>` or `k210:<op>`, as `kpusim info` prints it. */
  readonly type: string;
  readonly unit: 'CPU' | 'KPU';
  readonly module: number;
  readonly function: number;
  /** Tensors read, in operand order (BINARY: a, b; CONV2D: input, weights, bias; CALL: the callee's inputs). */
  readonly inputs: readonly V5View[];
  /** Tensors written; outputs[0] is the result (kpu_conv2d: the AI SRAM map, then its main-memory copy). */
  readonly outputs: readonly V5View[];
  readonly params: V5OpParams;
  readonly instruction?: StackvmInstruction;
  readonly k210Op?: K210Op;
}

/** The machine's memories, for hooks that read them. */
export interface V5Memories {
  /** Each module's data pool (mempool location 3), by module index. */
  readonly dataPools: readonly Uint8Array[];
  /** The K210 module's KPU RAM (2 MiB), when the model has a K210 module. */
  readonly kpu?: Uint8Array;
}

export type V5OpHook = (phase: 'before' | 'after', step: V5OpStep, memories: V5Memories) => void;

/** Operands as a stackvm tensor op resolved them (recorded only while a hook is installed). */
export interface RecordedViews {
  readonly inputs: V5View[];
  readonly outputs: V5View[];
  params: V5OpParams;
}
