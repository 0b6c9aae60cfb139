/**
 * How bin/kpusim.js starts the command line: the whole of it is one script (dist/bin/cli.js, built by
 * scripts/build-cli.mjs) run through `vm.Script` with a V8 code cache (dist/bin/cli.cache, made by a
 * training run in `npm run build`), so that Node neither parses nor compiles again the functions the
 * training run compiled. Node 20 keeps no compile cache for ES modules; compiling the command line's
 * modules was the largest part of its start (docs/architecture.md, the command line).
 *
 * The cache is only ever an optimisation: one whose header does not name this Node version, this
 * machine's architecture and this exact script (its SHA-1), whose payload is not whole (length and
 * SHA-1 in the header), or that V8 rejects (other V8 flags) is not used, and the script is compiled
 * from its text as without a cache. Nothing here writes a file except the training run
 * (`KPUSIM_CODE_CACHE_OUT`), so a read-only install runs the same.
 *
 * Inside the script, `import()` is `__kpusimImport` (a function of bin/kpusim.js): V8 does not keep
 * Node's dynamic-import hook on a script deserialized from a cache.
 */
import { isAscii } from 'node:buffer';
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Script } from 'node:vm';

/** The first word of a cache file's header line (a new layout gets a new number). */
const MAGIC = 'kpusim-code-cache/1';

/** The parameters the script's text is wrapped in (the names scripts/build-cli.mjs builds it for). */
const WRAP = '(function (exports, require, module, __filename, __dirname, __kpusimUrl, __kpusimImport) {';

const sha1 = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex');

/** What a cache must have been made for: this Node, this architecture, this script text. */
export function cacheKey(source: Uint8Array): string {
  return `${process.version} ${process.arch} ${sha1(source)}`;
}

/** A cache file: one header line (magic, key, payload length and SHA-1), then V8's cached data. */
export function encodeCache(key: string, data: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`${MAGIC} ${key} ${data.length} ${sha1(data)}\n`, 'latin1'), data]);
}

/** The V8 data of a cache file made for `key`, or undefined when it is for something else or damaged. */
export function decodeCache(file: Uint8Array, key: string): Buffer | undefined {
  const bytes = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  const nl = bytes.indexOf(10);
  if (nl < 0 || nl > 512) return undefined;
  const head = bytes.subarray(0, nl).toString('latin1');
  const want = `${MAGIC} ${key} `;
  if (!head.startsWith(want)) return undefined;
  const [length, sum, ...rest] = head.slice(want.length).split(' ');
  const data = bytes.subarray(nl + 1);
  if (rest.length !== 0 || String(data.length) !== length || sha1(data) !== sum) return undefined;
  return data;
}

/** Whether a run used the cache: `none` (missing, made for something else, damaged) or `rejected` by V8. */
export type CacheUse = 'used' | 'rejected' | 'none';

export interface LoadedScript {
  /** What the script's entry exports. */
  readonly exports: Record<string, unknown>;
  readonly cache: CacheUse;
}

export interface ScriptOptions {
  /** The cache file (need not exist). */
  readonly cacheFile: string;
  /** `import()` for the script: resolves as from the caller's module. */
  readonly importer: (specifier: string) => Promise<unknown>;
  /** Write a cache for this script here when the process exits (the build's training run). */
  readonly trainTo?: string;
}

/** Runs the script `file` (its top level) with the cache when it is valid, and returns its exports. */
export function loadScript(file: string, opts: ScriptOptions): LoadedScript {
  const text = readFileSync(file);
  const key = cacheKey(text);
  let cachedData: Buffer | undefined;
  try {
    cachedData = decodeCache(readFileSync(opts.cacheFile), key);
  } catch {
    // no cache: compiled from the text
  }
  // The wrapper is on the script's first line, so line numbers in stack traces are the file's own.
  // ASCII (as scripts/build-cli.mjs writes it) is read as a one-byte string, without decoding UTF-8.
  const source = text.toString(isAscii(text) ? 'latin1' : 'utf8');
  const script = new Script(WRAP + source + '\n})', { filename: file, cachedData });
  const cache: CacheUse = cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'used';
  const url = pathToFileURL(file);
  const module = { exports: {} as Record<string, unknown> };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run(module.exports, createRequire(url), module, file, dirname(file), url.href, opts.importer);
  const out = opts.trainTo;
  if (out !== undefined)
    process.on('exit', () => {
      // Written whole or not at all: a reader never sees half a file.
      const tmp = `${out}.${process.pid}.tmp`;
      try {
        writeFileSync(tmp, encodeCache(key, script.createCachedData()));
        renameSync(tmp, out);
      } catch (e) {
        rmSync(tmp, { force: true });
        process.stderr.write(`kpusim: could not write the code cache ${out}: ${(e as Error).message}\n`);
      }
    });
  return { exports: module.exports, cache };
}
