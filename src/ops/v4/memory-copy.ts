/**
 * memory_copy (opcode 0x9, `MemoryCopy` in traces): nncase 0.2's `runtime_opcode` as kpusim defines it
 * (docs/adding-an-op.md).
 */
import { parseMemoryCopy } from '../../kmodel-parser/v4/bodies.js';
import { memoryCopy } from '../../kpu/ops/v4/memory-copy.js';
import { NO_WEIGHTS, defineV4Op, elementwise, NO_MACS } from './def.js';

export const memoryCopyOp = defineV4Op({
  code: 0x09,
  name: 'memory_copy',
  traceName: 'MemoryCopy',
  unit: 'CPU',
  parse: parseMemoryCopy,
  io: (b, l) => elementwise(b, l),
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'nncase-copy',
  prepare: (n, m) => {
    const src = m.u8('input', n.body.input);
    const dst = m.u8('output', n.body.output);
    return { exec: () => memoryCopy(src, dst) };
  },
});
