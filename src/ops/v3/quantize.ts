/** QUANTIZE (type 11): float to uint8 with one (scale, bias) (docs/adding-an-op.md). */
import { parseQuantize } from '../../kmodel-parser/v3/bodies.js';
import { quantizeV3 } from '../../kpu/ops/v3/quantize.js';
import { NO_MACS, NO_WEIGHTS, defineV3Op, mainOut } from './def.js';

export const quantizeOp = defineV3Op({
  code: 11,
  name: 'QUANTIZE',
  unit: 'CPU',
  parse: parseQuantize,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'sdk-quantize',
  prepare: (l, m, _ai, _s, ctx) => {
    const src = m.f32('input', l.main_mem_in_address, l.count);
    const dst = m.u8('output', l.mem_out_address, l.count);
    return {
      exec: () => quantizeV3(src, dst, l.quant_param.scale, l.quant_param.bias, ctx.cpu),
      output: mainOut(l.mem_out_address, l.count, l.outputs[0]),
    };
  },
});
