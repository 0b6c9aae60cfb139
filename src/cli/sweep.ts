/**
 * Sweeps over many independent items (golden cases, dataset images, face photos, model inputs) on
 * all cores, with results identical to a run in one thread and in the items' order.
 *
 * `--jobs N` is this thread plus N − 1 worker threads sharing one queue. This thread starts on the
 * first item at once with the model it has already prepared, while each worker loads and prepares
 * its own copy (src/cli/sweep-worker.ts), then takes items as it becomes free. So a sweep of a few
 * quick items is done here before a worker is ready (the workers are then stopped and cost nothing
 * but their start), and a long sweep keeps every core busy. At the end of the queue this thread
 * takes back items a worker holds but has not started (each item is claimed once, with an atomic
 * compare-and-swap on a shared flag, by whichever thread starts it), so it does not wait idle while
 * a worker works through its backlog. A worker that fails an item (an
 * exception, or it died) hands it back: this thread runs it again, which gives the same result or
 * the same typed error as a run without workers.
 *
 * Workers run the compiled JavaScript beside this file; from the TypeScript sources (under a test
 * runner) there is none, and everything runs here.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { layerThreads, setLayerThreads } from '../kpu/parallel/index.js';
import { UNCLAIMED } from './sweep-claims.js';
import type { SweepTaskName } from './sweep-tasks.js';

/** True when worker scripts can run (the compiled package, not its TypeScript sources). */
export function canSweep(): boolean {
  return import.meta.url.endsWith('.js');
}

/** The default of `--jobs`: one per core. */
export function defaultJobs(): number {
  return availableParallelism();
}

/** The `--jobs` option as the sweeping commands declare it. */
export const JOBS_OPTION = {
  type: 'number',
  describe:
    'items processed at once: this thread and jobs − 1 worker threads, each with its own copy of the model (default: one per core)',
} as const;

/** Checks a `--jobs` value given on the command line (a yargs check: throws a usage message). */
export function checkJobs(jobs: unknown): true {
  if (jobs !== undefined && !(Number.isInteger(jobs) && (jobs as number) >= 1))
    throw new Error('--jobs takes a whole number of at least 1');
  return true;
}

/** Items a worker holds at once (one it works on, the others waiting in its port). */
const WORKER_QUEUE_DEPTH = 3;

export interface SweepOptions<T, R> {
  /** The task the workers run (src/cli/sweep-tasks.ts): the same one `local` runs here. */
  readonly task: SweepTaskName;
  /** What each worker's `init` gets (structured-cloned). */
  readonly data: unknown;
  readonly items: readonly T[];
  /** `--jobs` (undefined: one per core). */
  readonly jobs: number | undefined;
  /** Runs one item in this thread (with the context this thread already has). */
  readonly local: (item: T, index: number) => R | Promise<R>;
  /** Called as each item is done (in finishing order), e.g. to tick a progress bar. */
  readonly onDone?: (index: number, result: R) => void;
}

interface WorkerSlot {
  readonly worker: Worker;
  ready: boolean;
  /** Items sent and not yet answered (up to WORKER_QUEUE_DEPTH), in the order sent. */
  readonly busy: Set<number>;
  gone: boolean;
}

/**
 * Runs `local` (here) or the task (in workers) on every item; returns the results in the items'
 * order. An exception from `local` ends the sweep (workers are stopped) and is thrown.
 *
 * `KPUSIM_SWEEP_WORKERS_FIRST=1` (for tests) keeps this thread off the queue while a worker is
 * starting or working, so the workers, not this thread, do the items.
 */
export async function sweep<T, R>(opts: SweepOptions<T, R>): Promise<R[]> {
  const n = opts.items.length;
  const results = new Array<R>(n);
  const jobs = opts.jobs ?? defaultJobs();
  const workersFirst = process.env.KPUSIM_SWEEP_WORKERS_FIRST === '1';
  let next = 0;
  const retry: number[] = [];
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const take = (): number | undefined => (next < n ? next++ : undefined);
  // One flag per item, shared with the workers: the thread that turns it from 0 to 1 runs the item.
  const claims = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, n)));
  /** Items this thread took back from a worker (its answer for them, "skipped", is ignored). */
  const stolen = new Set<number>();
  /** An item a worker holds and has not started, claimed here (the last one sent first). */
  const steal = (): number | undefined => {
    for (const s of slots) {
      if (s.gone) continue;
      for (const i of [...s.busy].reverse()) {
        if (Atomics.compareExchange(claims, i, UNCLAIMED, 1) !== UNCLAIMED) continue;
        s.busy.delete(i);
        stolen.add(i);
        return i;
      }
    }
    return undefined;
  };

  const slots: WorkerSlot[] = [];
  // A worker holds a few items, so it goes on to the next while this thread, busy with an item
  // of its own, cannot answer its messages.
  const feed = (s: WorkerSlot) => {
    if (s.gone || !s.ready) return;
    while (s.busy.size < WORKER_QUEUE_DEPTH) {
      const i = take();
      if (i === undefined) break;
      s.busy.add(i);
      s.worker.postMessage({ index: i, item: opts.items[i] });
    }
    if (s.busy.size === 0) {
      s.gone = true;
      void s.worker.terminate();
    }
  };
  const workerCount = canSweep() && n > 1 ? Math.min(jobs - 1, n - 1) : 0;
  // With workers the sweep has the cores: this thread runs each layer on one thread (the KPU
  // engine's second thread for a layer would compete with them), and goes back after.
  const threadsBefore = layerThreads();
  if (workerCount > 0 && threadsBefore > 1) setLayerThreads(1);
  for (let k = 0; k < workerCount; k++) {
    const worker = new Worker(new URL('./sweep-worker.js', import.meta.url), {
      workerData: { task: opts.task, data: opts.data, claims },
    });
    const s: WorkerSlot = { worker, ready: false, busy: new Set(), gone: false };
    slots.push(s);
    worker.on('message', (m: { ready?: boolean; index?: number; result?: R; failed?: boolean; skipped?: boolean }) => {
      if (m.ready) s.ready = true;
      else if (m.index !== undefined) {
        if (m.skipped || stolen.has(m.index)) {
          // taken back by this thread, which gives its result
        } else if (m.failed) retry.push(m.index);
        else {
          results[m.index] = m.result as R;
          opts.onDone?.(m.index, m.result as R);
        }
        s.busy.delete(m.index);
      }
      feed(s);
      poke();
    });
    // A worker that dies (or fails to start) hands back the item it held and takes no more.
    worker.on('error', () => undefined);
    worker.on('exit', () => {
      retry.push(...s.busy);
      s.busy.clear();
      s.gone = true;
      poke();
    });
  }
  const stopAll = async () => {
    await Promise.all(
      slots.map((s) => {
        s.gone = true;
        return s.worker.terminate();
      }),
    );
  };
  const workersActive = () => slots.some((s) => !s.gone && (s.busy.size > 0 || !s.ready));

  try {
    for (;;) {
      let i = retry.shift();
      if (i === undefined && !(workersFirst && workersActive())) {
        i = take();
        if (i !== undefined) claims[i] = 1;
        else i = workersFirst ? undefined : steal();
      }
      if (i === undefined) {
        if (next >= n && retry.length === 0 && !slots.some((s) => s.busy.size > 0)) break;
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      results[i] = await opts.local(opts.items[i], i);
      opts.onDone?.(i, results[i]);
      // Let the workers' messages in (they are answered between items).
      await new Promise<void>((r) => setImmediate(r));
    }
  } finally {
    await stopAll();
    if (workerCount > 0 && threadsBefore > 1) setLayerThreads(2);
  }
  return results;
}

/** A command's parsed arguments as a worker can receive them (plain values only). */
export function taskArgs(args: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(args)) as Record<string, unknown>;
}
