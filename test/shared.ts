/**
 * Where the shared test data lives (../shared beside the checkout). Tests that need it use
 * `describe.skipIf(!HAS_SHARED)` with SHARED_SKIP_REASON, so a user's clone skips them with one line.
 */
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
