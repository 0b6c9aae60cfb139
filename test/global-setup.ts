/**
 * The suite keeps its files in one folder of its own, removed when the run ends:
 * - temporary files: `TMPDIR` (and `TMP`, `TEMP`) point into it, so every `tmpdir()` of a test file and of
 *   every kpusim process, browser or serial bridge a test starts lands there, whether or not the test
 *   removes what it made;
 * - decoded camera files (src/io/image-cache.ts): `KPUSIM_CACHE_DIR` points into it, never to the user's
 *   cache.
 * Test files and the processes they start inherit these variables from here.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'kpusim-test-'));
  const tmp = join(root, 'tmp');
  const cache = join(root, 'cache');
  mkdirSync(tmp);
  mkdirSync(cache);
  process.env.TMPDIR = tmp;
  process.env.TMP = tmp;
  process.env.TEMP = tmp;
  process.env.KPUSIM_CACHE_DIR = cache;
  return () => rmSync(root, { recursive: true, force: true });
}
