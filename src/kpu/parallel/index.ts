/**
 * Both cores for one KPU layer. The conv kernel module (src/kpu/wasm/runtime.ts) can run on a
 * shared WebAssembly memory; one worker thread holds a second instance of the same module on the
 * same memory. A layer's output channels are cut into parts; the calling thread and the worker
 * take parts from a shared counter until none is left, and the calling thread returns when every
 * part is done. The library's API stays synchronous: the calling thread hands parts over with
 * Atomics.store/notify and waits with Atomics.wait, never for an event. Each thread looks for what it
 * waits for during `SPIN_MS` before it sleeps: layers follow each other closely, and waking takes long.
 *
 * The worker is a help, never a dependency: it starts in the background and takes parts only once
 * it is up (until then, and whenever it is slow to wake, the calling thread takes every part
 * itself); when it keeps finishing after this thread (no free core: a busy machine), layers run on
 * this thread alone for a while; it does not keep the process alive; if it fails, its part is run
 * again here and the layers go on single-threaded (with a note on stderr).
 *
 * On by default in Node on the main thread of a machine with 2 or more cores; `KPUSIM_THREADS=1`
 * turns it off, `KPUSIM_THREADS=2` turns it on in any thread (tests use `setLayerThreads` to compare
 * both paths byte for byte). Off in the browser build (no Node worker_threads there).
 */
import type * as WorkerThreads from 'node:worker_threads';

/** The Node built-ins this file uses, reached without an import so the browser build bundles without them. */
interface NodeProcess {
  readonly env: Record<string, string | undefined>;
  getBuiltinModule?(id: string): unknown;
}
const nodeProcess = (globalThis as unknown as { process?: NodeProcess }).process;

function builtin<T>(id: string): T | undefined {
  try {
    return nodeProcess?.getBuiltinModule?.(id) as T | undefined;
  } catch {
    return undefined;
  }
}

let threads: number | undefined;

function defaultThreads(): number {
  const env = nodeProcess?.env.KPUSIM_THREADS;
  const wt = builtin<typeof WorkerThreads>('node:worker_threads');
  const os = builtin<{ availableParallelism?(): number; cpus(): unknown[] }>('node:os');
  if (!wt || !os || typeof SharedArrayBuffer === 'undefined') return 1;
  if (env === '1') return 1;
  if (env !== undefined && /^[2-9]\d*$/.test(env)) return 2;
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  return wt.isMainThread && cores >= 2 ? 2 : 1;
}

/** Threads for one layer: 1 or 2 (see the file comment). */
export function layerThreads(): number {
  if (threads === undefined) threads = defaultThreads();
  return threads;
}

/**
 * Layers with fewer multiply-accumulates run on one thread: handing half a layer to the worker
 * and waiting for it costs tens of microseconds.
 */
const MIN_MACS = 1 << 20;
let minMacs = MIN_MACS;
/** Leave the worker out for a while when it is slow to finish its parts (off in tests that count its parts). */
let adaptive = true;

/**
 * Sets the threads for one layer (1 or 2; 2 only where Node's worker threads exist), e.g. to
 * compare both paths; `minMacs` (tests) shares layers smaller than the default threshold too, and
 * `adaptive: false` (tests) keeps the worker on even when it is slow.
 */
export function setLayerThreads(n: 1 | 2, opts: { minMacs?: number; adaptive?: boolean } = {}): void {
  threads = n === 2 && builtin('node:worker_threads') && typeof SharedArrayBuffer !== 'undefined' ? 2 : 1;
  minMacs = opts.minMacs ?? MIN_MACS;
  adaptive = opts.adaptive ?? true;
}

/**
 * A layer's output channels in parts for two threads: multiples of 4 channels, 2 to 8 parts of
 * at least 8 channels where there are 16 or more (a non-depthwise part also computes its own SX
 * row; more parts even out a busy machine, where one thread may run slower than the other); one
 * part (this thread alone) for a small layer.
 */
export function partsOf(oc: number, macs: number): { count: number; size: number } {
  if (macs < minMacs || oc < 8) return { count: 1, size: oc };
  const size = Math.ceil(oc / Math.max(2, Math.min(8, Math.floor(oc / 8))) / 4) * 4;
  return { count: Math.ceil(oc / size), size };
}

/** i32 slots of the control block (in the shared memory, at `ctl`). */
const SEQ = 0; // job number, bumped (and notified) when a job is published
const NEXT = 1; // (job number mod 2^20) << 12 | next part to take; part 0xfff closes the job
const NPARTS = 2;
const SIZE = 3; // channels per part
const OC = 4;
const DONE = 5; // parts finished
const FAILED = 6; // 1 + a part the worker failed on, else 0
const READY = 7; // 1 once the worker has its instance
export const CTL_SLOTS = 8;

/** How long the worker looks for the next layer before it sleeps (ms). */
const SPIN_MS = 0.5;

const GEN_MASK = 0xfffff;
const CLOSED = 0xfff;

/** Runs one part: output channels [o0, o1) with the descriptor at `desc`. */
type PartFn = (desc: number, o0: number, o1: number) => void;

/** The worker's code (CommonJS, evaluated): an instance of the module on the shared memory, taking parts. */
const WORKER = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctl, desc, slots, spinMs: SPIN_MS } = workerData;
const [SEQ, NEXT, NPARTS, SIZE, OC, DONE, FAILED, READY] = slots;
const part = new WebAssembly.Instance(module, { env: { mem: memory } }).exports.part;
const c = new Int32Array(memory.buffer, ctl, 8);
Atomics.store(c, READY, 1);
let seen = 0;
for (;;) {
  const job = Atomics.load(c, SEQ);
  if (job !== seen) {
    seen = job;
    const n = Atomics.load(c, NPARTS), size = Atomics.load(c, SIZE), oc = Atomics.load(c, OC);
    for (;;) {
      const cur = Atomics.load(c, NEXT);
      const k = cur & 0xfff;
      if (cur >>> 12 !== (job & 0xfffff) || k >= n) break;
      if (Atomics.compareExchange(c, NEXT, cur, cur + 1) !== cur) continue;
      try {
        part(desc, k * size, Math.min(oc, (k + 1) * size));
      } catch (e) {
        Atomics.store(c, FAILED, k + 1);
        Atomics.add(c, DONE, 1);
        Atomics.notify(c, DONE);
        throw e;
      }
      Atomics.add(c, DONE, 1);
      Atomics.notify(c, DONE);
    }
  }
  // the next layer usually follows within a fraction of a millisecond: look for it a while before sleeping
  // (waking from Atomics.wait takes tens of microseconds, as long as a small part)
  for (const until = performance.now() + SPIN_MS; Atomics.load(c, SEQ) === job && performance.now() < until; );
  Atomics.wait(c, SEQ, job);
}
`;

export interface PartPool {
  /**
   * Runs parts 0..n−1 of the layer set up in the shared memory (part k: output channels
   * [k·size, min(oc, (k+1)·size))) on this thread and the worker; returns when all are done.
   */
  run(n: number, size: number, oc: number): void;
  /** Whether the worker has started (before that, this thread takes every part). */
  ready(): boolean;
  /**
   * Parts run so far, how many of them by the worker, and how many on this thread alone while the
   * worker was left out for being slow (for tests and the bench).
   */
  readonly stats: { parts: number; byWorker: number; alone: number };
}

interface PoolSetup {
  readonly module: object;
  /** The shared WebAssembly.Memory. */
  readonly memory: { readonly buffer: ArrayBufferLike };
  /** This thread's instance's `part`. */
  readonly part: PartFn;
  /** Byte address of the control block (CTL_SLOTS i32) in the memory. */
  readonly ctl: number;
  /** Byte addresses of this thread's and the worker's descriptors. */
  readonly descs: readonly [number, number];
}

/** The pool, or null where there are no Node worker threads or the worker cannot be created. */
export function startPartPool(setup: PoolSetup): PartPool | null {
  const wt = builtin<typeof WorkerThreads>('node:worker_threads');
  if (!wt) return null;
  const c = new Int32Array(setup.memory.buffer as SharedArrayBuffer, setup.ctl, CTL_SLOTS);
  c.fill(0);
  let broken = false;
  let worker: WorkerThreads.Worker;
  try {
    worker = new wt.Worker(WORKER, {
      eval: true,
      workerData: {
        module: setup.module,
        memory: setup.memory,
        ctl: setup.ctl,
        desc: setup.descs[1],
        slots: [SEQ, NEXT, NPARTS, SIZE, OC, DONE, FAILED, READY],
        spinMs: SPIN_MS,
      },
      stdout: false,
      stderr: false,
    });
  } catch {
    return null;
  }
  worker.unref();
  const fail = (why: string): void => {
    if (broken) return;
    broken = true;
    process.stderr.write(`kpusim: the KPU layer worker thread failed (${why}); layers run on one thread\n`);
  };
  worker.on('error', (e) => fail(e instanceof Error ? e.message : String(e)));
  let job = 0;
  const [mine] = setup.descs;
  const stats = { parts: 0, byWorker: 0, alone: 0 };
  let strikes = 0;
  let backoff = 0;
  return {
    stats,
    ready: () => Atomics.load(c, READY) === 1,
    run(n, size, oc) {
      stats.parts += n;
      const range = (k: number): [number, number] => [k * size, Math.min(oc, (k + 1) * size)];
      if (broken || backoff > 0) {
        if (backoff > 0) {
          backoff--;
          stats.alone += n;
        }
        for (let k = 0; k < n; k++) setup.part(mine, ...range(k));
        return;
      }
      const t0 = performance.now();
      job = (job + 1) | 0;
      const gen = (job & GEN_MASK) << 12;
      Atomics.store(c, NEXT, gen | CLOSED);
      Atomics.store(c, NPARTS, n);
      Atomics.store(c, SIZE, size);
      Atomics.store(c, OC, oc);
      Atomics.store(c, DONE, 0);
      Atomics.store(c, NEXT, gen);
      Atomics.store(c, SEQ, job);
      Atomics.notify(c, SEQ, 1);
      let mineDone = 0;
      for (;;) {
        const cur = Atomics.load(c, NEXT);
        const k = cur & CLOSED;
        if (k >= n) break;
        if (Atomics.compareExchange(c, NEXT, cur, cur + 1) !== cur) continue;
        setup.part(mine, ...range(k));
        mineDone++;
      }
      Atomics.add(c, DONE, mineDone);
      stats.byWorker += n - mineDone;
      const t1 = performance.now();
      // the worker's last part often ends within microseconds: look before sleeping, as the worker does
      for (const until = t1 + SPIN_MS; Atomics.load(c, DONE) < n && performance.now() < until;);
      for (let d = Atomics.load(c, DONE); d < n; d = Atomics.load(c, DONE)) Atomics.wait(c, DONE, d);
      // Waiting longer than this thread worked means the worker did not get a core of its own (a
      // busy machine): after 3 such layers in a row, the next 64 run on this thread alone.
      if (adaptive && performance.now() - t1 > Math.max(0.5, t1 - t0)) {
        if (++strikes >= 3) {
          backoff = 64;
          strikes = 0;
        }
      } else strikes = 0;
      Atomics.store(c, NEXT, gen | CLOSED);
      const failed = Atomics.load(c, FAILED);
      if (failed) {
        setup.part(mine, ...range(failed - 1));
        fail(`on part ${failed - 1}`);
        void worker.terminate();
      }
    },
  };
}
