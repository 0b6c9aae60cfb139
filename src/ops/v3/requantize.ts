/** REQUANTIZE (type 13): uint8 through a 256-entry table (docs/adding-an-op.md). */
import { parseRequantize } from '../../kmodel-parser/v3/bodies.js';
import { requantizeV3 } from '../../kpu/ops/v3/requantize.js';
import { NO_MACS, NO_WEIGHTS, defineV3Op, mainOut } from './def.js';

export const requantizeOp = defineV3Op({
  code: 13,
  name: 'REQUANTIZE',
  unit: 'CPU',
  parse: parseRequantize,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'sdk-requantize',
  prepare: (l, m) => {
    const src = m.u8('input', l.main_mem_in_address, l.count);
    const dst = m.u8('output', l.main_mem_out_address, l.count);
    return {
      exec: () => requantizeV3(src, dst, l.table),
      output: mainOut(l.main_mem_out_address, l.count, l.outputs[0]),
    };
  },
});
