/**
 * RESIZE_IMAGE: bilinear or nearest-neighbour resize of NCHW to the height and width on the stack
 * (docs/adding-an-op.md).
 */
import { resizeImage } from '../../kpu/ops/v5/resize-image.js';
import { asI4 } from '../../kpu/v5/stack.js';
import { bytesOf, defineV5Function } from './def.js';

export const resizeImageFn = defineV5Function({
  name: 'RESIZE_IMAGE',
  run: (vm, ins) => {
    const a = ins.args;
    const output = vm.popAddr();
    const input = vm.popAddr();
    const w = asI4(vm.stack.pop());
    const h = asI4(vm.stack.pop());
    const shape = vm.shapeReg(a.rshape_src);
    if (shape.length !== 4) vm.fault('BAD_LAYER', `resize_image on a rank-${shape.length} tensor`);
    const outShape = [shape[0], shape[1], h, w];
    if (!(h > 0 && w > 0)) vm.fault('BAD_LAYER', `resize_image to ${h}×${w}`);
    const ti = vm.tensor(input, a.datatype, shape, vm.shapeReg(a.rstride_src), false);
    const to = vm.tensor(output, a.datatype, outShape, vm.shapeReg(a.rstride_dest), true);
    vm.ready({ outH: h, outW: w });
    resizeImage(a.image_resize_mode, ti, to, h, w, a.align_corners !== 0, a.half_pixel_centers !== 0);
    return { inputShapes: [shape], outputShapes: [outShape], bytesIn: bytesOf(ti), bytesOut: bytesOf(to), macs: 0 };
  },
});
