/**
 * The work a sweep's worker threads can do (src/cli/sweep.ts), by name. A task is what one item
 * costs with a context made once per thread (`init`: load and prepare the model); the command
 * runs the same `run` in its own thread with the context it already has, so both give the same
 * result. Each task lives in its own module, loaded only by the command or worker that needs it.
 */
export interface SweepTask<D, C, T, R> {
  init(data: D): C | Promise<C>;
  run(ctx: C, item: T, index: number): R | Promise<R>;
}

/** Any task, as the worker sees it (its data and items come structured-cloned). */
type AnyTask = SweepTask<never, unknown, never, unknown>;

export type SweepTaskName =
  'golden-check' | 'golden-record' | 'compare-dataset' | 'compare-float' | 'eval' | 'face' | 'run';

export const SWEEP_TASKS: Record<SweepTaskName, () => Promise<AnyTask>> = {
  'golden-check': async () => (await import('./tasks/golden-check.js')).goldenCheckTask,
  'golden-record': async () => (await import('./tasks/golden-record.js')).goldenRecordTask,
  'compare-dataset': async () => (await import('./tasks/compare-dataset.js')).compareDatasetTask,
  'compare-float': async () => (await import('./tasks/compare-float.js')).compareFloatTask,
  eval: async () => (await import('./tasks/eval.js')).evalTask,
  face: async () => (await import('./tasks/face.js')).faceTask,
  run: async () => (await import('./tasks/run.js')).runTask,
};
