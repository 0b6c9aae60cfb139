/**
 * A worker thread of a sweep (src/cli/sweep.ts): makes the task's context once (loads and prepares
 * the model), then takes items from the queue shared with the command's thread (an index in shared
 * memory, advanced atomically) and runs them one at a time until none is left, posting each result.
 * An item that throws is handed back (`failed`): the command runs it again in its own thread, which
 * gives the same result or the same typed error as a sweep without workers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { adoptHashModule } from '../kpu/wasm/hash.js';
import { adoptKernelModule } from '../kpu/wasm/runtime.js';
import type { SweepItems, SweepMessage, SweepSetup } from './sweep.js';
import { SWEEP_TASKS, type SweepTask, type SweepTaskName } from './sweep-tasks.js';

const { task, data, next, current, slot } = workerData as {
  task: SweepTaskName;
  data: unknown;
  /** The queue: the index of the next item (src/cli/sweep.ts). */
  next: Int32Array;
  /** 1 + the item this worker runs (at `slot`), so the command can run it again if the worker dies. */
  current: Int32Array;
  slot: number;
};
const post = (m: SweepMessage<unknown>) => parentPort!.postMessage(m);
// The command's thread sends its compiled WebAssembly modules at once, and the items when it has
// them (src/cli/sweep.ts): kept here in order until this thread is ready for each.
const inbox: unknown[] = [];
let arrived: (() => void) | undefined;
const onMessage = (m: unknown) => {
  inbox.push(m);
  arrived?.();
};
parentPort!.on('message', onMessage);
async function receive<M>(): Promise<M> {
  while (inbox.length === 0) await new Promise<void>((r) => (arrived = r));
  return inbox.shift() as M;
}

const def = (await SWEEP_TASKS[task]()) as unknown as SweepTask<unknown, unknown, unknown, unknown>;
const { kernel, hash } = await receive<SweepSetup>();
if (kernel) adoptKernelModule(kernel, false);
if (hash) adoptHashModule(hash);
const ctx: unknown = await def.init(data as never);
const { items } = await receive<SweepItems>();
parentPort!.off('message', onMessage);
for (let i = Atomics.add(next, 0, 1); i < items.length; i = Atomics.add(next, 0, 1)) {
  Atomics.store(current, slot, i + 1);
  try {
    post({ index: i, result: await def.run(ctx, items[i], i) });
  } catch {
    post({ index: i, failed: true });
  }
  Atomics.store(current, slot, 0);
}
post({ drained: true });
