/** What a sweep task needs to load and prepare the model as its command did. */
import { prepare, type PrepareOptions } from '../../kpu/interpreter.js';
import type { ParseOptions } from '../../kmodel-parser/parse.js';
import { loadKmodel } from '../../load.js';

export interface ModelData {
  readonly model: string;
  readonly parse: ParseOptions;
  readonly prepare: PrepareOptions;
}

export function loadPrepared(d: ModelData) {
  const loaded = loadKmodel(d.model, d.parse);
  return { loaded, prepared: prepare(loaded.model, d.prepare) };
}
