/**
 * kmodel v3 on the emulated chip: each layer runs the executor of its type's definition (src/ops/v3/), as the SDK's
 * `ai_step` runs them (kpu-numerics §2.8, §7.1; §10 C6 for conv outputs to main memory).
 */
import { KpuFault } from '../../errors.js';
import type { KmodelV3, V3LayerType } from '../../kmodel-parser/v3/types.js';
import { isNotApplicable } from '../../ops/not-applicable.js';
import type { V3Prepare } from '../../ops/v3/def.js';
import { V3_OPS } from '../../ops/v3/index.js';
import { allocateState, type PrepareContext, type Step, type VersionPlan } from '../machine.js';
import { kpuRows, kpuUpload } from '../layout.js';
import { layerEvent } from '../layer-event.js';
import { Regions } from '../region.js';

export function prepareV3(model: KmodelV3, ctx: PrepareContext): VersionPlan {
  const state = allocateState(model.mainMemBytes);
  const first = model.layers[0];
  if (!first || (first.type !== 'K210_CONV' && first.type !== 'FULLY_CONNECTED')) {
    throw new KpuFault(
      'BAD_LAYER',
      `the SDK runs a v3 model only when its first layer is K210_CONV or FULLY_CONNECTED, not ${first?.type ?? 'nothing'}`,
      { layer: 0, type: first?.type },
      'prepare',
    );
  }
  const input = model.inputs[0];
  const steps: Step[] = model.layers.map((l) => {
    const where = { layer: l.index, type: l.type };
    const build = V3_OPS[l.type].prepare;
    if (isNotApplicable(build)) {
      throw new KpuFault(
        'UNSUPPORTED',
        `layer type ${l.type} (${l.code}) is not implemented by the K210 SDK's runtime, so the board would stop here`,
        where,
        'prepare',
      );
    }
    const e = (build as V3Prepare<V3LayerType>)(
      l,
      new Regions(state.main, 'main', where),
      new Regions(state.ai, 'AI SRAM', where),
      state,
      ctx,
    );
    const transfers = [...(e.transfers ?? [])];
    if (l.index === 0 && input.memory === 'kpu') {
      const w = input.shape[3];
      transfers.unshift({
        kind: w % 64 === 0 ? 'upload-dma' : 'upload-cpu',
        bytes: input.bytes,
        aiSram: { address: input.address, bytes: kpuRows(w, input.shape[2], input.shape[1]) * 64 },
      });
    }
    return {
      index: l.index,
      type: l.type,
      label: `type=${l.code}`,
      event: layerEvent(l, transfers),
      output: e.output,
      exec: e.exec,
    };
  });
  // Input placement (kpu-numerics §2.8): a conv first layer gets the image uploaded in the KPU layout
  // at image_src_addr; a fully-connected first layer gets its floats at main_mem_in_address.
  let place: (x: Uint8Array) => void;
  if (input.memory === 'kpu') {
    const [n, c, h, w] = input.shape;
    new Regions(state.ai, 'AI SRAM', { layer: 0, type: first.type }).u8(
      'model input',
      input.address,
      kpuRows(w, h, c) * 64 * n,
    );
    place = (x) => kpuUpload(x, [n, c, h, w], state.ai, input.address);
  } else {
    const dst = new Regions(state.main, 'main', { layer: 0, type: first.type }).u8(
      'model input',
      input.address,
      input.bytes,
    );
    place = (x) => dst.set(x);
  }
  const outs = model.outputs.map((o, i) =>
    new Regions(state.main, 'main', { layer: -1, type: `output ${i}` }).u8(`output ${i}`, o.address, o.size),
  );
  return {
    state,
    steps,
    inputs: model.inputs,
    outputs: model.outputs,
    placeInputs: (xs) => place(xs[0]),
    readOutputs: () => outs.map((o) => o.slice()),
  };
}
