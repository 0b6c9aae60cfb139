/**
 * CPU-side kernels of kmodel v3 (SDK) and v4 (nncase 0.2): pure functions over typed arrays.
 * The interpreter resolves memory ranges to views and passes them; kernels never allocate
 * model memory or keep state. v3 names end in `V3`.
 */
export * from './common.js';
export * from './v3/index.js';
export * from './v4/index.js';
