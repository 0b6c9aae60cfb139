/**
 * quantized_binary (opcode 0x11, `QuantizedBinary` in traces): nncase 0.2's `runtime_opcode` as kpusim defines it
 * (docs/adding-an-op.md).
 */
import { parseQuantizedBinary } from '../../kmodel-parser/v4/bodies.js';
import { BINARY_OPS } from '../../kmodel-parser/v4/types.js';
import { quantizedBinaryKernel } from '../../kpu/ops/v4/quantized-binary.js';
import { NO_WEIGHTS, binaryIo, defineV4Op, NO_MACS } from './def.js';

export const quantizedBinaryOp = defineV4Op({
  code: 0x11,
  name: 'quantized_binary',
  traceName: 'QuantizedBinary',
  unit: 'CPU',
  parse: parseQuantizedBinary,
  io: binaryIo,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'nncase-quantized-binary',
  prepare: (n, m) => {
    const b = n.body;
    const a = m.u8('input a', b.input_a);
    const c = m.u8('input b', b.input_b);
    const out = m.u8('output', b.output);
    const p = {
      inputAOffset: b.input_a_offset,
      inputAMul: b.input_a_mul,
      inputAShift: b.input_a_shift,
      inputBOffset: b.input_b_offset,
      inputBMul: b.input_b_mul,
      inputBShift: b.input_b_shift,
      outputOffset: b.output_offset,
      outputMul: b.output_mul,
      outputShift: b.output_shift,
    };
    const op = BINARY_OPS.indexOf(b.binary_op);
    const run = quantizedBinaryKernel(b.in_a_shape, b.in_b_shape, b.out_shape, op, p);
    return { exec: () => run(a, c, out) };
  },
});
