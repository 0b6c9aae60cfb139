/**
 * K210_ADD_PADDING (type 10241): C bytes from the main buffer, each to pixel (0,0) of its channel of a 4×4 map in
 * AI SRAM, so a 1×1×C vector can feed a KPU 1×1 conv; K210_REMOVE_PADDING (10242): the reverse, out[c] = in[16·c]
 * (docs/adding-an-op.md).
 */
import { parseK210AddPadding, parseK210RemovePadding } from '../../kmodel-parser/v3/bodies.js';
import { kpuRows } from '../../kpu/layout.js';
import { k210AddPaddingV3 } from '../../kpu/ops/v3/k210-add-padding.js';
import { k210RemovePaddingV3 } from '../../kpu/ops/v3/k210-remove-padding.js';
import { NO_MACS, NO_WEIGHTS, defineV3Op, mainOut } from './def.js';

export const k210AddPaddingOp = defineV3Op({
  code: 10241,
  name: 'K210_ADD_PADDING',
  unit: 'CPU',
  parse: parseK210AddPadding,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  /** Writes one byte per channel into uncached AI SRAM: priced as a CPU upload of its output. */
  cost: 'sdk-upload',
  prepare: (l, m, ai) => {
    const src = m.u8('input', l.main_mem_in_address, l.channels);
    const dst = ai.u8('output', l.kpu_mem_out_address * 64, kpuRows(4, 4, l.channels) * 64);
    return {
      exec: () => k210AddPaddingV3(src, dst, l.channels),
      output: { memory: 'ai', address: l.kpu_mem_out_address * 64, bytes: dst.length },
      transfers: [
        { kind: 'upload-cpu', bytes: l.channels, aiSram: { address: l.kpu_mem_out_address * 64, bytes: dst.length } },
      ],
    };
  },
});

export const k210RemovePaddingOp = defineV3Op({
  code: 10242,
  name: 'K210_REMOVE_PADDING',
  unit: 'CPU',
  parse: parseK210RemovePadding,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'sdk-layout',
  prepare: (l, m) => {
    const src = m.u8('input', l.main_mem_in_address, 16 * l.channels);
    const dst = m.u8('output', l.main_mem_out_address, l.channels);
    return {
      exec: () => k210RemovePaddingV3(src, dst, l.channels),
      output: mainOut(l.main_mem_out_address, l.channels, l.outputs[0]),
    };
  },
});
