/** BINARY: element-wise float32 op with broadcasting and a fused clamp (docs/adding-an-op.md). */
import { binary, binaryOutputShape } from '../../kpu/ops/v5/binary.js';
import { DT } from '../../kpu/v5/tensor.js';
import { bytesOf, defineV5Function } from './def.js';

export const binaryFn = defineV5Function({
  name: 'BINARY',
  run: (vm, ins) => {
    const a = ins.args;
    if (a.datatype !== DT.f32) vm.fault('UNSUPPORTED', `binary on datatype ${a.datatype}`);
    const output = vm.popAddr();
    const inB = vm.popAddr();
    const inA = vm.popAddr();
    const sa = vm.shapeReg(a.rshape_src1);
    const sb = vm.shapeReg(a.rshape_src2);
    const outShape = binaryOutputShape(sa, sb);
    const ta = vm.tensor(inA, DT.f32, sa, vm.shapeReg(a.rstride_src1), false);
    const tb = vm.tensor(inB, DT.f32, sb, vm.shapeReg(a.rstride_src2), false);
    const to = vm.tensor(output, DT.f32, outShape, vm.shapeReg(a.rstride_dest), true);
    vm.ready();
    binary(a.binary_op, ta, tb, to, a.fused_clamp_low, a.fused_clamp_high);
    return {
      inputShapes: [sa, sb],
      outputShapes: [outShape],
      bytesIn: bytesOf(ta) + bytesOf(tb),
      bytesOut: bytesOf(to),
      macs: 0,
    };
  },
});
