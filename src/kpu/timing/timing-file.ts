/**
 * Timing files: a board's own timing parameters, as `kpusim board calibrate` measures and fits them,
 * read back by `--timing FILE` to replace the built-in parameters (params.ts).
 *
 * ```json
 * { "schema_version": 1, "kind": "kpusim-timing",
 *   "created": "2026-12-06T22:00:00.000Z",
 *   "board": { "firmware": "MaixPy", "version": "v0.6.2", "virtual": false, "port": "/dev/ttyUSB0",
 *              "cpu_mhz": 400, "kpu_mhz": 400 },
 *   "parameters": { "kpu.cyclesPerLine": 1.06, …every parameter of TIMING_PARAMETERS… },
 *   "fitted": ["kpu.cyclesPerLine", …],
 *   "cases": [ { "name": "conv3x3 128→128 64×64", "measured_ms": 3.9, "spread_ms": 0.002,
 *                "before_ms": 3.91, "after_ms": 3.9, "residual_pct": 0.0 }, … ],
 *   "fit": { "iterations": 12, "rms_pct_before": 8.1, "rms_pct_after": 0.4 } }
 * ```
 *
 * A timing file is user input: `parseTimingFile` checks every field and throws a `UsageError`
 * (code BAD_FILE) naming the file and the field, never a stack trace. Parameters it does not name
 * keep their built-in values; a name it does not know is refused (a misspelt parameter would
 * otherwise be ignored silently).
 */
import { UsageError } from '../../errors.js';
import { readUserText, type ReadCap } from '../../io/read-file.js';
import {
  parameterValues,
  TIMING_PARAMETERS,
  TIMING_PARAMS,
  timingParameter,
  withParameters,
  type TimingParams,
} from './params.js';

export const TIMING_FILE_SCHEMA_VERSION = 1;

/** A timing file holds a few hundred numbers; 4 MiB leaves room for thousands of suite cases. */
export const TIMING_FILE_CAP: ReadCap = { maxBytes: 4 * 1024 * 1024, what: 'a timing file' };

export interface TimingFileBoard {
  /** Firmware name as the board reports it (MaixPy, CanMV, or kpusim's virtual board). */
  readonly firmware: string;
  readonly version?: string;
  readonly virtual: boolean;
  readonly port?: string;
  readonly cpu_mhz: number;
  readonly kpu_mhz: number;
}

export interface TimingFileCase {
  readonly name: string;
  /** Median board time of the case, ms. */
  readonly measured_ms: number;
  /** Spread of the repeats (max − min), ms. */
  readonly spread_ms?: number;
  /** The built-in parameters' prediction. */
  readonly before_ms?: number;
  /** The fitted parameters' prediction. */
  readonly after_ms?: number;
  /** 100 · (after − measured) / measured. */
  readonly residual_pct?: number;
}

export interface TimingFile {
  readonly schema_version: typeof TIMING_FILE_SCHEMA_VERSION;
  readonly kind: 'kpusim-timing';
  readonly created?: string;
  readonly board: TimingFileBoard;
  readonly parameters: Readonly<Record<string, number>>;
  readonly fitted?: readonly string[];
  readonly cases?: readonly TimingFileCase[];
  readonly fit?: Readonly<Record<string, number>>;
}

/** A loaded timing file: the document, the parameters it gives and where it came from. */
export interface LoadedTiming {
  readonly file: string;
  readonly doc: TimingFile;
  readonly params: TimingParams;
}

type Json = Record<string, unknown>;
const isObject = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);

function bad(file: string, what: string): UsageError {
  return new UsageError('BAD_FILE', `${file}: not a kpusim timing file: ${what}`);
}

function finite(file: string, field: string, v: unknown, min = -Infinity, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(file, `${field} must be a finite number`);
  if (v < min || v > max) throw bad(file, `${field} = ${v} is outside ${min} … ${max}`);
  return v;
}

function optString(file: string, field: string, v: unknown, maxLength = 1000): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length > maxLength)
    throw bad(file, `${field} must be a string of at most ${maxLength} characters`);
  return v;
}

/** Checks a parsed JSON value as a timing file. */
export function checkTimingFile(x: unknown, file = '<timing>'): TimingFile {
  if (!isObject(x)) throw bad(file, 'the document must be a JSON object');
  if (x.schema_version !== TIMING_FILE_SCHEMA_VERSION)
    throw bad(file, `schema_version must be ${TIMING_FILE_SCHEMA_VERSION}, got ${JSON.stringify(x.schema_version)}`);
  if (x.kind !== 'kpusim-timing') throw bad(file, `kind must be "kpusim-timing", got ${JSON.stringify(x.kind)}`);
  const b = x.board;
  if (!isObject(b)) throw bad(file, 'board must be an object (firmware, virtual, cpu_mhz, kpu_mhz)');
  const firmware = optString(file, 'board.firmware', b.firmware);
  if (firmware === undefined) throw bad(file, 'board.firmware must be a string');
  if (typeof b.virtual !== 'boolean') throw bad(file, 'board.virtual must be true or false');
  const board: TimingFileBoard = {
    firmware,
    virtual: b.virtual,
    cpu_mhz: finite(file, 'board.cpu_mhz', b.cpu_mhz, 1, 2000),
    kpu_mhz: finite(file, 'board.kpu_mhz', b.kpu_mhz, 1, 2000),
    ...(b.version !== undefined ? { version: optString(file, 'board.version', b.version) } : {}),
    ...(b.port !== undefined ? { port: optString(file, 'board.port', b.port) } : {}),
  };
  if (!isObject(x.parameters)) throw bad(file, 'parameters must be an object of name → number');
  const parameters: Record<string, number> = {};
  for (const [name, v] of Object.entries(x.parameters)) {
    const spec = timingParameter(name);
    if (!spec)
      throw bad(
        file,
        `unknown parameter "${name.slice(0, 100)}" (kpusim knows ${TIMING_PARAMETERS.length}; see src/kpu/timing/params.ts)`,
      );
    parameters[name] = finite(file, `parameters["${name}"]`, v, spec.min, spec.max);
  }
  let fitted: string[] | undefined;
  if (x.fitted !== undefined) {
    if (!Array.isArray(x.fitted) || x.fitted.some((n) => typeof n !== 'string' || !timingParameter(n)))
      throw bad(file, 'fitted must be a list of parameter names');
    fitted = x.fitted as string[];
  }
  let cases: TimingFileCase[] | undefined;
  if (x.cases !== undefined) {
    if (!Array.isArray(x.cases)) throw bad(file, 'cases must be a list');
    cases = x.cases.map((c: unknown, i) => {
      if (!isObject(c)) throw bad(file, `cases[${i}] must be an object`);
      const name = optString(file, `cases[${i}].name`, c.name);
      if (name === undefined) throw bad(file, `cases[${i}].name must be a string`);
      const out: Record<string, unknown> = {
        name,
        measured_ms: finite(file, `cases[${i}].measured_ms`, c.measured_ms, 0),
      };
      for (const k of ['spread_ms', 'before_ms', 'after_ms', 'residual_pct'] as const)
        if (c[k] !== undefined) out[k] = finite(file, `cases[${i}].${k}`, c[k]);
      return out as unknown as TimingFileCase;
    });
  }
  let fit: Record<string, number> | undefined;
  if (x.fit !== undefined) {
    if (!isObject(x.fit)) throw bad(file, 'fit must be an object of numbers');
    fit = {};
    for (const [k, v] of Object.entries(x.fit)) fit[k] = finite(file, `fit.${k}`, v);
  }
  return {
    schema_version: TIMING_FILE_SCHEMA_VERSION,
    kind: 'kpusim-timing',
    ...(typeof x.created === 'string' ? { created: x.created.slice(0, 100) } : {}),
    board,
    parameters,
    ...(fitted ? { fitted } : {}),
    ...(cases ? { cases } : {}),
    ...(fit ? { fit } : {}),
  };
}

/** Parses the text of a timing file. */
export function parseTimingFile(text: string, file = '<timing>'): TimingFile {
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch (e) {
    throw bad(file, `invalid JSON (${(e as Error).message})`);
  }
  return checkTimingFile(x, file);
}

/** The timing parameters a file gives: the built-ins with the file's parameters and clocks. */
export function timingParamsOf(doc: TimingFile, base: TimingParams = TIMING_PARAMS): TimingParams {
  return withParameters(base, doc.parameters, { kpuMhz: doc.board.kpu_mhz, cpuMhz: doc.board.cpu_mhz });
}

/** Reads and checks a timing file (a regular file of at most 4 MiB). */
export function loadTimingFile(file: string): LoadedTiming {
  const doc = parseTimingFile(readUserText(file, TIMING_FILE_CAP), file);
  return { file, doc, params: timingParamsOf(doc) };
}

/** A timing file's document for a parameter set (every parameter written), with what the calibration adds. */
export function timingFileOf(
  params: TimingParams,
  board: TimingFileBoard,
  extra: {
    fitted?: readonly string[];
    cases?: readonly TimingFileCase[];
    fit?: Record<string, number>;
    created?: string;
  } = {},
): TimingFile {
  return {
    schema_version: TIMING_FILE_SCHEMA_VERSION,
    kind: 'kpusim-timing',
    ...(extra.created ? { created: extra.created } : {}),
    board,
    parameters: parameterValues(params),
    ...(extra.fitted ? { fitted: [...extra.fitted] } : {}),
    ...(extra.cases ? { cases: [...extra.cases] } : {}),
    ...(extra.fit ? { fit: extra.fit } : {}),
  };
}

/** The JSON text of a timing file (stable key order, one parameter per line). */
export function timingFileJson(doc: TimingFile): string {
  return JSON.stringify(doc, null, 2) + '\n';
}

/** One line saying where a profile's figures come from (for `kpusim profile --timing`). */
export function timingSourceLine(t: LoadedTiming | null): string {
  if (!t) return 'timing: built-in parameters (fitted to public measurements; see src/kpu/timing/params.ts)';
  const b = t.doc.board;
  return `timing: ${t.file}: ${b.virtual ? 'virtual board' : 'board'} ${b.firmware}${b.version ? ` ${b.version}` : ''}${b.port ? ` on ${b.port}` : ''}, CPU ${b.cpu_mhz} MHz, KPU ${b.kpu_mhz} MHz${t.doc.created ? `, calibrated ${t.doc.created}` : ''}`;
}
