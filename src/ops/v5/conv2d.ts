/** CONV2D: float32 grouped convolution with bias and a fused clamp (docs/adding-an-op.md). */
import { conv2d } from '../../kpu/ops/v5/conv2d.js';
import { DT, elementCount } from '../../kpu/v5/tensor.js';
import { bytesOf, defineV5Function, window2d, windowOutputShape } from './def.js';

const macs = (out: readonly number[], w: readonly number[]) => elementCount(out) * w[1] * w[2] * w[3];

export const conv2dFn = defineV5Function({
  name: 'CONV2D',
  run: (vm, ins) => {
    const a = ins.args;
    if (a.datatype !== DT.f32) vm.fault('UNSUPPORTED', `conv2d on datatype ${a.datatype}`);
    const padW = vm.popPadding();
    const padH = vm.popPadding();
    const output = vm.popAddr();
    const bias = vm.popAddr();
    const weights = vm.popAddr();
    const input = vm.popAddr();
    const inShape = vm.shapeReg(a.rshape_src);
    const wShape = vm.shapeReg(a.rshape_kernel);
    if (inShape.length !== 4 || wShape.length !== 4) vm.fault('BAD_LAYER', 'conv2d needs 4-D input and weights');
    if (inShape[1] % a.groups !== 0 || wShape[0] % a.groups !== 0 || wShape[1] !== inShape[1] / a.groups) {
      vm.fault(
        'BAD_LAYER',
        `conv2d: input [${inShape.join(', ')}], weights [${wShape.join(', ')}] and ${a.groups} groups do not agree`,
      );
    }
    const win = window2d(a, wShape[2], wShape[3], padH, padW);
    const outShape = windowOutputShape(inShape, wShape[0], win);
    const ti = vm.tensor(input, DT.f32, inShape, vm.shapeReg(a.rstride_src), false);
    const tw = vm.tensor(weights, DT.f32, wShape, vm.shapeReg(a.rstride_kernel), false);
    const tb = vm.tensor(bias, DT.f32, [wShape[0]], vm.shapeReg(a.rstride_bias), false);
    const to = vm.tensor(output, DT.f32, outShape, vm.shapeReg(a.rstride_dest), true);
    vm.ready({ padH, padW });
    conv2d(ti, tw, tb, to, a.groups, win, a.fused_clamp_low, a.fused_clamp_high);
    return {
      inputShapes: [inShape, wShape],
      outputShapes: [outShape],
      bytesIn: bytesOf(ti) + bytesOf(tw) + bytesOf(tb),
      bytesOut: bytesOf(to),
      macs: macs(outShape, wShape),
    };
  },
  // The event lists the input and the weights (not the bias), as a run does.
  staticInfo: (_ins, inputs, outputs) =>
    outputs[0] && inputs[1]
      ? { inputShapes: inputs.slice(0, 2), macs: macs(outputs[0], inputs[1]) }
      : { inputShapes: inputs, macs: 0 },
});
