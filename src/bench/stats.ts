/** What the process-level bench figures share: a median, rounding, and one timed Node process. */
import { spawnSync } from 'node:child_process';

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** Wall time of `node ARGS` in milliseconds (a failure ends the bench with its stderr). */
export function wallMs(args: readonly string[], env?: NodeJS.ProcessEnv): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`bench: node ${args.join(' ')} exited with ${r.status}: ${String(r.stderr)}`);
  return ms;
}
