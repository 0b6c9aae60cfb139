/** QUANTIZED_ADD (type 2): uint8 sum through the SDK's offset/multiplier/shift arithmetic (docs/adding-an-op.md). */
import { parseQuantizedAdd } from '../../kmodel-parser/v3/bodies.js';
import { quantizedAddV3, quantizedAddV3Span } from '../../kpu/ops/v3/quantized-add.js';
import { NO_MACS, NO_WEIGHTS, defineV3Op, mainOut } from './def.js';

export const quantizedAddOp = defineV3Op({
  code: 2,
  name: 'QUANTIZED_ADD',
  unit: 'CPU',
  parse: parseQuantizedAdd,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'sdk-quantized-add',
  prepare: (l, m) => {
    const span = quantizedAddV3Span(l.count);
    const a = m.u8('input a', l.main_mem_in_a_address, span);
    const b = m.u8('input b', l.main_mem_in_b_address, span);
    const out = m.u8('output', l.main_mem_out_address, span);
    const p = {
      inAOffset: l.in_a_offset,
      inAMul: l.in_a_mul,
      inAShift: l.in_a_shift,
      inBOffset: l.in_b_offset,
      inBMul: l.in_b_mul,
      inBShift: l.in_b_shift,
      outOffset: l.out_offset,
      outMul: l.out_mul,
      outShift: l.out_shift,
    };
    return {
      exec: () => quantizedAddV3(a, b, out, l.count, p),
      output: mainOut(l.main_mem_out_address, span, l.outputs[0]),
    };
  },
});
