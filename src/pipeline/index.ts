/** The face pipeline's pure parts: image I/O and conversions, MaixPy/CanMV numerics, presets, store. */
export * from './types.js';
export * from './f32.js';
export * from './image-io.js';
export * from './convert.js';
export * from './rgb565.js';
export * from './maix-image.js';
export * from './region.js';
export * from './landmarks.js';
export * from './affine.js';
export * from './features.js';
export * from './presets.js';
export * from './face-store.js';
export * from './draw.js';
export * from './flow.js';
export * from './views.js';
