/** TRANSPOSE: axes permuted by a register (docs/adding-an-op.md). */
import { transpose } from '../../kpu/ops/v5/transpose.js';
import { bytesOf, defineV5Function } from './def.js';

export const transposeFn = defineV5Function({
  name: 'TRANSPOSE',
  run: (vm, ins) => {
    const a = ins.args;
    const output = vm.popAddr();
    const input = vm.popAddr();
    const shape = vm.shapeReg(a.rshape_src);
    const perm = vm.shapeReg(a.rshape_perm);
    const outShape = perm.map((p) => shape[p] ?? 0);
    const ti = vm.tensor(input, a.datatype, shape, vm.shapeReg(a.rstride_src), false);
    const to = vm.tensor(output, a.datatype, outShape, vm.shapeReg(a.rstride_dest), true);
    vm.ready({ perm });
    transpose(ti, to, perm);
    return { inputShapes: [shape], outputShapes: [outShape], bytesIn: bytesOf(ti), bytesOut: bytesOf(to), macs: 0 };
  },
});
