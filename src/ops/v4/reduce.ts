/**
 * reduce (opcode 0x7, `Reduce` in traces): nncase 0.2's `runtime_opcode` as kpusim defines it (docs/adding-an-op.md).
 */
import { parseReduce } from '../../kmodel-parser/v4/bodies.js';
import { REDUCE_OPS } from '../../kmodel-parser/v4/types.js';
import { reduce } from '../../kpu/ops/v4/reduce.js';
import { NO_WEIGHTS, defineV4Op, stated, NO_MACS } from './def.js';

export const reduceOp = defineV4Op({
  code: 0x07,
  name: 'reduce',
  traceName: 'Reduce',
  unit: 'CPU',
  parse: parseReduce,
  io: (b) => ({
    inputs: [stated(b.input, b.in_shape)],
    outputs: [stated(b.output, b.out_shape)],
  }),
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'nncase-reduce',
  prepare: (n, m) => {
    const b = n.body;
    const src = m.f32('input', b.input);
    const dst = m.f32('output', b.output);
    const op = REDUCE_OPS.indexOf(b.reduce_op);
    return { exec: () => reduce(src, dst, b.in_shape, b.out_shape, op, b.init_value) };
  },
});
