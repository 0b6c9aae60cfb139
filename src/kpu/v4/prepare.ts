/**
 * kmodel v4 on the emulated chip: each node runs the executor of its op definition (src/ops/v4/), as the
 * beta4 runtime's interpreter runs them (kpu-numerics §3.5, §7.2; §10 C1, C2, C7, C8).
 */
import { KpuFault } from '../../errors.js';
import type { TensorDesc } from '../../kmodel-parser/model.js';
import type { KmodelV4, V4Node, V4OpName } from '../../kmodel-parser/v4/types.js';
import { isNotApplicable } from '../../ops/not-applicable.js';
import { Mem, type V4OpDef } from '../../ops/v4/def.js';
import { V4_OPS } from '../../ops/v4/index.js';
import { allocateState, type PrepareContext, type Step, type VersionPlan } from '../machine.js';
import { kpuRows, kpuUpload } from '../layout.js';
import { Regions } from '../region.js';
import { layerEvent } from '../layer-event.js';

export function prepareV4(model: KmodelV4, ctx: PrepareContext): VersionPlan {
  const state = allocateState(model.mainMemBytes);
  // An aligned private copy of the constant blob, so float constants get aligned views.
  const constants = model.constants.slice();
  const steps: Step[] = model.layers.map((node: V4Node) => {
    const where = { layer: node.index, type: node.type };
    const build = (V4_OPS[node.type] as V4OpDef<V4OpName>).prepare;
    if (isNotApplicable(build))
      throw new KpuFault(
        'UNSUPPORTED',
        `opcode ${node.type} (0x${node.code.toString(16)}) is known but not implemented by the emulator`,
        where,
        'prepare',
      );
    const e = build(node as never, new Mem(state, constants, where), ctx);
    const out = node.outputRanges[0];
    return {
      index: node.index,
      type: node.type,
      label: `${node.traceName}(0x${node.code.toString(16)})`,
      event: layerEvent(node, e.transfers ?? [], node.type === 'kpu_conv2d' ? node.batches : 1),
      output: out
        ? {
            memory: out.memory_type === 'kpu' ? 'ai' : 'main',
            address: out.start,
            bytes: out.size,
            desc: node.outputs[0],
          }
        : undefined,
      exec: e.exec,
    };
  });
  const placers = model.inputs.map((inp, i) => {
    const where = { layer: 0, type: `input ${i}` };
    const r = inp.range;
    if (r.memory_type === 'kpu') {
      const [n, c, h, w] = inp.shape;
      new Regions(state.ai, 'AI SRAM', where).u8(`input ${i}`, r.start, kpuRows(w, h, c) * 64 * n);
      return (x: Uint8Array) => kpuUpload(x, [n, c, h, w], state.ai, r.start);
    }
    if (r.memory_type !== 'main')
      throw new KpuFault('BAD_LAYER', `input ${i} lies in ${r.memory_type} memory`, where, 'prepare');
    const dst = new Regions(state.main, 'main', where).u8(`input ${i}`, r.start, inp.bytes);
    return (x: Uint8Array) => dst.set(x);
  });
  const outs = model.outputs.map((o, i) => {
    if (o.range.memory_type !== 'main')
      throw new KpuFault(
        'BAD_LAYER',
        `output ${i} lies in ${o.range.memory_type} memory, not main`,
        { layer: -1, type: `output ${i}` },
        'prepare',
      );
    return new Regions(state.main, 'main', { layer: -1, type: `output ${i}` }).u8(
      `output ${i}`,
      o.range.start,
      o.range.size,
    );
  });
  const inputs: TensorDesc[] = model.inputs.map((i) => ({
    shape: i.shape,
    dtype: i.dtype,
    bytes: i.shape.reduce((a, b) => a * b, 1) * (i.dtype === 'float32' ? 4 : 1),
    ...(i.quant ? { quant: i.quant } : {}),
  }));
  return {
    state,
    steps,
    inputs,
    outputs: model.outputs,
    placeInputs: (xs) => placers.forEach((p, i) => p(xs[i])),
    readOutputs: () => outs.map((o) => o.slice()),
  };
}
