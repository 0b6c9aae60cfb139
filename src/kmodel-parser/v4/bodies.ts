/**
 * Body parsers of the v4 CPU ops (kpu-numerics §3.3). Each reads the raw C struct from a reader
 * limited to its body, validates the fields the executor relies on, and ends with `c.end()`
 * (only alignment padding may follow). Field names are nncase 0.2's.
 */
import type { BodyContext } from './read.js';
import { decodeNnil } from './nnil.js';
import {
  BINARY_OPS,
  IMAGE_RESIZE_MODES,
  REDUCE_OPS,
  UNARY_OPS,
  type BinaryBody,
  type ConcatBody,
  type Conv2DBody,
  type Conv2DTransposeBody,
  type CpuConv2DBody,
  type CpuQuantizedConv2DBody,
  type KpuUploadBody,
  type MatMulBody,
  type MemoryCopyBody,
  type NnilUnaryMethodBody,
  type PadBody,
  type Padding,
  type QuantizeBody,
  type QuantizedBinaryBody,
  type QuantizedConv2DBody,
  type QuantizedMatMulBody,
  type ReduceBody,
  type ReduceWindow2DBody,
  type ResizeImageBody,
  type Shape4,
  type SoftmaxBody,
  type StridedSliceBody,
  type TableLookup1DBody,
  type TransposeBody,
  type UnaryBody,
  type Window2DFields,
} from './types.js';

/** nncase's windowed output size: (in + pads − ((f − 1)·d + 1)) / s + 1, C integer division. */
export function windowedOutputSize(
  size: number,
  pad: Padding,
  filter: number,
  stride: number,
  dilation: number,
): number {
  const n = size + pad.before + pad.after - ((filter - 1) * dilation + 1);
  return n < 0 ? 0 : Math.trunc(n / stride) + 1;
}

function windowOut(
  c: BodyContext,
  what: string,
  size: number,
  pad: Padding,
  filter: number,
  stride: number,
  dilation: number,
  at: number,
): number {
  const o = windowedOutputSize(size, pad, filter, stride, dilation);
  if (o < 1)
    c.fail(
      'BAD_VALUE',
      `${what}: input ${size} with padding (${pad.before}, ${pad.after}), filter ${filter}, stride ${stride}, dilation ${dilation} gives no output`,
      at,
    );
  return o;
}

// ---- shared pieces ----

function readWindow(c: BodyContext): Window2DFields {
  return {
    padding_h: c.padding('padding_h'),
    padding_w: c.padding('padding_w'),
    filter_h: c.atLeast(1, 'filter_h'),
    filter_w: c.atLeast(1, 'filter_w'),
    stride_h: c.atLeast(1, 'stride_h'),
    stride_w: c.atLeast(1, 'stride_w'),
    dilation_h: c.atLeast(1, 'dilation_h'),
    dilation_w: c.atLeast(1, 'dilation_w'),
  };
}

/** Output H and W of a window op; fails when the window does not fit. */
export function windowOutputHW(in_shape: Shape4, w: Window2DFields): [number, number] {
  return [
    windowedOutputSize(in_shape[2], w.padding_h, w.filter_h, w.stride_h, w.dilation_h),
    windowedOutputSize(in_shape[3], w.padding_w, w.filter_w, w.stride_w, w.dilation_w),
  ];
}

function checkWindow(c: BodyContext, in_shape: Shape4, w: Window2DFields, at: number): void {
  windowOut(c, 'height', in_shape[2], w.padding_h, w.filter_h, w.stride_h, w.dilation_h, at);
  windowOut(c, 'width', in_shape[3], w.padding_w, w.filter_w, w.stride_w, w.dilation_w, at);
}

function checkGroups(c: BodyContext, inC: number, groups: number, outC: number, at: number): void {
  if (inC % groups !== 0 || outC % groups !== 0) {
    c.fail(
      'BAD_VALUE',
      `groups = ${groups} must divide the input channels (${inC}) and the output channels (${outC})`,
      at,
    );
  }
}

/** input, output, in_shape, groups, out_channels and the window of conv2d and quantized_conv2d, checked. */
function readGroupedConv(c: BodyContext) {
  const input = c.range('input');
  const output = c.range('output');
  const in_shape = c.shape('in_shape');
  const groupsAt = c.r.position;
  const groups = c.atLeast(1, 'groups');
  const out_channels = c.atLeast(1, 'out_channels');
  checkGroups(c, in_shape[1], groups, out_channels, groupsAt);
  const winAt = c.r.position;
  const win = readWindow(c);
  checkWindow(c, in_shape, win, winAt);
  return { input, output, in_shape, groups, out_channels, ...win };
}

/** The zero points and output multiplier of the quantised convs, in struct order. */
function readQuantizedConvParams(c: BodyContext) {
  return {
    input_offset: c.r.i32('input_offset'),
    filter_offset: c.r.i32('filter_offset'),
    output_mul: c.r.i32('output_mul'),
    output_shift: c.r.i32('output_shift'),
    output_offset: c.r.i32('output_offset'),
  };
}

/**
 * input, output, in_shape, out_channels and the window of the CPU-target convs, checked; the depthwise ones store no
 * out_channels (it is the input's channels). `perOut`: weights per output channel.
 */
function readCpuConv(c: BodyContext, depthwise: boolean) {
  const input = c.range('input');
  const output = c.range('output');
  const in_shape = c.shape('in_shape');
  const out_channels = depthwise ? in_shape[1] : c.atLeast(1, 'out_channels');
  const winAt = c.r.position;
  const win = readWindow(c);
  checkWindow(c, in_shape, win, winAt);
  const perOut = (depthwise ? 1 : in_shape[1]) * win.filter_h * win.filter_w;
  return { head: { input, output, in_shape, out_channels, ...win }, perOut };
}

/** The operands, op and shapes that binary and quantized_binary start with. */
function readBinary(c: BodyContext) {
  return {
    input_a: c.range('input_a'),
    input_b: c.range('input_b'),
    output: c.range('output'),
    binary_op: c.enumOf(BINARY_OPS, 'binary_op'),
    in_a_shape: c.shape('in_a_shape'),
    in_b_shape: c.shape('in_b_shape'),
    out_shape: c.shape('out_shape'),
  };
}

/** The operands and sizes that matmul and quantized_matmul start with. */
function readMatMul(c: BodyContext) {
  return {
    input_a: c.range('input_a'),
    input_b: c.range('input_b'),
    output: c.range('output'),
    a_rows: c.atLeast(1, 'a_rows'),
    a_cols: c.atLeast(1, 'a_cols'),
    b_cols: c.atLeast(1, 'b_cols'),
  };
}

// ---- neutral ops ----

export function parseBinary(c: BodyContext): BinaryBody {
  const b: BinaryBody = {
    ...readBinary(c),
    fused_activation: c.valueRange('fused_activation'),
  };
  c.end();
  return b;
}

export function parseConcat(c: BodyContext): ConcatBody {
  const output = c.range('output');
  const inner_size = c.atLeast(1, 'inner_size');
  const outer_size = c.atLeast(1, 'outer_size');
  const countAt = c.r.position;
  const n = c.r.u32('inputs_count');
  c.r.checkCount(n, 16 + 4, 'inputs_count', countAt);
  if (n < 1) c.fail('BAD_VALUE', 'inputs_count = 0: a concat needs at least one input', countAt);
  const inputs = [];
  for (let i = 0; i < n; i++) inputs.push(c.range(`input ${i}`));
  const dims = [];
  for (let i = 0; i < n; i++) dims.push(c.atLeast(0, `dims[${i}]`));
  c.end();
  return { output, inner_size, outer_size, inputs, dims };
}

export function parseConv2D(c: BodyContext): Conv2DBody {
  const head = readGroupedConv(c);
  const { in_shape, groups, out_channels } = head;
  const fused_activation = c.valueRange('fused_activation');
  const weights = c.f32Array(out_channels * (in_shape[1] / groups) * head.filter_h * head.filter_w, 'weights');
  const bias = c.f32Array(out_channels, 'bias');
  c.end();
  return { ...head, fused_activation, weights, bias };
}

export function parseQuantize(c: BodyContext): QuantizeBody {
  const b = { input: c.range('input'), output: c.range('output'), quant_param: c.quantParam('quant_param') };
  c.end();
  return b;
}

export function parseMatMul(c: BodyContext): MatMulBody {
  const head = readMatMul(c);
  const fused_activation = c.valueRange('fused_activation');
  const bias = c.f32Array(head.b_cols, 'bias');
  c.end();
  return { ...head, fused_activation, bias };
}

export function parsePad(c: BodyContext): PadBody {
  const input = c.range('input');
  const output = c.range('output');
  const in_shape = c.shape('in_shape');
  const padAt = c.r.position;
  const paddings = [
    c.padding('paddings[N]'),
    c.padding('paddings[C]'),
    c.padding('paddings[H]'),
    c.padding('paddings[W]'),
  ] as const;
  paddings.forEach((p, i) => {
    if (in_shape[i] + p.before + p.after < 1) {
      c.fail(
        'BAD_VALUE',
        `paddings[${'NCHW'[i]}] = (${p.before}, ${p.after}) crops dimension ${in_shape[i]} to nothing`,
        padAt + 8 * i,
      );
    }
  });
  const pad_value = c.scalar('pad_value');
  c.end();
  return { input, output, in_shape, paddings, pad_value };
}

export function parseReduce(c: BodyContext): ReduceBody {
  const input = c.range('input');
  const output = c.range('output');
  const reduce_op = c.enumOf(REDUCE_OPS, 'reduce_op');
  const in_shape = c.shape('in_shape');
  const outAt = c.r.position;
  const out_shape = c.shape('out_shape');
  for (let i = 0; i < 4; i++) {
    if (out_shape[i] !== 1 && out_shape[i] !== in_shape[i]) {
      c.fail(
        'BAD_VALUE',
        `out_shape [${out_shape.join(', ')}] is not in_shape [${in_shape.join(', ')}] with reduced dimensions set to 1`,
        outAt,
      );
    }
  }
  const init_value = c.r.f32('init_value');
  c.end();
  return { input, output, reduce_op, in_shape, out_shape, init_value };
}

export function parseReduceWindow2D(c: BodyContext): ReduceWindow2DBody {
  const input = c.range('input');
  const output = c.range('output');
  const reduce_op = c.enumOf(REDUCE_OPS, 'reduce_op');
  const in_shape = c.shape('in_shape');
  const winAt = c.r.position;
  const win = readWindow(c);
  checkWindow(c, in_shape, win, winAt);
  const init_value = c.r.f32('init_value');
  const fused_activation = c.valueRange('fused_activation');
  c.end();
  return { input, output, reduce_op, in_shape, ...win, init_value, fused_activation };
}

export function parseMemoryCopy(c: BodyContext): MemoryCopyBody {
  const b = { input: c.range('input'), output: c.range('output') };
  c.end();
  return b;
}

export function parseResizeImage(c: BodyContext): ResizeImageBody {
  const input = c.range('input');
  const output = c.range('output');
  const in_shape = c.shape('in_shape');
  const out_h = c.atLeast(1, 'out_h');
  const out_w = c.atLeast(1, 'out_w');
  const mode = c.enumOf(IMAGE_RESIZE_MODES, 'mode');
  const align_corners = c.r.u8('align_corners') !== 0;
  c.r.skip(3);
  c.end();
  return { input, output, in_shape, out_h, out_w, mode, align_corners };
}

export function parseSoftmax(c: BodyContext): SoftmaxBody {
  const b = {
    input: c.range('input'),
    output: c.range('output'),
    inner_size: c.atLeast(1, 'inner_size'),
    outer_size: c.atLeast(1, 'outer_size'),
    beta: c.r.f32('beta'),
  };
  c.end();
  return b;
}

export function parseTranspose(c: BodyContext): TransposeBody {
  const input = c.range('input');
  const output = c.range('output');
  const in_shape = c.shape('in_shape');
  const permAt = c.r.position;
  const perm = c.ints4('perm');
  if ([...perm].sort().join() !== '0,1,2,3')
    c.fail('BAD_VALUE', `perm [${perm.join(', ')}] is not a permutation of 0..3`, permAt);
  c.end();
  return { input, output, in_shape, perm };
}

export function parseStridedSlice(c: BodyContext): StridedSliceBody {
  const input = c.range('input');
  const output = c.range('output');
  const in_shape = c.shape('in_shape');
  const begin = c.ints4('begin');
  const end = c.ints4('end');
  const stridesAt = c.r.position;
  const strides = c.ints4('strides');
  if (strides.includes(0)) c.fail('BAD_VALUE', `strides [${strides.join(', ')}] contain 0`, stridesAt);
  const b = {
    input,
    output,
    in_shape,
    begin,
    end,
    strides,
    begin_mask: c.r.i32('begin_mask'),
    end_mask: c.r.i32('end_mask'),
    ellipsis_mask: c.r.i32('ellipsis_mask'),
    new_axis_mask: c.r.i32('new_axis_mask'),
    shrink_axis_mask: c.r.i32('shrink_axis_mask'),
  };
  c.end();
  return b;
}

export function parseUnary(c: BodyContext): UnaryBody {
  const b = { input: c.range('input'), output: c.range('output'), unary_op: c.enumOf(UNARY_OPS, 'unary_op') };
  c.end();
  return b;
}

export function parseQuantizedConv2D(c: BodyContext): QuantizedConv2DBody {
  const head = readGroupedConv(c);
  const { in_shape, groups, out_channels } = head;
  const q = readQuantizedConvParams(c);
  const bias = c.i32Array(out_channels, 'bias');
  const weights = c.u8View(out_channels * (in_shape[1] / groups) * head.filter_h * head.filter_w, 'weights');
  c.end();
  return { ...head, ...q, bias, weights };
}

export function parseQuantizedMatMul(c: BodyContext): QuantizedMatMulBody {
  const head = readMatMul(c);
  const input_a_offset = c.r.i32('input_a_offset');
  const input_b_offset = c.r.i32('input_b_offset');
  const output_mul = c.r.i32('output_mul');
  const output_shift = c.r.i32('output_shift');
  const output_offset = c.r.i32('output_offset');
  const bias = c.i32Array(head.b_cols, 'bias');
  c.end();
  return {
    ...head,
    input_a_offset,
    input_b_offset,
    output_mul,
    output_shift,
    output_offset,
    bias,
  };
}

export function parseQuantizedBinary(c: BodyContext): QuantizedBinaryBody {
  const b: QuantizedBinaryBody = {
    ...readBinary(c),
    input_a_offset: c.r.i32('input_a_offset'),
    input_a_mul: c.r.i32('input_a_mul'),
    input_a_shift: c.r.i32('input_a_shift'),
    input_b_offset: c.r.i32('input_b_offset'),
    input_b_mul: c.r.i32('input_b_mul'),
    input_b_shift: c.r.i32('input_b_shift'),
    output_offset: c.r.i32('output_offset'),
    output_mul: c.r.i32('output_mul'),
    output_shift: c.r.i32('output_shift'),
  };
  c.end();
  return b;
}

export function parseTableLookup1D(c: BodyContext): TableLookup1DBody {
  const input = c.range('input');
  const tableAt = c.r.position;
  const table = c.range('table');
  if (table.size < 256)
    c.fail('BAD_VALUE', `table: a uint8 lookup table needs 256 bytes, the range has ${table.size}`, tableAt + 12);
  const output = c.range('output');
  c.end();
  return { input, table, output };
}

export function parseConv2DTranspose(c: BodyContext): Conv2DTransposeBody {
  const input = c.range('input');
  const output = c.range('output');
  const in_shape = c.shape('in_shape');
  const out_shape = c.shape('out_shape');
  const groupsAt = c.r.position;
  const groups = c.atLeast(1, 'groups');
  checkGroups(c, in_shape[1], groups, out_shape[1], groupsAt);
  const win = readWindow(c);
  const fused_activation = c.valueRange('fused_activation');
  const weights = c.f32Array(out_shape[1] * (in_shape[1] / groups) * win.filter_h * win.filter_w, 'weights');
  const bias = c.f32Array(out_shape[1], 'bias');
  c.end();
  return { input, output, in_shape, out_shape, groups, ...win, fused_activation, weights, bias };
}

export function parseNnilUnaryMethod(c: BodyContext): NnilUnaryMethodBody {
  const input = c.range('input');
  const output = c.range('output');
  const start = c.r.position;
  const body = c.r.bytesView(c.r.remaining, 'nnil body');
  c.r.seek(start);
  const { program, max_stack } = decodeNnil(c);
  return { input, output, body, program, max_stack };
}

// ---- CPU-target ops (0x1001..0x1005; not seen in K210 models, offsets from struct order) ----

function parseCpuConv(c: BodyContext, depthwise: boolean): CpuConv2DBody {
  const { head, perOut } = readCpuConv(c, depthwise);
  const fused_activation = c.valueRange('fused_activation');
  const weights = c.f32Array(head.out_channels * perOut, 'weights');
  const bias = c.f32Array(head.out_channels, 'bias');
  c.end();
  return { ...head, fused_activation, weights, bias };
}

export const parseCpuConv2D = (c: BodyContext): CpuConv2DBody => parseCpuConv(c, false);
export const parseCpuDepthwiseConv2D = (c: BodyContext): CpuConv2DBody => parseCpuConv(c, true);

function parseCpuQuantizedConv(c: BodyContext, depthwise: boolean): CpuQuantizedConv2DBody {
  const { head, perOut } = readCpuConv(c, depthwise);
  const q = readQuantizedConvParams(c);
  const weights = c.u8View(head.out_channels * perOut, 'weights');
  const bias = c.i32Array(head.out_channels, 'bias');
  c.end();
  return { ...head, ...q, weights, bias };
}

export const parseCpuQuantizedConv2D = (c: BodyContext): CpuQuantizedConv2DBody => parseCpuQuantizedConv(c, false);
export const parseCpuQuantizedDepthwiseConv2D = (c: BodyContext): CpuQuantizedConv2DBody =>
  parseCpuQuantizedConv(c, true);

// ---- K210 ----

export function parseKpuUpload(c: BodyContext): KpuUploadBody {
  const b = { input: c.range('input'), output: c.range('output'), in_shape: c.shape('in_shape') };
  c.end();
  return b;
}
