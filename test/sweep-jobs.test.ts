/**
 * Sweeps on worker threads (`--jobs N`: golden check and record, run --inputs, face detect and
 * recognize, compare --dataset) must print and write exactly what `--jobs 1` does, in the same
 * order, with the same exit code. KPUSIM_SWEEP_WORKERS_FIRST=1 keeps the command's own thread off
 * the queue while workers start, so the workers, not that thread, do the items here. Workers run
 * the compiled package, so this drives the built binary (needs dist/).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { main } from '../src/cli/main.js';
import { Lcg } from './lcg.js';
import { REPO_ROOT, runKpusim } from './shared.js';

const HAS_DIST = existsSync(join(REPO_ROOT, 'dist/cli/sweep-worker.js'));
const MODEL = join(REPO_ROOT, 'models/face_landmarks5_128.kmodel');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const kpusim = async (...args: string[]) => {
  const r = await runKpusim(args, 300_000, { KPUSIM_SWEEP_WORKERS_FIRST: '1' });
  return { code: r.code, out: r.out.toString('utf8'), err: r.err };
};

describe.skipIf(!HAS_DIST)('golden record and check --jobs (needs dist/: npm run build)', () => {
  let dir: string;
  let cases: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kpusim-jobs-'));
    const inputs = join(dir, 'inputs');
    cases = join(dir, 'cases');
    const lcg = new Lcg(18);
    mkdirSync(inputs);
    for (let i = 0; i < 5; i++) writeFileSync(join(inputs, `random_${i}.bin`), lcg.bytes(3 * 128 * 128));
    const rec = await kpusim('golden', 'record', MODEL, '--inputs', inputs, '--out', cases, '--jobs', '3');
    expect(rec.code, rec.err).toBe(0);
    // The same cases recorded in one thread: the same files, byte for byte.
    const one = join(dir, 'cases-1');
    expect((await kpusim('golden', 'record', MODEL, '--inputs', inputs, '--out', one, '--jobs', '1')).code).toBe(0);
    for (const c of readdirSync(one))
      for (const f of readdirSync(join(one, c)))
        expect(sha256(readFileSync(join(cases, c, f))), `${c}/${f}`).toBe(sha256(readFileSync(join(one, c, f))));
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

  test('--jobs 3 prints what --jobs 1 prints, JSON and text, with the same exit code', async () => {
    for (const form of [['--json'], []]) {
      const one = await kpusim('golden', 'check', MODEL, cases, '--jobs', '1', ...form);
      const three = await kpusim('golden', 'check', MODEL, cases, '--jobs', '3', ...form);
      expect(one.code).toBe(2); // a malformed case
      expect(three.code).toBe(one.code);
      expect(three.out).toBe(one.out);
      expect(three.err).toBe(one.err);
    }
    const doc = JSON.parse((await kpusim('golden', 'check', MODEL, cases, '--json')).out) as {
      passed: number;
      failed: number;
      malformed: number;
      cases: { case: string; status: string }[];
    };
    expect([doc.passed, doc.failed, doc.malformed]).toEqual([3, 1, 1]);
    expect(doc.cases.map((c) => c.case)).toEqual(readdirSync(cases).sort());
  });

  test('the workers run every case themselves (none handed back), with the modules this thread compiled', async () => {
    // A worker that cannot run a case hands it back and this thread gives the same report, so the
    // report alone cannot tell; KPUSIM_SWEEP_STATS=1 says where each case ran.
    for (const jobs of ['2', '3']) {
      const r = await runKpusim(['golden', 'check', MODEL, cases, '--jobs', jobs], 300_000, {
        KPUSIM_SWEEP_WORKERS_FIRST: '1',
        KPUSIM_SWEEP_STATS: '1',
      });
      expect(r.code).toBe(2);
      expect(r.err).toContain('kpusim: sweep of 5 items: 0 in this thread (0 handed back), 5 in workers\n');
    }
  });
});

describe.skipIf(!HAS_DIST)('golden check --jobs 2 as a user runs it (needs dist/: npm run build)', () => {
  // Without KPUSIM_SWEEP_WORKERS_FIRST: this thread works from the start, and at the end of the
  // queue takes back cases the worker holds but has not started; each case is still checked once.
  test('the same report as --jobs 1, cases in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kpusim-jobs-steal-'));
    try {
      const inputs = join(dir, 'inputs');
      const cases = join(dir, 'cases');
      mkdirSync(inputs);
      const lcg = new Lcg(7);
      for (let i = 0; i < 40; i++)
        writeFileSync(join(inputs, `frame_${String(i).padStart(2, '0')}.bin`), lcg.bytes(3 * 128 * 128));
      const plain = async (...args: string[]) => {
        const r = await runKpusim(args, 300_000);
        return { code: r.code, out: r.out.toString('utf8'), err: r.err };
      };
      expect((await plain('golden', 'record', MODEL, '--inputs', inputs, '--out', cases, '--jobs', '1')).code).toBe(0);
      const one = await plain('golden', 'check', MODEL, cases, '--jobs', '1', '--json');
      const two = await plain('golden', 'check', MODEL, cases, '--jobs', '2', '--json');
      expect(one.code).toBe(0);
      expect(two.code).toBe(0);
      expect(two.out).toBe(one.out);
      const doc = JSON.parse(two.out) as { passed: number; cases: { case: string }[] };
      expect(doc.passed).toBe(40);
      expect(doc.cases.map((c) => c.case)).toEqual(readdirSync(cases).sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!HAS_DIST)('run --inputs, face and compare --dataset with --jobs (needs dist/: npm run build)', () => {
  let dir: string;
  let images: string;
  const IMAGES = join(REPO_ROOT, 'examples/images');
  // Names that differ only in the run's own folder, and the emulator's own (PC) times, are all that may differ.
  const same = (a: string, b: string, dirA: string, dirB: string) =>
    expect(
      a
        .split(dirA)
        .join('OUT')
        .replace(/"(\w+_ms|emulator_ms)": [\d.]+/g, '"$1": T'),
    ).toBe(
      b
        .split(dirB)
        .join('OUT')
        .replace(/"(\w+_ms|emulator_ms)": [\d.]+/g, '"$1": T'),
    );
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kpusim-jobs-'));
    images = join(dir, 'images');
    mkdirSync(images);
    for (const f of readdirSync(IMAGES).filter((f) => /\.(png|jpe?g)$/.test(f)))
      writeFileSync(join(images, f), readFileSync(join(IMAGES, f)));
    writeFileSync(join(images, 'zz_copy.jpg'), readFileSync(join(IMAGES, 'grace_hopper.jpg')));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('run --inputs: the same outputs and outputs.json as --jobs 1, each input in its own folder', async () => {
    const outs: { out: string; doc: string }[] = [];
    for (const j of ['1', '3']) {
      const out = join(dir, `run-${j}`);
      const r = await kpusim('run', MODEL, '--inputs', images, '--out', out, '--jobs', j, '--json');
      expect(r.code, r.err).toBe(0);
      outs.push({ out, doc: r.out });
    }
    same(outs[0].doc, outs[1].doc, outs[0].out, outs[1].out);
    const doc = JSON.parse(outs[1].doc) as { runs: { name: string; out: string; outputs: { file: string }[] }[] };
    expect(doc.runs.map((r) => r.name)).toEqual(['astronaut', 'camera', 'grace_hopper', 'zz_copy']);
    for (const r of doc.runs) {
      const one = readFileSync(join(outs[0].out, r.name, 'output_0.bin'));
      expect(sha256(readFileSync(join(r.out, 'output_0.bin'))), r.name).toBe(sha256(one));
    }
    // The copy of grace_hopper gives grace_hopper's outputs.
    expect(sha256(readFileSync(join(outs[1].out, 'zz_copy/output_0.bin')))).toBe(
      sha256(readFileSync(join(outs[1].out, 'grace_hopper/output_0.bin'))),
    );
    // One --input run gives what the sweep gave for that input.
    const single = join(dir, 'run-single');
    expect((await kpusim('run', MODEL, '--input', join(images, 'camera.png'), '--out', single)).code).toBe(0);
    expect(sha256(readFileSync(join(single, 'output_0.bin')))).toBe(
      sha256(readFileSync(join(outs[1].out, 'camera/output_0.bin'))),
    );
  });

  test('run: --input and --inputs together, or --trace with --inputs, is a usage error', async () => {
    const out = join(dir, 'never');
    for (const args of [
      ['--input', join(images, 'camera.png'), '--inputs', images],
      ['--inputs', images, '--trace', join(dir, 't.txt')],
      [],
    ]) {
      const r = await kpusim('run', MODEL, ...args, '--out', out);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.out).toBe('');
    }
    expect(existsSync(out)).toBe(false);
  });

  test('face recognize --jobs: the same matches and annotated pictures as --jobs 1', async () => {
    const db = join(dir, 'db.json');
    const enrol = await kpusim(
      'face',
      'enroll',
      '--preset',
      'bundled',
      join(IMAGES, 'grace_hopper.jpg'),
      '--db',
      db,
      '--name',
      'grace',
    );
    expect(enrol.code, enrol.err).toBe(0);
    const files = readdirSync(images).map((f) => join(images, f));
    const runs: { r: Awaited<ReturnType<typeof kpusim>>; out: string }[] = [];
    for (const j of ['1', '2']) {
      const out = join(dir, `face-${j}`);
      const r = await kpusim(
        'face',
        'recognize',
        '--preset',
        'bundled',
        ...files,
        '--db',
        db,
        '--out',
        out,
        '--jobs',
        j,
        '--json',
      );
      runs.push({ r, out });
    }
    expect(runs[0].r.code, runs[0].r.err).toBe(0);
    expect(runs[1].r.code, runs[1].r.err).toBe(0);
    same(runs[0].r.out, runs[1].r.out, runs[0].out, runs[1].out);
    for (const f of readdirSync(runs[0].out))
      expect(sha256(readFileSync(join(runs[1].out, f))), f).toBe(sha256(readFileSync(join(runs[0].out, f))));
    const doc = JSON.parse(runs[1].r.out) as { images: { faces: { name: string | null }[] }[] };
    expect(doc.images.map((i) => i.faces.map((f) => f.name))).toEqual([[null], [null], ['grace'], ['grace']]);
  });

  test('compare --dataset --jobs: the same per-image comparison as --jobs 1', async () => {
    // Two images: the float reference costs seconds per image.
    const small = join(dir, 'small');
    mkdirSync(small);
    for (const f of ['camera.png', 'grace_hopper.jpg']) writeFileSync(join(small, f), readFileSync(join(images, f)));
    const one = await kpusim('compare', MODEL, '--dataset', small, '--jobs', '1', '--json');
    const two = await kpusim('compare', MODEL, '--dataset', small, '--jobs', '2', '--json');
    expect(one.code, one.err).toBe(0);
    expect(two.code).toBe(one.code);
    expect(two.out).toBe(one.out);
    expect((JSON.parse(two.out) as { inputs: unknown[] }).inputs).toHaveLength(2);
  });
});

test.skipIf(!HAS_DIST)(
  'golden check --jobs 2: a missing model is reported before a missing folder of cases',
  async () => {
    // The workers of a check start before this thread loads the model; its errors keep their order.
    const missing = join(tmpdir(), 'kpusim-no-such-model.kmodel');
    const empty = mkdtempSync(join(tmpdir(), 'kpusim-jobs-empty-'));
    try {
      for (const jobs of ['1', '2']) {
        const both = await runKpusim(['golden', 'check', missing, join(empty, 'none'), '--jobs', jobs]);
        expect(both.code).toBe(2);
        expect(both.err).toBe(`kpusim: ${missing}: no such file\n`);
        const noCases = await runKpusim(['golden', 'check', MODEL, empty, '--jobs', jobs]);
        expect(noCases.code).toBe(2);
        expect(noCases.err).toBe(`kpusim: ${empty}: no golden cases (folders with input.bin)\n`);
      }
      // Cases there (so a worker starts, and fails to load the model): the same error, and the command ends.
      const cases = join(empty, 'cases');
      for (const c of ['a', 'b']) {
        mkdirSync(join(cases, c), { recursive: true });
        writeFileSync(join(cases, c, 'input.bin'), new Uint8Array(4));
      }
      const bad = await runKpusim(['golden', 'check', missing, cases, '--jobs', '2']);
      expect(bad.code).toBe(2);
      expect(bad.err).toBe(`kpusim: ${missing}: no such file\n`);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  },
);

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
