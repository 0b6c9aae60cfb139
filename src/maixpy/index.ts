/** Running MaixPy / CanMV scripts on the emulated K210 (`kpusim maixpy`). */
export {
  runMaixpy,
  parseTraceback,
  MAIXPY_MODULES,
  type MaixpyRunOptions,
  type MaixpyRunResult,
  type MaixpyEnd,
} from './host.js';
export { Camera, expandCameraFiles, type CameraOrientation, type SnapshotFrame } from './camera.js';
export {
  Storage,
  parseFlashSpec,
  parseAddress,
  readManifest,
  bundledModelsDir,
  type FlashSegment,
  type BundledModel,
} from './storage.js';
export { BoardClock, CPU_STEP_CYCLES } from './timing.js';
