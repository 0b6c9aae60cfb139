/**
 * The TensorFlow.js float reference and the comparison metrics (`kpusim compare`).
 */
import type { Kmodel } from '../kmodel-parser/model.js';
import type { ReferenceModel } from './graph.js';
import { buildReferenceV3 } from './v3.js';
import { buildReferenceV4 } from './v4.js';
import { buildReferenceV5 } from './v5.js';

export { initReferenceBackend, type ReferenceBackendName } from './backend.js';
export { compareOnce, FLOAT_MODEL_STATEMENT, type CompareRun } from './compare.js';
export type { ReferenceModel } from './graph.js';

/**
 * Builds the float reference of a model (call `initReferenceBackend` first). v3/v4: a static
 * graph over the memories; v5: per-layer counterparts the comparison applies while it follows
 * the run (the stackvm places tensors at run time).
 */
export function buildReference(model: Kmodel): ReferenceModel {
  if (model.version === 3) return buildReferenceV3(model);
  if (model.version === 4) return buildReferenceV4(model);
  return buildReferenceV5(model);
}
