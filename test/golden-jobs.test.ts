/**
 * `kpusim golden check --jobs N` checks cases on worker threads and must print exactly what
 * `--jobs 1` prints, in the same order, with the same exit code: here over cases that pass, one
 * whose output was changed (different, with its diverging layer) and one with a broken case.json
 * (malformed). Workers run the compiled package, so this drives the built binary (needs dist/).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { main } from '../src/cli/main.js';
import { Lcg } from './lcg.js';
import { REPO_ROOT } from './shared.js';

const HAS_DIST = existsSync(join(REPO_ROOT, 'dist/cli/golden-worker.js'));
const MODEL = join(REPO_ROOT, 'models/face_landmarks5_128.kmodel');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const kpusim = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/kpusim.js'), ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe.skipIf(!HAS_DIST)('golden check --jobs (needs dist/: npm run build)', () => {
  let dir: string;
  let cases: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kpusim-jobs-'));
    const inputs = join(dir, 'inputs');
    cases = join(dir, 'cases');
    const lcg = new Lcg(18);
    mkdirSync(inputs);
    for (let i = 0; i < 5; i++) writeFileSync(join(inputs, `random_${i}.bin`), lcg.bytes(3 * 128 * 128));
    const rec = kpusim('golden', 'record', MODEL, '--inputs', inputs, '--out', cases);
    expect(rec.code, rec.err).toBe(0);
    const names = readdirSync(cases).sort();
    expect(names.length).toBe(5);
    // One case's output changed (different), one case.json broken (malformed).
    const out = join(cases, names[1], 'output_0.bin');
    const b = readFileSync(out);
    const before = sha256(b);
    b[3] ^= 0x40;
    writeFileSync(out, b);
    // case.json records every file's sha256: record the changed output's, so the case is checked (and differs).
    const json = join(cases, names[1], 'case.json');
    writeFileSync(json, readFileSync(json, 'utf8').replace(before, sha256(b)));
    writeFileSync(join(cases, names[3], 'case.json'), '{');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('--jobs 3 prints what --jobs 1 prints, JSON and text, with the same exit code', () => {
    for (const form of [['--json'], []]) {
      const one = kpusim('golden', 'check', MODEL, cases, '--jobs', '1', ...form);
      const three = kpusim('golden', 'check', MODEL, cases, '--jobs', '3', ...form);
      expect(one.code).toBe(2); // a malformed case
      expect(three.code).toBe(one.code);
      expect(three.out).toBe(one.out);
      expect(three.err).toBe(one.err);
    }
    const doc = JSON.parse(kpusim('golden', 'check', MODEL, cases, '--json').out) as {
      passed: number;
      failed: number;
      malformed: number;
      cases: { case: string; status: string }[];
    };
    expect([doc.passed, doc.failed, doc.malformed]).toEqual([3, 1, 1]);
    expect(doc.cases.map((c) => c.case)).toEqual(readdirSync(cases).sort());
  });
});

test('--jobs takes a whole number of at least 1 (a usage error, nothing run)', async () => {
  for (const bad of ['0', '1.5', '-2', 'many']) {
    let out = '';
    let err = '';
    const code = await main(['golden', 'check', MODEL, 'no-such-dir', '--jobs', bad], {
      out: (t) => (out += t),
      err: (t) => (err += t),
      errIsTty: false,
    });
    expect(code, bad).toBe(2);
    expect(out).toBe('');
    expect(err, bad).toMatch(/^kpusim: .*jobs/);
  }
});
