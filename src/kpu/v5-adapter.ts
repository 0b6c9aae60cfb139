import type { KmodelV5 } from '../kmodel-parser/model.js';
import type { LayerEvent } from './events.js';
import { checkInputs, type PrepareContext, type PrepareOptions, type PreparedModel } from './interpreter.js';
import { runV5 } from './v5/index.js';

/**
 * kmodel v5 on the interpreter's interface. The stackvm module decides at run time which ops
 * run (control flow), so a v5 model's events are those of its latest run.
 */
export function prepareV5Run(model: KmodelV5, ctx: PrepareContext, _opts: PrepareOptions): PreparedModel {
  let events: LayerEvent[] = [];
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
      const r = runV5(model, inputs[0] ?? new Uint8Array(0), {
        trace: opts.trace,
        onEvent: (e) => collected.push(e),
        numerics: ctx.kpu,
        moreInputs: inputs.slice(1),
      });
      events = collected;
      return { outputs: r.outputs, events: collected };
    },
  };
}
