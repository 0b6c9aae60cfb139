/**
 * The command line's script and its V8 code cache (src/cli/script-loader.ts): a cache file is used only
 * when it was made for this Node, this architecture and this exact script, and is whole; any other one
 * (missing, made for another Node or another script, truncated, a bit flipped, or rejected by V8: its own
 * checks, other V8 flags) is not used, and the command line runs the same, only compiled from its text.
 */
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cacheKey, decodeCache, encodeCache } from '../src/cli/script-loader.js';
import { REPO_ROOT } from './shared.js';

const SCRIPT = join(REPO_ROOT, 'dist/bin/cli.js');
const BUILD_CACHE = join(REPO_ROOT, 'dist/bin/cli.cache');
const MODEL = join(REPO_ROOT, 'models/face_landmarks5_128.kmodel');
const dir = mkdtempSync(join(tmpdir(), 'kpusim-loader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const flipBit = (b: Buffer, at: number): Buffer => {
  const c = Buffer.from(b);
  c[at] ^= 0x10;
  return c;
};

describe('the cache file', () => {
  const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) & 255));
  const key = cacheKey(Buffer.from('some script'));
  const file = encodeCache(key, data);

  test('gives back its data for its own key only', () => {
    expect(decodeCache(file, key)).toEqual(data);
    expect(decodeCache(file, cacheKey(Buffer.from('some script!')))).toBeUndefined();
    expect(decodeCache(file, key.replace(process.version, 'v20.0.0'))).toBeUndefined();
    expect(cacheKey(Buffer.from('a'))).not.toBe(cacheKey(Buffer.from('b')));
    expect(cacheKey(Buffer.from('a'))).toContain(process.version);
  });

  test('is not used when truncated or any byte of it changed', () => {
    for (let n = 0; n < file.length; n += 37)
      expect(decodeCache(file.subarray(0, n), key), `${n} bytes`).toBeUndefined();
    expect(decodeCache(file.subarray(0, file.length - 1), key)).toBeUndefined();
    for (let at = 0; at < file.length; at += 13)
      expect(decodeCache(flipBit(file, at), key), `byte ${at}`).toBeUndefined();
    expect(decodeCache(Buffer.concat([file, Buffer.from([0])]), key)).toBeUndefined();
    expect(decodeCache(Buffer.alloc(0), key)).toBeUndefined();
  });
});

/**
 * A copy of the built command line (bin/kpusim.js, the script, its loader, package.json and the packages)
 * in which each test puts its own cache file: the binary's runs are child processes, as V8 would otherwise
 * find the script already compiled in its own isolate.
 */
describe.skipIf(!existsSync(SCRIPT) || !existsSync(BUILD_CACHE))('the binary with each kind of cache', () => {
  const copy = mkdtempSync(join(dir, 'pkg-'));
  for (const d of ['bin', 'dist/bin', 'dist/cli']) mkdirSync(join(copy, d), { recursive: true });
  for (const f of ['bin/kpusim.js', 'dist/cli/script-loader.js', 'dist/bin/cli.js', 'package.json'])
    copyFileSync(join(REPO_ROOT, f), join(copy, f));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(copy, 'node_modules'));
  const build = readFileSync(BUILD_CACHE);
  const key = cacheKey(readFileSync(SCRIPT));
  const hello = join(dir, 'hello.py');
  writeFileSync(hello, 'import sys\nprint("hello", sys.implementation.name)\n');
  const COMMANDS = [
    ['info', MODEL, '--json'],
    ['maixpy', hello],
    ['info', join(dir, 'nope.kmodel')],
  ];
  /** A child process of Node to its end, without holding up the test worker (vitest's RPC deadline). */
  const node = (args: string[]) =>
    new Promise<{ code: number | null; out: string; err: string }>((res) => {
      const child = spawn(process.execPath, args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, KPUSIM_TRACE: '1' },
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (err += b.toString()));
      child.once('close', (code) => res({ code, out, err }));
    });
  /** Each command's exit code, output and messages (the trace apart), and how the cache was used (the trace). */
  const runAll = async (cache: Uint8Array | undefined, flags: string[] = [], commands = COMMANDS) => {
    const file = join(copy, 'dist/bin/cli.cache');
    rmSync(file, { force: true });
    if (cache) writeFileSync(file, cache);
    const uses = new Set<string>();
    const runs = [];
    for (const argv of commands) {
      const r = await node([...flags, join(copy, 'bin/kpusim.js'), ...argv]);
      for (const m of r.err.matchAll(/^kpusim trace: .* ms command line loaded \(code cache (\w+)\)$/gm))
        uses.add(m[1]);
      // the trace's times differ from run to run
      const err = r.err.replace(/^kpusim trace: .*\n/gm, '');
      runs.push({ code: r.code, out: r.out, err: err.replace(/emulator \d+(\.\d+)? s/g, 'emulator T s') });
    }
    // a run writes no file (a read-only install runs the same)
    if (cache) expect(readFileSync(file)).toEqual(Buffer.from(cache));
    else expect(existsSync(file)).toBe(false);
    return { uses: [...uses], runs };
  };
  let want: Awaited<ReturnType<typeof runAll>>;
  beforeAll(async () => {
    want = await runAll(build);
  }, 120_000);

  test('the build made a cache for this script and this Node, and V8 takes it', () => {
    expect(decodeCache(build, key)).toBeDefined();
    expect(want.uses).toEqual(['used']);
    expect(want.runs.map((r) => r.code)).toEqual([0, 0, 2]);
    expect(want.runs[1].out).toBe('hello micropython\n');
  });

  test('without a usable cache the commands run the same', { timeout: 300_000 }, async () => {
    const nl = build.indexOf(10);
    const data = decodeCache(build, key)!;
    // V8's data for another script, under this script's key: V8 rejects it
    const other = new Script('(function () { return 1; })').createCachedData();
    const cases: [string, Uint8Array | undefined, string][] = [
      ['missing', undefined, 'none'],
      ['another Node', encodeCache(key.replace(process.version, 'v99.0.0'), data), 'none'],
      ['another script', encodeCache(cacheKey(Buffer.from('x')), data), 'none'],
      ['truncated', build.subarray(0, nl + 1 + (data.length >> 1)), 'none'],
      ['a bit flipped in the payload', flipBit(build, nl + 1 + (data.length >> 1)), 'none'],
      ['a bit flipped in the header', flipBit(build, nl >> 1), 'none'],
      ['rejected by V8', encodeCache(key, other), 'rejected'],
    ];
    // MicroPython (a package the script imports) in two of them, info in each
    const info = [COMMANDS[0], COMMANDS[2]];
    for (const [what, cache, use] of cases) {
      const all = what === 'missing' || what === 'rejected by V8';
      const r = await runAll(cache, [], all ? COMMANDS : info);
      expect(r, what).toEqual({ uses: [use], runs: all ? want.runs : [want.runs[0], want.runs[2]] });
    }
  });

  test('with other V8 flags V8 rejects the cache and the commands run the same', { timeout: 120_000 }, async () => {
    expect(await runAll(build, ['--stack-size=2000'])).toEqual({ uses: ['rejected'], runs: want.runs });
  });

  test('a script changed after its cache was made is compiled from its new text', { timeout: 60_000 }, async () => {
    // the same length (V8 itself checks only that): the text of an error message changed
    const text = readFileSync(SCRIPT, 'latin1');
    const edited = text.replaceAll('`kpusim: ${message}', '`KPUSIM: ${message}');
    expect(edited.length).toBe(text.length);
    expect(edited).not.toBe(text);
    writeFileSync(join(copy, 'dist/bin/cli.js'), edited, 'latin1');
    try {
      const r = await runAll(build, [], COMMANDS.slice(2));
      expect(r.uses).toEqual(['none']);
      expect(r.runs).toEqual([{ ...want.runs[2], err: want.runs[2].err.replace(/^kpusim: /m, 'KPUSIM: ') }]);
      expect(r.runs[0].err).toMatch(/^KPUSIM: /m);
    } finally {
      copyFileSync(SCRIPT, join(copy, 'dist/bin/cli.js'));
    }
  });
});
