/**
 * A worker thread of a sweep (src/cli/sweep.ts): makes the task's context once (loads and prepares
 * the model), says it is ready, then runs the items it is sent one at a time, each unless the
 * command's thread has claimed it first (answered "skipped"). An item that throws
 * is handed back (`failed`): the command runs it again in its own thread, which gives the same
 * result or the same typed error as a sweep without workers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { UNCLAIMED } from './sweep-claims.js';
import { SWEEP_TASKS, type SweepTask, type SweepTaskName } from './sweep-tasks.js';

const { task, data, claims } = workerData as { task: SweepTaskName; data: unknown; claims: Int32Array };
const def = (await SWEEP_TASKS[task]()) as unknown as SweepTask<unknown, unknown, unknown, unknown>;
const ctx: unknown = await def.init(data as never);
parentPort!.on('message', (m: { index: number; item: unknown }) => {
  // The command's thread may have taken the item back before this worker reached it.
  if (Atomics.compareExchange(claims, m.index, UNCLAIMED, 1) !== UNCLAIMED) {
    parentPort!.postMessage({ index: m.index, skipped: true });
    return;
  }
  void (async () => {
    try {
      parentPort!.postMessage({ index: m.index, result: await def.run(ctx, m.item, m.index) });
    } catch {
      parentPort!.postMessage({ index: m.index, failed: true });
    }
  })();
});
parentPort!.postMessage({ ready: true });
