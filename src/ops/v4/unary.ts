/** unary (opcode 0xe, `Unary` in traces): nncase 0.2's `runtime_opcode` as kpusim defines it (docs/adding-an-op.md). */
import { parseUnary } from '../../kmodel-parser/v4/bodies.js';
import { UNARY_OPS } from '../../kmodel-parser/v4/types.js';
import { unary } from '../../kpu/ops/v4/unary.js';
import { NO_WEIGHTS, defineV4Op, elementwise, NO_MACS } from './def.js';

export const unaryOp = defineV4Op({
  code: 0x0e,
  name: 'unary',
  traceName: 'Unary',
  unit: 'CPU',
  parse: parseUnary,
  io: (b, l) => elementwise(b, l),
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'nncase-unary',
  prepare: (n, m) => {
    const b = n.body;
    const src = m.f32('input', b.input);
    const dst = m.f32('output', b.output);
    const op = UNARY_OPS.indexOf(b.unary_op);
    return { exec: () => unary(src, dst, op) };
  },
});
