/**
 * Body parsers of the CPU-side v3 layers (kpu-numerics §2.6, SDK `kpu.h` structs). Each reads its
 * fields in struct order from a reader limited to the body, checks that every main-buffer range
 * lies inside main_mem_usage, and states the tensors it can know from the body alone.
 */
import type { BinaryReader } from '../binary-reader.js';
import type { DType, TensorDesc } from '../model.js';
import {
  checkKpu,
  checkMain,
  layerError,
  readActivation,
  readShape,
  tensor,
  type BodyContext,
  type BodyParser,
  type BodyResult,
  type MainAccess,
} from './body.js';
import type {
  V3AddFields,
  V3ChannelsFields,
  V3ChannelwiseDequantizeFields,
  V3ConcatFields,
  V3DequantizeFields,
  V3FlattenFields,
  V3FullyConnectedFields,
  V3InOutFields,
  V3GlobalAveragePool2dFields,
  V3K210AddPaddingFields,
  V3K210RemovePaddingFields,
  V3K210UploadFields,
  V3MemoryRange,
  V3Pool2dActFields,
  V3Pool2dFields,
  V3QuantParam,
  V3QuantizeFields,
  V3QuantizedAddFields,
  V3RequantizeFields,
  V3ResizeFields,
} from './types.js';

/** A main-buffer address field and where it sits, so a range error can point at it. */
function addr(r: BinaryReader): { at: number; value: number } {
  const at = r.position;
  return { at, value: r.u32('address') };
}

function access(ctx: BodyContext, field: { at: number; value: number }, name: string, desc: TensorDesc): MainAccess {
  checkMain(ctx, field.at, name, field.value, desc.bytes);
  return Object.freeze({ address: field.value, desc });
}

function quantParam(r: BinaryReader): V3QuantParam {
  const scale = r.f32('quant_param.scale');
  const bias = r.f32('quant_param.bias');
  return Object.freeze({ scale, bias });
}

/** The bodies of one main-buffer tensor in, one out: flags, the two addresses, then what `read` reads. */
function inOut<F extends object>(
  r: BinaryReader,
  ctx: BodyContext,
  read: () => { fields: F; tin: TensorDesc; tout: TensorDesc },
  follow?: 'elementwise' | 'input',
): BodyResult<V3InOutFields & F> {
  const flags = r.u32('flags');
  const i = addr(r),
    o = addr(r);
  const { fields, tin, tout } = read();
  return {
    fields: { flags, main_mem_in_address: i.value, main_mem_out_address: o.value, ...fields },
    inputs: [tin],
    outputs: [tout],
    mainIn: [access(ctx, i, 'main_mem_in_address', tin)],
    mainOut: access(ctx, o, 'main_mem_out_address', tout),
    ...(follow ? { follow } : {}),
  };
}

/** ADD (float) and QUANTIZED_ADD: `count` elements of a and b, then what `readTail` reads. */
function add<E extends object>(
  r: BinaryReader,
  ctx: BodyContext,
  dtype: DType,
  readTail: () => E,
): BodyResult<V3AddFields & E> {
  const flags = r.u32('flags');
  const a = addr(r),
    b = addr(r),
    o = addr(r);
  const count = r.u32('count');
  const tail = readTail();
  // QUANTIZED_ADD: the SDK processes ALIGN_UP(count, 8) elements; only `count` are meaningful, so only they are
  // checked.
  const t = tensor([count], dtype);
  const ia = access(ctx, a, 'main_mem_in_a_address', t),
    ib = access(ctx, b, 'main_mem_in_b_address', t);
  const out = access(ctx, o, 'main_mem_out_address', t);
  return {
    fields: {
      flags,
      main_mem_in_a_address: a.value,
      main_mem_in_b_address: b.value,
      main_mem_out_address: o.value,
      count,
      ...tail,
    },
    inputs: [t, t],
    outputs: [t],
    mainIn: [ia, ib],
    mainOut: out,
    follow: 'elementwise',
  };
}

export const parseAdd: BodyParser<V3AddFields> = (r, ctx) => add(r, ctx, 'float32', () => ({}));

export const parseQuantizedAdd: BodyParser<V3QuantizedAddFields> = (r, ctx) =>
  add(r, ctx, 'uint8', () => ({
    in_a_offset: r.i32('in_a_offset'),
    in_a_mul: r.i32('in_a_mul'),
    in_a_shift: r.i32('in_a_shift'),
    in_b_offset: r.i32('in_b_offset'),
    in_b_mul: r.i32('in_b_mul'),
    in_b_shift: r.i32('in_b_shift'),
    out_offset: r.i32('out_offset'),
    out_mul: r.i32('out_mul'),
    out_shift: r.i32('out_shift'),
  }));

export const parseGlobalAveragePool2d: BodyParser<V3GlobalAveragePool2dFields> = (r, ctx) =>
  inOut(
    r,
    ctx,
    () => {
      const kernel_size = r.u32('kernel_size');
      const channels = r.u32('channels');
      const tin = tensor([1, channels, kernel_size], 'float32');
      const tout = tensor([1, channels], 'float32');
      return { fields: { kernel_size, channels }, tin, tout };
    },
    'input',
  );

/** The pool bodies (7, 8, 9): shapes, kernel, stride and padding; 7 and 9 then have `act`. */
function pool2d<E extends object>(
  r: BinaryReader,
  ctx: BodyContext,
  dtype: DType,
  readTail: () => E,
): BodyResult<V3Pool2dFields & E> {
  return inOut(r, ctx, () => {
    const in_shape = readShape(r, 'in_shape');
    const out_shape = readShape(r, 'out_shape');
    const kernel_width = r.u32('kernel_width');
    const kernel_height = r.u32('kernel_height');
    const stride_width = r.u32('stride_width');
    const stride_height = r.u32('stride_height');
    const padding_width = r.u32('padding_width');
    const padding_height = r.u32('padding_height');
    const tail = readTail();
    if (in_shape.channels !== out_shape.channels) {
      throw layerError(
        ctx,
        'BAD_VALUE',
        r.start + 12,
        `in_shape has ${in_shape.channels} channels but out_shape has ${out_shape.channels}`,
      );
    }
    const tin = tensor([1, in_shape.channels, in_shape.height, in_shape.width], dtype);
    const tout = tensor([1, out_shape.channels, out_shape.height, out_shape.width], dtype);
    const fields = {
      in_shape,
      out_shape,
      kernel_width,
      kernel_height,
      stride_width,
      stride_height,
      padding_width,
      padding_height,
      ...tail,
    };
    return { fields, tin, tout };
  });
}
const pool2dAct: BodyParser<V3Pool2dActFields> = (r, ctx) =>
  pool2d(r, ctx, 'float32', () => ({ act: readActivation(r, ctx) }));
export const parseMaxPool2d = pool2dAct;
export const parseQuantizedMaxPool2d: BodyParser<V3Pool2dFields> = (r, ctx) => pool2d(r, ctx, 'uint8', () => ({}));
export const parseAveragePool2d = pool2dAct;

/** QUANTIZE (f32 → u8) and DEQUANTIZE (u8 → f32): count elements and one (scale, bias). */
function quantize(r: BinaryReader, ctx: BodyContext, inType: DType, outType: DType, outName: string) {
  const flags = r.u32('flags');
  const i = addr(r),
    o = addr(r);
  const count = r.u32('count');
  const quant_param = quantParam(r);
  const tin = tensor([count], inType),
    tout = tensor([count], outType);
  return {
    head: { flags, main_mem_in_address: i.value },
    out: o.value,
    tail: { count, quant_param },
    io: {
      inputs: [tin],
      outputs: [tout],
      mainIn: [access(ctx, i, 'main_mem_in_address', tin)],
      mainOut: access(ctx, o, outName, tout),
      follow: 'elementwise' as const,
    },
  };
}
export const parseQuantize: BodyParser<V3QuantizeFields> = (r, ctx) => {
  const q = quantize(r, ctx, 'float32', 'uint8', 'mem_out_address');
  return { fields: { ...q.head, mem_out_address: q.out, ...q.tail }, ...q.io };
};
export const parseDequantize: BodyParser<V3DequantizeFields> = (r, ctx) => {
  const q = quantize(r, ctx, 'uint8', 'float32', 'main_mem_out_address');
  return { fields: { ...q.head, main_mem_out_address: q.out, ...q.tail }, ...q.io };
};

export const parseRequantize: BodyParser<V3RequantizeFields> = (r, ctx) =>
  inOut(
    r,
    ctx,
    () => {
      const count = r.u32('count');
      const table = r.bytesView(256, 'table');
      const t = tensor([count], 'uint8');
      return { fields: { count, table }, tin: t, tout: t };
    },
    'elementwise',
  );

/** L2_NORMALIZATION, SOFTMAX, LOGISTIC: `channels` float elements in, the same out. */
export const parseChannels: BodyParser<V3ChannelsFields> = (r, ctx) =>
  inOut(
    r,
    ctx,
    () => {
      const channels = r.u32('channels');
      const t = tensor([channels], 'float32');
      return { fields: { channels }, tin: t, tout: t };
    },
    'elementwise',
  );

/** CONCAT (float) and QUANTIZED_CONCAT: byte ranges copied back to back to the output. */
function concat(dtype: DType): BodyParser<V3ConcatFields> {
  const size = dtype === 'float32' ? 4 : 1;
  return (r, ctx) => {
    const flags = r.u32('flags');
    const o = addr(r);
    const countAt = r.position;
    const input_count = r.checkCount(r.u32('input_count'), 8, 'input_count', countAt);
    const inputs_mem: V3MemoryRange[] = [];
    const mainIn: MainAccess[] = [];
    let total = 0;
    for (let k = 0; k < input_count; k++) {
      const at = r.position;
      const start = r.u32(`inputs_mem[${k}].start`);
      const bytes = r.u32(`inputs_mem[${k}].size`);
      inputs_mem.push(Object.freeze({ start, size: bytes }));
      const t = tensor([Math.floor(bytes / size)], bytes % size === 0 ? dtype : 'uint8');
      mainIn.push(
        access(ctx, { at, value: start }, `inputs_mem[${k}]`, t.bytes === bytes ? t : tensor([bytes], 'uint8')),
      );
      total += bytes;
    }
    const tout = total % size === 0 ? tensor([total / size], dtype) : tensor([total], 'uint8');
    return {
      fields: { flags, main_mem_out_address: o.value, input_count, inputs_mem: Object.freeze(inputs_mem) },
      inputs: mainIn.map((m) => m.desc),
      outputs: [tout],
      mainIn,
      mainOut: access(ctx, o, 'main_mem_out_address', tout),
    };
  };
}
export const parseConcat = concat('float32');
export const parseQuantizedConcat = concat('uint8');

/** Reads `n` little-endian f32 into a new array (the file's f32 need not be 4-aligned in memory). */
function f32Array(r: BinaryReader, n: number, what: string): Float32Array {
  r.checkCount(n, 4, what);
  const out = new Float32Array(n);
  for (let k = 0; k < n; k++) out[k] = r.f32(what);
  return out;
}

export const parseFullyConnected: BodyParser<V3FullyConnectedFields> = (r, ctx) =>
  inOut(r, ctx, () => {
    const in_channels = r.u32('in_channels');
    const out_channels = r.u32('out_channels');
    const act = readActivation(r, ctx);
    const weightsAt = r.position;
    // in·out can exceed 2^32; checkCount compares it with the bytes left before anything is allocated.
    r.checkCount(in_channels * out_channels + out_channels, 4, 'FULLY_CONNECTED weights and bias', weightsAt);
    const weights = f32Array(r, in_channels * out_channels, 'weights');
    const bias = f32Array(r, out_channels, 'bias');
    const tin = tensor([1, in_channels], 'float32'),
      tout = tensor([1, out_channels], 'float32');
    return { fields: { in_channels, out_channels, act, weights, bias }, tin, tout };
  });

/** TENSORFLOW_FLATTEN: CHW in, HWC-ordered vector out. */
function flatten(dtype: DType): BodyParser<V3FlattenFields> {
  return (r, ctx) =>
    inOut(r, ctx, () => {
      const shape = readShape(r, 'shape');
      const tin = tensor([1, shape.channels, shape.height, shape.width], dtype);
      const tout = tensor([1, shape.height * shape.width * shape.channels], dtype);
      return { fields: { shape }, tin, tout };
    });
}
export const parseTensorflowFlatten = flatten('float32');
export const parseQuantizedTensorflowFlatten = flatten('uint8');

function resize(dtype: DType): BodyParser<V3ResizeFields> {
  return (r, ctx) =>
    inOut(r, ctx, () => {
      const in_shape = readShape(r, 'in_shape');
      const out_width = r.u32('out_width');
      const out_height = r.u32('out_height');
      const align_corners = r.u32('align_corners');
      const tin = tensor([1, in_shape.channels, in_shape.height, in_shape.width], dtype);
      const tout = tensor([1, in_shape.channels, out_height, out_width], dtype);
      return { fields: { in_shape, out_width, out_height, align_corners }, tin, tout };
    });
}
export const parseResizeNearestNeighbor = resize('float32');
export const parseQuantizedResizeNearestNeighbor = resize('uint8');

export const parseChannelwiseDequantize: BodyParser<V3ChannelwiseDequantizeFields> = (r, ctx) =>
  inOut(
    r,
    ctx,
    () => {
      const channels = r.u32('channels');
      const channel_size = r.u32('channel_size');
      r.checkCount(channels, 8, 'channels (quant_params)');
      const quant_params: V3QuantParam[] = [];
      for (let c = 0; c < channels; c++) quant_params.push(quantParam(r));
      const tin = tensor([1, channels, channel_size], 'uint8'),
        tout = tensor([1, channels, channel_size], 'float32');
      return { fields: { channels, channel_size, quant_params: Object.freeze(quant_params) }, tin, tout };
    },
    'elementwise',
  );

/**
 * K210_ADD_PADDING: C bytes from main memory, each written to pixel (0,0) of channel c of a
 * 4×4 map in AI SRAM (so a 1×1×C vector can feed a KPU 1×1 conv). The map is described as
 * the 4×4 map the next conv reads.
 */
export const parseK210AddPadding: BodyParser<V3K210AddPaddingFields> = (r, ctx) => {
  const flags = r.u32('flags');
  const i = addr(r);
  const outAt = r.position;
  const kpu_mem_out_address = r.u32('kpu_mem_out_address');
  const channels = r.u32('channels');
  checkKpu(ctx, outAt, 'kpu_mem_out_address', kpu_mem_out_address, 4, 4, channels);
  const tin = tensor([1, channels], 'uint8'),
    tout = tensor([1, channels, 4, 4], 'uint8');
  return {
    fields: { flags, main_mem_in_address: i.value, kpu_mem_out_address, channels },
    inputs: [tin],
    outputs: [tout],
    mainIn: [access(ctx, i, 'main_mem_in_address', tin)],
  };
};

/** K210_REMOVE_PADDING: out[c] = in[16·c], i.e. pixel (0,0) of each dense 4×4 channel. */
export const parseK210RemovePadding: BodyParser<V3K210RemovePaddingFields> = (r, ctx) =>
  inOut(r, ctx, () => {
    const channels = r.u32('channels');
    const tin = tensor([1, channels, 4, 4], 'uint8'),
      tout = tensor([1, channels], 'uint8');
    return { fields: { channels }, tin, tout };
  });

/** K210_UPLOAD: dense CHW bytes from main memory to AI SRAM in the KPU layout. */
export const parseK210Upload: BodyParser<V3K210UploadFields> = (r, ctx) => {
  const flags = r.u32('flags');
  const i = addr(r);
  const outAt = r.position;
  const kpu_mem_out_address = r.u32('kpu_mem_out_address');
  const width = r.u32('width');
  const height = r.u32('height');
  const channels = r.u32('channels');
  checkKpu(ctx, outAt, 'kpu_mem_out_address', kpu_mem_out_address, width, height, channels);
  const t = tensor([1, channels, height, width], 'uint8');
  return {
    fields: { flags, main_mem_in_address: i.value, kpu_mem_out_address, width, height, channels },
    inputs: [t],
    outputs: [t],
    mainIn: [access(ctx, i, 'main_mem_in_address', t)],
  };
};
