/**
 * `time` / `utime` on the board clock (timing.ts): ticks count the emulated K210's time, sleeps
 * advance it instantly, and `clock()` is OpenMV's fps clock as MaixPy implements it (integer
 * millisecond ticks; fps = 1000 / (ticks / frames) in binary32; the sums restart after 2 s).
 * The RTC starts at 2000-01-01 00:00:00 at boot (MaixPy's epoch), so `time()` is deterministic.
 * Also `gc`: MicroPython's own collector (images live in its heap, so `gc.collect()` frees
 * them as on the board); `mem_free()` reports the PC interpreter's heap.
 */
import { num, type BoardContext } from '../context.js';
import { CPU_STEP_CYCLES as C } from '../timing.js';
import { PYTHON_SOURCES as PY } from '../python/sources.generated.js';
import type { MaixpyModule } from './types.js';

const backend = {
  /** Board time since boot in the unit asked (1 = ms, 1000 = µs, 400e6/1000 = CPU cycles), truncated. */
  time_now(ctx: BoardContext, perMs: unknown): number {
    const t = Math.floor(ctx.clock.now() * num(perMs, 'unit'));
    ctx.clock.cpu(C.ticksCall);
    return t;
  },
  time_sleep(ctx: BoardContext, ms: unknown): void {
    const t = num(ms, 'ms');
    ctx.frameBoundary();
    if (t > 0) ctx.clock.advance(t, 'sleep');
  },
};

export const timeModule: MaixpyModule = {
  file: '_kpusim_time',
  aliases: ['time', 'utime'],
  python: PY._kpusim_time,
  backend,
};
export const gcModule: MaixpyModule = { file: '_kpusim_gc', aliases: ['gc'], python: PY._kpusim_gc, backend: {} };
