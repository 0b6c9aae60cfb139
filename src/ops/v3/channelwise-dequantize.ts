/** CHANNELWISE_DEQUANTIZE (type 24): uint8 to float with a (scale, bias) per channel (docs/adding-an-op.md). */
import { parseChannelwiseDequantize } from '../../kmodel-parser/v3/bodies.js';
import { channelwiseDequantizeV3 } from '../../kpu/ops/v3/channelwise-dequantize.js';
import { NO_MACS, NO_WEIGHTS, defineV3Op, mainOut } from './def.js';

export const channelwiseDequantizeOp = defineV3Op({
  code: 24,
  name: 'CHANNELWISE_DEQUANTIZE',
  unit: 'CPU',
  parse: parseChannelwiseDequantize,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'sdk-dequantize',
  prepare: (l, m, _ai, _s, ctx) => {
    const n = l.channels * l.channel_size;
    const src = m.u8('input', l.main_mem_in_address, n);
    const dst = m.f32('output', l.main_mem_out_address, n);
    const params = new Float32Array(l.quant_params.flatMap((q) => [q.scale, q.bias]));
    return {
      exec: () => channelwiseDequantizeV3(src, dst, l.channels, l.channel_size, params, ctx.cpu),
      output: mainOut(l.main_mem_out_address, n * 4, l.outputs[0]),
    };
  },
});
