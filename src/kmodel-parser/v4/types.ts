/**
 * kmodel v4 (nncase 0.2.x): the parsed, frozen model. Field names mirror nncase 0.2's C structs
 * (`memory_range`, `in_shape`, `fused_activation`, …) so both code bases can be grepped side by
 * side. kpu-numerics §3 (format), §10 (corrections).
 */
import type { LayerBase } from '../layer.js';
import type { KpuConvParams, TensorDesc } from '../model.js';

/** `memory_type_t`: 0 const (constant blob), 1 main (working buffer), 2 k210_kpu (AI SRAM). */
export type MemoryType = 'const' | 'main' | 'kpu';
/** `datatype_t` as v4 uses it: 0 float32, 1 uint8. */
export type V4DataType = 'float32' | 'uint8';

/** `memory_range`: a byte range of one memory, validated against that memory's size. */
export interface MemoryRange {
  readonly memory_type: MemoryType;
  readonly datatype: V4DataType;
  /** Byte offset into the memory. */
  readonly start: number;
  /** Size in bytes. */
  readonly size: number;
}

/** `runtime_shape_t`: N, C, H, W. */
export type Shape4 = readonly [number, number, number, number];
/** `padding`: elements before and after; negative values crop (kpu-numerics §10 C8). */
export interface Padding {
  readonly before: number;
  readonly after: number;
}
/** `value_range<float>` used as the fused activation clamp. */
export interface ValueRange {
  readonly min: number;
  readonly max: number;
}
/** `quant_param`: q = x·scale + zero_point (scale is quanta per unit, the reverse of v3). */
export interface QuantParam {
  readonly zero_point: number;
  readonly scale: number;
}
/** `scalar`: a datatype code and 4 raw bytes. The reference pad kernel ignores `type` (kpu-numerics §10 C8). */
export interface Scalar {
  readonly type: number;
  readonly storage: Uint8Array;
}

export const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'min', 'max'] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];
export const UNARY_OPS = ['abs', 'ceil', 'cos', 'exp', 'floor', 'log', 'neg', 'rsqrt', 'sin', 'square'] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];
export const REDUCE_OPS = ['mean', 'min', 'max', 'sum'] as const;
export type ReduceOp = (typeof REDUCE_OPS)[number];
export const IMAGE_RESIZE_MODES = ['bilinear', 'nearest_neighbor'] as const;
export type ImageResizeMode = (typeof IMAGE_RESIZE_MODES)[number];

// ---- bodies (kpu-numerics §3.3); each is the raw C struct, decoded ----

/** The operands, op and shapes binary and quantized_binary start with. */
interface BinaryOperands {
  readonly input_a: MemoryRange;
  readonly input_b: MemoryRange;
  readonly output: MemoryRange;
  readonly binary_op: BinaryOp;
  readonly in_a_shape: Shape4;
  readonly in_b_shape: Shape4;
  readonly out_shape: Shape4;
}

export interface BinaryBody extends BinaryOperands {
  readonly fused_activation: ValueRange;
}

export interface ConcatBody {
  readonly output: MemoryRange;
  /** Bytes of one slice along the concat axis (product of the inner dims × element size). */
  readonly inner_size: number;
  /** Product of the dims before the concat axis. */
  readonly outer_size: number;
  readonly inputs: readonly MemoryRange[];
  /** Size of each input along the concat axis. */
  readonly dims: readonly number[];
}

/** The window of the conv and pooling ops: padding, filter size, stride and dilation per axis. */
export interface Window2DFields {
  readonly padding_h: Padding;
  readonly padding_w: Padding;
  readonly filter_h: number;
  readonly filter_w: number;
  readonly stride_h: number;
  readonly stride_w: number;
  readonly dilation_h: number;
  readonly dilation_w: number;
}

/** The integer parameters of a quantised conv: zero points and the output's multiplier·2^−shift. */
interface QuantizedConvParams {
  readonly input_offset: number;
  readonly filter_offset: number;
  readonly output_mul: number;
  readonly output_shift: number;
  readonly output_offset: number;
}

interface Conv2DGeometry extends Window2DFields {
  readonly input: MemoryRange;
  readonly output: MemoryRange;
  readonly in_shape: Shape4;
  readonly groups: number;
  readonly out_channels: number;
}

export interface Conv2DBody extends Conv2DGeometry {
  readonly fused_activation: ValueRange;
  /** OIHW: out_channels × (in_channels / groups) × filter_h × filter_w. */
  readonly weights: Float32Array;
  readonly bias: Float32Array;
}

export interface QuantizedConv2DBody extends Conv2DGeometry, QuantizedConvParams {
  readonly bias: Int32Array;
  /** OIHW u8, a view of the file. */
  readonly weights: Uint8Array;
}

export interface QuantizeBody {
  readonly input: MemoryRange;
  readonly output: MemoryRange;
  readonly quant_param: QuantParam;
}
export type DequantizeBody = QuantizeBody;

/** The operands and sizes matmul and quantized_matmul start with. */
interface MatMulOperands {
  readonly input_a: MemoryRange;
  readonly input_b: MemoryRange;
  readonly output: MemoryRange;
  readonly a_rows: number;
  readonly a_cols: number;
  readonly b_cols: number;
}

export interface MatMulBody extends MatMulOperands {
  readonly fused_activation: ValueRange;
  readonly bias: Float32Array;
}

export interface QuantizedMatMulBody extends MatMulOperands {
  readonly input_a_offset: number;
  readonly input_b_offset: number;
  readonly output_mul: number;
  readonly output_shift: number;
  readonly output_offset: number;
  readonly bias: Int32Array;
}

export interface PadBody {
  readonly input: MemoryRange;
  readonly output: MemoryRange;
  readonly in_shape: Shape4;
  /** N, C, H, W; negative values crop. */
  readonly paddings: readonly [Padding, Padding, Padding, Padding];
  readonly pad_value: Scalar;
}

export interface ReduceBody {
  readonly input: MemoryRange;
  readonly output: MemoryRange;
  readonly reduce_op: ReduceOp;
  readonly in_shape: Shape4;
  readonly out_shape: Shape4;
  readonly init_value: number;
}

export interface ReduceWindow2DBody extends Window2DFields {
  readonly input: MemoryRange;
  readonly output: MemoryRange;
  readonly reduce_op: ReduceOp;
  readonly in_shape: Shape4;
  readonly init_value: number;
  readonly fused_activation: ValueRange;
}

export interface MemoryCopyBody {
  readonly input: MemoryRange;
  readonly output: MemoryRange;
}

export interface ResizeImageBody {
  readonly input: MemoryRange;
  readonly output: MemoryRange;
  readonly in_shape: Shape4;
  readonly out_h: number;
  readonly out_w: number;
  readonly mode: ImageResizeMode;
  readonly align_corners: boolean;
}

export interface SoftmaxBody {
  readonly input: MemoryRange;
  readonly output: MemoryRange;
  readonly inner_size: number;
  readonly outer_size: number;
  readonly beta: number;
}

export interface TransposeBody {
  readonly input: MemoryRange;
  readonly output: MemoryRange;
  readonly in_shape: Shape4;
  readonly perm: Shape4;
}

export interface StridedSliceBody {
  readonly input: MemoryRange;
  readonly output: MemoryRange;
  readonly in_shape: Shape4;
  readonly begin: Shape4;
  readonly end: Shape4;
  readonly strides: Shape4;
  readonly begin_mask: number;
  readonly end_mask: number;
  readonly ellipsis_mask: number;
  readonly new_axis_mask: number;
  readonly shrink_axis_mask: number;
}

export interface UnaryBody {
  readonly input: MemoryRange;
  readonly output: MemoryRange;
  readonly unary_op: UnaryOp;
}

export interface QuantizedBinaryBody extends BinaryOperands {
  readonly input_a_offset: number;
  readonly input_a_mul: number;
  readonly input_a_shift: number;
  readonly input_b_offset: number;
  readonly input_b_mul: number;
  readonly input_b_shift: number;
  readonly output_offset: number;
  readonly output_mul: number;
  readonly output_shift: number;
}

export interface TableLookup1DBody {
  readonly input: MemoryRange;
  /** 256 bytes, usually in the constant blob. */
  readonly table: MemoryRange;
  readonly output: MemoryRange;
}

export interface Conv2DTransposeBody extends Window2DFields {
  readonly input: MemoryRange;
  readonly output: MemoryRange;
  readonly in_shape: Shape4;
  readonly out_shape: Shape4;
  readonly groups: number;
  readonly fused_activation: ValueRange;
  /** out_C × (in_C / groups) × filter_h × filter_w. */
  readonly weights: Float32Array;
  readonly bias: Float32Array;
}

/** One decoded nnil instruction (kpu-numerics §7.3). */
export interface NnilInstruction {
  /** Absolute file offset of the opcode byte. */
  readonly offset: number;
  readonly opcode: number;
  readonly name: string;
  /** The f32 immediate of `ldc_r4`. */
  readonly value?: number;
}

export interface NnilUnaryMethodBody {
  readonly input: MemoryRange;
  readonly output: MemoryRange;
  /** The program bytes as stored (a view; includes the body's trailing alignment padding). */
  readonly body: Uint8Array;
  /** Decoded and validated up to and including the first `ret`. */
  readonly program: readonly NnilInstruction[];
  /** Deepest evaluation stack the program needs. */
  readonly max_stack: number;
}

/** cpu_conv2d / cpu_depthwise_conv2d (target CPU only; offsets derived from struct order, kpu-numerics §3.3). */
interface CpuConv2DGeometry extends Window2DFields {
  readonly input: MemoryRange;
  readonly output: MemoryRange;
  readonly in_shape: Shape4;
  /** Stored for cpu_conv2d; for the depthwise op it equals the input channels. */
  readonly out_channels: number;
}

export interface CpuConv2DBody extends CpuConv2DGeometry {
  readonly fused_activation: ValueRange;
  readonly weights: Float32Array;
  readonly bias: Float32Array;
}

export interface CpuQuantizedConv2DBody extends CpuConv2DGeometry, QuantizedConvParams {
  /** Weights come before the bias in these ops (the reverse of quantized_conv2d). */
  readonly weights: Uint8Array;
  readonly bias: Int32Array;
}

export interface KpuUploadBody {
  /** Main memory, uint8, dense NCHW. */
  readonly input: MemoryRange;
  /** AI SRAM, in the 64-byte-row layout of `in_shape`. */
  readonly output: MemoryRange;
  readonly in_shape: Shape4;
}

export interface KpuConv2DBody {
  /** Registers, tables and weights (the same object as the node's `kpu`). */
  readonly kpu: KpuConvParams;
  /** Dense NCHW uint8 copy of the result; size 0 = no main-memory copy (then all fields are 0). */
  readonly main_mem_output: MemoryRange;
  readonly batches: number;
  readonly reserved0: number;
  /** The three skip counts stored in the address fields (kpu-numerics §3.4, §10 C4). */
  readonly skips: { readonly bwsx_base_addr: number; readonly active_addr: number; readonly para_start_addr: number };
  /**
   * Where the conv reads and writes in AI SRAM, derived from the registers and the kpu-numerics §6.8 layout (all
   * batches).
   */
  readonly kpu_input: MemoryRange;
  readonly kpu_output: MemoryRange;
  /** Batch-0 map shapes, N = batches. */
  readonly in_shape: Shape4;
  readonly out_shape: Shape4;
}

/** Body type of every opcode, keyed by the nncase 0.2 name. */
export interface V4BodyMap {
  binary: BinaryBody;
  concat: ConcatBody;
  conv2d: Conv2DBody;
  dequantize: DequantizeBody;
  matmul: MatMulBody;
  pad: PadBody;
  quantize: QuantizeBody;
  reduce: ReduceBody;
  reduce_window2d: ReduceWindow2DBody;
  memory_copy: MemoryCopyBody;
  resize_image: ResizeImageBody;
  softmax: SoftmaxBody;
  transpose: TransposeBody;
  strided_slice: StridedSliceBody;
  unary: UnaryBody;
  quantized_conv2d: QuantizedConv2DBody;
  quantized_matmul: QuantizedMatMulBody;
  quantized_binary: QuantizedBinaryBody;
  table_lookup1d: TableLookup1DBody;
  conv2d_transpose: Conv2DTransposeBody;
  nnil_unary_method: NnilUnaryMethodBody;
  cpu_conv2d: CpuConv2DBody;
  cpu_depthwise_conv2d: CpuConv2DBody;
  cpu_reduce_window2d: ReduceWindow2DBody;
  cpu_quantized_conv2d: CpuQuantizedConv2DBody;
  cpu_quantized_depthwise_conv2d: CpuQuantizedConv2DBody;
  kpu_upload: KpuUploadBody;
  kpu_conv2d: KpuConv2DBody;
}
export type V4OpName = keyof V4BodyMap;

/** What every v4 node has beyond LayerBase. */
export interface V4NodeCommon extends LayerBase {
  readonly type: V4OpName;
  /**
   * The name nncase 0.2's runtime prints for this opcode (`KPUConv2D`, `QuantizedBinary`, …), as in the golden traces.
   */
  readonly traceName: string;
  /** Memory ranges the node reads and writes, in body order (kpu_conv2d: its derived AI SRAM ranges). */
  readonly inputRanges: readonly MemoryRange[];
  readonly outputRanges: readonly MemoryRange[];
  readonly inputs: readonly TensorDesc[];
  readonly outputs: readonly TensorDesc[];
}

type NodeOf<K extends V4OpName> = V4NodeCommon & {
  readonly type: K;
  readonly body: V4BodyMap[K];
} & (K extends 'kpu_conv2d'
    ? {
        readonly unit: 'KPU';
        readonly kpu: KpuConvParams;
        readonly batches: number;
        readonly main_mem_output: MemoryRange;
      }
    : { readonly unit: 'CPU' });

/** One node: a discriminated union on `type`. */
export type V4Node = { [K in V4OpName]: NodeOf<K> }[V4OpName];
export type V4NodeOfType<K extends V4OpName> = NodeOf<K>;

/** The 40-byte header, as stored (reserved0 is uninitialised garbage in real files, kpu-numerics §10 C14). */
export interface V4Header {
  readonly identifier: number;
  readonly version: 4;
  readonly flags: number;
  /** 0 = CPU, 1 = K210. */
  readonly target: number;
  readonly constants: number;
  readonly main_mem: number;
  readonly nodes: number;
  readonly inputs: number;
  readonly outputs: number;
  readonly reserved0: number;
}

export type V4Tensor = TensorDesc & { readonly range: MemoryRange };

export interface KmodelV4 {
  readonly version: 4;
  readonly generation: 'nncase 0.2';
  readonly header: V4Header;
  readonly target: 'cpu' | 'k210';
  /** Size of the main working buffer (`main_mem`). */
  readonly mainMemBytes: number;
  /** The constant blob, a view of the file. */
  readonly constants: Uint8Array;
  /** Shapes from the stored NCHW shapes. A KPU-memory input range is in the padded KPU layout (kpu-numerics §10 C7). */
  readonly inputs: readonly V4Tensor[];
  /** v4 stores no output shapes: each is inferred from the node that writes the range, else flat. */
  readonly outputs: readonly V4Tensor[];
  readonly layers: readonly V4Node[];
  /** Absolute file offset of the first body. */
  readonly bodiesOffset: number;
  /** Bytes the last body is short of its body_size (trailing padding not written, kpu-numerics §10 C3). */
  readonly lastBodyShortfall: number;
  /** Bytes after the last body, ignored (kpu-numerics §10 C3: up to a second 1 MiB flash image). */
  readonly trailingBytes: number;
}
