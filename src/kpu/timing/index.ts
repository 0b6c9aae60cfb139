/** The timing and memory model: a pass over the interpreter's events (see params.ts for every constant). */
export * from './params.js';
export * from './kpu-conv.js';
export * from './memory.js';
export * from './profile.js';
export * from './budget.js';
export * from './published.js';
export * from './timing-file.js';
export * from './fit.js';
