/**
 * A usage error has no effect at all: exit 2, one line on stderr, nothing on stdout, no file
 * written, no store changed. Every command's options are checked before its handler runs.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { main } from '../src/cli/main.js';
import type { Io } from '../src/cli/common.js';
import { buildV3, tinyModel } from './fixtures/v3-builder.js';
import { REPO_ROOT } from './shared.js';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => (out += t), err: (t) => (err += t), errIsTty: false };
  const code = await main(argv, io);
  return { code, out, err };
}

/** Exit 2, nothing on stdout, exactly one line on stderr, no stack trace, not an internal error. */
function expectUsageError(r: { code: number; out: string; err: string }, pattern?: RegExp): void {
  expect(r.out).toBe('');
  expect(r.err.trim().split('\n'), r.err).toHaveLength(1);
  expect(r.err).not.toMatch(/internal error/);
  expect(r.err).not.toMatch(/\n\s+at /);
  if (pattern) expect(r.err).toMatch(pattern);
  expect(r.code).toBe(2);
}

const IMAGE = join(REPO_ROOT, 'examples/images/grace_hopper.jpg');
let dir: string;
let model: string;
let input: string;
const startCwd = process.cwd();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kpusim-usage-'));
  model = join(dir, 'tiny.kmodel');
  writeFileSync(model, buildV3(tinyModel()));
  input = join(dir, 'in.bin');
  writeFileSync(input, Buffer.alloc(2 * 8 * 8, 7));
});
afterAll(() => process.chdir(startCwd));

/** Runs in an empty working folder and returns what was created there. */
async function inEmptyCwd(argv: string[]): Promise<{ r: Awaited<ReturnType<typeof cli>>; created: string[] }> {
  const cwd = mkdtempSync(join(dir, 'cwd-'));
  process.chdir(cwd);
  try {
    const r = await cli(...argv);
    return { r, created: readdirSync(cwd) };
  } finally {
    process.chdir(startCwd);
  }
}

describe('usage errors that used to act', () => {
  test('run --json without --out writes nothing (no ./undefined/) and prints no result', async () => {
    const { r, created } = await inEmptyCwd(['run', model, '--input', input, '--json']);
    expectUsageError(r, /out/);
    expect(created).toEqual([]);
  });

  test('face enroll with a misspelt option leaves a new store uncreated', async () => {
    const db = join(dir, 'new-store.json');
    const r = await cli('face', 'enroll', IMAGE, '--preset', 'bundled', '--db', db, '--name', 'a', '--nmae', 'x');
    expectUsageError(r, /nmae/);
    expect(existsSync(db)).toBe(false);
  });

  test('face enroll with a misspelt option leaves an existing store byte for byte', async () => {
    const db = join(dir, 'old-store.json');
    const text = '{"not": "even read"}\n';
    writeFileSync(db, text);
    const r = await cli('face', 'enroll', IMAGE, '--preset', 'bundled', '--db', db, '--name', 'a', '--nmae', 'x');
    expectUsageError(r, /nmae/);
    expect(readFileSync(db, 'utf8')).toBe(text);
  });

  test('estimate --kernel 5 is refused before computing', async () => {
    const r = await cli('estimate', 'conv', '--width', '8', '--height', '8', '--in-channels', '3', '--kernel', '5');
    expectUsageError(r, /kernel/);
  });

  test('run --out naming an existing file is a usage error, not an internal one', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const r = await cli('run', model, '--input', input, '--out', file);
    expectUsageError(r, /a-file/);
    expect(readFileSync(file, 'utf8')).toBe('x');
  });

  test('golden record without --inputs is a usage error, not an internal one', async () => {
    const out = join(dir, 'g-no-inputs');
    const r = await cli('golden', 'record', model, '--out', out);
    expectUsageError(r, /--inputs/);
    expect(existsSync(out)).toBe(false);
  });

  test('golden record without --out is a usage error', async () => {
    const r = await cli('golden', 'record', model, '--inputs', input);
    expectUsageError(r, /--out/);
  });
});

describe('every command refuses an unknown option before doing anything', () => {
  // Each vector is a valid call plus `--bogus-option`; `made` is the path the call would create.
  const cases: { name: string; argv: () => string[]; made?: () => string }[] = [
    { name: 'info', argv: () => ['info', model, '--json'] },
    { name: 'run', argv: () => ['run', model, '--input', input, '--out', join(dir, 'u-run')], made: () => 'u-run' },
    {
      name: 'golden record',
      argv: () => ['golden', 'record', model, '--inputs', input, '--out', join(dir, 'u-golden')],
      made: () => 'u-golden',
    },
    { name: 'golden check', argv: () => ['golden', 'check', model, join(REPO_ROOT, 'golden')] },
    {
      name: 'profile',
      argv: () => ['profile', model, '--csv', join(dir, 'u-profile.csv')],
      made: () => 'u-profile.csv',
    },
    { name: 'estimate', argv: () => ['estimate', 'conv', '--width', '8', '--height', '8', '--in-channels', '3'] },
    { name: 'check', argv: () => ['check', model, '--max-ms', '100'] },
    { name: 'compare', argv: () => ['compare', model, '--random', '1'] },
    {
      name: 'face detect',
      argv: () => ['face', 'detect', IMAGE, '--preset', 'bundled', '--out', join(dir, 'u-face')],
      made: () => 'u-face',
    },
    {
      name: 'face enroll',
      argv: () => ['face', 'enroll', IMAGE, '--preset', 'bundled', '--db', join(dir, 'u-db.json'), '--name', 'n'],
      made: () => 'u-db.json',
    },
    {
      name: 'face demo',
      argv: () => ['face', 'demo', '--out', join(dir, 'u-demo')],
      made: () => 'u-demo',
    },
    {
      name: 'maixpy',
      argv: () => {
        const script = join(dir, 'u.py');
        writeFileSync(script, 'print("ran")\n');
        return ['maixpy', script, '--lcd-out', join(dir, 'u-lcd')];
      },
      made: () => 'u-lcd',
    },
    {
      name: 'build',
      argv: () => ['build', 'bundled', '--out', join(dir, 'u-build'), '--no-evaluate', '--no-tfjs'],
      made: () => 'u-build',
    },
  ];
  for (const c of cases)
    test(c.name, async () => {
      const r = await cli(...c.argv(), '--bogus-option', '1');
      expectUsageError(r, /bogus-option/);
      if (c.made) expect(existsSync(join(dir, c.made()))).toBe(false);
    });

  test('a misspelt choice is refused (face --frame, run --decode, maixpy --camera-fit)', async () => {
    expectUsageError(await cli('face', 'detect', IMAGE, '--frame', 'squash'), /squash/);
    expectUsageError(await cli('run', model, '--input', input, '--out', join(dir, 'u-r2'), '--decode', 'ssd'), /ssd/);
    mkdirSync(join(dir, 'scripts'), { recursive: true });
    writeFileSync(join(dir, 'scripts', 'a.py'), 'print(1)\n');
    expectUsageError(await cli('maixpy', join(dir, 'scripts', 'a.py'), '--camera-fit', 'zoom'), /zoom/);
    expect(existsSync(join(dir, 'u-r2'))).toBe(false);
  });

  test('--help prints help on stdout and exits 0 without running the command', async () => {
    const out = join(dir, 'u-help');
    const r = await cli('run', model, '--input', input, '--out', out, '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--input/);
    expect(existsSync(out)).toBe(false);
  });
});
