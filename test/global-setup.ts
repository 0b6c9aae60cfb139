/**
 * The suite keeps decoded camera files (src/io/image-cache.ts) in a cache of its own, never in the
 * user's: every test file and every kpusim process a test starts inherits `KPUSIM_CACHE_DIR` from here.
 * The folder is removed when the run ends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'kpusim-test-cache-'));
  process.env.KPUSIM_CACHE_DIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
