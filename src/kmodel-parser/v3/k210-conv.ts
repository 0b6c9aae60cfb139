/**
 * The v3 K210_CONV body (kpu-numerics §2.7): a 24-byte header whose four absolute file offsets
 * point at the register block, weights, batch-norm and activation tables, all inside the same
 * body. The offsets are followed, never the written order or alignment (kpu-numerics §10 C4 shows other
 * generations align differently).
 */
import type { BinaryReader } from '../binary-reader.js';
import {
  decodeActivationBytes,
  decodeBatchNormTable,
  decodeKpuLayerArgument,
  readWords,
  type KpuLayerArgument,
} from '../kpu-layer-argument.js';
import { kpuConvGeometry, type KpuConvParams } from '../model.js';
import type { V3K210ConvFields } from './types.js';
import { checkKpu, checkMain, layerError, tensor, type BodyContext, type BodyParser } from './body.js';

const REGISTER_BYTES = 12 * 8;
const ACTIVATION_BYTES = 18 * 8;

/** Pool stride per pool_type (kpu-numerics §6.6): output size = floor(input / stride). */
const POOL_STRIDE = [1, 2, 2, 4, 4, 2, 2, 4, 1, 1] as const;

/** Word index of each validated field, so an error points at the right 8 bytes. */
const WORD_OF = {
  depth_wise_layer: 0,
  image_src_addr: 1,
  image_dst_addr: 1,
  i_ch_num: 2,
  o_ch_num: 2,
  o_ch_num_coef: 2,
  i_row_wid: 3,
  o_row_wid: 3,
  kernel_type: 4,
  pool_type: 4,
  dma_total_byte: 11,
} as const;

/**
 * Checks the register fields the engine relies on: kernel size, pool type, channel counts,
 * the pooled output size and the AI SRAM extents of both maps. Fields the reference simulator
 * ignores (row/channel switch addresses, wb_*, chunking) are left to `info` to report.
 */
function validateArgument(arg: KpuLayerArgument, registersAt: number, ctx: BodyContext): void {
  const fail = (field: keyof typeof WORD_OF, detail: string): never => {
    throw layerError(ctx, 'BAD_VALUE', registersAt + 8 * WORD_OF[field], `register ${field}: ${detail}`);
  };
  if (arg.kernel_type > 1) fail('kernel_type', `${arg.kernel_type}; the KPU has 1×1 (0) and 3×3 (1) kernels`);
  if (arg.pool_type > 9) fail('pool_type', `${arg.pool_type}; pool types are 0..9`);
  const g = kpuConvGeometry(arg);
  if (g.depthwise && g.inChannels !== g.outChannels) {
    fail(
      'depth_wise_layer',
      `a depthwise layer needs as many output as input channels, got i_ch_num+1 = ${g.inChannels} and o_ch_num+1 = ${g.outChannels}`,
    );
  }
  if (arg.o_ch_num_coef > arg.o_ch_num) {
    fail(
      'o_ch_num_coef',
      `${arg.o_ch_num_coef} exceeds o_ch_num = ${arg.o_ch_num} (channels per weight load cannot exceed the channels)`,
    );
  }
  const s = POOL_STRIDE[arg.pool_type];
  if (g.outWidth !== Math.floor(g.inWidth / s) || g.outHeight !== Math.floor(g.inHeight / s)) {
    fail(
      'o_row_wid',
      `output ${g.outWidth}×${g.outHeight} does not match input ${g.inWidth}×${g.inHeight} pooled with stride ${s} (pool_type ${arg.pool_type})`,
    );
  }
  const outBytes = g.outChannels * g.outHeight * g.outWidth;
  if (arg.dma_total_byte + 1 !== outBytes) {
    fail('dma_total_byte', `${arg.dma_total_byte} + 1 ≠ o_ch·o_h·o_w = ${outBytes}`);
  }
  checkKpu(ctx, registersAt + 8, 'image_src_addr', arg.image_src_addr, g.inWidth, g.inHeight, g.inChannels);
  checkKpu(ctx, registersAt + 8, 'image_dst_addr', arg.image_dst_addr, g.outWidth, g.outHeight, g.outChannels);
}

export const parseK210Conv: BodyParser<V3K210ConvFields> = (r: BinaryReader, ctx: BodyContext) => {
  const flags = r.u32('flags');
  const outAt = r.position;
  const main_mem_out_address = r.u32('main_mem_out_address');
  const offsetsAt = r.position;
  const layer_offset = r.u32('layer_offset');
  const weights_offset = r.u32('weights_offset');
  const bn_offset = r.u32('bn_offset');
  const act_offset = r.u32('act_offset');

  /** A reader over one table, which must lie inside this layer's body. */
  const block = (stored: number, size: number, field: string, fieldAt: number): BinaryReader => {
    const offset = ctx.base + stored;
    if (offset < r.start || offset + size > r.end) {
      throw layerError(
        ctx,
        'BAD_OFFSET',
        fieldAt,
        `${field} = ${stored}: its ${size} bytes [${offset}, ${offset + size}) lie outside the layer's body [${r.start}, ${r.end})`,
      );
    }
    return r.slice(offset, size, `layer ${ctx.index} ${field.replace('_offset', '')}`);
  };

  const words = Object.freeze(
    readWords(
      block(layer_offset, REGISTER_BYTES, 'layer_offset', offsetsAt).bytesView(REGISTER_BYTES, 'registers'),
      12,
    ),
  );
  const arg = decodeKpuLayerArgument(words);
  validateArgument(arg, ctx.base + layer_offset, ctx);
  const g = kpuConvGeometry(arg);

  const weightCount = g.outChannels * (g.depthwise ? 1 : g.inChannels) * g.kernel * g.kernel;
  const weightBytes = weightCount * (ctx.weightBits / 8);
  const weights = block(weights_offset, weightBytes, 'weights_offset', offsetsAt + 4).bytesView(weightBytes, 'weights');
  const batchNorm = decodeBatchNormTable(
    block(bn_offset, 8 * g.outChannels, 'bn_offset', offsetsAt + 8).bytesView(8 * g.outChannels, 'batch-norm table'),
    g.outChannels,
  );
  for (const e of batchNorm) Object.freeze(e);
  Object.freeze(batchNorm);
  const activation = Object.freeze(
    decodeActivationBytes(
      block(act_offset, ACTIVATION_BYTES, 'act_offset', offsetsAt + 12).bytesView(ACTIVATION_BYTES, 'activation table'),
    ),
  );

  const kpu: KpuConvParams = Object.freeze({
    words,
    arg,
    weights,
    weightBits: ctx.weightBits,
    batchNorm,
    activation,
    fileOffsets: Object.freeze({
      registers: ctx.base + layer_offset,
      weights: ctx.base + weights_offset,
      batchNorm: ctx.base + bn_offset,
      activation: ctx.base + act_offset,
    }),
  });

  const tin = tensor([1, g.inChannels, g.inHeight, g.inWidth], 'uint8');
  const tout = tensor([1, g.outChannels, g.outHeight, g.outWidth], 'uint8');
  // flags bit0 (KLF_MAIN_MEM_OUT): the dense CHW result is also copied to the main buffer.
  const mainOut = flags & 1 ? Object.freeze({ address: main_mem_out_address, desc: tout }) : undefined;
  if (mainOut) checkMain(ctx, outAt, 'main_mem_out_address', main_mem_out_address, tout.bytes);
  return {
    fields: { flags, main_mem_out_address, layer_offset, weights_offset, bn_offset, act_offset, kpu },
    inputs: [tin],
    outputs: [tout],
    mainIn: [],
    mainOut,
  };
};
