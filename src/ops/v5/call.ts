/**
 * CALL: runs function `function_id` of module `module_id` (the K210 module's KPU functions) on the tensors popped
 * for it, each as address, datatype, shape register and stride register (docs/adding-an-op.md).
 */
import { elementCount, elemSize, extentBytes } from '../../kpu/v5/tensor.js';
import type { CallTensor } from '../../kpu/v5/stackvm.js';
import { asU1, asU4 } from '../../kpu/v5/stack.js';
import { defineV5Function } from './def.js';

const bytes = (ts: CallTensor[]) => ts.reduce((s, t) => s + elementCount(t.shape) * elemSize(t.datatype), 0);

export const callFn = defineV5Function({
  name: 'CALL',
  run: (vm, ins) => {
    const a = ins.args;
    const pop = (): CallTensor => {
      const strides = vm.shapeReg(asU4(vm.stack.pop()));
      const shape = vm.shapeReg(asU4(vm.stack.pop()));
      const datatype = asU1(vm.stack.pop());
      const addr = vm.popAddr();
      vm.checkElements(shape);
      const p = vm.space.span(addr, extentBytes(shape, strides, datatype), false, vm.ctx);
      return { block: p.block, offset: p.offset, datatype, shape, strides };
    };
    const outputs: CallTensor[] = [];
    const inputs: CallTensor[] = [];
    for (let k = 0; k < a.num_dst; k++) outputs.unshift(pop());
    for (let k = 0; k < a.num_src; k++) inputs.unshift(pop());
    for (const t of inputs) vm.recordCallTensor(t, false);
    for (const t of outputs) vm.recordCallTensor(t, true);
    vm.ready();
    vm.host.call(a.module_id, a.function_id, inputs, outputs);
    return {
      inputShapes: inputs.map((t) => t.shape),
      outputShapes: outputs.map((t) => t.shape),
      bytesIn: bytes(inputs),
      bytesOut: bytes(outputs),
      macs: 0,
    };
  },
});
