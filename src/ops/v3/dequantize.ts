/** DEQUANTIZE (type 12): uint8 to float with one (scale, bias) (docs/adding-an-op.md). */
import { parseDequantize } from '../../kmodel-parser/v3/bodies.js';
import { dequantizeV3 } from '../../kpu/ops/v3/dequantize.js';
import { NO_MACS, NO_WEIGHTS, defineV3Op, mainOut } from './def.js';

export const dequantizeOp = defineV3Op({
  code: 12,
  name: 'DEQUANTIZE',
  unit: 'CPU',
  parse: parseDequantize,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'sdk-dequantize',
  prepare: (l, m, _ai, _s, ctx) => {
    const src = m.u8('input', l.main_mem_in_address, l.count);
    const dst = m.f32('output', l.main_mem_out_address, l.count);
    return {
      exec: () => dequantizeV3(src, dst, l.quant_param.scale, l.quant_param.bias, ctx.cpu),
      output: mainOut(l.main_mem_out_address, l.count * 4, l.outputs[0]),
    };
  },
});
