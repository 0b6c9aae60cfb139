/**
 * kmodel v4 on the emulated chip: one executor per nncase 0.2 opcode, in one table, as the
 * beta4 runtime's interpreter runs them (kpu-numerics §3.5, §7.2; §10 C1, C2, C7, C8).
 */
import { KpuFault } from '../../errors.js';
import type { TensorDesc } from '../../kmodel-parser/model.js';
import type { KmodelV4, MemoryRange, V4Node, V4NodeOfType, V4OpName } from '../../kmodel-parser/v4/types.js';
import { BINARY_OPS, IMAGE_RESIZE_MODES, REDUCE_OPS, UNARY_OPS } from '../../kmodel-parser/v4/types.js';
import { prepareKpuConv, runKpuConv } from '../conv/index.js';
import type { TransferEvent } from '../events.js';
import { allocateState, type MachineState, type PrepareContext, type Step, type VersionPlan } from '../machine.js';
import { kpuRows, kpuUpload } from '../layout.js';
import type { Window2d } from '../ops/common.js';
import { binary } from '../ops/v4/binary.js';
import { concat } from '../ops/v4/concat.js';
import { conv2d } from '../ops/v4/conv2d.js';
import { conv2dTranspose } from '../ops/v4/conv2d-transpose.js';
import { dequantize } from '../ops/v4/dequantize.js';
import { matmul } from '../ops/v4/matmul.js';
import { memoryCopy } from '../ops/v4/memory-copy.js';
import { decodeNnil, nnilUnaryMethod } from '../ops/v4/nnil-unary-method.js';
import { pad } from '../ops/v4/pad.js';
import { quantize } from '../ops/v4/quantize.js';
import { quantizedBinary } from '../ops/v4/quantized-binary.js';
import { quantizedConv2d } from '../ops/v4/quantized-conv2d.js';
import { quantizedMatmul } from '../ops/v4/quantized-matmul.js';
import { reduce } from '../ops/v4/reduce.js';
import { reduceWindow2d } from '../ops/v4/reduce-window2d.js';
import { resizeImage } from '../ops/v4/resize-image.js';
import { softmax } from '../ops/v4/softmax.js';
import { stridedSlice } from '../ops/v4/strided-slice.js';
import { tableLookup1d } from '../ops/v4/table-lookup1d.js';
import { transpose } from '../ops/v4/transpose.js';
import { unary } from '../ops/v4/unary.js';
import { Regions } from '../region.js';
import { layerEvent } from '../layer-event.js';

type Exec = { exec: () => void; transfers?: TransferEvent[] };

/** Resolves the memory ranges of one node to validated views. */
class Mem {
  private readonly main: Regions;
  private readonly ai: Regions;
  private readonly consts: Regions;
  constructor(
    readonly s: MachineState,
    constants: Uint8Array,
    where: { layer: number; type: string },
  ) {
    this.main = new Regions(s.main, 'main', where);
    this.ai = new Regions(s.ai, 'AI SRAM', where);
    // The constant blob is a view of the file: copy it so that its float data can be aligned.
    this.consts = new Regions(constants, 'constant', where);
  }
  private of(r: MemoryRange): Regions {
    return r.memory_type === 'main' ? this.main : r.memory_type === 'kpu' ? this.ai : this.consts;
  }
  u8(what: string, r: MemoryRange): Uint8Array {
    return this.of(r).u8(what, r.start, r.size);
  }
  f32(what: string, r: MemoryRange): Float32Array {
    if (r.datatype !== 'float32')
      throw new KpuFault('BAD_LAYER', `${what} must be float32, the range says ${r.datatype}`, {}, 'prepare');
    return this.of(r).f32(what, r.start, r.size / 4);
  }
}

type Builder<K extends V4OpName> = (n: V4NodeOfType<K>, m: Mem, ctx: PrepareContext) => Exec;
type Table = { [K in V4OpName]?: Builder<K> };

const clampOf = (b: { fused_activation: { min: number; max: number } }) =>
  [b.fused_activation.min, b.fused_activation.max] as const;
const win = (b: {
  filter_h: number;
  filter_w: number;
  stride_h: number;
  stride_w: number;
  dilation_h: number;
  dilation_w: number;
  padding_h: { before: number; after: number };
  padding_w: { before: number; after: number };
}): Window2d => ({
  filterH: b.filter_h,
  filterW: b.filter_w,
  strideH: b.stride_h,
  strideW: b.stride_w,
  dilationH: b.dilation_h,
  dilationW: b.dilation_w,
  paddingH: b.padding_h,
  paddingW: b.padding_w,
});
const elemBytes = (r: MemoryRange) => (r.datatype === 'float32' ? 4 : 1);

const EXECUTORS: Table = {
  kpu_conv2d: (n, m, ctx) => {
    const conv = prepareKpuConv(n.kpu, n.batches, { layer: n.index, type: n.type });
    const toMain = n.main_mem_output.size !== 0 ? m.u8('main_mem_output', n.main_mem_output) : undefined;
    if (toMain && toMain.length < conv.denseOutputBytes) {
      throw new KpuFault(
        'OUT_OF_RANGE',
        `main_mem_output holds ${toMain.length} bytes, the conv writes ${conv.denseOutputBytes}`,
        { layer: n.index, type: n.type },
        'prepare',
      );
    }
    const dst = toMain?.subarray(0, conv.denseOutputBytes);
    return {
      exec: () => runKpuConv(conv, m.s.ai, ctx.kpu, dst),
      transfers: dst ? [{ kind: 'download-cpu', bytes: dst.length }] : [],
    };
  },
  kpu_upload: (n, m) => {
    const b = n.body;
    const src = m.u8('input', b.input);
    const [N, C, H, W] = b.in_shape;
    m.u8('output', b.output);
    if (b.output.memory_type !== 'kpu' || b.output.size < kpuRows(W, H, C) * 64 * N) {
      throw new KpuFault(
        'OUT_OF_RANGE',
        `kpu_upload output range must be AI SRAM of ${kpuRows(W, H, C) * 64 * N} bytes`,
        { layer: n.index, type: n.type },
        'prepare',
      );
    }
    return {
      exec: () => kpuUpload(src, b.in_shape, m.s.ai, b.output.start),
      transfers: [{ kind: 'upload-cpu', bytes: src.length, aiSram: { address: b.output.start, bytes: b.output.size } }],
    };
  },
  dequantize: (n, m, ctx) => {
    const b = n.body;
    const src = m.u8('input', b.input);
    const dst = m.f32('output', b.output);
    return { exec: () => dequantize(src, dst, b.quant_param.scale, b.quant_param.zero_point, ctx.cpu) };
  },
  quantize: (n, m, ctx) => {
    const b = n.body;
    const src = m.f32('input', b.input);
    const dst = m.u8('output', b.output);
    return { exec: () => quantize(src, dst, b.quant_param.scale, b.quant_param.zero_point, ctx.cpu) };
  },
  binary: (n, m) => {
    const b = n.body;
    const [lo, hi] = clampOf(b);
    const a = m.f32('input a', b.input_a);
    const c = m.f32('input b', b.input_b);
    const out = m.f32('output', b.output);
    const op = BINARY_OPS.indexOf(b.binary_op);
    return { exec: () => binary(a, c, out, b.in_a_shape, b.in_b_shape, b.out_shape, op, lo, hi) };
  },
  quantized_binary: (n, m) => {
    const b = n.body;
    const a = m.u8('input a', b.input_a);
    const c = m.u8('input b', b.input_b);
    const out = m.u8('output', b.output);
    const p = {
      inputAOffset: b.input_a_offset,
      inputAMul: b.input_a_mul,
      inputAShift: b.input_a_shift,
      inputBOffset: b.input_b_offset,
      inputBMul: b.input_b_mul,
      inputBShift: b.input_b_shift,
      outputOffset: b.output_offset,
      outputMul: b.output_mul,
      outputShift: b.output_shift,
    };
    const op = BINARY_OPS.indexOf(b.binary_op);
    return { exec: () => quantizedBinary(a, c, out, b.in_a_shape, b.in_b_shape, b.out_shape, op, p) };
  },
  concat: (n, m) => {
    const b = n.body;
    const ins = b.inputs.map((r, i) => m.u8(`input ${i}`, r));
    const dst = m.u8('output', b.output);
    return { exec: () => concat(ins, dst, b.dims, b.inner_size, b.outer_size) };
  },
  conv2d: (n, m, ctx) => {
    const b = n.body;
    const [lo, hi] = clampOf(b);
    const src = m.f32('input', b.input);
    const dst = m.f32('output', b.output);
    return {
      exec: () => conv2d(src, dst, b.weights, b.bias, b.in_shape, b.groups, b.out_channels, win(b), lo, hi, ctx.cpu),
    };
  },
  quantized_conv2d: (n, m) => {
    const b = n.body;
    const src = m.u8('input', b.input);
    const dst = m.u8('output', b.output);
    const p = {
      inputOffset: b.input_offset,
      filterOffset: b.filter_offset,
      outputMul: b.output_mul,
      outputShift: b.output_shift,
      outputOffset: b.output_offset,
    };
    return {
      exec: () => quantizedConv2d(src, dst, b.weights, b.bias, b.in_shape, b.groups, b.out_channels, win(b), p),
    };
  },
  conv2d_transpose: (n, m, ctx) => {
    const b = n.body;
    const [lo, hi] = clampOf(b);
    const src = m.f32('input', b.input);
    const dst = m.f32('output', b.output);
    return {
      exec: () =>
        conv2dTranspose(src, dst, b.weights, b.bias, b.in_shape, b.out_shape, b.groups, win(b), lo, hi, ctx.cpu),
    };
  },
  matmul: (n, m, ctx) => {
    const b = n.body;
    const [lo, hi] = clampOf(b);
    const a = m.f32('input a', b.input_a);
    const c = m.f32('input b', b.input_b);
    const out = m.f32('output', b.output);
    return { exec: () => matmul(a, c, out, b.bias, b.a_rows, b.a_cols, b.b_cols, lo, hi, ctx.cpu) };
  },
  quantized_matmul: (n, m) => {
    const b = n.body;
    const a = m.u8('input a', b.input_a);
    const c = m.u8('input b', b.input_b);
    const out = m.u8('output', b.output);
    const p = {
      inputAOffset: b.input_a_offset,
      inputBOffset: b.input_b_offset,
      outputMul: b.output_mul,
      outputShift: b.output_shift,
      outputOffset: b.output_offset,
    };
    return { exec: () => quantizedMatmul(a, c, out, b.bias, b.a_rows, b.a_cols, b.b_cols, p as never) };
  },
  pad: (n, m) => {
    const b = n.body;
    const src = m.u8('input', b.input);
    const dst = m.u8('output', b.output);
    return { exec: () => pad(src, dst, elemBytes(b.input), b.in_shape, b.paddings, b.pad_value.storage) };
  },
  reduce: (n, m) => {
    const b = n.body;
    const src = m.f32('input', b.input);
    const dst = m.f32('output', b.output);
    const op = REDUCE_OPS.indexOf(b.reduce_op);
    return { exec: () => reduce(src, dst, b.in_shape, b.out_shape, op, b.init_value) };
  },
  reduce_window2d: (n, m) => {
    const b = n.body;
    const [lo, hi] = clampOf(b);
    const src = m.f32('input', b.input);
    const dst = m.f32('output', b.output);
    const op = REDUCE_OPS.indexOf(b.reduce_op);
    return { exec: () => reduceWindow2d(src, dst, b.in_shape, op, b.init_value, win(b), lo, hi) };
  },
  memory_copy: (n, m) => {
    const src = m.u8('input', n.body.input);
    const dst = m.u8('output', n.body.output);
    return { exec: () => memoryCopy(src, dst) };
  },
  resize_image: (n, m, ctx) => {
    const b = n.body;
    const mode = IMAGE_RESIZE_MODES.indexOf(b.mode);
    if (b.input.datatype === 'float32') {
      const src = m.f32('input', b.input);
      const dst = m.f32('output', b.output);
      return { exec: () => resizeImage(src, dst, b.in_shape, b.out_h, b.out_w, mode, b.align_corners, ctx.cpu) };
    }
    const src = m.u8('input', b.input);
    const dst = m.u8('output', b.output);
    return { exec: () => resizeImage(src, dst, b.in_shape, b.out_h, b.out_w, mode, b.align_corners, ctx.cpu) };
  },
  softmax: (n, m) => {
    const b = n.body;
    const src = m.f32('input', b.input);
    const dst = m.f32('output', b.output);
    return { exec: () => softmax(src, dst, b.beta, b.outer_size, b.inner_size) };
  },
  transpose: (n, m) => {
    const b = n.body;
    const src = m.u8('input', b.input);
    const dst = m.u8('output', b.output);
    return { exec: () => transpose(src, dst, elemBytes(b.input), b.in_shape, b.perm) };
  },
  strided_slice: (n, m) => {
    const b = n.body;
    const src = m.u8('input', b.input);
    const dst = m.u8('output', b.output);
    // The runtime takes begin/end/strides as stored: the compiler has already resolved the masks.
    return { exec: () => stridedSlice(src, dst, elemBytes(b.input), b.in_shape, b.begin, b.end, b.strides) };
  },
  unary: (n, m) => {
    const b = n.body;
    const src = m.f32('input', b.input);
    const dst = m.f32('output', b.output);
    const op = UNARY_OPS.indexOf(b.unary_op);
    return { exec: () => unary(src, dst, op) };
  },
  table_lookup1d: (n, m) => {
    const b = n.body;
    const src = m.u8('input', b.input);
    const table = m.u8('table', b.table);
    const dst = m.u8('output', b.output);
    return { exec: () => tableLookup1d(src, dst, table) };
  },
  nnil_unary_method: (n, m) => {
    const b = n.body;
    const src = m.f32('input', b.input);
    const dst = m.f32('output', b.output);
    const program = decodeNnil(b.body);
    return { exec: () => nnilUnaryMethod(src, dst, program) };
  },
};

export function prepareV4(model: KmodelV4, ctx: PrepareContext): VersionPlan {
  const state = allocateState(model.mainMemBytes);
  // An aligned private copy of the constant blob, so float constants get aligned views.
  const constants = model.constants.slice();
  const steps: Step[] = model.layers.map((node: V4Node) => {
    const where = { layer: node.index, type: node.type };
    const build = EXECUTORS[node.type] as Builder<V4OpName> | undefined;
    if (!build)
      throw new KpuFault(
        'UNSUPPORTED',
        `opcode ${node.type} (0x${node.code.toString(16)}) is known but not implemented by the emulator`,
        where,
        'prepare',
      );
    const e = build(node as never, new Mem(state, constants, where), ctx);
    const out = node.outputRanges[0];
    return {
      index: node.index,
      type: node.type,
      label: `${node.traceName}(0x${node.code.toString(16)})`,
      event: layerEvent(node, e.transfers ?? [], node.type === 'kpu_conv2d' ? node.batches : 1),
      output: out
        ? {
            memory: out.memory_type === 'kpu' ? 'ai' : 'main',
            address: out.start,
            bytes: out.size,
            desc: node.outputs[0],
          }
        : undefined,
      exec: e.exec,
    };
  });
  const placers = model.inputs.map((inp, i) => {
    const where = { layer: 0, type: `input ${i}` };
    const r = inp.range;
    if (r.memory_type === 'kpu') {
      const [n, c, h, w] = inp.shape;
      new Regions(state.ai, 'AI SRAM', where).u8(`input ${i}`, r.start, kpuRows(w, h, c) * 64 * n);
      return (x: Uint8Array) => kpuUpload(x, [n, c, h, w], state.ai, r.start);
    }
    if (r.memory_type !== 'main')
      throw new KpuFault('BAD_LAYER', `input ${i} lies in ${r.memory_type} memory`, where, 'prepare');
    const dst = new Regions(state.main, 'main', where).u8(`input ${i}`, r.start, inp.bytes);
    return (x: Uint8Array) => dst.set(x);
  });
  const outs = model.outputs.map((o, i) => {
    if (o.range.memory_type !== 'main')
      throw new KpuFault(
        'BAD_LAYER',
        `output ${i} lies in ${o.range.memory_type} memory, not main`,
        { layer: -1, type: `output ${i}` },
        'prepare',
      );
    return new Regions(state.main, 'main', { layer: -1, type: `output ${i}` }).u8(
      `output ${i}`,
      o.range.start,
      o.range.size,
    );
  });
  const inputs: TensorDesc[] = model.inputs.map((i) => ({
    shape: i.shape,
    dtype: i.dtype,
    bytes: i.shape.reduce((a, b) => a * b, 1) * (i.dtype === 'float32' ? 4 : 1),
    ...(i.quant ? { quant: i.quant } : {}),
  }));
  return {
    state,
    steps,
    inputs,
    outputs: model.outputs,
    placeInputs: (xs) => placers.forEach((p, i) => p(xs[i])),
    readOutputs: () => outs.map((o) => o.slice()),
  };
}
