/** Options several commands share: how a file becomes a model input, numerics, v5 numbering. */
import { statSync } from 'node:fs';
import type { Argv } from 'yargs';
import { CPU_MHZ, KPU_MHZ } from '../chip.js';
import { UsageError } from '../errors.js';
import type { InputOptions } from '../input.js';
import { loadTimingFile, type LoadedTiming } from '../kpu/timing/timing-file.js';

export const inputOptions = (y: Argv) =>
  y
    .option('resize', {
      choices: ['stretch', 'fit', 'crop'] as const,
      default: 'stretch' as const,
      describe: 'how an image of another size becomes the input',
    })
    .option('interp', {
      choices: ['nearest', 'bilinear'] as const,
      default: 'nearest' as const,
      describe: 'image resampling',
    })
    .option('pad-value', {
      type: 'number',
      default: 0,
      describe: 'padding byte for --resize fit (demos use 0, 114 or 127)',
    })
    .option('bgr', { type: 'boolean', default: false, describe: 'planes in B, G, R order (models trained on BGR)' })
    .option('mean', {
      type: 'string',
      describe: 'float inputs: per-channel mean, comma-separated (default: value/255)',
    })
    .option('std', { type: 'string', describe: 'float inputs: per-channel std, comma-separated' });

export const numericsOptions = (y: Argv) =>
  y
    .option('numerics', {
      choices: ['golden', 'board'] as const,
      default: 'golden' as const,
      describe: "golden: nncase's simulator (default); board: the K210 firmware's float arithmetic where it differs",
    })
    .option('kpu-numerics', {
      choices: ['nncase02', 'nncase01'] as const,
      default: 'nncase02' as const,
      describe: 'KPU activation rounding and segment boundary rules',
    })
    .option('nncase-version', {
      type: 'string',
      describe: 'kmodel v5: the nncase 1.x release whose stackvm numbering to use (default: chosen from the file)',
    });

/** Parse options from the command line (v5 stackvm numbering override). */
export const parseOptionsFrom = (args: Record<string, unknown>) =>
  args['nncase-version'] === undefined ? {} : { nncaseVersion: String(args['nncase-version']) };

function numberList(v: unknown, what: string): number[] | undefined {
  if (v === undefined) return undefined;
  const xs = String(v).split(',').map(Number);
  if (xs.some((x) => !Number.isFinite(x)))
    throw new UsageError('BAD_ARGUMENT', `${what} takes comma-separated numbers, got "${String(v)}"`);
  return xs;
}

export function inputOptionsFrom(args: Record<string, unknown>): InputOptions {
  return {
    resize: args.resize as InputOptions['resize'],
    interp: args.interp as InputOptions['interp'],
    padValue: args['pad-value'] as number,
    bgr: Boolean(args.bgr),
    mean: numberList(args.mean, '--mean'),
    std: numberList(args.std, '--std'),
  };
}

/**
 * For a yargs `.check`: an output folder option must name a folder or nothing yet; an output
 * file option must not name a folder. Checked before the command runs, so a wrong path has no
 * effect (it used to fail half-way, after work, as an internal error).
 */
export function checkOutputPaths(
  a: Record<string, unknown>,
  folders: readonly string[],
  files: readonly string[] = [],
): true {
  const kind = (p: string): 'dir' | 'file' | 'none' => {
    try {
      return statSync(p).isDirectory() ? 'dir' : 'file';
    } catch {
      return 'none';
    }
  };
  for (const o of folders) {
    const v = a[o];
    if (typeof v !== 'string') continue;
    if (v === '') throw new UsageError('BAD_ARGUMENT', `--${o} needs a folder name`);
    if (kind(v) === 'file') throw new UsageError('BAD_ARGUMENT', `--${o} ${v}: exists and is not a folder`);
  }
  for (const o of files) {
    const v = a[o];
    if (typeof v !== 'string') continue;
    if (v === '') throw new UsageError('BAD_ARGUMENT', `--${o} needs a file name`);
    if (kind(v) === 'dir') throw new UsageError('BAD_ARGUMENT', `--${o} ${v}: is a folder, not a file`);
  }
  return true;
}

/** `--kpu-mhz` / `--cpu-mhz` and `--timing FILE` (profile, estimate, check, face). */
export function clockOptions(y: Argv): Argv {
  return timingOption(y)
    .option('kpu-mhz', {
      type: 'number',
      describe: `KPU clock in MHz (PLL1 / divider); default ${KPU_MHZ}, or the timing file's board`,
    })
    .option('cpu-mhz', {
      type: 'number',
      describe: `CPU clock in MHz; default ${CPU_MHZ}, or the timing file's board`,
    });
}

/** `--timing FILE`: a board's timing parameters (`kpusim board calibrate`) instead of the built-in ones. */
export function timingOption(y: Argv): Argv {
  return y.option('timing', {
    type: 'string',
    describe: 'timing file from `kpusim board calibrate`: its parameters and clocks replace the built-in ones',
  });
}

/** The timing file `--timing` names (read and checked now, before any work), or null. */
export function timingFrom(args: Record<string, unknown>): LoadedTiming | null {
  const f = args.timing;
  if (f === undefined || f === null) return null;
  if (typeof f !== 'string' || f === '') throw new UsageError('BAD_ARGUMENT', '--timing takes a file name');
  return loadTimingFile(f);
}

/** Where the timing figures come from, for `--json` documents. */
export function timingJson(t: LoadedTiming | null): Record<string, unknown> {
  return t ? { file: t.file, board: t.doc.board, created: t.doc.created ?? null } : { file: null, builtin: true };
}

/** The clocks: `--kpu-mhz`/`--cpu-mhz` when given, else the timing file's board, else the chip's defaults. */
export function clocksFrom(
  args: Record<string, unknown>,
  timing: LoadedTiming | null = null,
): { kpuMhz: number; cpuMhz: number } {
  const dflt: Record<string, number> = {
    'kpu-mhz': timing?.params.clocks.kpuMhz ?? KPU_MHZ,
    'cpu-mhz': timing?.params.clocks.cpuMhz ?? CPU_MHZ,
  };
  const get = (k: string) => {
    if (args[k] === undefined) return dflt[k];
    const v = Number(args[k]);
    if (!Number.isFinite(v) || v <= 0 || v > 2000)
      throw new UsageError('BAD_ARGUMENT', `--${k} must be a clock in MHz between 0 and 2000, got ${String(args[k])}`);
    return v;
  };
  return { kpuMhz: get('kpu-mhz'), cpuMhz: get('cpu-mhz') };
}

/** A repeatable option's values as strings (none when absent). */
export function list(v: unknown): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

/** `--key-press 3,7 --key-press 9`: frame numbers from 1, comma-separated or repeated. */
export function frameNumbers(v: unknown): number[] {
  const out: number[] = [];
  for (const part of list(v).flatMap((s) => s.split(','))) {
    const t = part.trim();
    if (t === '') continue;
    const n = Number(t);
    if (!Number.isInteger(n) || n < 1)
      throw new UsageError('BAD_ARGUMENT', `--key-press takes frame numbers 1, 2, … (comma-separated), got "${t}"`);
    out.push(n);
  }
  return out;
}
