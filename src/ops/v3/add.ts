/** ADD (type 1): float element-wise sum, as the SDK's `kpu_kmodel_add` runs it (docs/adding-an-op.md). */
import { parseAdd } from '../../kmodel-parser/v3/bodies.js';
import { addV3 } from '../../kpu/ops/v3/add.js';
import { NO_MACS, NO_WEIGHTS, defineV3Op, mainOut } from './def.js';

export const addOp = defineV3Op({
  code: 1,
  name: 'ADD',
  unit: 'CPU',
  parse: parseAdd,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'sdk-float-elementwise',
  prepare: (l, m) => {
    const a = m.f32('input a', l.main_mem_in_a_address, l.count);
    const b = m.f32('input b', l.main_mem_in_b_address, l.count);
    const out = m.f32('output', l.main_mem_out_address, l.count);
    return { exec: () => addV3(a, b, out), output: mainOut(l.main_mem_out_address, l.count * 4, l.outputs[0]) };
  },
});
