/**
 * K210_CONV (type 10240): one KPU layer (conv, batch-norm, activation, pool), its result in AI SRAM and, when
 * flags bit0 is set, also copied to the main buffer (kpu-numerics §10 C6; docs/adding-an-op.md).
 */
import { kpuConvGeometry } from '../../kmodel-parser/model.js';
import { parseK210Conv } from '../../kmodel-parser/v3/k210-conv.js';
import { prepareKpuConv, runKpuConv } from '../../kpu/conv/index.js';
import { notApplicable } from '../not-applicable.js';
import { defineV3Op, mainOut } from './def.js';

export const k210ConvOp = defineV3Op({
  code: 10240,
  name: 'K210_CONV',
  unit: 'KPU',
  parse: parseK210Conv,
  macs: notApplicable("a KPU layer's MACs come from its layer argument (kmodel-parser/summary.ts)"),
  weightBytes: notApplicable("a KPU layer's weight bytes come from its layer argument (kmodel-parser/summary.ts)"),
  cost: notApplicable('a KPU layer is priced by the KPU timing model, not a CPU cost family'),
  prepare: (l, m, _ai, s, ctx) => {
    const conv = prepareKpuConv(l.kpu, 1, { layer: l.index, type: l.type });
    const toMain = (l.flags & 1) === 1 ? m.u8('conv output', l.main_mem_out_address, conv.denseOutputBytes) : undefined;
    const g = kpuConvGeometry(l.kpu.arg);
    return {
      exec: () => runKpuConv(conv, s.ai, ctx.kpu, toMain),
      output: toMain
        ? mainOut(l.main_mem_out_address, conv.denseOutputBytes, l.outputs[0])
        : { memory: 'ai', address: conv.output.address, bytes: conv.output.bytes, desc: l.outputs[0] },
      transfers: toMain ? [{ kind: 'download-dma', bytes: g.outChannels * g.outHeight * g.outWidth }] : [],
    };
  },
});
