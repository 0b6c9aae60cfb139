/**
 * Convenience entry points over the interpreter for tools that only need a model's events or
 * outputs (profile, check, benchmarks): load, prepare once, run.
 */
import type { Kmodel } from '../kmodel-parser/model.js';
import { loadKmodel } from '../load.js';
import type { LayerEvent } from './events.js';
import { prepare, type PrepareOptions } from './interpreter.js';

export async function loadModel(path: string): Promise<Kmodel> {
  return loadKmodel(path).model;
}

/** Runs a model once; without inputs, on zero-filled inputs (timing does not depend on data). */
export function runModel(
  model: Kmodel,
  inputs?: readonly Uint8Array[] | Uint8Array,
  opts: PrepareOptions = {},
): { outputs: Uint8Array[]; events: readonly LayerEvent[] } {
  const p = prepare(model, opts);
  const xs = inputs instanceof Uint8Array ? [inputs] : (inputs ?? p.inputs.map((d) => new Uint8Array(d.bytes)));
  return p.run(xs);
}
