/**
 * The v4 kpu_conv2d body (kpu-numerics §3.4, corrected by §10 C4):
 *
 *   0 main_mem_output memory_range · 16 batches i32 · 20 reserved0 · 24 the 12 register words ·
 *   P1 skip · BN table (8·OC) · P2 skip · activation table (144) · P3 skip · weights · padding
 *
 * P1, P2, P3 are the values stored in `bwsx_base_addr`, `active_addr` and `para_start_addr`:
 * in files they count the padding bytes the compiler skipped, not addresses. Older 0.2 builds
 * align the BN table to 8 bytes only, so we follow the counts and never assert alignment.
 */
import {
  decodeActivationBytes,
  decodeBatchNormTable,
  decodeKpuLayerArgument,
  readWords,
} from '../kpu-layer-argument.js';
import type { KpuConvParams } from '../model.js';
import { kpuRows } from '../kpu-layout.js';
import { AI_SRAM_BYTES } from '../../chip.js';
import type { BodyContext } from './read.js';
import type { KpuConv2DBody, MemoryRange, Shape4 } from './types.js';

/** Pool stride of each pool_type (kpu-numerics §6.6). */
export const POOL_STRIDE: readonly number[] = [1, 2, 2, 4, 4, 2, 2, 4, 1, 1];

export function parseKpuConv2D(c: BodyContext): KpuConv2DBody {
  const r = c.r;
  const mmAt = r.position;
  const main_mem_output = c.range('main_mem_output');
  const batches = c.atLeast(1, 'batches');
  const reserved0 = r.u32('reserved0');

  const registers = r.position;
  const words = readWords(r.bytesView(96, 'the 12 KPU register words'), 12);
  const arg = decodeKpuLayerArgument(words);
  const wordAt = (i: number): number => registers + 8 * i;

  if (arg.kernel_type > 1)
    c.fail('BAD_VALUE', `kernel_type = ${arg.kernel_type}; expected 0 (1×1) or 1 (3×3)`, wordAt(4));
  if (arg.pool_type > 9) c.fail('BAD_VALUE', `pool_type = ${arg.pool_type}; expected 0..9`, wordAt(4));
  const IC = arg.i_ch_num + 1;
  const OC = arg.o_ch_num + 1;
  const W = arg.i_row_wid + 1;
  const H = arg.i_col_high + 1;
  const OW = arg.o_row_wid + 1;
  const OH = arg.o_col_high + 1;
  const K = arg.kernel_type === 1 ? 3 : 1;
  const depthwise = arg.depth_wise_layer === 1;
  if (depthwise && IC !== OC)
    c.fail(
      'BAD_VALUE',
      `a depthwise layer needs as many output channels as input channels, got ${IC} in and ${OC} out`,
      wordAt(2),
    );
  const s = POOL_STRIDE[arg.pool_type];
  if (OW !== Math.floor(W / s) || OH !== Math.floor(H / s)) {
    c.fail(
      'BAD_VALUE',
      `output ${OW}×${OH} (W×H) does not match input ${W}×${H} under pool_type ${arg.pool_type} (stride ${s}); expected ${Math.floor(W / s)}×${Math.floor(H / s)}`,
      wordAt(3),
    );
  }

  const in_shape: Shape4 = [batches, IC, H, W];
  const out_shape: Shape4 = [batches, OC, OH, OW];
  const kpu_input: MemoryRange = {
    memory_type: 'kpu',
    datatype: 'uint8',
    start: arg.image_src_addr * 64,
    size: batches * kpuRows(W, H, IC) * 64,
  };
  const kpu_output: MemoryRange = {
    memory_type: 'kpu',
    datatype: 'uint8',
    start: arg.image_dst_addr * 64,
    size: batches * kpuRows(OW, OH, OC) * 64,
  };
  for (const [what, range, at] of [
    ['input map (image_src_addr)', kpu_input, wordAt(1)],
    ['output map (image_dst_addr)', kpu_output, wordAt(1) + 4],
  ] as const) {
    if (range.start + range.size > AI_SRAM_BYTES) {
      c.fail(
        'BAD_OFFSET',
        `${what}: AI SRAM bytes [${range.start}, ${range.start + range.size}) of ${batches} batch(es) do not fit in the 2 MiB AI SRAM`,
        at,
      );
    }
  }

  if (main_mem_output.size !== 0) {
    if (main_mem_output.memory_type !== 'main' || main_mem_output.datatype !== 'uint8') {
      c.fail(
        'BAD_VALUE',
        `main_mem_output must be a uint8 main-memory range, got ${main_mem_output.datatype} in ${main_mem_output.memory_type}`,
        mmAt,
      );
    }
    const dense = batches * OC * OH * OW;
    if (main_mem_output.size !== dense) {
      c.fail(
        'BAD_VALUE',
        `main_mem_output size ${main_mem_output.size} is not the dense output of ${batches}×${OC}×${OH}×${OW} = ${dense} bytes`,
        mmAt + 12,
      );
    }
  }

  const skip = (count: number, field: string, word: number): void => {
    if (count > r.remaining)
      c.fail(
        'BAD_OFFSET',
        `the ${field} skip of ${count} bytes runs past the body end (${r.remaining} bytes left)`,
        wordAt(word) + 4,
      );
    r.skip(count);
  };
  const skips = {
    bwsx_base_addr: arg.bwsx_base_addr,
    active_addr: arg.active_addr,
    para_start_addr: arg.para_start_addr,
  };

  skip(skips.bwsx_base_addr, 'bwsx_base_addr', 4);
  const bnAt = r.position;
  r.checkCount(OC, 8, `batch-norm table (${OC} channels)`);
  const batchNorm = decodeBatchNormTable(r.bytesView(8 * OC, 'batch-norm table'), OC);
  for (const e of batchNorm) Object.freeze(e);

  skip(skips.active_addr, 'active_addr', 7);
  const actAt = r.position;
  const activation = decodeActivationBytes(r.bytesView(144, 'activation table'));

  skip(skips.para_start_addr, 'para_start_addr', 5);
  const weightsAt = r.position;
  const nWeights = OC * (depthwise ? 1 : IC) * K * K;
  r.checkCount(nWeights, 1, `weights (${OC}×${depthwise ? 1 : IC}×${K}×${K})`);
  const weights = r.bytesView(nWeights, 'weights');
  c.end();

  const kpu: KpuConvParams = {
    words,
    arg,
    weights,
    weightBits: 8,
    batchNorm,
    activation,
    fileOffsets: { registers, weights: weightsAt, batchNorm: bnAt, activation: actAt },
  };
  return { kpu, main_mem_output, batches, reserved0, skips, kpu_input, kpu_output, in_shape, out_shape };
}
