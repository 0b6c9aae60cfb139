/**
 * The KPU conv engine (kpu-numerics §6, corrected by §10): conv → batch-norm → activation → pool,
 * bit-exact with nncase 0.2's simulator by default. `prepareKpuConv` validates and precomputes
 * once; `runKpuConv` is the fast engine and `runKpuConvReference` the plain specification it is
 * tested against.
 */
export {
  GOLDEN_NUMERICS,
  NNCASE01_NUMERICS,
  prepareKpuConv,
  type KpuKernel,
  type KpuNumerics,
  type PreparedKpuConv,
} from './prepare.js';
export { runKpuConv, runKpuConvJs, defaultKpuKernel } from './fast.js';
export { runKpuConvWasm, simdWindow } from './wasm.js';
export { runKpuConvReference, referenceActivation } from './reference.js';
