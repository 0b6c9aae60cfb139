/**
 * matmul (opcode 0x4, `MatMul` in traces): nncase 0.2's `runtime_opcode` as kpusim defines it (docs/adding-an-op.md).
 */
import { parseMatMul } from '../../kmodel-parser/v4/bodies.js';
import { matmul } from '../../kpu/ops/v4/matmul.js';
import { CPU_WEIGHTS, clampOf, defineV4Op, matmulIo, matmulMacs } from './def.js';

export const matmulOp = defineV4Op({
  code: 0x04,
  name: 'matmul',
  traceName: 'MatMul',
  unit: 'CPU',
  parse: parseMatMul,
  io: matmulIo,
  macs: matmulMacs,
  weightBytes: CPU_WEIGHTS,
  cost: 'nncase-float-mac',
  prepare: (n, m, ctx) => {
    const b = n.body;
    const [lo, hi] = clampOf(b);
    const a = m.f32('input a', b.input_a);
    const c = m.f32('input b', b.input_b);
    const out = m.f32('output', b.output);
    return { exec: () => matmul(a, c, out, b.bias, b.a_rows, b.a_cols, b.b_cols, lo, hi, ctx.cpu) };
  },
});
