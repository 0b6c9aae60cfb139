/**
 * Sweeps over many independent items (golden cases, dataset images, face photos, model inputs) on
 * all cores, with results identical to a run in one thread and in the items' order.
 *
 * `--jobs N` is this thread plus N − 1 worker threads sharing one queue: the index of the next
 * item in shared memory, which a thread advances atomically when it is free, so no thread waits
 * for another to hand it work (this thread, busy with an item, cannot answer messages). This
 * thread starts on the first item at once with the model it has already prepared, while each
 * worker loads and prepares its own copy (src/cli/sweep-worker.ts). So a sweep of a few quick items
 * is done here before a worker is ready (the workers are then stopped and cost nothing but their
 * start), and a long sweep keeps every core busy; at the end of the queue no thread holds more
 * than the item it is running. A worker that fails an item (an exception, or it died) hands it
 * back: this thread runs it again, which gives the same result or the same typed error as a run
 * without workers.
 *
 * Workers run the compiled JavaScript beside this file; from the TypeScript sources (under a test
 * runner) there is none, and everything runs here.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { layerThreads, setLayerThreads } from '../kpu/parallel/index.js';
import { hashModule } from '../kpu/wasm/hash.js';
import { compiledKernelModule } from '../kpu/wasm/runtime.js';
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
  /** Workers `startSweepWorkers` started for this sweep (same task, data and jobs, as many items). */
  readonly workers?: SweepWorkers;
}

/**
 * What a worker is sent, in order: the compiled WebAssembly modules of this thread (or null), then
 * the items.
 */
export interface SweepSetup {
  readonly kernel: object | null;
  readonly hash: object | null;
}
export interface SweepItems {
  readonly items: readonly unknown[];
}

/** What a worker posts (src/cli/sweep-worker.ts). */
export type SweepMessage<R> =
  | { readonly index: number; readonly result: R }
  | { readonly index: number; readonly failed: true }
  | { readonly drained: true };

interface WorkerSlot {
  readonly worker: Worker;
  /** Still taking items (not drained, not exited). */
  active: boolean;
  onMessage?: (m: SweepMessage<unknown>) => void;
  onExit?: () => void;
}

/** A sweep's worker threads, started before (`startSweepWorkers`) or by `sweep`. */
export interface SweepWorkers {
  readonly slots: readonly WorkerSlot[];
  /** The queue: the index of the next item; a thread takes an item by adding one. */
  readonly next: Int32Array;
  /** 1 + the item each worker is running, 0 between items. */
  readonly current: Int32Array;
  /** Stops the workers (when the sweep does not run after all) and gives this thread its layer threads back. */
  close(): Promise<void>;
}

/**
 * Starts the workers of a sweep of `count` items before the items themselves are known, e.g. before
 * this thread loads and prepares its own model, so that the workers load theirs meanwhile; pass
 * them to `sweep` (or `close` them). Undefined when the sweep would run without workers.
 */
export function startSweepWorkers(o: {
  task: SweepTaskName;
  data: unknown;
  jobs: number | undefined;
  count: number;
}): SweepWorkers | undefined {
  const jobs = o.jobs ?? defaultJobs();
  const workerCount = canSweep() && o.count > 1 ? Math.min(jobs - 1, o.count - 1) : 0;
  if (workerCount <= 0) return undefined;
  // With workers the sweep has the cores: this thread runs each layer on one thread (the KPU
  // engine's second thread for a layer would compete with them), and goes back after.
  const threadsBefore = layerThreads();
  if (threadsBefore > 1) setLayerThreads(1);
  const next = new Int32Array(new SharedArrayBuffer(4));
  const current = new Int32Array(new SharedArrayBuffer(4 * workerCount));
  const slots: WorkerSlot[] = [];
  for (let k = 0; k < workerCount; k++) {
    const worker = new Worker(new URL('./sweep-worker.js', import.meta.url), {
      workerData: { task: o.task, data: o.data, next, current, slot: k },
    });
    // Not holding the process open until the sweep runs (a command that fails first just ends).
    worker.unref();
    const slot: WorkerSlot = { worker, active: true };
    slots.push(slot);
    worker.on('message', (m: SweepMessage<unknown>) => slot.onMessage?.(m));
    worker.on('error', () => undefined);
    worker.on('exit', () => {
      slot.active = false;
      slot.onExit?.();
    });
  }
  // The compiled WebAssembly modules this thread is about to use (its layers on one thread): a
  // worker given them neither assembles nor compiles its own, and all share optimized code.
  const setup: SweepSetup = { kernel: compiledKernelModule(false), hash: hashModule() };
  for (const s of slots) s.worker.postMessage(setup);
  let closed = false;
  return {
    slots,
    next,
    current,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(slots.map((s) => s.worker.terminate()));
      if (threadsBefore > 1) setLayerThreads(2);
    },
  };
}

/**
 * Runs `local` (here) or the task (in workers) on every item; returns the results in the items'
 * order. An exception from `local` ends the sweep (workers are stopped) and is thrown.
 *
 * `KPUSIM_SWEEP_WORKERS_FIRST=1` (for tests) keeps this thread off the queue while a worker is
 * starting or working, so the workers, not this thread, do the items; `KPUSIM_SWEEP_STATS=1` (for
 * tests) prints on stderr how many items ran in this thread and in workers, and how many were
 * handed back.
 */
export async function sweep<T, R>(opts: SweepOptions<T, R>): Promise<R[]> {
  const n = opts.items.length;
  const results = new Array<R>(n);
  const done = new Uint8Array(n);
  let doneCount = 0;
  const workersFirst = process.env.KPUSIM_SWEEP_WORKERS_FIRST === '1';
  const pool = opts.workers ?? startSweepWorkers({ task: opts.task, data: opts.data, jobs: opts.jobs, count: n });
  const slots = pool?.slots ?? [];
  // The queue, shared with the workers: no thread waits for another to be handed work.
  const next = pool?.next ?? new Int32Array(1);
  const take = (): number | undefined => {
    const i = Atomics.add(next, 0, 1);
    return i < n ? i : undefined;
  };
  const retry: number[] = [];
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  let here = 0;
  let inWorkers = 0;
  let handedBack = 0;
  const finish = (i: number, r: R) => {
    if (done[i]) return; // an item run again here after its worker died gives the same result
    done[i] = 1;
    doneCount++;
    results[i] = r;
    opts.onDone?.(i, r);
  };
  const active = () => slots.some((s) => s.active);
  slots.forEach((s, k) => {
    s.onMessage = (m) => {
      if ('drained' in m) s.active = false;
      else if ('failed' in m) retry.push(m.index);
      else {
        if (!done[m.index]) inWorkers++;
        finish(m.index, m.result as R);
      }
      poke();
    };
    // A worker that dies (or fails to start) takes no more items and hands back the one it held.
    s.onExit = () => {
      const held = Atomics.load(pool!.current, k) - 1;
      if (held >= 0 && held < n && !done[held]) retry.push(held);
      poke();
    };
    if (!s.active) s.onExit(); // it died before this sweep began
    const items: SweepItems = { items: opts.items };
    s.worker.postMessage(items);
    s.worker.ref();
  });

  try {
    for (;;) {
      let i = retry.shift();
      if (i !== undefined) handedBack++;
      else if (!(workersFirst && active())) i = take();
      if (i === undefined) {
        // The queue is empty: wait for the items workers are running (not for a worker still
        // starting, which then stops without having taken any).
        if (doneCount === n) break;
        if (active()) {
          await new Promise<void>((r) => (wake = r));
          continue;
        }
        // No worker left, and items unanswered (a worker died between taking one and starting it).
        for (let k = 0; k < n; k++) if (!done[k]) retry.push(k);
        continue;
      }
      if (done[i]) continue;
      here++;
      finish(i, await opts.local(opts.items[i], i));
      // Let the workers' messages in (their results, for the progress bar).
      await new Promise<void>((r) => setImmediate(r));
    }
    // For tests: where the items ran (a worker that fails its items hands them all back).
    if (process.env.KPUSIM_SWEEP_STATS === '1')
      process.stderr.write(
        `kpusim: sweep of ${n} items: ${here} in this thread (${handedBack} handed back), ${inWorkers} in workers\n`,
      );
  } finally {
    await pool?.close();
  }
  return results;
}

/** A command's parsed arguments as a worker can receive them (plain values only). */
export function taskArgs(args: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(args)) as Record<string, unknown>;
}
