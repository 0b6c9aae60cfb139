/**
 * kpu_conv2d (opcode 0x2002, `KPUConv2D` in traces): nncase 0.2's `runtime_opcode` as kpusim defines it
 * (docs/adding-an-op.md).
 */
import { KpuFault } from '../../errors.js';
import { parseKpuConv2D } from '../../kmodel-parser/v4/kpu-conv2d.js';
import { prepareKpuConv, runKpuConv } from '../../kpu/conv/index.js';
import { notApplicable } from '../not-applicable.js';
import { defineV4Op, stated } from './def.js';

export const kpuConv2dOp = defineV4Op({
  code: 0x2002,
  name: 'kpu_conv2d',
  traceName: 'KPUConv2D',
  unit: 'KPU',
  parse: parseKpuConv2D,
  io: (b) => ({
    inputs: [stated(b.kpu_input, b.in_shape)],
    outputs: [
      stated(b.kpu_output, b.out_shape),
      ...(b.main_mem_output.size !== 0 ? [stated(b.main_mem_output, b.out_shape)] : []),
    ],
  }),
  macs: notApplicable('a KPU layer: kpusim info and the timing model count its MACs from the layer argument'),
  weightBytes: (b) => b.kpu.weights.length,
  cost: notApplicable('runs on the KPU: priced by the KPU conv model from its geometry'),
  prepare: (n, m, ctx) => {
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
});
