/** SLICE: begins, ends and strides per axis from registers (docs/adding-an-op.md). */
import { slice, sliceOutputShape } from '../../kpu/ops/v5/slice.js';
import { bytesOf, defineV5Function } from './def.js';

export const sliceFn = defineV5Function({
  name: 'SLICE',
  run: (vm, ins) => {
    const a = ins.args;
    const output = vm.popAddr();
    const input = vm.popAddr();
    const shape = vm.shapeReg(a.rshape_src);
    const begins = vm.shapeReg(a.rbegins);
    const ends = vm.shapeReg(a.rends);
    const strides = vm.axisReg(a.rstrides);
    const outShape = sliceOutputShape(shape, begins, ends, strides);
    const ti = vm.tensor(input, a.datatype, shape, vm.shapeReg(a.rstride_src), false);
    const to = vm.tensor(output, a.datatype, outShape, vm.shapeReg(a.rstride_dest), true);
    vm.ready({ begins, ends, strides });
    slice(ti, to, begins, ends, strides);
    return { inputShapes: [shape], outputShapes: [outShape], bytesIn: bytesOf(ti), bytesOut: bytesOf(to), macs: 0 };
  },
});
