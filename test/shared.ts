/**
 * Where the shared test data lives (../shared beside the checkout). Tests that need it use
 * `describe.skipIf(!HAS_SHARED)` with SHARED_SKIP_REASON, so a user's clone skips them with one line.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SHARED_DIR = process.env.KPUSIM_SHARED ?? resolve(REPO_ROOT, '../shared');
export const KMODELS_DIR = resolve(SHARED_DIR, 'kmodels');
export const GOLDEN_DIR = resolve(SHARED_DIR, 'golden-nncase');
export const HAS_SHARED = existsSync(resolve(KMODELS_DIR, 'SOURCES.md'));
export const SHARED_SKIP_REASON = `skipped: ${SHARED_DIR} (the shared kmodel corpus) is absent`;
if (!HAS_SHARED) console.warn(SHARED_SKIP_REASON);

export function kmodelPath(name: string): string {
  return resolve(KMODELS_DIR, name.endsWith('.kmodel') ? name : `${name}.kmodel`);
}

/** What a CLI child process left: its exit code, stdout (bytes) and stderr. */
export interface ChildRun {
  readonly code: number | null;
  readonly out: Buffer;
  readonly err: string;
}

/**
 * Runs the compiled CLI (`bin/kpusim.js`) in a child process to its end, without holding up the
 * test worker (long computations in the worker miss vitest's RPC deadline). Rejects after `timeoutMs`.
 */
export function runKpusim(
  args: readonly string[],
  timeoutMs = 180_000,
  env: Record<string, string> = {},
): Promise<ChildRun> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [resolve(REPO_ROOT, 'bin', 'kpusim.js'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`kpusim ${args.join(' ')}: still running after ${timeoutMs} ms\n${err}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      res({ code, out: Buffer.concat(out), err });
    });
  });
}
