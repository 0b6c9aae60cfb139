/**
 * transpose (opcode 0xc, `Transpose` in traces): nncase 0.2's `runtime_opcode` as kpusim defines it
 * (docs/adding-an-op.md).
 */
import { parseTranspose } from '../../kmodel-parser/v4/bodies.js';
import { transpose } from '../../kpu/ops/v4/transpose.js';
import { NO_WEIGHTS, defineV4Op, elemBytes, stated, NO_MACS } from './def.js';

export const transposeOp = defineV4Op({
  code: 0x0c,
  name: 'transpose',
  traceName: 'Transpose',
  unit: 'CPU',
  parse: parseTranspose,
  io: (b) => ({
    inputs: [stated(b.input, b.in_shape)],
    outputs: [
      stated(
        b.output,
        b.perm.map((p) => b.in_shape[p]),
      ),
    ],
  }),
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'nncase-layout',
  prepare: (n, m) => {
    const b = n.body;
    const src = m.u8('input', b.input);
    const dst = m.u8('output', b.output);
    return { exec: () => transpose(src, dst, elemBytes(b.input), b.in_shape, b.perm) };
  },
});
