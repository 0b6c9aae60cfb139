/**
 * The CLI loads a command's implementation only when that command runs: the top-level table in
 * src/cli/commands.ts carries each command's name and description, which must be the module's
 * own; `--version` prints package.json's version; and the real binary's `--version` and `info`
 * load none of the heavy modules (TensorFlow.js, MicroPython, the builder, serial ports, PNG and
 * JPEG codecs), seen through a module loader hook in a child process (and, for the bundle the
 * binary runs, the modules named inside each file it loads).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import type { Io } from '../src/cli/common.js';
import { COMMANDS } from '../src/cli/commands.js';
import { main } from '../src/cli/main.js';
import { REPO_ROOT } from './shared.js';

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const HAS_DIST = existsSync(join(REPO_ROOT, 'dist/cli/main.js'));
const MODEL = join(REPO_ROOT, 'models/face_landmarks5_128.kmodel');

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => (out += t), err: (t) => (err += t), errIsTty: false };
  const code = await main(argv, io);
  return { code, out, err };
}

test('the command table names each command as its module does', async () => {
  for (const entry of COMMANDS) {
    const c = await entry.load();
    expect(c.command, entry.command).toBe(entry.command);
    expect(c.describe, entry.command).toBe(entry.describe);
  }
});

test('--version prints the package version, alone or after a command', async () => {
  expect(await cli('--version')).toEqual({ code: 0, out: `${VERSION}\n`, err: '' });
  expect(await cli('info', '--version')).toEqual({ code: 0, out: `${VERSION}\n`, err: '' });
  const help = await cli('--help');
  expect(help.code).toBe(0);
  expect(help.out).toMatch(/--version\s+Show version number/);
});

describe.skipIf(!HAS_DIST)('the built binary (needs dist/: npm run build)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kpusim-lazy-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // Records every file URL the ESM loader loads, one per line on stderr.
  writeFileSync(
    join(dir, 'hook.mjs'),
    "export async function load(url, ctx, next) { if (url.startsWith('file:')) process.stderr.write('LOADED ' + url + '\\n'); return next(url, ctx); }\n",
  );
  writeFileSync(
    join(dir, 'register.mjs'),
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hook.mjs')).href)});\n`,
  );
  /**
   * The binary runs the bundle in dist/bin/ (scripts/build-cli.mjs): a file there stands for the
   * modules bundled into it, which esbuild names in a `// path` line before each one's code.
   */
  const bundled = (url: string): string[] => {
    if (!url.includes('/dist/bin/')) return [url];
    const text = readFileSync(new URL(url), 'utf8');
    const modules = [...text.matchAll(/^\/\/ ((?:dist|node_modules)\/\S+)$/gm)].map((m) => m[1]);
    return [...new Set(modules)].map((m) => pathToFileURL(join(REPO_ROOT, m)).href);
  };
  const run = (...args: string[]) => {
    const r = spawnSync(
      process.execPath,
      ['--import', pathToFileURL(join(dir, 'register.mjs')).href, join(REPO_ROOT, 'bin/kpusim.js'), ...args],
      { encoding: 'utf8' },
    );
    const files = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('LOADED '))
      .map((l) => l.slice(7));
    return { code: r.status, out: r.stdout, loaded: files.flatMap(bundled) };
  };
  const HEAVY = [
    '@tensorflow',
    '@micropython',
    'serialport',
    '@serialport',
    'pngjs',
    'jpeg-js',
    '/dist/builder/',
    '/dist/maixpy/',
    '/dist/hil/',
  ];
  const heavy = (loaded: string[]) =>
    loaded.filter((u) => HEAVY.some((h) => u.includes(h) && !u.endsWith('/hil/errors.js')));

  test('--version loads neither the parser nor any command', () => {
    const r = run('--version');
    expect(r.code).toBe(0);
    expect(r.out).toBe(`${VERSION}\n`);
    expect(r.loaded.filter((u) => u.includes('/node_modules/'))).toEqual([]);
    expect(
      r.loaded.filter((u) => u.includes('/dist/cli/') && !/\/(main|commands|common|command)\.js$/.test(u)),
    ).toEqual([]);
  });

  test('info works and loads only what it needs', () => {
    const r = run('info', MODEL, '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as { schema_version: number; version: number; layers: unknown[] };
    expect(doc.schema_version).toBe(1);
    expect(doc.version).toBe(3);
    expect(doc.layers.length).toBeGreaterThan(0);
    expect(r.loaded.some((u) => u.endsWith('/dist/cli/info.js'))).toBe(true);
    expect(heavy(r.loaded)).toEqual([]);
    expect(r.loaded.filter((u) => /\/dist\/cli\/(run|golden|face|maixpy|compare|build|board)\.js$/.test(u))).toEqual(
      [],
    );
  });
});
