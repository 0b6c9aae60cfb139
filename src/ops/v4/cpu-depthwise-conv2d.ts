/**
 * cpu_depthwise_conv2d (opcode 0x1002, `CPUDepthwiseConv2D` in traces): nncase 0.2's `runtime_opcode` as kpusim defines
 * it (docs/adding-an-op.md).
 */
import { parseCpuDepthwiseConv2D } from '../../kmodel-parser/v4/bodies.js';
import { convIo, CPU_TARGET_ONLY, CPU_WEIGHTS, defineV4Op, windowMacs } from './def.js';

export const cpuDepthwiseConv2dOp = defineV4Op({
  code: 0x1002,
  name: 'cpu_depthwise_conv2d',
  traceName: 'CPUDepthwiseConv2D',
  unit: 'CPU',
  parse: parseCpuDepthwiseConv2D,
  io: (b) => convIo(b, b.out_channels),
  macs: windowMacs,
  weightBytes: CPU_WEIGHTS,
  cost: 'nncase-float-mac',
  prepare: CPU_TARGET_ONLY,
});
