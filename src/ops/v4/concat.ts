/**
 * concat (opcode 0x1, `Concat` in traces): nncase 0.2's `runtime_opcode` as kpusim defines it (docs/adding-an-op.md).
 */
import { parseConcat } from '../../kmodel-parser/v4/bodies.js';
import { concat } from '../../kpu/ops/v4/concat.js';
import { NO_WEIGHTS, concatIo, defineV4Op, NO_MACS } from './def.js';

export const concatOp = defineV4Op({
  code: 0x01,
  name: 'concat',
  traceName: 'Concat',
  unit: 'CPU',
  parse: parseConcat,
  io: concatIo,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'nncase-copy',
  prepare: (n, m) => {
    const b = n.body;
    const ins = b.inputs.map((r, i) => m.u8(`input ${i}`, r));
    const dst = m.u8('output', b.output);
    return { exec: () => concat(ins, dst, b.dims, b.inner_size, b.outer_size) };
  },
});
