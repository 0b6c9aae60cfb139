/**
 * The one reader for user files (src/io/read-file.ts): only regular files, read with a cap per
 * purpose, never an allocation sized by what the file system or the file claims.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { UsageError } from '../src/errors.js';
import { FILE_CAPS, readUserFile, readUserText } from '../src/io/read-file.js';
import { buildV3, tinyModel } from './fixtures/v3-builder.js';
import { REPO_ROOT } from './shared.js';
import { thrown } from './fixtures/thrown.js';

let dir: string;
let fifo: string | undefined;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kpusim-read-'));
  const p = join(dir, 'pipe');
  // A FIFO nobody writes to: opening it for reading without O_NONBLOCK would wait forever.
  const r = spawnSync('mkfifo', [p]);
  if (r.status === 0) fifo = p;
});

const refusal = (fn: () => unknown): UsageError => thrown(fn, UsageError);

describe('readUserFile', () => {
  test('reads a regular file whole', () => {
    const f = join(dir, 'a.bin');
    writeFileSync(f, Uint8Array.from([1, 2, 3]));
    expect(Array.from(readUserFile(f, { maxBytes: 3, what: 'a tensor' }))).toEqual([1, 2, 3]);
  });

  test('a file over the cap is refused, naming the cap and the purpose', () => {
    const f = join(dir, 'b.bin');
    writeFileSync(f, new Uint8Array(100));
    const e = refusal(() => readUserFile(f, { maxBytes: 99, what: 'a tensor' }));
    expect(e.code).toBe('TOO_LARGE');
    expect(e.message).toContain(f);
    expect(e.message).toMatch(/99 bytes/);
    expect(e.message).toMatch(/a tensor/);
  });

  test('a directory is refused', () => {
    const d = join(dir, 'sub');
    mkdirSync(d);
    const e = refusal(() => readUserFile(d, FILE_CAPS.kmodel));
    expect(e.code).toBe('NOT_A_FILE');
    expect(e.message).toMatch(/is a directory/);
  });

  test.skipIf(!existsSync('/dev/zero'))('a character device (/dev/zero) is refused at once', () => {
    const e = refusal(() => readUserFile('/dev/zero', FILE_CAPS.kmodel));
    expect(e.code).toBe('NOT_A_FILE');
    expect(e.message).toMatch(/\/dev\/zero: is a character device/);
  });

  test.skipIf(!existsSync('/dev/zero'))('a link to a device is refused too', () => {
    const l = join(dir, 'zero.kmodel');
    symlinkSync('/dev/zero', l);
    expect(refusal(() => readUserFile(l, FILE_CAPS.kmodel)).code).toBe('NOT_A_FILE');
  });

  test('a FIFO is refused without waiting for a writer', () => {
    if (!fifo) return; // mkfifo missing: nothing to try
    const e = refusal(() => readUserFile(fifo!, FILE_CAPS.kmodel));
    expect(e.code).toBe('NOT_A_FILE');
    expect(e.message).toMatch(/FIFO/);
  });

  test('a missing file is NOT_FOUND', () => {
    expect(refusal(() => readUserFile(join(dir, 'nope'), FILE_CAPS.kmodel)).code).toBe('NOT_FOUND');
  });

  test('readUserText decodes UTF-8 and keeps the cap', () => {
    const f = join(dir, 't.json');
    writeFileSync(f, '{"a":"é"}');
    expect(readUserText(f, FILE_CAPS.json)).toBe('{"a":"é"}');
    expect(refusal(() => readUserText(f, { maxBytes: 4, what: 'a JSON file' })).code).toBe('TOO_LARGE');
  });
});

/** Runs the built CLI in a child with a small heap: it must end, with exit 2 and one line. */
function kpusim(...argv: string[]): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, ['--max-old-space-size=256', join(REPO_ROOT, 'bin/kpusim.js'), ...argv], {
    encoding: 'utf8',
    timeout: 60_000,
    killSignal: 'SIGKILL',
  });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe.skipIf(!existsSync(join(REPO_ROOT, 'dist/cli/main.js')) || !existsSync('/dev/zero'))(
  'commands given /dev/zero (a file that never ends)',
  () => {
    let model: string;
    let script: string;
    let goldenCase: string;
    beforeAll(() => {
      model = join(dir, 'tiny.kmodel');
      writeFileSync(model, buildV3(tinyModel()));
      script = join(dir, 'hello.py');
      writeFileSync(script, 'print(1)\n');
      goldenCase = join(dir, 'cases');
      mkdirSync(join(goldenCase, 'c1'), { recursive: true });
      symlinkSync('/dev/zero', join(goldenCase, 'c1', 'input.bin'));
      symlinkSync('/dev/zero', join(dir, 'zero.kfpkg'));
    });
    const cases: [string, () => string[]][] = [
      ['info', () => ['info', '/dev/zero']],
      ['run --input', () => ['run', model, '--input', '/dev/zero', '--out', join(dir, 'out-z')]],
      ['profile', () => ['profile', '/dev/zero']],
      ['face detect', () => ['face', 'detect', '/dev/zero', '--preset', 'bundled']],
      [
        'face enroll --db',
        () => [
          'face',
          'enroll',
          join(REPO_ROOT, 'examples/images/astronaut.jpg'),
          '--name',
          'x',
          '--db',
          '/dev/zero',
          '--preset',
          'bundled',
        ],
      ],
      ['info of a package', () => ['info', join(dir, 'zero.kfpkg')]],
      ['golden check (a case file linked to /dev/zero)', () => ['golden', 'check', model, goldenCase]],
      ['maixpy script', () => ['maixpy', '/dev/zero']],
      ['maixpy --flash', () => ['maixpy', script, '--flash', '0x300000=/dev/zero']],
      ['build config', () => ['build', '/dev/zero']],
    ];
    for (const [name, argv] of cases) {
      test(name, () => {
        const r = kpusim(...argv());
        expect(r.status).toBe(2);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        // golden check reports a malformed case in its report (stdout), the others on stderr
        expect(r.stderr + r.stdout).toMatch(/(zero|\.kfpkg|input\.bin): (is a character device, )?not a regular file/);
      });
    }
  },
);
