/** kpusim's library API. The CLI is a thin layer over these. */
export * from './errors.js';
export { parseKmodel } from './kmodel-parser/parse.js';
export { detectFormat } from './kmodel-parser/detect.js';
export { readKfpkg } from './kmodel-parser/kfpkg.js';
export type {
  Kmodel,
  KmodelV3,
  KmodelV4,
  KmodelV5,
  TensorDesc,
  DType,
  KpuConvParams,
  KpuConvGeometry,
} from './kmodel-parser/model.js';
export { kpuConvGeometry } from './kmodel-parser/model.js';
export * from './kmodel-parser/kpu-layer-argument.js';
export { summarizeModel, type ModelSummary, type LayerSummary } from './kmodel-parser/summary.js';
export { loadKmodel, type LoadedModel } from './load.js';
export {
  prepare,
  type PreparedModel,
  type PrepareOptions,
  type RunOptions,
  type RunResult,
  type NumericsMode,
} from './kpu/interpreter.js';
export type { LayerEvent, TransferEvent } from './kpu/events.js';
export { fnv1a64 } from './kpu/hash.js';
export { readInputFile, imageToInput, type InputOptions } from './input.js';
export { recordGolden, checkCase } from './golden.js';
export * as timing from './kpu/timing/index.js';
export * as pipeline from './pipeline/index.js';
export { FaceSession, type FaceSessionOptions, type FaceReport, type ImageAnalysis } from './face/session.js';
export { loadFaceModel, faceModel, type ModelRole } from './face/models.js';
export * as hil from './hil/index.js';
