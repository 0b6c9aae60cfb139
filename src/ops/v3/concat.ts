/** CONCAT (type 16, float) and QUANTIZED_CONCAT (17): byte ranges copied back to back (docs/adding-an-op.md). */
import { parseConcat, parseQuantizedConcat } from '../../kmodel-parser/v3/bodies.js';
import type { TensorDesc } from '../../kmodel-parser/model.js';
import type { V3ConcatFields } from '../../kmodel-parser/v3/types.js';
import { concatV3 } from '../../kpu/ops/v3/concat.js';
import type { Regions } from '../../kpu/region.js';
import { NO_MACS, NO_WEIGHTS, defineV3Op, mainOut, type V3Exec } from './def.js';

function concatExec(l: V3ConcatFields & { outputs: readonly TensorDesc[] }, m: Regions): V3Exec {
  const ins = l.inputs_mem.map((r, i) => m.u8(`input ${i}`, r.start, r.size));
  const total = ins.reduce((a, b) => a + b.length, 0);
  const dst = m.u8('output', l.main_mem_out_address, total);
  return { exec: () => concatV3(ins, dst), output: mainOut(l.main_mem_out_address, total, l.outputs[0]) };
}

export const concatOp = defineV3Op({
  code: 16,
  name: 'CONCAT',
  unit: 'CPU',
  parse: parseConcat,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'sdk-copy',
  prepare: concatExec,
});

export const quantizedConcatOp = defineV3Op({
  code: 17,
  name: 'QUANTIZED_CONCAT',
  unit: 'CPU',
  parse: parseQuantizedConcat,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'sdk-copy',
  prepare: concatExec,
});
