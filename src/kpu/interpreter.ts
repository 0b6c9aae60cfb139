/**
 * The interpreter: `prepare` validates a parsed model once (every address and size it states,
 * every KPU layer's maps) and builds one step per layer; `run` walks the steps blind on the
 * prepared machine state, emitting one event per layer. Timing is not here: the timing model is
 * a separate pass over the events. Synchronous by design (the MaixPy runner calls it from
 * MicroPython). The types and shared checks live in kpu/machine.ts.
 */
import type { Kmodel } from '../kmodel-parser/model.js';
import { GOLDEN_NUMERICS, NNCASE01_NUMERICS, type KpuNumerics } from './conv/index.js';
import { fnv1a64 } from './hash.js';
import {
  checkInputs,
  type NumericsMode,
  type PrepareContext,
  type PreparedModel,
  type PrepareOptions,
  type VersionPlan,
} from './machine.js';
import { prepareV3 } from './v3/prepare.js';
import { prepareV4 } from './v4/prepare.js';
import { prepareV5Run } from './v5/prepare.js';

export type { LayerHook, NumericsMode, PreparedModel, PrepareOptions, RunOptions, RunResult } from './machine.js';

export function prepare(model: Kmodel, opts: PrepareOptions = {}): PreparedModel {
  const numerics = opts.numerics ?? 'golden';
  const rules = opts.kpuNumerics === 'nncase01' ? NNCASE01_NUMERICS : GOLDEN_NUMERICS;
  const kpuNumerics: KpuNumerics = opts.kpuKernel ? { ...rules, kernel: opts.kpuKernel } : rules;
  const ctx: PrepareContext = { cpu: numerics, kpu: kpuNumerics };
  if (model.version === 5) return prepareV5Run(model, ctx, opts);
  const plan = model.version === 3 ? prepareV3(model, ctx) : prepareV4(model, ctx);
  return stepper(model, plan, numerics, kpuNumerics);
}

function stepper(model: Kmodel, plan: VersionPlan, numerics: NumericsMode, kpuNumerics: KpuNumerics): PreparedModel {
  const events = plan.steps.map((s) => s.event);
  return {
    model,
    numerics,
    kpuNumerics,
    inputs: plan.inputs,
    outputs: plan.outputs,
    events,
    run(inputs, opts = {}) {
      checkInputs(plan.inputs, inputs);
      plan.state.main.fill(0);
      plan.state.ai.fill(0);
      plan.placeInputs(inputs);
      const { trace, onLayer } = opts;
      for (const s of plan.steps) {
        s.exec();
        if (trace) trace(`${s.index} ${s.label} main=${fnv1a64(plan.state.main)} kpu=${fnv1a64(plan.state.ai)}`);
        if (onLayer) onLayer(s, plan.state);
      }
      return { outputs: plan.readOutputs(), events };
    },
  };
}
