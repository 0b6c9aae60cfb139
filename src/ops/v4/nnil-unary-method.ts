/**
 * nnil_unary_method (opcode 0x14, `NnilUnaryMethod` in traces): nncase 0.2's `runtime_opcode` as kpusim defines it
 * (docs/adding-an-op.md).
 */
import { parseNnilUnaryMethod } from '../../kmodel-parser/v4/bodies.js';
import { decodeNnil, nnilUnaryMethod } from '../../kpu/ops/v4/nnil-unary-method.js';
import { NO_WEIGHTS, defineV4Op, elementwise, NO_MACS } from './def.js';

export const nnilUnaryMethodOp = defineV4Op({
  code: 0x14,
  name: 'nnil_unary_method',
  traceName: 'NnilUnaryMethod',
  unit: 'CPU',
  parse: parseNnilUnaryMethod,
  io: (b, l) => elementwise(b, l),
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'nncase-unary',
  prepare: (n, m) => {
    const b = n.body;
    const src = m.f32('input', b.input);
    const dst = m.f32('output', b.output);
    const program = decodeNnil(b.body);
    return { exec: () => nnilUnaryMethod(src, dst, program) };
  },
});
