/** REDUCE_WINDOW2D: float32 pooling (mean, min, max, sum) over NCHW windows (docs/adding-an-op.md). */
import { reduceWindow2d } from '../../kpu/ops/v5/reduce-window2d.js';
import { DT, elementCount } from '../../kpu/v5/tensor.js';
import { asR4 } from '../../kpu/v5/stack.js';
import { bytesOf, defineV5Function, window2d, windowOutputShape } from './def.js';

const macs = (out: readonly number[], filterH: number, filterW: number) => elementCount(out) * filterH * filterW;

export const reduceWindow2dFn = defineV5Function({
  name: 'REDUCE_WINDOW2D',
  run: (vm, ins) => {
    const a = ins.args;
    if (a.datatype !== DT.f32) vm.fault('UNSUPPORTED', `reduce_window2d on datatype ${a.datatype}`);
    const padW = vm.popPadding();
    const padH = vm.popPadding();
    const output = vm.popAddr();
    const init = asR4(vm.stack.pop());
    const input = vm.popAddr();
    const shape = vm.shapeReg(a.rshape_src);
    if (shape.length !== 4) vm.fault('BAD_LAYER', `reduce_window2d on a rank-${shape.length} tensor`);
    const win = window2d(a, a.filter_h, a.filter_w, padH, padW);
    const outShape = windowOutputShape(shape, shape[1], win);
    const ti = vm.tensor(input, DT.f32, shape, vm.shapeReg(a.rstride_src), false);
    const to = vm.tensor(output, DT.f32, outShape, vm.shapeReg(a.rstride_dest), true);
    vm.ready({ init, padH, padW });
    reduceWindow2d(a.reduce_op, ti, to, init, win, a.fused_clamp_low, a.fused_clamp_high);
    return {
      inputShapes: [shape],
      outputShapes: [outShape],
      bytesIn: bytesOf(ti),
      bytesOut: bytesOf(to),
      macs: macs(outShape, a.filter_h, a.filter_w),
    };
  },
  staticInfo: (ins, inputs, outputs) => ({
    inputShapes: inputs,
    macs: outputs[0] ? macs(outputs[0], ins.args.filter_h, ins.args.filter_w) : 0,
  }),
});
