/**
 * Convenience entry points over the interpreter for tools that only need a model's events or
 * outputs (profile, check, benchmarks): load, prepare once, run, profile.
 */
import type { Kmodel } from '../kmodel-parser/model.js';
import { loadKmodel, readModelBytes } from '../load.js';
import type { LayerEvent } from './events.js';
import { prepare, type PrepareOptions } from './interpreter.js';
import { mainMemoryInputsOf, profile, type Profile, type TimingParams } from './timing/index.js';

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

/** Loads a model file (`path` or `pkg.kfpkg#inner`), runs it once on zeros and profiles its board time. */
export async function profileModel(
  spec: string,
  clocks: { kpuMhz: number; cpuMhz: number },
  params?: TimingParams,
): Promise<Profile> {
  const model = await loadModel(spec);
  const { events } = runModel(model);
  const size = readModelBytes(spec).bytes.length;
  return profile(events, { ...clocks, main: mainMemoryInputsOf(model, size), ...(params ? { params } : {}) });
}
