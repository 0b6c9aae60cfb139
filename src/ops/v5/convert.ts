/** CONVERT: every element to another datatype, as a C cast on the x86 build (docs/adding-an-op.md). */
import { convert } from '../../kpu/ops/v5/convert.js';
import { defineV5Function, unaryLike } from './def.js';

export const convertFn = defineV5Function({
  name: 'CONVERT',
  run: (vm, ins) => unaryLike(vm, ins, ins.args.in_datatype, ins.args.dst_datatype, convert),
});
