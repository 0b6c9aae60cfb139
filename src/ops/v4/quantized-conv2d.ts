/**
 * quantized_conv2d (opcode 0xf, `QuantizedConv2D` in traces): nncase 0.2's `runtime_opcode` as kpusim defines it
 * (docs/adding-an-op.md).
 */
import { parseQuantizedConv2D } from '../../kmodel-parser/v4/bodies.js';
import { quantizedConv2d } from '../../kpu/ops/v4/quantized-conv2d.js';
import { CPU_WEIGHTS, convIo, defineV4Op, win, windowMacs } from './def.js';

export const quantizedConv2dOp = defineV4Op({
  code: 0x0f,
  name: 'quantized_conv2d',
  traceName: 'QuantizedConv2D',
  unit: 'CPU',
  parse: parseQuantizedConv2D,
  io: (b) => convIo(b, b.out_channels),
  macs: windowMacs,
  weightBytes: CPU_WEIGHTS,
  cost: 'nncase-quantized-mac',
  prepare: (n, m) => {
    const b = n.body;
    const src = m.u8('input', b.input);
    const dst = m.u8('output', b.output);
    const p = {
      inputOffset: b.input_offset,
      filterOffset: b.filter_offset,
      outputMul: b.output_mul,
      outputShift: b.output_shift,
      outputOffset: b.output_offset,
    };
    return {
      exec: () => quantizedConv2d(src, dst, b.weights, b.bias, b.in_shape, b.groups, b.out_channels, win(b), p),
    };
  },
});
