import type { KmodelV5 } from '../../kmodel-parser/model.js';
import type { LayerEvent } from '../events.js';
import { AI_SRAM_BYTES } from '../../chip.js';
import { checkInputs, type PrepareContext, type PrepareOptions, type PreparedModel } from '../machine.js';
import type { V5OpHook, V5OpStep } from './hooks.js';
import { runV5 } from './run.js';

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
 * kmodel v5 on the interpreter's interface. The stackvm module decides at run time which ops
 * run (control flow), so a v5 model's events are those of its latest run. `onLayer` is called
 * after every K210 op and stackvm TENSOR instruction with the entry module's data pool as
 * `main` and the K210 module's KPU RAM as `ai` (2 MiB of zeros without a K210 module).
 */
export function prepareV5Run(model: KmodelV5, ctx: PrepareContext, _opts: PrepareOptions): PreparedModel {
  let events: LayerEvent[] = [];
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
