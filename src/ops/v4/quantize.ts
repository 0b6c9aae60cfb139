/**
 * quantize (opcode 0x6, `Quantize` in traces): nncase 0.2's `runtime_opcode` as kpusim defines it
 * (docs/adding-an-op.md).
 */
import { parseQuantize } from '../../kmodel-parser/v4/bodies.js';
import { quantize } from '../../kpu/ops/v4/quantize.js';
import { NO_WEIGHTS, defineV4Op, elementwise, NO_MACS } from './def.js';

export const quantizeOp = defineV4Op({
  code: 0x06,
  name: 'quantize',
  traceName: 'Quantize',
  unit: 'CPU',
  parse: parseQuantize,
  io: (b, l) => elementwise(b, l, undefined, b.quant_param),
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'nncase-quantize',
  prepare: (n, m, ctx) => {
    const b = n.body;
    const src = m.f32('input', b.input);
    const dst = m.u8('output', b.output);
    return { exec: () => quantize(src, dst, b.quant_param.scale, b.quant_param.zero_point, ctx.cpu) };
  },
});
