/**
 * cpu_quantized_conv2d (opcode 0x1004, `CPUQuantizedConv2D` in traces): nncase 0.2's `runtime_opcode` as kpusim defines
 * it (docs/adding-an-op.md).
 */
import { parseCpuQuantizedConv2D } from '../../kmodel-parser/v4/bodies.js';
import { convIo, CPU_TARGET_ONLY, CPU_WEIGHTS, defineV4Op, windowMacs } from './def.js';

export const cpuQuantizedConv2dOp = defineV4Op({
  code: 0x1004,
  name: 'cpu_quantized_conv2d',
  traceName: 'CPUQuantizedConv2D',
  unit: 'CPU',
  parse: parseCpuQuantizedConv2D,
  io: (b) => convIo(b, b.out_channels),
  macs: windowMacs,
  weightBytes: CPU_WEIGHTS,
  cost: 'nncase-quantized-mac',
  prepare: CPU_TARGET_ONLY,
});
