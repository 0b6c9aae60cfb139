/**
 * The TensorFlow.js float reference and the comparison metrics (`kpusim compare`).
 */
import { KpuFault } from '../errors.js';
import type { Kmodel } from '../kmodel-parser/model.js';
import type { ReferenceModel } from './graph.js';
import { buildReferenceV3 } from './v3.js';
import { buildReferenceV4 } from './v4.js';

export { initReferenceBackend, type BackendInfo, type ReferenceBackendName } from './backend.js';
export { compareOnce, FLOAT_MODEL_STATEMENT, type CompareOptions, type CompareRun, type LayerComparison, type OutputComparison } from './compare.js';
export type { RefLayer, ReferenceModel } from './graph.js';
export { centredCosine, cosine, maxAbsDiff, snrDb } from './metrics.js';
export { prepareKpuConvFloat, type KpuConvFloat } from './kpu-conv.js';

/**
 * Builds the float reference of a v3 or v4 model (call `initReferenceBackend` first). v5 models
 * are not covered yet.
 */
export function buildReference(model: Kmodel): ReferenceModel {
  if (model.version === 3) return buildReferenceV3(model);
  if (model.version === 4) return buildReferenceV4(model);
  throw new KpuFault('UNSUPPORTED', 'the float reference covers kmodel v3 and v4; v5 (nncase 1.x) models are not supported yet', {}, 'prepare');
}
