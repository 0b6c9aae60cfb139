/**
 * Sweeps over many independent items (golden cases, …) on worker threads: each worker gets the
 * same `workerData` once (it loads and prepares the model itself) and then one item at a time
 * from a shared queue, so a slow item does not hold back the others. Results come back in the
 * items' order whatever order they finish in. An item whose worker failed (an exception, or the
 * worker died) is returned as `undefined`: the caller runs it in its own thread, which gives the
 * same result or the same typed error as a sweep without workers.
 *
 * Workers run the compiled JavaScript beside this file; from the TypeScript sources (under a test
 * runner) there is none, and `canSweep()` says so.
 */
import { Worker } from 'node:worker_threads';

/** True when worker scripts can run (the compiled package, not its TypeScript sources). */
export function canSweep(): boolean {
  return import.meta.url.endsWith('.js');
}

export async function sweep<T, R>(opts: {
  /** The worker script, a sibling of this module (`new URL('./x-worker.js', import.meta.url)`). */
  readonly worker: URL;
  readonly workerData: unknown;
  readonly items: readonly T[];
  readonly jobs: number;
  /** Called as each item is done in a worker (in finishing order), e.g. to tick a progress bar. */
  readonly onDone?: (index: number, result: R) => void;
}): Promise<(R | undefined)[]> {
  const results: (R | undefined)[] = new Array<R | undefined>(opts.items.length).fill(undefined);
  let next = 0;
  const runWorker = () =>
    new Promise<void>((resolve) => {
      const w = new Worker(opts.worker, { workerData: opts.workerData });
      const feed = () => {
        if (next >= opts.items.length) {
          void w.terminate();
          return;
        }
        const i = next++;
        w.postMessage({ index: i, item: opts.items[i] });
      };
      w.on('message', (m: { index: number; result?: R; failed?: boolean }) => {
        if (!m.failed) {
          results[m.index] = m.result;
          opts.onDone?.(m.index, m.result as R);
        }
        feed();
      });
      w.on('online', feed);
      // A worker that dies leaves its item (and takes no more): the caller runs what is missing.
      w.on('error', () => undefined);
      w.on('exit', () => resolve());
    });
  const n = Math.max(1, Math.min(opts.jobs, opts.items.length));
  await Promise.all(Array.from({ length: n }, runWorker));
  return results;
}
