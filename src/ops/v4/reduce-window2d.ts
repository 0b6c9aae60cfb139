/**
 * reduce_window2d (opcode 0x8, `ReduceWindow2D` in traces): nncase 0.2's `runtime_opcode` as kpusim defines it
 * (docs/adding-an-op.md).
 */
import { parseReduceWindow2D } from '../../kmodel-parser/v4/bodies.js';
import { REDUCE_OPS } from '../../kmodel-parser/v4/types.js';
import { reduceWindow2d } from '../../kpu/ops/v4/reduce-window2d.js';
import { NO_WEIGHTS, clampOf, defineV4Op, reduceWindowIo, win, NO_MACS } from './def.js';

export const reduceWindow2dOp = defineV4Op({
  code: 0x08,
  name: 'reduce_window2d',
  traceName: 'ReduceWindow2D',
  unit: 'CPU',
  parse: parseReduceWindow2D,
  io: reduceWindowIo,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'nncase-reduce',
  prepare: (n, m) => {
    const b = n.body;
    const [lo, hi] = clampOf(b);
    const src = m.f32('input', b.input);
    const dst = m.f32('output', b.output);
    const op = REDUCE_OPS.indexOf(b.reduce_op);
    return { exec: () => reduceWindow2d(src, dst, b.in_shape, op, b.init_value, win(b), lo, hi) };
  },
});
