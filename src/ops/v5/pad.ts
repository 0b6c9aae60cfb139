/**
 * PAD: pads (or, with negative paddings, crops) every axis by a paddings register, filling with the value on top of
 * the stack (`constant`) or mirroring the input (`reflect`, `symmetric`, `edge`) (docs/adding-an-op.md).
 */
import { pad, padOutputShape, V5_PAD_MODES } from '../../kpu/ops/v5/pad.js';
import { roundToBfloat16 } from '../../kpu/v5/number-formats.js';
import { DT, elemSize, getter, view } from '../../kpu/v5/tensor.js';
import { asI, asR4, type StackEntry } from '../../kpu/v5/stack.js';
import { bytesOf, defineV5Function } from './def.js';

/** The pad value's bytes: the stack entry as nncase's `pop_scalar` reads it for the datatype. */
function scalarBytes(e: StackEntry, datatype: number): Uint8Array {
  const out = new Uint8Array(4);
  const dv = new DataView(out.buffer);
  if (datatype === DT.f32) dv.setFloat32(0, asR4(e), true);
  else if (datatype === DT.bf16) dv.setUint16(0, roundToBfloat16(asR4(e)), true);
  else dv.setUint32(0, Number(BigInt.asUintN(32, asI(e))), true);
  return out;
}

const SCALARS: readonly number[] = [DT.i8, DT.i16, DT.i32, DT.u8, DT.u16, DT.u32, DT.bf16, DT.f32];

export const padFn = defineV5Function({
  name: 'PAD',
  run: (vm, ins) => {
    const a = ins.args;
    const value = scalarBytes(vm.stack.pop(), a.datatype);
    const output = vm.popAddr();
    const input = vm.popAddr();
    const shape = vm.shapeReg(a.rshape_src);
    const paddings = vm.paddingsReg(a.rpaddings);
    if (paddings.length !== shape.length)
      vm.fault('BAD_LAYER', `pad: ${paddings.length} paddings for a rank-${shape.length} tensor`);
    const outShape = padOutputShape(shape, paddings);
    if (outShape.some((d) => d < 0)) vm.fault('BAD_LAYER', `pad: the paddings crop [${shape.join(', ')}] below zero`);
    const ti = vm.tensor(input, a.datatype, shape, vm.shapeReg(a.rstride_src), false);
    const to = vm.tensor(output, a.datatype, outShape, vm.shapeReg(a.rstride_dest), true);
    const bytes = value.subarray(0, elemSize(a.datatype));
    vm.ready({
      before: paddings.map((p) => p.before),
      after: paddings.map((p) => p.after),
      pad_mode: a.pad_mode,
      // The pad value as the datatype reads it (for the float reference).
      value: getter(a.datatype)(view({ bytes }), 0),
    });
    pad(ti, to, paddings, a.pad_mode, bytes);
    return { inputShapes: [shape], outputShapes: [outShape], bytesIn: bytesOf(ti), bytesOut: bytesOf(to), macs: 0 };
  },
  check: (ins) =>
    !SCALARS.includes(ins.args.datatype)
      ? `PAD on datatype ${ins.args.datatype}: nncase pops no scalar of it and pads only 1-, 2- and 4-byte elements`
      : ins.args.pad_mode >= V5_PAD_MODES.length
        ? `pad_mode ${ins.args.pad_mode} is not a pad_mode_t`
        : undefined,
});
