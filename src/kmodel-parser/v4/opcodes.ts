/**
 * The v4 opcode table: one row per `runtime_opcode` of nncase 0.2 (kpu-numerics §3.2) with its
 * upstream name, the name the runtime prints in traces, the unit that runs it, its body parser
 * and how its body names the tensors it reads and writes. Adding an op is one row here plus its
 * parser and body type.
 */
import {
  parseBinary,
  parseConcat,
  parseConv2D,
  parseConv2DTranspose,
  parseCpuConv2D,
  parseCpuDepthwiseConv2D,
  parseCpuQuantizedConv2D,
  parseCpuQuantizedDepthwiseConv2D,
  parseKpuUpload,
  parseMatMul,
  parseMemoryCopy,
  parseNnilUnaryMethod,
  parsePad,
  parseQuantize,
  parseQuantizedBinary,
  parseQuantizedConv2D,
  parseQuantizedMatMul,
  parseReduce,
  parseReduceWindow2D,
  parseResizeImage,
  parseSoftmax,
  parseStridedSlice,
  parseTableLookup1D,
  parseTranspose,
  parseUnary,
  windowOutputHW,
} from './bodies.js';
import { parseKpuConv2D } from './kpu-conv2d.js';
import { elements, V4_DTYPE_BYTES, type BodyContext } from './read.js';
import type { MemoryRange, QuantParam, Shape4, StridedSliceBody, V4BodyMap, V4OpName } from './types.js';

/** One tensor a node reads or writes. */
export interface IoItem {
  readonly range: MemoryRange;
  /** NCHW (or the op's natural rank) where known. */
  readonly shape?: readonly number[];
  /** True when the shape is stated by the body (it must agree with the range); false when inferred. */
  readonly stated?: boolean;
  readonly quant?: QuantParam;
}
export interface NodeIo {
  readonly inputs: readonly IoItem[];
  readonly outputs: readonly IoItem[];
}
/** Shape last written to exactly this range by an earlier node (or the model input), if known. */
export type ShapeLookup = (range: MemoryRange) => readonly number[] | undefined;

export interface OpcodeRow<K extends V4OpName = V4OpName> {
  /** `runtime_opcode` value. */
  readonly code: number;
  /** nncase 0.2 name (`runtime_op.def` first column). */
  readonly name: K;
  /**
   * The name nncase 0.2's runtime prints (`runtime_op.def` second column), as in the golden
   * traces. The ones that occur in the shared goldens are confirmed; the rest follow the same
   * naming pattern and are unconfirmed.
   */
  readonly traceName: string;
  readonly unit: 'KPU' | 'CPU';
  readonly parse: (c: BodyContext) => V4BodyMap[K];
  readonly io: (body: V4BodyMap[K], lookup: ShapeLookup) => NodeIo;
}

function row<K extends V4OpName>(
  code: number,
  name: K,
  traceName: string,
  parse: OpcodeRow<K>['parse'],
  io: OpcodeRow<K>['io'],
  unit: 'KPU' | 'CPU' = 'CPU',
): OpcodeRow<K> {
  return { code, name, traceName, unit, parse, io };
}

// ---- how each body names its tensors ----

const stated = (range: MemoryRange, shape: readonly number[], quant?: QuantParam): IoItem => ({
  range,
  shape,
  stated: true,
  ...(quant ? { quant } : {}),
});
const inferred = (range: MemoryRange, shape: readonly number[] | undefined, quant?: QuantParam): IoItem => ({
  range,
  ...(shape ? { shape, stated: false } : {}),
  ...(quant ? { quant } : {}),
});

/** Elementwise: the output has the input's shape. */
function elementwise(
  b: { input: MemoryRange; output: MemoryRange },
  lookup: ShapeLookup,
  qin?: QuantParam,
  qout?: QuantParam,
): NodeIo {
  const s = lookup(b.input);
  return { inputs: [inferred(b.input, s, qin)], outputs: [inferred(b.output, s, qout)] };
}

function binaryIo(b: V4BodyMap['binary'] | V4BodyMap['quantized_binary']): NodeIo {
  return {
    inputs: [stated(b.input_a, b.in_a_shape), stated(b.input_b, b.in_b_shape)],
    outputs: [stated(b.output, b.out_shape)],
  };
}

function concatIo(b: V4BodyMap['concat'], lookup: ShapeLookup): NodeIo {
  const total = b.dims.reduce((a, d) => a + d, 0);
  const elem = V4_DTYPE_BYTES[b.output.datatype];
  let out: readonly number[] | undefined;
  const first = lookup(b.inputs[0]);
  if (first) {
    // The concat axis is where the dims before multiply to outer_size and the dims after to inner_size bytes.
    for (let a = 0; a < first.length && !out; a++) {
      if (
        first[a] === b.dims[0] &&
        elements(first.slice(0, a)) === b.outer_size &&
        elements(first.slice(a + 1)) * elem === b.inner_size
      ) {
        out = first.map((d, i) => (i === a ? total : d));
      }
    }
  }
  if (!out && b.inner_size % elem === 0) out = [b.outer_size, total, b.inner_size / elem];
  return { inputs: b.inputs.map((r) => inferred(r, lookup(r))), outputs: [inferred(b.output, out)] };
}

function convIo(
  b: { input: MemoryRange; output: MemoryRange; in_shape: Shape4 } & Parameters<typeof windowOutputHW>[1],
  outC: number,
): NodeIo {
  const [oh, ow] = windowOutputHW(b.in_shape, b);
  return { inputs: [stated(b.input, b.in_shape)], outputs: [stated(b.output, [b.in_shape[0], outC, oh, ow])] };
}

function matmulIo(b: V4BodyMap['matmul'] | V4BodyMap['quantized_matmul']): NodeIo {
  return {
    inputs: [stated(b.input_a, [b.a_rows, b.a_cols]), stated(b.input_b, [b.a_cols, b.b_cols])],
    outputs: [stated(b.output, [b.a_rows, b.b_cols])],
  };
}

function reduceWindowIo(b: V4BodyMap['reduce_window2d']): NodeIo {
  const [oh, ow] = windowOutputHW(b.in_shape, b);
  return { inputs: [stated(b.input, b.in_shape)], outputs: [stated(b.output, [b.in_shape[0], b.in_shape[1], oh, ow])] };
}

/** TensorFlow-style strided-slice extent per axis (shrunk axes kept as 1). */
export function stridedSliceShape(b: StridedSliceBody): Shape4 {
  const out = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    const dim = b.in_shape[i];
    const s = b.strides[i];
    if (b.shrink_axis_mask & (1 << i)) {
      out[i] = 1;
      continue;
    }
    const norm = (v: number): number => (v < 0 ? v + dim : v);
    const lo = s > 0 ? 0 : -1;
    const hi = s > 0 ? dim : dim - 1;
    const clamp = (v: number): number => Math.min(Math.max(v, lo), hi);
    const begin = b.begin_mask & (1 << i) ? (s > 0 ? 0 : dim - 1) : clamp(norm(b.begin[i]));
    const end = b.end_mask & (1 << i) ? (s > 0 ? dim : -1) : clamp(norm(b.end[i]));
    out[i] = Math.max(0, Math.ceil((end - begin) / s));
  }
  return out as unknown as Shape4;
}

export const V4_OPCODES: readonly OpcodeRow[] = [
  row(0x00, 'binary', 'Binary', parseBinary, binaryIo),
  row(0x01, 'concat', 'Concat', parseConcat, concatIo),
  row(0x02, 'conv2d', 'Conv2D', parseConv2D, (b) => convIo(b, b.out_channels)),
  row(0x03, 'dequantize', 'Dequantize', parseQuantize, (b, l) => elementwise(b, l, b.quant_param, undefined)),
  row(0x04, 'matmul', 'MatMul', parseMatMul, matmulIo),
  row(0x05, 'pad', 'Pad', parsePad, (b) => ({
    inputs: [stated(b.input, b.in_shape)],
    outputs: [
      stated(
        b.output,
        b.in_shape.map((d, i) => d + b.paddings[i].before + b.paddings[i].after),
      ),
    ],
  })),
  row(0x06, 'quantize', 'Quantize', parseQuantize, (b, l) => elementwise(b, l, undefined, b.quant_param)),
  row(0x07, 'reduce', 'Reduce', parseReduce, (b) => ({
    inputs: [stated(b.input, b.in_shape)],
    outputs: [stated(b.output, b.out_shape)],
  })),
  row(0x08, 'reduce_window2d', 'ReduceWindow2D', parseReduceWindow2D, reduceWindowIo),
  row(0x09, 'memory_copy', 'MemoryCopy', parseMemoryCopy, (b, l) => elementwise(b, l)),
  row(0x0a, 'resize_image', 'ResizeImage', parseResizeImage, (b) => ({
    inputs: [stated(b.input, b.in_shape)],
    outputs: [stated(b.output, [b.in_shape[0], b.in_shape[1], b.out_h, b.out_w])],
  })),
  row(0x0b, 'softmax', 'Softmax', parseSoftmax, (b, l) => {
    const s = l(b.input) ?? [b.outer_size, b.inner_size];
    return { inputs: [inferred(b.input, s)], outputs: [inferred(b.output, s)] };
  }),
  row(0x0c, 'transpose', 'Transpose', parseTranspose, (b) => ({
    inputs: [stated(b.input, b.in_shape)],
    outputs: [
      stated(
        b.output,
        b.perm.map((p) => b.in_shape[p]),
      ),
    ],
  })),
  row(0x0d, 'strided_slice', 'StridedSlice', parseStridedSlice, (b) => ({
    inputs: [stated(b.input, b.in_shape)],
    outputs: [inferred(b.output, stridedSliceShape(b))],
  })),
  row(0x0e, 'unary', 'Unary', parseUnary, (b, l) => elementwise(b, l)),
  row(0x0f, 'quantized_conv2d', 'QuantizedConv2D', parseQuantizedConv2D, (b) => convIo(b, b.out_channels)),
  row(0x10, 'quantized_matmul', 'QuantizedMatMul', parseQuantizedMatMul, matmulIo),
  row(0x11, 'quantized_binary', 'QuantizedBinary', parseQuantizedBinary, binaryIo),
  row(0x12, 'table_lookup1d', 'TableLookup1D', parseTableLookup1D, (b, l) => {
    const s = l(b.input);
    return { inputs: [inferred(b.input, s), inferred(b.table, [b.table.size])], outputs: [inferred(b.output, s)] };
  }),
  row(0x13, 'conv2d_transpose', 'Conv2DTranspose', parseConv2DTranspose, (b) => ({
    inputs: [stated(b.input, b.in_shape)],
    outputs: [stated(b.output, b.out_shape)],
  })),
  row(0x14, 'nnil_unary_method', 'NnilUnaryMethod', parseNnilUnaryMethod, (b, l) => elementwise(b, l)),
  row(0x1001, 'cpu_conv2d', 'CPUConv2D', parseCpuConv2D, (b) => convIo(b, b.out_channels)),
  row(0x1002, 'cpu_depthwise_conv2d', 'CPUDepthwiseConv2D', parseCpuDepthwiseConv2D, (b) => convIo(b, b.out_channels)),
  row(0x1003, 'cpu_reduce_window2d', 'CPUReduceWindow2D', parseReduceWindow2D, reduceWindowIo),
  row(0x1004, 'cpu_quantized_conv2d', 'CPUQuantizedConv2D', parseCpuQuantizedConv2D, (b) => convIo(b, b.out_channels)),
  row(0x1005, 'cpu_quantized_depthwise_conv2d', 'CPUQuantizedDepthwiseConv2D', parseCpuQuantizedDepthwiseConv2D, (b) =>
    convIo(b, b.out_channels),
  ),
  row(0x2001, 'kpu_upload', 'KPUUpload', parseKpuUpload, (b) => ({
    inputs: [stated(b.input, b.in_shape)],
    outputs: [stated(b.output, b.in_shape)],
  })),
  row(
    0x2002,
    'kpu_conv2d',
    'KPUConv2D',
    parseKpuConv2D,
    (b) => ({
      inputs: [stated(b.kpu_input, b.in_shape)],
      outputs: [
        stated(b.kpu_output, b.out_shape),
        ...(b.main_mem_output.size !== 0 ? [stated(b.main_mem_output, b.out_shape)] : []),
      ],
    }),
    'KPU',
  ),
] as unknown as readonly OpcodeRow[];

/** Row of an opcode value, or undefined for a value nncase 0.2 does not define. */
export const V4_OPCODE_BY_CODE: ReadonlyMap<number, OpcodeRow> = new Map(V4_OPCODES.map((r) => [r.code, r]));
