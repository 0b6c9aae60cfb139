/**
 * The README's first command (`npm start` = `kpusim face demo`) on a clone with nothing beside
 * it: the bundled models enrol one person and recognise her in other views without taking
 * another person for her.
 */
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { main } from '../src/cli/main.js';
import type { Io } from '../src/cli/common.js';
import { REPO_ROOT } from './shared.js';

describe.skipIf(!existsSync(join(REPO_ROOT, 'models/manifest.json')))('kpusim face demo (bundled models)', () => {
  test('enrols, recognises the other views, rejects the other person, writes PNGs', async () => {
    const out = mkdtempSync(join(tmpdir(), 'kpusim-demo-'));
    let stdout = '';
    const io: Io = { out: (t) => (stdout += t), err: () => undefined, errIsTty: false };
    const code = await main(['face', 'demo', '--out', out, '--json'], io);
    const doc = JSON.parse(stdout);
    expect(code).toBe(0);
    expect(doc.ok).toBe(true);
    const rec = doc.frames.filter((f: { step: string }) => f.step === 'recognize');
    expect(
      rec.filter((f: { expect: string | null }) => f.expect === 'Grace Hopper').map((f: { got: string }) => f.got),
    ).toEqual(['Grace Hopper', 'Grace Hopper']);
    expect(rec.find((f: { expect: string | null }) => f.expect === null).got).toBeNull();
    for (const f of doc.frames) expect(f.timing.board_ms).toBeGreaterThan(0);
    expect(readdirSync(out).filter((f) => f.endsWith('.png'))).toHaveLength(4);
  });
});
