/** FULLY_CONNECTED (type 18): float matrix-vector product, bias and activation (docs/adding-an-op.md). */
import { parseFullyConnected } from '../../kmodel-parser/v3/bodies.js';
import { fullyConnectedV3 } from '../../kpu/ops/v3/fully-connected.js';
import { notApplicable } from '../not-applicable.js';
import { defineV3Op, mainOut } from './def.js';

export const fullyConnectedOp = defineV3Op({
  code: 18,
  name: 'FULLY_CONNECTED',
  unit: 'CPU',
  parse: parseFullyConnected,
  macs: (b) => b.in_channels * b.out_channels,
  weightBytes: notApplicable(
    'a CPU layer reads its weights in place from the model; kpusim info lists the weights a KPU layer loads',
  ),
  cost: 'sdk-fully-connected',
  prepare: (l, m, _ai, _s, ctx) => {
    const src = m.f32('input', l.main_mem_in_address, l.in_channels);
    const dst = m.f32('output', l.main_mem_out_address, l.out_channels);
    return {
      exec: () => fullyConnectedV3(src, dst, l.weights, l.bias, l.in_channels, l.out_channels, l.act, ctx.cpu),
      output: mainOut(l.main_mem_out_address, l.out_channels * 4, l.outputs[0]),
    };
  },
});
