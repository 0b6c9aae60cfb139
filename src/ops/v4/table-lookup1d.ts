/**
 * table_lookup1d (opcode 0x12, `TableLookup1D` in traces): nncase 0.2's `runtime_opcode` as kpusim defines it
 * (docs/adding-an-op.md).
 */
import { parseTableLookup1D } from '../../kmodel-parser/v4/bodies.js';
import { tableLookup1d } from '../../kpu/ops/v4/table-lookup1d.js';
import { NO_WEIGHTS, defineV4Op, inferred, NO_MACS } from './def.js';

export const tableLookup1dOp = defineV4Op({
  code: 0x12,
  name: 'table_lookup1d',
  traceName: 'TableLookup1D',
  unit: 'CPU',
  parse: parseTableLookup1D,
  io: (b, l) => {
    const s = l(b.input);
    return { inputs: [inferred(b.input, s), inferred(b.table, [b.table.size])], outputs: [inferred(b.output, s)] };
  },
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'nncase-table',
  prepare: (n, m) => {
    const b = n.body;
    const src = m.u8('input', b.input);
    const table = m.u8('table', b.table);
    const dst = m.u8('output', b.output);
    return { exec: () => tableLookup1d(src, dst, table) };
  },
});
