/** pad (opcode 0x5, `Pad` in traces): nncase 0.2's `runtime_opcode` as kpusim defines it (docs/adding-an-op.md). */
import { parsePad } from '../../kmodel-parser/v4/bodies.js';
import { pad } from '../../kpu/ops/v4/pad.js';
import { NO_WEIGHTS, defineV4Op, elemBytes, stated, NO_MACS } from './def.js';

export const padOp = defineV4Op({
  code: 0x05,
  name: 'pad',
  traceName: 'Pad',
  unit: 'CPU',
  parse: parsePad,
  io: (b) => ({
    inputs: [stated(b.input, b.in_shape)],
    outputs: [
      stated(
        b.output,
        b.in_shape.map((d, i) => d + b.paddings[i].before + b.paddings[i].after),
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
    return { exec: () => pad(src, dst, elemBytes(b.input), b.in_shape, b.paddings, b.pad_value.storage) };
  },
});
