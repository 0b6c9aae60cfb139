/**
 * conv2d (opcode 0x2, `Conv2D` in traces): nncase 0.2's `runtime_opcode` as kpusim defines it (docs/adding-an-op.md).
 */
import { parseConv2D } from '../../kmodel-parser/v4/bodies.js';
import { conv2d } from '../../kpu/ops/v4/conv2d.js';
import { CPU_WEIGHTS, clampOf, convIo, defineV4Op, win, windowMacs } from './def.js';

export const conv2dOp = defineV4Op({
  code: 0x02,
  name: 'conv2d',
  traceName: 'Conv2D',
  unit: 'CPU',
  parse: parseConv2D,
  io: (b) => convIo(b, b.out_channels),
  macs: windowMacs,
  weightBytes: CPU_WEIGHTS,
  cost: 'nncase-float-mac',
  prepare: (n, m, ctx) => {
    const b = n.body;
    const [lo, hi] = clampOf(b);
    const src = m.f32('input', b.input);
    const dst = m.f32('output', b.output);
    return {
      exec: () => conv2d(src, dst, b.weights, b.bias, b.in_shape, b.groups, b.out_channels, win(b), lo, hi, ctx.cpu),
    };
  },
});
