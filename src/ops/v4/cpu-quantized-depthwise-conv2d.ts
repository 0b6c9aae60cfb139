/**
 * cpu_quantized_depthwise_conv2d (opcode 0x1005, `CPUQuantizedDepthwiseConv2D` in traces): nncase 0.2's
 * `runtime_opcode` as kpusim defines it (docs/adding-an-op.md).
 */
import { parseCpuQuantizedDepthwiseConv2D } from '../../kmodel-parser/v4/bodies.js';
import { convIo, CPU_TARGET_ONLY, CPU_WEIGHTS, defineV4Op, windowMacs } from './def.js';

export const cpuQuantizedDepthwiseConv2dOp = defineV4Op({
  code: 0x1005,
  name: 'cpu_quantized_depthwise_conv2d',
  traceName: 'CPUQuantizedDepthwiseConv2D',
  unit: 'CPU',
  parse: parseCpuQuantizedDepthwiseConv2D,
  io: (b) => convIo(b, b.out_channels),
  macs: windowMacs,
  weightBytes: CPU_WEIGHTS,
  cost: 'nncase-quantized-mac',
  prepare: CPU_TARGET_ONLY,
});
