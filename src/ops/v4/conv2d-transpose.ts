/**
 * conv2d_transpose (opcode 0x13, `Conv2DTranspose` in traces): nncase 0.2's `runtime_opcode` as kpusim defines it
 * (docs/adding-an-op.md).
 */
import { parseConv2DTranspose } from '../../kmodel-parser/v4/bodies.js';
import { conv2dTranspose } from '../../kpu/ops/v4/conv2d-transpose.js';
import { CPU_WEIGHTS, clampOf, defineV4Op, stated, win, windowMacs } from './def.js';

export const conv2dTransposeOp = defineV4Op({
  code: 0x13,
  name: 'conv2d_transpose',
  traceName: 'Conv2DTranspose',
  unit: 'CPU',
  parse: parseConv2DTranspose,
  io: (b) => ({
    inputs: [stated(b.input, b.in_shape)],
    outputs: [stated(b.output, b.out_shape)],
  }),
  macs: windowMacs,
  weightBytes: CPU_WEIGHTS,
  cost: 'nncase-float-mac',
  prepare: (n, m, ctx) => {
    const b = n.body;
    const [lo, hi] = clampOf(b);
    const src = m.f32('input', b.input);
    const dst = m.f32('output', b.output);
    return {
      exec: () =>
        conv2dTranspose(src, dst, b.weights, b.bias, b.in_shape, b.out_shape, b.groups, win(b), lo, hi, ctx.cpu),
    };
  },
});
