/** kpusim's library API. The CLI is a thin layer over these. */
export * from './errors.js';
