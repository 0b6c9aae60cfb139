/**
 * Golden cases for regression testing: `record` stores inputs, outputs and traces; `check`
 * re-runs them and reports per case exact / within tolerance / different, with the first
 * diverging layer from the trace, or malformed when the case cannot be checked as it stands.
 * The layout is the one of nncase's reference goldens (`<case>/input.bin`, `output_<i>.bin`,
 * `trace.txt`), plus a `case.json` per case recording the model and every file's sha256.
 *
 * Two layouts, told apart per checked folder (README, "golden"): when any case in it has a
 * `case.json` it is kpusim's layout and every case must have a valid one whose sha256s match the
 * files; when none has one it is nncase's layout, and only what is there is checked (the output
 * says so). A check never passes what it did not check: a missing trace is reported as "layer
 * checks skipped", a missing output file or a file not matching its sha256 makes the case
 * malformed, and an output count that differs from the model's is a difference with a reason.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { UsageError } from './errors.js';
import { FILE_CAPS, readUserFile, tensorCap, type ReadCap } from './io/read-file.js';
import { readInputFile, type InputOptions, type InputRecipe } from './input.js';
import type { PreparedModel } from './kpu/interpreter.js';
import { TOLERANCES } from './tolerances.js';

export type OutputStatus = 'exact' | 'within_tolerance' | 'different';
/** `malformed`: the case could not be checked as it stands (a file missing or not matching case.json). */
export type CaseStatus = OutputStatus | 'malformed';

/** kpusim: cases with case.json (sha256 of every file); nncase: input.bin, output_<i>.bin, trace.txt only. */
export type GoldenLayout = 'kpusim' | 'nncase';

export interface CaseResult {
  readonly case: string;
  readonly status: CaseStatus;
  readonly layout: GoldenLayout;
  readonly outputs: readonly {
    readonly index: number;
    readonly status: OutputStatus;
    readonly max_abs_diff?: number;
    readonly mismatched?: number;
  }[];
  /** match, diverged, or absent (no trace.txt: the layer checks were skipped). */
  readonly trace: 'match' | 'diverged' | 'absent' | 'not_checked';
  /** First trace line that differs (index, got, want), when the case has a trace. */
  readonly first_diverging_layer?: { readonly index: number; readonly got: string; readonly want: string } | null;
  /** Why the case is malformed (it was not checked, or not completely). */
  readonly problems: readonly string[];
  /** Why the case is different, beyond per-output counts (trace divergence, output count). */
  readonly reasons: readonly string[];
  /** What was not checked although the case passed (e.g. no trace.txt). */
  readonly notes: readonly string[];
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

/** The case folder name of each input file (its base name, made unique). */
export function goldenCaseNames(inputFiles: readonly string[]): string[] {
  const used = new Set<string>();
  return inputFiles.map((f) => caseName(f, used));
}

/** Runs one input and writes its case (input.bin, output_<i>.bin, trace.txt, case.json) into `dir`. */
export function recordCase(
  prepared: PreparedModel,
  model: { path: string; sha256: string },
  file: string,
  dir: string,
  opts: InputOptions,
): void {
  mkdirSync(dir, { recursive: true });
  const { bytes, recipe } = readInputFile(file, prepared.inputs[0], opts);
  const lines: string[] = [];
  const r = prepared.run([bytes], { trace: (l) => lines.push(l) });
  writeFileSync(join(dir, 'input.bin'), bytes);
  r.outputs.forEach((o, i) => writeFileSync(join(dir, `output_${i}.bin`), o));
  const traceText = lines.join('\n') + '\n';
  writeFileSync(join(dir, 'trace.txt'), traceText);
  const meta = {
    schema_version: 1,
    model: { file: basename(model.path), sha256: model.sha256 },
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
    trace: { file: 'trace.txt', lines: lines.length, sha256: sha256(Buffer.from(traceText, 'utf8')) },
    numerics: prepared.numerics,
    source: 'kpusim emulator (recorded by `kpusim golden record`)',
  };
  writeFileSync(join(dir, 'case.json'), JSON.stringify(meta, null, 2) + '\n');
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
  const cases = goldenCaseNames(inputFiles);
  const m = { path: model.path, sha256: sha256(model.bytes) };
  inputFiles.forEach((f, i) => {
    recordCase(prepared, m, f, join(outDir, cases[i]), opts);
    onCase?.(cases[i]);
  });
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
): { status: OutputStatus; max_abs_diff?: number; mismatched?: number } {
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

/** The layout of a checked folder: kpusim's when any case has a case.json (see the header). */
export function detectLayout(cases: readonly string[]): GoldenLayout {
  return cases.some((c) => existsSync(join(c, 'case.json'))) ? 'kpusim' : 'nncase';
}

interface CaseMeta {
  readonly model?: { readonly file?: string; readonly sha256: string };
  readonly input: { readonly sha256: string };
  readonly outputs: readonly { readonly file: string; readonly sha256: string }[];
  readonly trace?: { readonly file: string; readonly sha256: string };
  readonly numerics?: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Reads and checks the shape of case.json; returns the problems instead of throwing. */
function readCaseMeta(dir: string): { meta?: CaseMeta; problem?: string } {
  const f = join(dir, 'case.json');
  const file = readCaseFile(f, FILE_CAPS.json);
  if (file.missing)
    return { problem: 'case.json is missing (other cases of this folder have one), so the files cannot be verified' };
  if (!file.bytes) return { problem: file.problem };
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(file.bytes).toString('utf8'));
  } catch (e) {
    return { problem: `case.json is not valid JSON (${(e as Error).message})` };
  }
  const o = raw as Record<string, unknown>;
  const bad = (m: string) => ({ problem: `case.json: ${m}` });
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return bad('not a JSON object');
  if (o.schema_version !== 1) return bad(`schema_version ${JSON.stringify(o.schema_version)}, expected 1`);
  const hasSha = (v: unknown): v is { sha256: string } =>
    typeof v === 'object' && v !== null && HEX64.test(String((v as { sha256?: unknown }).sha256));
  if (o.model !== undefined && !hasSha(o.model)) return bad('model.sha256 is not a sha256');
  if (!hasSha(o.input)) return bad('input.sha256 is not a sha256');
  if (!Array.isArray(o.outputs) || o.outputs.length === 0) return bad('outputs is not a non-empty list');
  for (const [i, out] of (o.outputs as unknown[]).entries()) {
    if (!hasSha(out) || (out as { file?: unknown }).file !== `output_${i}.bin`)
      return bad(`outputs[${i}] is not {file: "output_${i}.bin", sha256}`);
  }
  if (o.trace !== undefined && (!hasSha(o.trace) || (o.trace as { file?: unknown }).file !== 'trace.txt'))
    return bad('trace is not {file: "trace.txt", sha256}');
  return { meta: o as unknown as CaseMeta };
}

/** A case file's bytes, or why it could not be read (missing, too big, not a regular file). */
function readCaseFile(f: string, cap: ReadCap): { bytes?: Uint8Array; missing?: true; problem?: string } {
  try {
    return { bytes: readUserFile(f, cap) };
  } catch (e) {
    if (e instanceof UsageError && e.code === 'NOT_FOUND') return { missing: true };
    if (e instanceof UsageError) return { problem: e.message };
    throw e;
  }
}

/** No output of a K210 model is larger than the chip's 8 MiB of SRAM. */
const OUTPUT_CAP: ReadCap = { maxBytes: 8 * 1024 * 1024, what: 'a golden output', why: 'the K210 has 8 MiB of SRAM' };

export interface CheckCaseOptions {
  /** The folder's layout (`detectLayout` over all its cases); default: this case alone decides. */
  readonly layout?: GoldenLayout;
  /** sha256 of the model file being checked, compared with the one case.json records. */
  readonly modelSha256?: string;
}

export function checkCase(prepared: PreparedModel, dir: string, name = dir, opts: CheckCaseOptions = {}): CaseResult {
  const layout = opts.layout ?? detectLayout([dir]);
  const problems: string[] = [];
  const reasons: string[] = [];
  const notes: string[] = [];
  const malformed = (trace: CaseResult['trace'] = 'not_checked'): CaseResult => ({
    case: name,
    status: 'malformed',
    layout,
    outputs: [],
    trace,
    problems,
    reasons,
    notes,
  });

  let meta: CaseMeta | undefined;
  if (layout === 'kpusim') {
    const m = readCaseMeta(dir);
    if (m.problem) problems.push(m.problem);
    meta = m.meta;
    if (!meta) return malformed();
    if (opts.modelSha256 && meta.model && meta.model.sha256 !== opts.modelSha256)
      problems.push(
        `recorded with model ${meta.model.file ?? ''} sha256 ${meta.model.sha256.slice(0, 12)}…, this model's sha256 is ${opts.modelSha256.slice(0, 12)}…`,
      );
    if (meta.numerics !== undefined && meta.numerics !== prepared.numerics)
      notes.push(`recorded with --numerics ${meta.numerics}, checked with ${prepared.numerics}`);
  }

  if (prepared.inputs.length !== 1) problems.push(`the model takes ${prepared.inputs.length} inputs; a case has one`);
  const inputBytes = prepared.inputs[0]?.bytes ?? 0;
  const inputFile = readCaseFile(join(dir, 'input.bin'), tensorCap(inputBytes));
  const input = inputFile.bytes ?? new Uint8Array(0);
  if (!inputFile.bytes) problems.push(inputFile.problem ?? 'input.bin is missing');
  else if (meta && sha256(input) !== meta.input.sha256)
    problems.push('input.bin does not match its sha256 in case.json');
  else if (input.length !== inputBytes)
    problems.push(`input.bin has ${input.length} bytes, the model's input takes ${inputBytes}`);

  // The expected outputs: case.json's list (kpusim) or the output_<i>.bin files there (nncase).
  const onDisk = readdirSync(dir)
    .map((f) => /^output_(\d+)\.bin$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  // nncase's layout: every output the model gives must be there, and any further file is counted.
  const wantCount = meta
    ? meta.outputs.length
    : Math.max(prepared.outputs.length, onDisk.length === 0 ? 0 : onDisk[onDisk.length - 1] + 1);
  const want: (Uint8Array | undefined)[] = [];
  for (let i = 0; i < wantCount; i++) {
    const f = `output_${i}.bin`;
    const read = readCaseFile(join(dir, f), OUTPUT_CAP);
    const bytes = read.bytes;
    want.push(bytes);
    if (read.problem) problems.push(read.problem);
    else if (!bytes) problems.push(`${f} is missing${meta ? ' (listed in case.json)' : ''}`);
    else if (meta && sha256(bytes) !== meta.outputs[i].sha256)
      problems.push(`${f} does not match its sha256 in case.json (the golden file was changed)`);
  }
  if (wantCount === 0) problems.push('no output_<i>.bin files');
  for (const k of onDisk) if (k >= wantCount) problems.push(`output_${k}.bin is not listed in case.json`);

  const traceFile = join(dir, 'trace.txt');
  const traceRead = readCaseFile(traceFile, FILE_CAPS.text);
  if (traceRead.problem) problems.push(traceRead.problem);
  const traceBytes = traceRead.bytes;
  if (meta?.trace) {
    if (!traceBytes) problems.push('trace.txt is missing (listed in case.json)');
    else if (sha256(traceBytes) !== meta.trace.sha256)
      problems.push('trace.txt does not match its sha256 in case.json (the golden file was changed)');
  }
  if (problems.length) return malformed();

  const lines: string[] = [];
  const r = prepared.run([input], traceBytes ? { trace: (l) => lines.push(l) } : {});
  if (r.outputs.length !== wantCount)
    reasons.push(
      `the golden has ${wantCount} output${wantCount === 1 ? '' : 's'} (output_0..${wantCount - 1}.bin), the model gives ${r.outputs.length}`,
    );
  const outputs = r.outputs.slice(0, wantCount).map((o, i) => ({
    index: i,
    ...compareOutput(o, want[i]!, prepared.outputs[i].dtype),
  }));

  let first: CaseResult['first_diverging_layer'];
  let trace: CaseResult['trace'] = 'absent';
  if (traceBytes) {
    const wantLines = Buffer.from(traceBytes).toString('utf8').trim().split('\n');
    const n = Math.max(wantLines.length, lines.length);
    first = null;
    for (let i = 0; i < n; i++) {
      if (wantLines[i] !== lines[i]) {
        first = { index: i, got: lines[i] ?? '(no layer)', want: wantLines[i] ?? '(no layer)' };
        break;
      }
    }
    trace = first ? 'diverged' : 'match';
    if (first) reasons.push(`the trace diverges at layer ${first.index}`);
  } else notes.push('no trace.txt: the layer checks were skipped (outputs only)');

  const statuses = outputs.map((o) => o.status);
  const status: CaseStatus =
    reasons.length || statuses.includes('different')
      ? 'different'
      : statuses.includes('within_tolerance')
        ? 'within_tolerance'
        : 'exact';
  return {
    case: name,
    status,
    layout,
    outputs,
    trace,
    ...(traceBytes ? { first_diverging_layer: first } : {}),
    problems,
    reasons,
    notes,
  };
}
