import { KpuFault } from '../../errors.js';
import type { KmodelV5 } from '../../kmodel-parser/model.js';
import type { LayerEvent } from '../events.js';
import { AI_SRAM_BYTES } from '../../chip.js';
import { prepareKpuConv } from '../conv/index.js';
import { checkInputs, type PrepareContext, type PrepareOptions, type PreparedModel } from '../machine.js';
import type { V5OpHook, V5OpStep } from './hooks.js';
import { k210OpEvent, runV5 } from './run.js';
import { staticTensorOpInfo, tensorOpUnsupported } from '../../ops/v5/index.js';

/**
 * The step a v5 run hands to `onLayer`: index and type as `kpusim info` prints them, and the
 * op's tensors as views of the machine's buffers (`v5`, see kpu/v5/hooks.ts).
 */
export interface V5LayerStep {
  readonly index: number;
  readonly type: string;
  readonly v5: V5OpStep;
}

/**
 * kmodel v5 on the interpreter's interface. Preparing finds every tensor function kpusim cannot run
 * and builds the events from the decoded model; the stackvm module decides at run time which ops run
 * (control flow), so after a run the events are that run's (for the models nncase writes, the same
 * ones: test/v5-run.test.ts compares them). `onLayer` is called
 * after every K210 op and stackvm TENSOR instruction with the entry module's data pool as
 * `main` and the K210 module's KPU RAM as `ai` (2 MiB of zeros without a K210 module).
 */
export function prepareV5Run(model: KmodelV5, ctx: PrepareContext, _opts: PrepareOptions): PreparedModel {
  checkTensorOps(model);
  let events: LayerEvent[] = staticEvents(model);
  let noKpu: Uint8Array | undefined;
  return {
    model,
    numerics: ctx.cpu,
    kpuNumerics: ctx.kpu,
    inputs: model.inputs,
    outputs: model.outputs,
    get events() {
      return events;
    },
    run(inputs, opts = {}) {
      checkInputs(model.inputs, inputs);
      const collected: LayerEvent[] = [];
      const { onLayer } = opts;
      const onOp: V5OpHook | undefined = onLayer
        ? (phase, step, mem) => {
            if (phase !== 'after') return;
            const ai = mem.kpu ?? (noKpu ??= new Uint8Array(AI_SRAM_BYTES));
            const main = mem.dataPools[model.header.entryModule] ?? new Uint8Array(0);
            const s: V5LayerStep = { index: step.index, type: step.type, v5: step };
            onLayer(s, { main, ai });
          }
        : undefined;
      const r = runV5(model, inputs[0] ?? new Uint8Array(0), {
        trace: opts.trace,
        onEvent: (e) => collected.push(e),
        numerics: ctx.kpu,
        moreInputs: inputs.slice(1),
        ...(onOp ? { onOp } : {}),
      });
      events = collected;
      return { outputs: r.outputs, events: collected };
    },
  };
}

/**
 * Every stackvm TENSOR instruction of every function, reached or not, must be one kpusim runs: one it
 * cannot is a KpuFault here, naming the function and its pc, rather than part-way through a run.
 */
function checkTensorOps(model: KmodelV5): void {
  for (const l of model.layers) {
    const ins = l.instruction;
    if (!ins?.tensorName) continue;
    const why = tensorOpUnsupported(ins);
    if (why)
      throw new KpuFault(
        'UNSUPPORTED',
        `${why} (pc ${ins.pc} of module ${l.module} function ${l.function}, byte ${ins.fileOffset})`,
        { layer: l.index, type: l.type },
        'prepare',
      );
  }
}

/**
 * The events of a run, from the decoded model: its layers in the order a run meets them (kmodel-parser/v5),
 * each K210 op's event as a run emits it, each stackvm tensor function's from the shapes the decoder could
 * track (a tensor whose shape depends on run-time values counts as empty). A run replaces them with its own.
 */
function staticEvents(model: KmodelV5): LayerEvent[] {
  return model.layers.map((l, index) => {
    const op = l.k210Op;
    if (op) {
      const prepared =
        op.name === 'kpu_conv2d' ? prepareKpuConv(op.kpu, op.batches, { layer: index, type: l.type }) : undefined;
      return { index, type: l.type, ...k210OpEvent(op, prepared) };
    }
    const ins = l.inputs ?? [];
    const outs = l.outputs ?? [];
    const elements = (shape: readonly number[]) => shape.reduce((a, d) => a * d, 1);
    const outputShapes = outs.map((t) => t.shape);
    const info = l.instruction
      ? staticTensorOpInfo(
          l.instruction,
          ins.map((t) => t.shape),
          outputShapes,
        )
      : { inputShapes: ins.map((t) => t.shape), macs: 0 };
    return {
      index,
      type: l.type,
      unit: l.unit,
      inputShapes: info.inputShapes,
      outputShapes,
      bytesIn: ins.reduce((a, t) => a + t.bytes, 0),
      bytesOut: outs.reduce((a, t) => a + t.bytes, 0),
      macs: info.macs,
      elements: outs.reduce((a, t) => a + elements(t.shape), 0),
      transfers: [],
    };
  });
}
