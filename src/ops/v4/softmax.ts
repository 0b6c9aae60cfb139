/**
 * softmax (opcode 0xb, `Softmax` in traces): nncase 0.2's `runtime_opcode` as kpusim defines it (docs/adding-an-op.md).
 */
import { parseSoftmax } from '../../kmodel-parser/v4/bodies.js';
import { softmax } from '../../kpu/ops/v4/softmax.js';
import { NO_WEIGHTS, defineV4Op, inferred, NO_MACS } from './def.js';

export const softmaxOp = defineV4Op({
  code: 0x0b,
  name: 'softmax',
  traceName: 'Softmax',
  unit: 'CPU',
  parse: parseSoftmax,
  io: (b, l) => {
    const s = l(b.input) ?? [b.outer_size, b.inner_size];
    return { inputs: [inferred(b.input, s)], outputs: [inferred(b.output, s)] };
  },
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'nncase-softmax',
  prepare: (n, m) => {
    const b = n.body;
    const src = m.f32('input', b.input);
    const dst = m.f32('output', b.output);
    return { exec: () => softmax(src, dst, b.beta, b.outer_size, b.inner_size) };
  },
});
