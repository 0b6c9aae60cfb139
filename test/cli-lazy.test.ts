/**
 * The CLI loads a command's implementation only when that command runs: the top-level table in
 * src/cli/commands.ts carries each command's name and description, which must be the module's
 * own; `--version` prints package.json's version; and the real binary's `--version` and `info`
 * load none of the heavy modules (TensorFlow.js, MicroPython, the builder, serial ports, PNG and
 * JPEG codecs), seen through V8's coverage of a child process: the files Node loaded, and which of
 * the modules bundled into the command line's script (dist/bin/cli.js) it evaluated.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  const SCRIPT = join(REPO_ROOT, 'dist/bin/cli.js');
  /**
   * The binary runs the command line as one script (scripts/build-cli.mjs), in which esbuild puts each
   * module after a `// path` line; a module reached by an import() or require() is wrapped in a function
   * named by its path, called when it is first imported. The others run with the script.
   */
  const scriptModules = (): { always: string[]; wrapped: Set<string> } => {
    const text = readFileSync(SCRIPT, 'utf8');
    const wrapped = new Set([...text.matchAll(/^ {2}"((?:dist|node_modules)\/[^"]+)"\(/gm)].map((m) => m[1]));
    const all = [...new Set([...text.matchAll(/^\/\/ ((?:dist|node_modules)\/\S+)$/gm)].map((m) => m[1]))];
    return { always: all.filter((m) => !wrapped.has(m)), wrapped };
  };
  /**
   * The files a run loads and the script's modules it evaluates, from V8's coverage (NODE_V8_COVERAGE):
   * every script and module Node compiled, and the calls of each wrapper function.
   */
  const run = (...args: string[]) => {
    const cov = mkdtempSync(join(dir, 'cov-'));
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/kpusim.js'), ...args], {
      encoding: 'utf8',
      env: { ...process.env, NODE_V8_COVERAGE: cov },
    });
    type Coverage = {
      result: { url: string; functions: { functionName: string; ranges: { count: number }[] }[] }[];
    };
    const scripts = readdirSync(cov).flatMap(
      (f) => (JSON.parse(readFileSync(join(cov, f), 'utf8')) as Coverage).result,
    );
    const url = (m: string) => pathToFileURL(join(REPO_ROOT, m)).href;
    const loaded: string[] = [];
    for (const s of scripts) {
      if (!s.url.startsWith('file:') && !s.url.startsWith('/')) continue; // Node's own modules
      const file = s.url.startsWith('/') ? pathToFileURL(s.url).href : s.url;
      if (file !== pathToFileURL(SCRIPT).href) {
        loaded.push(file);
        continue;
      }
      const { always, wrapped } = scriptModules();
      const called = s.functions.filter((f) => wrapped.has(f.functionName) && f.ranges[0].count > 0);
      loaded.push(...always.map(url), ...called.map((f) => url(f.functionName)));
    }
    return { code: r.status, out: r.stdout, loaded };
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

  test('the script evaluates only the main module and what it imports statically', () => {
    const { always, wrapped } = scriptModules();
    expect(always.length).toBeGreaterThan(0);
    expect(wrapped.size).toBeGreaterThan(100);
    expect(always.filter((m) => !/^dist\/(cli\/(main|commands|common|command)|errors)\.js$/.test(m))).toEqual([]);
  });

  test('--version loads neither the command line nor the parser', () => {
    const r = run('--version');
    expect(r.code).toBe(0);
    expect(r.out).toBe(`${VERSION}\n`);
    expect(r.loaded).toEqual([pathToFileURL(join(REPO_ROOT, 'bin/kpusim.js')).href]);
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

  test('maixpy loads MicroPython and the MaixPy host, and not TensorFlow.js or the builder', () => {
    const s = join(dir, 'hello.py');
    writeFileSync(s, 'print("hello")\n');
    const r = run('maixpy', s);
    expect(r.code).toBe(0);
    expect(r.out).toBe('hello\n');
    expect(r.loaded.some((u) => u.includes('/@micropython/'))).toBe(true);
    expect(r.loaded.some((u) => u.endsWith('/dist/maixpy/host.js'))).toBe(true);
    expect(r.loaded.filter((u) => /@tensorflow|\/dist\/builder\/|serialport/.test(u))).toEqual([]);
  });
});
