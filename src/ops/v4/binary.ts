/**
 * binary (opcode 0x0, `Binary` in traces): nncase 0.2's `runtime_opcode` as kpusim defines it (docs/adding-an-op.md).
 */
import { parseBinary } from '../../kmodel-parser/v4/bodies.js';
import { BINARY_OPS } from '../../kmodel-parser/v4/types.js';
import { binary } from '../../kpu/ops/v4/binary.js';
import { NO_WEIGHTS, binaryIo, clampOf, defineV4Op, NO_MACS } from './def.js';

export const binaryOp = defineV4Op({
  code: 0x00,
  name: 'binary',
  traceName: 'Binary',
  unit: 'CPU',
  parse: parseBinary,
  io: binaryIo,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'nncase-float-elementwise',
  prepare: (n, m) => {
    const b = n.body;
    const [lo, hi] = clampOf(b);
    const a = m.f32('input a', b.input_a);
    const c = m.f32('input b', b.input_b);
    const out = m.f32('output', b.output);
    const op = BINARY_OPS.indexOf(b.binary_op);
    return { exec: () => binary(a, c, out, b.in_a_shape, b.in_b_shape, b.out_shape, op, lo, hi) };
  },
});
