/**
 * resize_image (opcode 0xa, `ResizeImage` in traces): nncase 0.2's `runtime_opcode` as kpusim defines it
 * (docs/adding-an-op.md).
 */
import { parseResizeImage } from '../../kmodel-parser/v4/bodies.js';
import { IMAGE_RESIZE_MODES } from '../../kmodel-parser/v4/types.js';
import { resizeImage } from '../../kpu/ops/v4/resize-image.js';
import { NO_WEIGHTS, defineV4Op, stated, NO_MACS } from './def.js';

export const resizeImageOp = defineV4Op({
  code: 0x0a,
  name: 'resize_image',
  traceName: 'ResizeImage',
  unit: 'CPU',
  parse: parseResizeImage,
  io: (b) => ({
    inputs: [stated(b.input, b.in_shape)],
    outputs: [stated(b.output, [b.in_shape[0], b.in_shape[1], b.out_h, b.out_w])],
  }),
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'nncase-resize',
  prepare: (n, m, ctx) => {
    const b = n.body;
    const mode = IMAGE_RESIZE_MODES.indexOf(b.mode);
    if (b.input.datatype === 'float32') {
      const src = m.f32('input', b.input);
      const dst = m.f32('output', b.output);
      return { exec: () => resizeImage(src, dst, b.in_shape, b.out_h, b.out_w, mode, b.align_corners, ctx.cpu) };
    }
    const src = m.u8('input', b.input);
    const dst = m.u8('output', b.output);
    return { exec: () => resizeImage(src, dst, b.in_shape, b.out_h, b.out_w, mode, b.align_corners, ctx.cpu) };
  },
});
