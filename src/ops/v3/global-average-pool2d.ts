/** GLOBAL_AVERAGE_POOL2D (type 5): the float mean of each channel (docs/adding-an-op.md). */
import { parseGlobalAveragePool2d } from '../../kmodel-parser/v3/bodies.js';
import { globalAveragePool2dV3 } from '../../kpu/ops/v3/global-average-pool2d.js';
import { NO_MACS, NO_WEIGHTS, defineV3Op, mainOut } from './def.js';

export const globalAveragePool2dOp = defineV3Op({
  code: 5,
  name: 'GLOBAL_AVERAGE_POOL2D',
  unit: 'CPU',
  parse: parseGlobalAveragePool2d,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'sdk-pool',
  prepare: (l, m) => {
    const src = m.f32('input', l.main_mem_in_address, l.kernel_size * l.channels);
    const dst = m.f32('output', l.main_mem_out_address, l.channels);
    return {
      exec: () => globalAveragePool2dV3(src, dst, l.kernel_size, l.channels),
      output: mainOut(l.main_mem_out_address, l.channels * 4, l.outputs[0]),
    };
  },
});
