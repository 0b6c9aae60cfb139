/**
 * Golden cases for regression testing: `record` stores inputs, outputs and traces; `check`
 * re-runs them and reports per case exact / within tolerance / different, with the first
 * diverging layer from the trace. The layout is the one of nncase's reference goldens
 * (`<case>/input.bin`, `output_<i>.bin`, `trace.txt`), plus a `case.json` per case, so `check`
 * reads both.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { UsageError } from './errors.js';
import { FILE_CAPS, readUserFile, readUserText, tensorCap } from './io/read-file.js';
import { readInputFile, type InputOptions, type InputRecipe } from './input.js';
import type { PreparedModel } from './kpu/interpreter.js';
import { TOLERANCES } from './tolerances.js';

export type CaseStatus = 'exact' | 'within_tolerance' | 'different';

export interface CaseResult {
  readonly case: string;
  readonly status: CaseStatus;
  readonly outputs: readonly {
    readonly index: number;
    readonly status: CaseStatus;
    readonly max_abs_diff?: number;
    readonly mismatched?: number;
  }[];
  /** First trace line that differs (index, got, want), when the case has a trace. */
  readonly first_diverging_layer?: { readonly index: number; readonly got: string; readonly want: string } | null;
}

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function caseName(file: string, used: Set<string>): string {
  let n =
    basename(file)
      .replace(/\.[^.]+$/, '')
      .replace(/[^A-Za-z0-9._-]/g, '_') || 'case';
  const base = n;
  for (let i = 2; used.has(n); i++) n = `${base}_${i}`;
  used.add(n);
  return n;
}

/** Input files named directly or found in folders (images and .bin). */
export function listInputFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) throw new UsageError('NOT_FOUND', `${p}: no such file or folder`);
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p).sort()) if (/\.(bin|png|jpe?g|bmp)$/i.test(f)) out.push(join(p, f));
    } else out.push(p);
  }
  if (out.length === 0)
    throw new UsageError('BAD_INPUT', `no input files (.bin, .png, .jpg, .bmp) in ${paths.join(', ')}`);
  return out;
}

export function recordGolden(
  prepared: PreparedModel,
  model: { path: string; bytes: Uint8Array },
  inputFiles: readonly string[],
  outDir: string,
  opts: InputOptions,
  onCase?: (name: string) => void,
): { cases: string[] } {
  mkdirSync(outDir, { recursive: true });
  const used = new Set<string>();
  const cases: string[] = [];
  for (const f of inputFiles) {
    const name = caseName(f, used);
    const dir = join(outDir, name);
    mkdirSync(dir, { recursive: true });
    const { bytes, recipe } = readInputFile(f, prepared.inputs[0], opts);
    const lines: string[] = [];
    const r = prepared.run([bytes], { trace: (l) => lines.push(l) });
    writeFileSync(join(dir, 'input.bin'), bytes);
    r.outputs.forEach((o, i) => writeFileSync(join(dir, `output_${i}.bin`), o));
    writeFileSync(join(dir, 'trace.txt'), lines.join('\n') + '\n');
    const meta = {
      schema_version: 1,
      model: { file: basename(model.path), sha256: sha256(model.bytes) },
      input: {
        recipe: recipe as InputRecipe,
        dtype: prepared.inputs[0].dtype,
        shape: prepared.inputs[0].shape,
        sha256: sha256(bytes),
      },
      outputs: r.outputs.map((o, i) => ({
        file: `output_${i}.bin`,
        dtype: prepared.outputs[i].dtype,
        shape: prepared.outputs[i].shape,
        sha256: sha256(o),
      })),
      numerics: prepared.numerics,
      source: 'kpusim emulator (recorded by `kpusim golden record`)',
    };
    writeFileSync(join(dir, 'case.json'), JSON.stringify(meta, null, 2) + '\n');
    cases.push(name);
    onCase?.(name);
  }
  return { cases };
}

/** Case folders under `dir`: every folder (dir itself included) holding an input.bin. */
export function findCases(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError('NOT_FOUND', `${dir}: no such folder`);
  const found: string[] = [];
  const walk = (d: string, depth: number) => {
    if (existsSync(join(d, 'input.bin'))) {
      found.push(d);
      return;
    }
    if (depth > 3) return;
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name)))
      if (e.isDirectory()) walk(join(d, e.name), depth + 1);
  };
  walk(dir, 0);
  if (found.length === 0) throw new UsageError('BAD_INPUT', `${dir}: no golden cases (folders with input.bin)`);
  return found;
}

function compareOutput(
  got: Uint8Array,
  want: Uint8Array,
  dtype: string,
): { status: CaseStatus; max_abs_diff?: number; mismatched?: number } {
  if (got.length === want.length && Buffer.compare(Buffer.from(got), Buffer.from(want)) === 0)
    return { status: 'exact' };
  if (got.length !== want.length || dtype !== 'float32') {
    let mismatched = Math.abs(got.length - want.length);
    for (let i = 0; i < Math.min(got.length, want.length); i++) if (got[i] !== want[i]) mismatched++;
    return { status: 'different', mismatched };
  }
  const a = new Float32Array(got.slice().buffer);
  const b = new Float32Array(want.slice().buffer);
  let maxAbs = 0;
  let bad = 0;
  const { abs, rel } = TOLERANCES.goldenFloat;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= abs + rel * Math.abs(b[i])) && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) bad++;
    if (d > maxAbs || Number.isNaN(d)) maxAbs = Number.isNaN(d) ? Infinity : d;
  }
  return { status: bad === 0 ? 'within_tolerance' : 'different', max_abs_diff: maxAbs, mismatched: bad };
}

export function checkCase(prepared: PreparedModel, dir: string, name = dir): CaseResult {
  const input = readUserFile(join(dir, 'input.bin'), tensorCap(prepared.inputs[0].bytes));
  const lines: string[] = [];
  const hasTrace = existsSync(join(dir, 'trace.txt'));
  const r = prepared.run([input], hasTrace ? { trace: (l) => lines.push(l) } : {});
  const outputs = r.outputs.map((o, i) => {
    const f = join(dir, `output_${i}.bin`);
    if (!existsSync(f)) return { index: i, status: 'different' as const, mismatched: o.length };
    return { index: i, ...compareOutput(o, readUserFile(f, tensorCap(o.length + 1)), prepared.outputs[i].dtype) };
  });
  const extra = existsSync(join(dir, `output_${r.outputs.length}.bin`));
  let first: CaseResult['first_diverging_layer'];
  if (hasTrace) {
    const want = readUserText(join(dir, 'trace.txt'), FILE_CAPS.text).trim().split('\n');
    const n = Math.max(want.length, lines.length);
    first = null;
    for (let i = 0; i < n; i++) {
      if (want[i] !== lines[i]) {
        first = { index: i, got: lines[i] ?? '(no layer)', want: want[i] ?? '(no layer)' };
        break;
      }
    }
  }
  const statuses = outputs.map((o) => o.status);
  const status: CaseStatus =
    extra || statuses.includes('different')
      ? 'different'
      : statuses.includes('within_tolerance')
        ? 'within_tolerance'
        : 'exact';
  return { case: name, status, outputs, ...(hasTrace ? { first_diverging_layer: first } : {}) };
}
