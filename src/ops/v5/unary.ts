/**
 * UNARY: a float32 function element by element (nncase 1.0's `unary_op_t`: abs … tanh; bitwise_not and
 * logical_not are refused by nncase's float kernel, so by prepare too) (docs/adding-an-op.md).
 */
import { unary, unaryUnsupported } from '../../kpu/ops/v5/unary.js';
import { DT } from '../../kpu/v5/tensor.js';
import { defineV5Function, unaryLike } from './def.js';

export const unaryFn = defineV5Function({
  name: 'UNARY',
  run: (vm, ins) =>
    unaryLike(vm, ins, DT.f32, DT.f32, (i, o) => unary(ins.args.unary_op, i, o), 'rshape_src', {
      unary_op: ins.args.unary_op,
    }),
  check: (ins) =>
    ins.args.datatype !== DT.f32
      ? `UNARY on datatype ${ins.args.datatype}: ` +
        "nncase's kernel reads every tensor as float32, kpusim runs float32 only"
      : unaryUnsupported(ins.args.unary_op),
});
