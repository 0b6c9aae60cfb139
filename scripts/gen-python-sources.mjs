#!/usr/bin/env node
// Bundles the MicroPython half of kpusim's MaixPy modules (src/maixpy/python/*.py) into a
// TypeScript module, src/maixpy/python/sources.generated.ts, so that the .py files travel with
// the compiled code (tsc copies no .py files) and a browser bundle gets them too.
// `--check` exits 1 when the generated module is stale instead of writing it.
//
// A class may leave part of its body out of the module's first compile (MicroPython compiles a
// whole module at import, about 3,000 instructions per byte of source before the first frame):
// a comment line starting with `# kpusim-later:` inside the class, on a line of its own, marks
// everything after it, to the end of the class, as compiled on first use. The module then gets
// those lines blank but one, which gives each method a stand-in (`deferred` in _kpusim.py) that
// compiles the rest when it is first read, and `PYTHON_LATER` gets the same lines with every other line blank
// and the marker's line holding `class _kpusim_later:`. Compiled under the module's own file name,
// they keep their line numbers in tracebacks. See `later` in src/maixpy/python/_kpusim.py.
//
// Each module (what is compiled at import) is also compiled here to MicroPython bytecode by
// mpy-cross, MicroPython's own compiler (the @pybricks/mpy-cross-v6 package: .mpy format 6, which
// the interpreter kpusim runs loads), under the file name the module has on the emulated board,
// /lib/NAME.py, so tracebacks name the same file and lines. `PYTHON_MPY` holds those .mpy files
// (base64); the boot installs them in /lib in place of the sources (src/maixpy/boot.ts).
import { Buffer } from 'node:buffer';
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'maixpy', 'python');
const out = join(dir, 'sources.generated.ts');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.py'))
  .sort();
const MARK = /^( +)# kpusim-later:/;

/** A module's text split at its `# kpusim-later:` line: what is compiled at import, and later (or null). */
function splitLater(text, name) {
  const lines = text.split('\n');
  const m = lines.findIndex((l) => MARK.test(l));
  if (m < 0) return { now: text, later: null };
  const indent = MARK.exec(lines[m])[1];
  let end = m + 1;
  while (end < lines.length && !/^[^\s#]/.test(lines[end])) end++;
  const names = [];
  for (let i = m + 1; i < end; i++) {
    if (new RegExp(`^${indent}(?:@|\\w+\\s*=)`).test(lines[i]))
      throw new Error(`${name}.py:${i + 1}: only plain methods (def) can come after the # kpusim-later: line`);
    const d = new RegExp(`^${indent}def\\s+(\\w+)`).exec(lines[i]);
    if (d) names.push(d[1]);
  }
  if (names.length === 0) throw new Error(`${name}.py: nothing after its # kpusim-later: line`);
  if (lines.filter((l) => MARK.test(l)).length > 1) throw new Error(`${name}.py: more than one # kpusim-later: line`);
  const cls = lines
    .slice(0, m)
    .reverse()
    .map((l) => /^class\s+(\w+)/.exec(l))
    .find(Boolean);
  if (!cls) throw new Error(`${name}.py: its # kpusim-later: line is not in a class`);
  if (!/^import _kpusim as _k$/m.test(text)) throw new Error(`${name}.py: a split module imports _kpusim as _k`);
  // One line of stand-ins (`deferred` in _kpusim.py): each method is there to be read from the first.
  const stand = names.map((n) => `${n} = _k.deferred('${cls[1]}', '${n}')`).join('; ');
  const now = lines.map((l, i) => (i <= m || i >= end ? l : i === m + 1 ? `${indent}${stand}` : ''));
  const later = lines.slice(0, end).map((l, i) => (i < m ? '' : i === m ? 'class _kpusim_later:' : l));
  return { now: now.join('\n'), later: later.join('\n') + '\n' };
}

const split = files.map((f) => [f.slice(0, -3), splitLater(readFileSync(join(dir, f), 'utf8'), f.slice(0, -3))]);

/** mpy-cross as a function: the module's text and its file name on the board → the .mpy file's bytes. */
function mpyCross() {
  const { WebAssembly } = globalThis;
  const require = createRequire(import.meta.url);
  const main = require.resolve('@pybricks/mpy-cross-v6');
  const factory = require(join(dirname(main), 'mpy-cross-v6.js'));
  const wasm = new WebAssembly.Module(readFileSync(join(dirname(main), 'mpy-cross-v6.wasm')));
  // The glue adds process-wide handlers at each run; they are taken off again when it ends.
  const events = ['uncaughtException', 'unhandledRejection'];
  const before = events.map((e) => process.listeners(e));
  const restore = () =>
    events.forEach((e, i) => process.listeners(e).forEach((l) => before[i].includes(l) || process.off(e, l)));
  return (text, file) =>
    new Promise((resolve, reject) =>
      factory({
        // the last argument names the input file (the package's glue writes the text there)
        arguments: ['-s', file, file.slice(file.lastIndexOf('/') + 1)],
        inputFileContents: text,
        instantiateWasm: (imports, done) => {
          const instance = new WebAssembly.Instance(wasm, imports);
          done(instance, wasm);
          return instance.exports;
        },
        callback: (status, mpy, _out, err) => {
          restore();
          if (status === 0 && mpy) resolve(mpy);
          else reject(new Error(`mpy-cross ${file}: ${err.join('\n')}`));
        },
      }),
    );
}

const compile = mpyCross();
const mpy = [];
for (const [name, s] of split) {
  if (name === '_boot') continue; // run in __main__ from its source (src/maixpy/boot.ts)
  mpy.push([name, Buffer.from(await compile(s.now, `/lib/${name}.py`)).toString('base64')]);
}
const lines = [
  '// Generated by scripts/gen-python-sources.mjs from src/maixpy/python/*.py: do not edit.',
  '// `npm run build` regenerates it; test/maixpy-python-sources.test.ts fails when it is stale.',
  '/* eslint-disable */',
  'export const PYTHON_SOURCES = {',
  ...split.map(([name, s]) => `  ${JSON.stringify(name)}: ${JSON.stringify(s.now)},`),
  '} as const;',
  '',
  'export type PythonFile = keyof typeof PYTHON_SOURCES;',
  '',
  '/** The parts of classes compiled on first use (`# kpusim-later:`), by module. */',
  'export const PYTHON_LATER: Readonly<Record<string, string>> = {',
  ...split
    .filter(([, s]) => s.later !== null)
    .map(([name, s]) => `    ${JSON.stringify(name)}: ${JSON.stringify(s.later)},`),
  '};',
  '',
  '/** The modules as above compiled to MicroPython bytecode by mpy-cross (.mpy files, base64), by module. */',
  'export const PYTHON_MPY: Readonly<Record<string, string>> = {',
  ...mpy.map(([name, b64]) => `  ${JSON.stringify(name)}: ${JSON.stringify(b64)},`),
  '};',
  '',
];
const text = lines.join('\n');
if (process.argv.includes('--check')) {
  const current = existsSync(out) ? readFileSync(out, 'utf8') : '';
  if (current !== text) {
    console.error(`${out} is stale: run node scripts/gen-python-sources.mjs`);
    process.exit(1);
  }
} else if (!existsSync(out) || readFileSync(out, 'utf8') !== text) {
  writeFileSync(out, text);
}
