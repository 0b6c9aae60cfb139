/** COPY: a strided copy, element bits unchanged (docs/adding-an-op.md). */
import { copy } from '../../kpu/ops/v5/copy.js';
import { defineV5Function, unaryLike } from './def.js';

export const copyFn = defineV5Function({
  name: 'COPY',
  run: (vm, ins) => unaryLike(vm, ins, ins.args.datatype, ins.args.datatype, copy, 'rshape'),
});
