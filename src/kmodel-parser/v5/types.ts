/**
 * kmodel v5 (nncase 1.x): the container (model header, modules, mempools, sections,
 * functions), the K210 module's op records and the stackvm module's decoded bytecode.
 * Names mirror nncase's `include/nncase/runtime/model.h` and the K210 module's
 * `runtime_types.h`. kpu-numerics §4 (container) and §5 (register words).
 */
import type { LayerBase } from '../layer.js';
import type { DType, KpuConvParams, TensorDesc } from '../model.js';
import type { StackvmInstruction, StackvmNumberingChoice } from './stackvm/isa.js';

/** `memory_location_t` values. */
export const MEM_INPUT = 0;
export const MEM_OUTPUT = 1;
export const MEM_RDATA = 2;
export const MEM_DATA = 3;
// 4 is shared_data, which nothing here reads.
/** The K210 module's private location: the 2 MiB AI SRAM. */
export const MEM_KPU = 64;

/** `datatype_t` codes of nncase 1.x (`datatypes.def`). */
export const V5_DATATYPES: readonly DType[] = [
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'float16',
  'float32',
  'float64',
  'bfloat16',
];

/** A `memory_range` (12 bytes): location u8, datatype u8, shared_module u16, start u32, size u32. */
export interface MemoryRangeV5 {
  readonly location: number;
  /** The raw datatype code; `dtype` is its name when the code is known. */
  readonly datatype: number;
  readonly dtype?: DType;
  readonly sharedModule: number;
  readonly start: number;
  readonly size: number;
  /** Absolute file offset of the record. */
  readonly fileOffset: number;
}

export interface MempoolDescV5 {
  readonly location: number;
  readonly size: number;
}

export interface SharedMempoolDescV5 {
  readonly module: number;
  readonly size: number;
}

export interface SectionV5 {
  readonly name: string;
  readonly flags: number;
  /** Padding before the body (own body) or the start inside `.rdata` (merged). */
  readonly bodyStart: number;
  readonly bodySize: number;
  /** flags bit 0 (SECTION_MERGED_INTO_RDATA): the body is a sub-range of this module's `.rdata`. */
  readonly mergedIntoRdata: boolean;
  /** Zero-copy view of the body bytes. */
  readonly body: Uint8Array;
  /** Absolute file offsets of the section header and of the body's first byte. */
  readonly headerOffset: number;
  readonly bodyOffset: number;
}

export interface FunctionTensorV5 {
  readonly range: MemoryRangeV5;
  readonly shape: readonly number[];
}

export interface FunctionV5 {
  readonly index: number;
  /** Absolute file offset of the function record, and its size (`function_header.size`). */
  readonly offset: number;
  readonly size: number;
  readonly headerSize: number;
  readonly inputPoolSize: number;
  readonly outputPoolSize: number;
  readonly inputs: readonly FunctionTensorV5[];
  readonly outputs: readonly FunctionTensorV5[];
  /** Offset and size of the function's code inside the module's `.text` section. */
  readonly entrypoint: number;
  readonly textSize: number;
  /** Zero-copy view of the function's code, and its absolute file offset. */
  readonly text: Uint8Array;
  readonly textOffset: number;
}

// ---------------------------------------------------------------------------------------------
// K210 module ops (modules/k210 `runtime_types.h`: kpu_upload_options, kpu_download_options,
// kpu_conv2d_options, copy_options). Records are packed back to back in a function's text.

export type K210OpName = 'kpu_upload' | 'kpu_download' | 'kpu_conv2d' | 'copy';

interface K210OpBase {
  readonly opcode: number;
  readonly name: K210OpName;
  /** Absolute file offset of the record and its size. */
  readonly offset: number;
  readonly size: number;
}

/** kpu_upload / kpu_download: dense NCHW ↔ AI SRAM layout (kpu-numerics §6.8). */
export interface K210DataExchangeOp extends K210OpBase {
  readonly name: 'kpu_upload' | 'kpu_download';
  readonly input: MemoryRangeV5;
  readonly output: MemoryRangeV5;
  /** N, C, H, W. */
  readonly inShape: readonly [number, number, number, number];
}

export interface K210Conv2dOp extends K210OpBase {
  readonly name: 'kpu_conv2d';
  readonly weights: MemoryRangeV5;
  readonly batchNorm: MemoryRangeV5;
  readonly activation: MemoryRangeV5;
  /** size 0 = no main-memory copy of the result. */
  readonly mainMemOutput: MemoryRangeV5;
  readonly batches: number;
  readonly kpu: KpuConvParams;
}

export interface K210CopyOp extends K210OpBase {
  readonly name: 'copy';
  readonly input: MemoryRangeV5;
  readonly output: MemoryRangeV5;
  readonly inShape: readonly [number, number, number, number];
  /** Element strides. */
  readonly inStrides: readonly [number, number, number, number];
  readonly outStrides: readonly [number, number, number, number];
}

export type K210Op = K210DataExchangeOp | K210Conv2dOp | K210CopyOp;

// ---------------------------------------------------------------------------------------------

export interface ModuleV5 {
  readonly index: number;
  /** "stackvm", "k210", … (the NUL-padded 16-byte `module_type_t`). */
  readonly type: string;
  readonly version: number;
  readonly headerSize: number;
  /** Whole module including its header. */
  readonly size: number;
  /** Absolute file offset of the module header. */
  readonly offset: number;
  readonly mempools: readonly MempoolDescV5[];
  readonly sharedMempools: readonly SharedMempoolDescV5[];
  readonly sections: readonly SectionV5[];
  readonly functions: readonly FunctionV5[];
  /** Size of the module's data pool (mempool location 3), 0 when absent. */
  readonly dataPoolSize: number;
  /** The `.rdata` and `.text` bodies (empty views when absent). */
  readonly rdata: Uint8Array;
  readonly rdataOffset: number;
  readonly textSection: Uint8Array;
  /** K210 module: the op records of each function (index = function index). */
  readonly k210?: { readonly functions: readonly (readonly K210Op[])[] };
  /** stackvm module: each function's decoded bytecode under the chosen numbering. */
  readonly stackvm?: { readonly functions: readonly (readonly StackvmInstruction[])[] };
}

export interface ModelHeaderV5 {
  readonly identifier: number;
  readonly version: 5;
  readonly headerSize: number;
  readonly flags: number;
  readonly alignment: number;
  readonly modules: number;
  readonly entryModule: number;
  readonly entryFunction: number;
}

/** One entry of `layers`: a K210 op or a stackvm TENSOR instruction. */
export interface LayerV5 extends LayerBase {
  /** Module and function the op belongs to, and its position in that function. */
  readonly module: number;
  readonly function: number;
  readonly opIndex: number;
  /** The K210 op (for `k210:*` layers) or the stackvm instruction (for `stackvm:*`). */
  readonly k210Op?: K210Op;
  readonly instruction?: StackvmInstruction;
}

export interface KmodelV5 {
  readonly version: 5;
  readonly generation: 'nncase 1.x';
  readonly header: ModelHeaderV5;
  readonly modules: readonly ModuleV5[];
  /** Inputs and outputs of the entry function. */
  readonly inputs: readonly TensorDesc[];
  readonly outputs: readonly TensorDesc[];
  /** The runtime's working memory: the data pools (mempool location 3) of every module, in bytes. */
  readonly mainMemBytes: number;
  /**
   * One layer per K210 op and per stackvm TENSOR instruction, in static execution order: the
   * entry function's instructions in order, each `stackvm:CALL` preceded by the ops of the
   * function it calls (the order of the golden traces); functions never called follow.
   */
  readonly layers: readonly LayerV5[];
  /** Which stackvm tensor-function numbering decodes this file, and why (absent without a stackvm module). */
  readonly stackvmNumbering?: StackvmNumberingChoice;
}
