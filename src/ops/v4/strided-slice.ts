/**
 * strided_slice (opcode 0xd, `StridedSlice` in traces): nncase 0.2's `runtime_opcode` as kpusim defines it
 * (docs/adding-an-op.md).
 */
import { parseStridedSlice } from '../../kmodel-parser/v4/bodies.js';
import { stridedSlice } from '../../kpu/ops/v4/strided-slice.js';
import { NO_WEIGHTS, defineV4Op, elemBytes, inferred, stated, stridedSliceShape, NO_MACS } from './def.js';

export const stridedSliceOp = defineV4Op({
  code: 0x0d,
  name: 'strided_slice',
  traceName: 'StridedSlice',
  unit: 'CPU',
  parse: parseStridedSlice,
  io: (b) => ({
    inputs: [stated(b.input, b.in_shape)],
    outputs: [inferred(b.output, stridedSliceShape(b))],
  }),
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'nncase-layout',
  prepare: (n, m) => {
    const b = n.body;
    const src = m.u8('input', b.input);
    const dst = m.u8('output', b.output);
    // The runtime takes begin/end/strides as stored: the compiler has already resolved the masks.
    return { exec: () => stridedSlice(src, dst, elemBytes(b.input), b.in_shape, b.begin, b.end, b.strides) };
  },
});
