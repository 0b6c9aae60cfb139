/**
 * A fuzz test over the command line itself (fast-check, fixed seed): random argument vectors —
 * each command's real option names (read from its yargs builder), random values, random
 * positional files (empty, random bytes, truncated real models, folders, missing paths,
 * /dev/null) — give only exit 0, 2 or 3 with a one-line reason and never a stack trace.
 *
 * Most cases run in-process (`main(argv, io)`, in an empty working folder); a smaller set runs
 * the real binary as a child process with a time bound (a hang is a failure) and a heap bound
 * (`--max-old-space-size`), and its peak RSS is measured. `KPUSIM_FUZZ_SEED` / `KPUSIM_FUZZ_RUNS`
 * change the seed and the number of in-process cases; the worst time and memory per command are
 * printed at the end.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import yargs from 'yargs';
import { afterAll, beforeAll, describe, test } from 'vitest';
import type { Io } from '../src/cli/common.js';
import { loadCommands } from '../src/cli/commands.js';
import { main } from '../src/cli/main.js';
import { buildV3, tinyModel } from './fixtures/v3-builder.js';
import { REPO_ROOT } from './shared.js';
import { Lcg } from './lcg.js';

const SEED = Number(process.env.KPUSIM_FUZZ_SEED ?? 20261206);
const RUNS = Number(process.env.KPUSIM_FUZZ_RUNS ?? 160);
const CHILD_RUNS = Number(process.env.KPUSIM_FUZZ_CHILD_RUNS ?? 6);
/** Per child process: wall time and V8 heap. A case over the time is a hang. */
const CHILD_TIMEOUT_MS = 60_000;
const CHILD_HEAP_MB = 512;
const HAS_DIST = existsSync(join(REPO_ROOT, 'dist/cli/main.js'));
const COMMANDS = await loadCommands();

/**
 * Commands fuzzed, and the values their positionals take. Left out: `face demo` (it runs the
 * whole demo on the example photos whatever the options), `build` of a preset (compiles
 * networks for minutes; its config positional only gets files here), `board` (needs a serial
 * device; its own tests drive fakes).
 */
const FUZZED = ['info', 'run', 'golden', 'profile', 'estimate', 'check', 'face', 'maixpy', 'compare', 'build'];
const ACTIONS: Record<string, readonly string[]> = {
  golden: ['record', 'check'],
  face: ['detect', 'enroll', 'recognize'],
  estimate: ['conv'],
};

interface Spec {
  readonly name: string;
  readonly positionals: readonly { readonly name: string; readonly variadic: boolean; readonly action: boolean }[];
  readonly options: readonly {
    readonly name: string;
    readonly kind: 'boolean' | 'number' | 'string' | 'choice';
    readonly choices: readonly string[];
    readonly array: boolean;
  }[];
}

/** A command's options as its own yargs builder declares them. */
function specOf(name: string): Spec {
  const c = COMMANDS.find((x) => (Array.isArray(x.command) ? x.command[0] : String(x.command)).split(' ')[0] === name);
  if (!c) throw new Error(`no command ${name}`);
  const cmd = Array.isArray(c.command) ? c.command[0] : String(c.command);
  const positionals = [...cmd.matchAll(/[<[]([a-z-]+)(\.\.)?[>\]]/g)].map((m, i) => ({
    name: m[1],
    variadic: m[2] !== undefined,
    action: i === 0 && ACTIONS[name] !== undefined,
  }));
  const y = c.builder(yargs([]));
  const o = (y as unknown as { getOptions(): Record<string, unknown> }).getOptions() as {
    key: Record<string, unknown>;
    boolean: string[];
    number: string[];
    array: string[];
    choices: Record<string, unknown[]>;
  };
  const skip = new Set(['help', 'version', ...positionals.map((p) => p.name)]);
  const options = Object.keys(o.key)
    .filter((k) => !skip.has(k) && !/[A-Z]/.test(k))
    .map((k) => ({
      name: k,
      kind: (o.choices[k]
        ? 'choice'
        : o.boolean.includes(k)
          ? 'boolean'
          : o.number.includes(k)
            ? 'number'
            : 'string') as Spec['options'][number]['kind'],
      choices: (o.choices[k] ?? []).map(String),
      array: o.array.includes(k),
    }));
  return { name, positionals, options };
}

let root: string;
let files: string[];
const startCwd = process.cwd();

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'kpusim-fuzz-'));
  const f = (name: string, bytes: Uint8Array | string) => {
    const p = join(root, name);
    writeFileSync(p, bytes);
    return p;
  };
  const lcg = new Lcg(SEED);
  const randomBytes = (n: number) => lcg.bytes(n);
  const real = readFileSync(join(REPO_ROOT, 'models/face_landmarks5_128.kmodel'));
  const tiny = buildV3(tinyModel());
  mkdirSync(join(root, 'a-folder'));
  files = [
    f('empty.kmodel', ''),
    f('random.kmodel', randomBytes(300)),
    f('random.png', randomBytes(64)),
    f('random.jpg', Uint8Array.of(0xff, 0xd8, 0xff, ...randomBytes(40))),
    f('random.json', randomBytes(50)),
    f('random.py', randomBytes(80)),
    f('random.bin', randomBytes(128)),
    f('input.bin', randomBytes(128)), // the tiny model's input size
    f('truncated-16.kmodel', real.subarray(0, 16)),
    f('truncated-200.kmodel', real.subarray(0, 200)),
    f('truncated-half.kmodel', real.subarray(0, real.length >> 1)),
    f('truncated-last.kmodel', real.subarray(0, real.length - 1)),
    f('tiny.kmodel', tiny),
    f('tiny-cut.kmodel', tiny.subarray(0, tiny.length - 7)),
    f('store.json', '{"format":"kpusim-face-store","version":1}'),
    f('script.py', 'print("hello")\n'),
    join(root, 'a-folder'),
    join(root, 'does-not-exist.kmodel'),
    join(root, 'missing-folder', 'x.png'),
    '/dev/null',
  ];
});
afterAll(() => {
  process.chdir(startCwd);
  rmSync(root, { recursive: true, force: true });
});

const word = fc.stringMatching(/^[a-z0-9_.,=-]{0,12}$/);
const number = fc.oneof(
  fc.integer({ min: -5, max: 5000 }).map(String),
  fc.constantFrom('0', '-1', '1e9', '4294967295', '0.5', 'NaN', 'Infinity', 'abc', ''),
);

function argvFor(spec: Spec): fc.Arbitrary<string[]> {
  const file = fc.integer({ min: 0, max: 1000 }).map((i) => files[i % files.length]);
  const positional = spec.positionals.map((p) => {
    if (p.action)
      return fc
        .oneof({ weight: 6, arbitrary: fc.constantFrom(...ACTIONS[spec.name]) }, { weight: 1, arbitrary: word })
        .map((v) => [v]);
    if (p.variadic) return fc.array(file, { maxLength: 2 });
    return fc.oneof({ weight: 6, arbitrary: file.map((v) => [v]) }, { weight: 1, arbitrary: fc.constant([]) });
  });
  const option = fc
    .integer({ min: 0, max: Math.max(0, spec.options.length - 1) })
    .chain((i): fc.Arbitrary<string[]> => {
      const o = spec.options[i];
      if (!o) return fc.constant([]);
      const flag = `--${o.name}`;
      switch (o.kind) {
        case 'boolean':
          return fc.constantFrom([flag], [`--no-${o.name}`], [flag, 'true'], [flag, 'maybe']);
        case 'number':
          return number.map((v) => [flag, v]);
        case 'choice':
          return fc.oneof(fc.constantFrom(...o.choices), word).map((v) => [flag, v]);
        default:
          return fc.oneof(file, word, fc.constant('')).map((v) => [flag, v]);
      }
    });
  const stray = fc.constantFrom(['--bogus'], ['-x'], ['extra-positional'], ['--'], ['--help']);
  return fc
    .tuple(
      fc.tuple(...positional),
      fc.array(option, { maxLength: 5 }),
      fc.oneof({ weight: 8, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: stray }),
    )
    .map(([ps, os, s]) => [spec.name, ...ps.flat(), ...os.flat(), ...s]);
}

/** The contract every case must keep; returns the reason it does not. */
function violation(argv: string[], code: number | null, out: string, err: string): string | null {
  const maixpyScriptError = argv[0] === 'maixpy' && code === 1 && /^kpusim maixpy: \S+ at /m.test(err);
  if (code !== 0 && code !== 2 && code !== 3 && !maixpyScriptError) return `exit ${code}`;
  if (/^\s+at /m.test(err) || /^\s+at /m.test(out)) return 'a stack trace';
  if (/internal error/.test(err)) return 'an internal error';
  if (code === 2) {
    const lines = err.trim().split('\n');
    if (lines.length !== 1 || !lines[0].startsWith('kpusim: ')) return `not one line on stderr: ${JSON.stringify(err)}`;
    if (out !== '' && !argv.includes('--help')) return 'output on stdout with a usage error';
  }
  return null;
}

interface Worst {
  ms: number;
  rssMb?: number;
  argv: string[];
}
const worst = new Map<string, Worst>();
function note(argv: string[], ms: number, rssMb?: number): void {
  const action = ACTIONS[argv[0]] && argv[0] !== 'estimate' ? (ACTIONS[argv[0]].includes(argv[1]) ? argv[1] : '?') : '';
  const key = action ? `${argv[0]} ${action}` : argv[0];
  const w = worst.get(key) ?? { ms: 0, argv };
  if (ms > w.ms) Object.assign(w, { ms, argv });
  if (rssMb !== undefined && rssMb > (w.rssMb ?? 0)) w.rssMb = rssMb;
  worst.set(key, w);
}

const anyArgv = () => fc.constantFrom(...FUZZED).chain((name) => argvFor(specOf(name)));

describe('the CLI under random arguments and files', () => {
  test(`in-process: ${RUNS} cases, seed ${SEED}`, async () => {
    const cwd = mkdtempSync(join(root, 'cwd-'));
    const t0 = performance.now();
    let cases = 0;
    try {
      process.chdir(cwd);
      await fc.assert(
        fc.asyncProperty(anyArgv(), async (argv) => {
          let out = '';
          let err = '';
          const io: Io = { out: (t) => (out += t), err: (t) => (err += t), errIsTty: false };
          const t = performance.now();
          const code = await main(argv, io);
          note(argv, performance.now() - t);
          cases++;
          const v = violation(argv, code, out, err);
          if (v) throw new Error(`${v}: kpusim ${argv.join(' ')}\n${err}`);
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
    } finally {
      process.chdir(startCwd);
    }
    console.log(
      `cli fuzz (in-process): ${cases} cases, seed ${SEED}, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  });

  test.skipIf(!HAS_DIST)(
    `child processes: ${CHILD_RUNS} cases, seed ${SEED + 1}, ${CHILD_TIMEOUT_MS / 1000} s and ${CHILD_HEAP_MB} MB heap each`,
    async () => {
      const cwd = mkdtempSync(join(root, 'child-cwd-'));
      const rssFile = join(root, 'rss.txt');
      const t0 = performance.now();
      await fc.assert(
        fc.asyncProperty(anyArgv(), async (argv) => {
          const t = performance.now();
          // The wrapper runs the CLI's main and records the process's peak RSS on exit.
          const wrapper = `import(${JSON.stringify(join(REPO_ROOT, 'dist/cli/main.js'))}).then(async ({ main }) => {
          const code = await main(process.argv.slice(1));
          require('node:fs').writeFileSync(${JSON.stringify(rssFile)}, String(process.resourceUsage().maxRSS));
          process.exitCode = code;
        });`;
          rmSync(rssFile, { force: true });
          const r = await new Promise<{ code: number | null; out: string; err: string; timedOut: boolean }>((done) => {
            const p = spawn(process.execPath, [`--max-old-space-size=${CHILD_HEAP_MB}`, '-e', wrapper, '--', ...argv], {
              cwd,
              stdio: ['ignore', 'pipe', 'pipe'],
            });
            let out = '';
            let err = '';
            let timedOut = false;
            const timer = setTimeout(() => {
              timedOut = true;
              p.kill('SIGKILL');
            }, CHILD_TIMEOUT_MS);
            p.stdout.on('data', (d) => (out += d));
            p.stderr.on('data', (d) => (err += d));
            p.on('close', (code) => {
              clearTimeout(timer);
              done({ code, out, err, timedOut });
            });
          });
          const ms = performance.now() - t;
          const rssMb = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) / 1024 : undefined;
          note(argv, ms, rssMb);
          if (r.timedOut) throw new Error(`no answer within ${CHILD_TIMEOUT_MS / 1000} s: kpusim ${argv.join(' ')}`);
          const v = violation(argv, r.code, r.out, r.err);
          if (v) throw new Error(`${v}: kpusim ${argv.join(' ')}\n${r.err}`);
        }),
        { seed: SEED + 1, numRuns: CHILD_RUNS, endOnFailure: true },
      );
      console.log(`cli fuzz (child processes): ${CHILD_RUNS} cases, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    },
  );

  afterAll(() => {
    const rows = [...worst].sort(([a], [b]) => a.localeCompare(b));
    console.log(
      'cli fuzz, worst case per command:\n' +
        rows
          .map(
            ([k, w]) =>
              `  ${k.padEnd(16)} ${w.ms.toFixed(0).padStart(6)} ms${w.rssMb !== undefined ? `  peak RSS ${w.rssMb.toFixed(0)} MB` : ''}  (kpusim ${w.argv.join(' ').replaceAll(root, '…')})`,
          )
          .join('\n'),
    );
  });
});
