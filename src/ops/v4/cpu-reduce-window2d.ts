/**
 * cpu_reduce_window2d (opcode 0x1003, `CPUReduceWindow2D` in traces): nncase 0.2's `runtime_opcode` as kpusim defines
 * it (docs/adding-an-op.md).
 */
import { parseReduceWindow2D } from '../../kmodel-parser/v4/bodies.js';
import { CPU_TARGET_ONLY, defineV4Op, NO_WEIGHTS, reduceWindowIo, NO_MACS } from './def.js';

export const cpuReduceWindow2dOp = defineV4Op({
  code: 0x1003,
  name: 'cpu_reduce_window2d',
  traceName: 'CPUReduceWindow2D',
  unit: 'CPU',
  parse: parseReduceWindow2D,
  io: reduceWindowIo,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'nncase-reduce',
  prepare: CPU_TARGET_ONLY,
});
