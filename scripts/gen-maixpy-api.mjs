#!/usr/bin/env node
// Writes docs/maixpy-api.md, the table of the MaixPy and CanMV API that `kpusim maixpy` provides,
// from the module definitions themselves (src/maixpy/python/*.py and a few TypeScript headers),
// so the table cannot drift from the code. `--check` exits 1 when the file is stale instead.
//
// What it reads in a .py file:
// - the file's head comment (the comment lines before its first statement) and every line starting
//   with `#: ` become the section's prose;
// - every public `def` (module level, or a method of a class) and every public module-level
//   assignment of a function (`ticks = ticks_ms`) is a row; its arguments come from the `def` line;
// - its status comes from the `# api:` comment right above it:
//     # api: <exact|approx|partial|no-op|unsupported>[ (<arguments>)][ - <note>]
//   continued on lines starting with `#   ` (three spaces); without one, the nearest
//   `# api:` comment of the enclosing class or the file's `# api-default:` applies, and a public
//   definition with none of them is an error (so nothing is listed without a status);
// - `# api-class: <Name>` above a class gives the name scripts see it by (for private classes);
// - `# api-names: <status>[ - <note>]` above a statement lists every quoted name in that statement;
// - the names handed to `_k.module_getattr` / `_k.class_getattr` are the known but unsupported
//   APIs: they raise NotImplementedError naming themselves.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pyDir = join(root, 'src', 'maixpy', 'python');
const out = join(root, 'docs', 'maixpy-api.md');

const STATUSES = {
  exact: 'exact',
  approx: 'approximate',
  partial: 'partial',
  'no-op': 'accepted, no effect',
  unsupported: 'not supported',
};

/** The sections of the table: which .py files (and TypeScript headers) make each one. */
const SECTIONS = [
  { title: 'Boot', files: ['_boot'], rows: false },
  { title: 'image', files: ['image'], ts: ['src/maixpy/imlib.ts'] },
  { title: 'sensor', files: ['sensor'], ts: ['src/maixpy/sensor-timing.ts'] },
  { title: 'lcd', files: ['lcd'], ts: ['src/maixpy/modules/lcd.ts'] },
  { title: 'KPU (MaixPy)', module: 'KPU', files: ['KPU'], ts: ['src/maixpy/modules/kpu-layers.ts'] },
  { title: 'maix.KPU (CanMV)', module: 'maix', files: ['_kpusim_canmv_kpu'] },
  {
    title: 'Maix (MaixPy) and maix (CanMV)',
    module: 'Maix',
    moduleOf: { maix: 'maix' },
    intro: 'FPIOA, GPIO, utils, config and freq are the same in both (listed under `Maix`).',
    files: ['Maix', 'maix', '_kpusim_periph'],
  },
  { title: 'time and utime', module: 'time', files: ['_kpusim_time'] },
  { title: 'os and uos', module: 'os', files: ['_kpusim_os'] },
  { title: 'gc', files: ['_kpusim_gc'] },
  { title: 'machine', files: ['machine'] },
  { title: 'board', files: ['board'] },
  { title: 'fpioa_manager', files: ['fpioa_manager'] },
  { title: 'Errors', files: ['_kpusim'], rows: false },
];
/** Files with no rows of their own (helpers; the unsupported-module stand-in is listed from stubs.ts). */
const INTERNAL = ['_kpusim_io', '_kpusim_unsupported'];

function fail(msg) {
  console.error(`gen-maixpy-api: ${msg}`);
  process.exit(1);
}

function parseAnnotation(text, where) {
  const m = /^(exact|approx|partial|no-op|unsupported)(?: (\(.*?\)))?(?: - (.*))?$/.exec(text.trim());
  if (!m)
    fail(`${where}: bad annotation "${text}" (want: <exact|approx|partial|no-op|unsupported>[ (<args>)][ - <note>])`);
  return { status: m[1], args: m[2], note: m[3] ?? '' };
}

function signature(defText) {
  const m = /def\s+\w+\s*\(([\s\S]*?)\)\s*:/.exec(defText);
  const params = m[1]
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p && p !== 'self');
  return `(${params.join(', ')})`;
}

function stringsIn(text) {
  return [...text.matchAll(/['"]([A-Za-z_][\w.]*)['"]/g)].map((m) => m[1]);
}

/** Reads one .py file into prose, rows and unsupported names. */
function parsePy(file, proseOnly = false) {
  const text = readFileSync(join(pyDir, `${file}.py`), 'utf8');
  const lines = text.split('\n');
  const where = (i) => `src/maixpy/python/${file}.py:${i + 1}`;
  const prose = [];
  const rows = [];
  const unsupported = [];
  let fileDefault = null;
  let i = 0;
  // head comment
  while (i < lines.length && lines[i].startsWith('#')) {
    const l = lines[i];
    if (l.startsWith('# api-default:')) fileDefault = parseAnnotation(l.slice(14), where(i));
    else prose.push(l.replace(/^# ?/, ''));
    i++;
  }
  let cls = null; // { name, ann }
  let pending = null; // annotation for the next definition
  let pendingClassName = null;
  let pendingNames = null;
  const variables = new Map();
  for (; i < lines.length; i++) {
    const line = lines[i];
    if (proseOnly) {
      if (line.trim().startsWith('#: ') || line.trim() === '#:') prose.push(line.trim().slice(3));
      continue;
    }
    const indent = line.length - line.trimStart().length;
    const t = line.trim();
    if (t.startsWith('#: ') || t === '#:') {
      prose.push(t.slice(3));
      continue;
    }
    if (t.startsWith('# api:')) {
      const at = i;
      let text = t.slice(6);
      while (i + 1 < lines.length && lines[i + 1].trim().startsWith('#   '))
        text += ' ' + lines[++i].trim().slice(4).trim();
      pending = parseAnnotation(text, where(at));
      continue;
    }
    if (t.startsWith('# api-class:')) {
      pendingClassName = t.slice(12).trim();
      continue;
    }
    if (t.startsWith('# api-names:')) {
      const at = i;
      let text = t.slice(12);
      while (i + 1 < lines.length && lines[i + 1].trim().startsWith('#   '))
        text += ' ' + lines[++i].trim().slice(4).trim();
      pendingNames = parseAnnotation(text, where(at));
      continue;
    }
    if (t === '' || t.startsWith('#') || t.startsWith('@')) continue;
    if (indent === 0 && cls && !t.startsWith('@')) cls = null;
    // a statement, possibly over several lines (open brackets)
    let stmt = t;
    let depth = 0;
    const count = (s) => {
      for (const ch of s.replace(/'[^']*'|"[^"]*"/g, '')) {
        if ('([{'.includes(ch)) depth++;
        else if (')]}'.includes(ch)) depth--;
      }
    };
    count(t);
    while (depth > 0 && i + 1 < lines.length) {
      const next = lines[++i].trim();
      stmt += ' ' + next;
      count(next);
    }
    if (pendingNames) {
      for (const n of stringsIn(stmt)) rows.push({ name: n, args: pendingNames.args ?? '', ann: pendingNames });
      pendingNames = null;
      continue;
    }
    const v = /^(\w+)\s*=\s*(\[.*\]|\(.*\))$/.exec(stmt);
    if (v && indent === 0) variables.set(v[1], v[2]);
    const ga = /_k\.(module|class)_getattr\('([\w.]+)',\s*(.*)\)$/.exec(stmt);
    if (ga) {
      const list = /^\w+$/.test(ga[3]) ? variables.get(ga[3]) : ga[3];
      if (list === undefined) fail(`${where(i)}: unknown name list ${ga[3]}`);
      const prefix = ga[1] === 'class' && cls ? `${cls.name}.` : ga[1] === 'class' ? `${ga[2]}.` : '';
      for (const n of stringsIn(list)) unsupported.push(prefix + n);
      pending = null;
      continue;
    }
    const c = /^class\s+(\w+)/.exec(stmt);
    if (c && indent === 0) {
      const name = pendingClassName ?? c[1];
      pendingClassName = null;
      if (name.startsWith('_')) {
        cls = { name, skip: true };
      } else {
        cls = { name, ann: pending ?? fileDefault };
        if (pending) rows.push({ name, args: '', ann: pending, kind: 'class' });
      }
      pending = null;
      continue;
    }
    const d = /^def\s+(\w+)/.exec(stmt);
    if (d) {
      const fn = d[1];
      const inClass = cls && indent > 0;
      if (inClass && cls.skip) {
        pending = null;
        continue;
      }
      if (!inClass && indent > 0) {
        pending = null;
        continue;
      }
      // a constructor is listed when annotated (result objects are not built by scripts)
      const isCtor = fn === '__init__' && pending !== null;
      if (fn.startsWith('_') && !isCtor) {
        pending = null;
        continue;
      }
      // a method without its own annotation takes the class's status (not its note)
      const inherited = inClass && cls.ann ? { status: cls.ann.status, note: '' } : null;
      const ann = pending ?? inherited ?? fileDefault;
      if (!ann) fail(`${where(i)}: public ${inClass ? `${cls.name}.` : ''}${fn} has no "# api:" status`);
      const sig = ann.args ?? signature(stmt);
      if (inClass) rows.push({ name: isCtor ? cls.name : `${cls.name}.${fn}`, args: sig, ann });
      else rows.push({ name: fn, args: sig, ann });
      pending = null;
      continue;
    }
    const a = /^([a-z]\w*)\s*=\s*(_wrap\(|[a-z_][\w.]*$)/.exec(stmt);
    if (a && indent === 0 && !/^[A-Z_0-9]+$/.test(a[1])) {
      const ann = pending ?? fileDefault;
      if (!ann) fail(`${where(i)}: public ${a[1]} has no "# api:" status`);
      rows.push({ name: a[1], args: ann.args ?? '', ann });
      pending = null;
      continue;
    }
    const im = /^from\s+(\w+)\s+import\s+(.*)$/.exec(stmt);
    if (im && !im[1].startsWith('_kpusim') && indent === 0) {
      const ann = pending ?? fileDefault;
      if (!ann) fail(`${where(i)}: names imported from ${im[1]} have no "# api:" status`);
      for (const n of im[2].split(',').map((s) => s.trim())) rows.push({ name: n, args: ann.args ?? '', ann });
    }
    pending = null;
  }
  return { prose, rows, unsupported };
}

/** The first JSDoc block of a TypeScript file, as prose. */
function tsHeader(path) {
  const text = readFileSync(join(root, path), 'utf8');
  const m = /\/\*\*([\s\S]*?)\*\//.exec(text);
  if (!m) fail(`${path}: no header comment`);
  return m[1]
    .split('\n')
    .map((l) => l.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim()
    .split('\n');
}

/** The unsupported modules, from src/maixpy/modules/stubs.ts. */
function unsupportedModules() {
  const text = readFileSync(join(root, 'src', 'maixpy', 'modules', 'stubs.ts'), 'utf8');
  const m = /UNSUPPORTED_MODULES = \[([\s\S]*?)\]/.exec(text);
  if (!m) fail('src/maixpy/modules/stubs.ts: UNSUPPORTED_MODULES not found');
  return stringsIn(m[1]);
}

const esc = (s) => s.replace(/\|/g, '\\|');

/** Comment lines to Markdown paragraphs; lines starting with `- ` start list items. */
function paragraphs(lines) {
  return lines
    .join('\n')
    .split(/\n\s*\n/)
    .map((p) => {
      const items = [];
      for (const l of p.split('\n').map((x) => x.trim())) {
        if (!l) continue;
        if (l.startsWith('- ') || items.length === 0) items.push(l);
        else items[items.length - 1] += ' ' + l;
      }
      return items.join('\n');
    })
    .filter(Boolean);
}

const allFiles = new Set(SECTIONS.flatMap((s) => s.files).concat(INTERNAL));
for (const f of readFileSync(join(pyDir, 'sources.generated.ts'), 'utf8').matchAll(/^ {2}"(\w+)": /gm)) {
  if (!allFiles.has(f[1])) fail(`src/maixpy/python/${f[1]}.py belongs to no section of the table`);
}

const md = [
  '# The MaixPy and CanMV API in kpusim',
  '',
  '<!-- Generated by scripts/gen-maixpy-api.mjs from src/maixpy/python/*.py: do not edit.',
  '     `npm run docs:api` rewrites it; test/maixpy-api-doc.test.ts fails when it is stale. -->',
  '',
  '`kpusim maixpy` runs MaixPy (sipeed/MaixPy-v1) and CanMV (kendryte/canmv) scripts unchanged in',
  "MicroPython's WebAssembly port, with kpusim's modules standing in for the firmware's. This table",
  'lists every module, class and function they provide, from their definitions. Status:',
  '',
  "- **exact**: the firmware's behaviour and numbers (integer results equal; float results in the",
  "  firmware's binary32 arithmetic);",
  "- **approximate**: runs, but results can differ from the board's (the note says how);",
  '- **partial**: some arguments or cases raise `NotImplementedError` naming them (the note says which);',
  '- **accepted, no effect**: accepted as on the board, with nothing to emulate on the PC;',
  '- **not supported**: a name the firmware has that kpusim does not provide: using it raises',
  '  `NotImplementedError` naming it (never silently ignored). Names the firmware does not have are',
  '  `AttributeError`, as on the board.',
  '',
];

const summary = [];
const body = [];
for (const s of SECTIONS) {
  const parsed = s.files.map((f) => parsePy(f, s.rows === false));
  const prose = parsed.flatMap((p) => p.prose.concat(['']));
  const modOf = (i) => s.moduleOf?.[s.files[i]] ?? s.module ?? s.title;
  const rows = parsed.flatMap((p, i) => p.rows.map((r) => ({ ...r, name: `${modOf(i)}.${r.name}` })));
  const unsupported = parsed.flatMap((p, i) => p.unsupported.map((n) => `${modOf(i)}.${n}`));
  body.push(`## ${s.title}`, '');
  if (s.intro) body.push(s.intro, '');
  for (const p of paragraphs(prose)) body.push(p, '');
  for (const ts of s.ts ?? []) for (const p of paragraphs(tsHeader(ts))) body.push(p, '');
  if (s.rows === false) continue;
  const seen = new Set();
  const counts = { exact: 0, approx: 0, partial: 0, 'no-op': 0, unsupported: 0 };
  body.push('| API | arguments | status | notes |', '|---|---|---|---|');
  for (const r of rows) {
    if (seen.has(r.name)) continue;
    seen.add(r.name);
    counts[r.ann.status === 'unsupported' ? 'unsupported' : r.ann.status]++;
    body.push(`| \`${r.name}\` | ${esc(r.args)} | ${STATUSES[r.ann.status]} | ${esc(r.ann.note)} |`);
  }
  for (const n of [...new Set(unsupported)].sort()) {
    if (seen.has(n)) continue;
    counts.unsupported++;
    body.push(`| \`${n}\` |  | not supported |  |`);
  }
  body.push('');
  summary.push(
    `| ${s.title} | ${counts.exact} | ${counts.approx} | ${counts.partial} | ${counts['no-op']} | ${counts.unsupported} |`,
  );
}
const stubs = unsupportedModules();
body.push(
  '## Modules not emulated',
  '',
  'Importing one of these raises `NotImplementedError` naming the module:',
  '',
  ...stubs.map((m) => `- \`${m}\``),
  '',
);
md.push(
  '| module | exact | approximate | partial | accepted, no effect | not supported |',
  '|---|---|---|---|---|---|',
  ...summary,
  '',
  `Modules not emulated (import raises \`NotImplementedError\`): ${stubs.map((m) => `\`${m}\``).join(', ')}.`,
  '',
  ...body,
);
const text = md.join('\n').replace(/\n+$/, '\n');

if (process.argv.includes('--check')) {
  const current = existsSync(out) ? readFileSync(out, 'utf8') : '';
  if (current !== text) {
    console.error(`${out} is stale: run npm run docs:api`);
    process.exit(1);
  }
} else if (!existsSync(out) || readFileSync(out, 'utf8') !== text) {
  writeFileSync(out, text);
}
