/** What the process-level bench figures share: a median, rounding, and one timed Node process. */
import { spawnSync } from 'node:child_process';

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** This process's environment with `over` applied (an undefined value removes the variable). */
export function withEnv(over: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env = { ...process.env, ...over };
  for (const [k, v] of Object.entries(over)) if (v === undefined) delete env[k];
  return env;
}

/** Wall time of `node ARGS` in milliseconds, in `env` (default: this process's); a failure ends the bench. */
export function wallMs(args: readonly string[], env?: NodeJS.ProcessEnv): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`bench: node ${args.join(' ')} exited with ${r.status}: ${String(r.stderr)}`);
  return ms;
}
