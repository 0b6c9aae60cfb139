/**
 * quantized_matmul (opcode 0x10, `QuantizedMatMul` in traces): nncase 0.2's `runtime_opcode` as kpusim defines it
 * (docs/adding-an-op.md).
 */
import { parseQuantizedMatMul } from '../../kmodel-parser/v4/bodies.js';
import { quantizedMatmul } from '../../kpu/ops/v4/quantized-matmul.js';
import { CPU_WEIGHTS, defineV4Op, matmulIo, matmulMacs } from './def.js';

export const quantizedMatmulOp = defineV4Op({
  code: 0x10,
  name: 'quantized_matmul',
  traceName: 'QuantizedMatMul',
  unit: 'CPU',
  parse: parseQuantizedMatMul,
  io: matmulIo,
  macs: matmulMacs,
  weightBytes: CPU_WEIGHTS,
  cost: 'nncase-quantized-mac',
  prepare: (n, m) => {
    const b = n.body;
    const a = m.u8('input a', b.input_a);
    const c = m.u8('input b', b.input_b);
    const out = m.u8('output', b.output);
    const p = {
      inputAOffset: b.input_a_offset,
      inputBOffset: b.input_b_offset,
      outputMul: b.output_mul,
      outputShift: b.output_shift,
      outputOffset: b.output_offset,
    };
    return { exec: () => quantizedMatmul(a, c, out, b.bias, b.a_rows, b.a_cols, b.b_cols, p as never) };
  },
});
