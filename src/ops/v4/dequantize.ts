/**
 * dequantize (opcode 0x3, `Dequantize` in traces): nncase 0.2's `runtime_opcode` as kpusim defines it
 * (docs/adding-an-op.md).
 */
import { parseQuantize } from '../../kmodel-parser/v4/bodies.js';
import { dequantize } from '../../kpu/ops/v4/dequantize.js';
import { NO_WEIGHTS, defineV4Op, elementwise, NO_MACS } from './def.js';

export const dequantizeOp = defineV4Op({
  code: 0x03,
  name: 'dequantize',
  traceName: 'Dequantize',
  unit: 'CPU',
  parse: parseQuantize,
  io: (b, l) => elementwise(b, l, b.quant_param, undefined),
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'nncase-dequantize',
  prepare: (n, m, ctx) => {
    const b = n.body;
    const src = m.u8('input', b.input);
    const dst = m.f32('output', b.output);
    return { exec: () => dequantize(src, dst, b.quant_param.scale, b.quant_param.zero_point, ctx.cpu) };
  },
});
