/**
 * `kpusim board calibrate`: time the calibration suite (suite.ts) on a board, fit the timing model
 * to the medians (src/kpu/timing/fit.ts) and describe the result as a timing file.
 */
import { parseKmodel } from '../../kmodel-parser/parse.js';
import type { LayerEvent } from '../../kpu/events.js';
import { prepare } from '../../kpu/interpreter.js';
import { fitTiming, predictRunMs, type FitResult } from '../../kpu/timing/fit.js';
import { TIMING_PARAMS, withParameters, type TimingParams } from '../../kpu/timing/params.js';
import { timingFileOf, type TimingFile, type TimingFileCase } from '../../kpu/timing/timing-file.js';
import { median, spread, type BoardInfo, type TimingBoard, type TimingJob } from './board.js';
import { calibrationSuite, type SuiteModel } from './suite.js';

export interface CalibrateOptions {
  /** 'full' for a board; 'small' (fewer and smaller cases) for tests. */
  readonly suite?: 'full' | 'small';
  /** Timed repeats per case (the median is fitted; the spread is reported). Default 5. */
  readonly repeats?: number;
  /** Board time each repeat should last, ms: sets the loops per repeat (default 5). */
  readonly targetMs?: number;
  readonly maxLoops?: number;
  /** Where the fit starts (default: the built-in parameters at the board's clocks). */
  readonly start?: TimingParams;
  readonly progress?: (done: number, total: number) => void;
  /** The suite, already built (default: `calibrationSuite(suite)`). */
  readonly models?: readonly SuiteModel[];
}

export interface CalibrationCase {
  readonly name: string;
  readonly group: SuiteModel['group'];
  readonly measuredMs: number;
  readonly spreadMs: number;
  readonly loops: number;
  readonly beforeMs: number;
  readonly afterMs: number;
}

export interface Calibration {
  readonly board: BoardInfo;
  readonly fit: FitResult;
  readonly cases: readonly CalibrationCase[];
  readonly file: TimingFile;
}

/** The suite's events (the timing model reads only shapes, so any input will do). */
export function suiteEvents(models: readonly SuiteModel[]): (readonly LayerEvent[])[] {
  return models.map((m) => prepare(parseKmodel(m.kmodel, m.name)).events);
}

export async function calibrate(board: TimingBoard, opts: CalibrateOptions = {}): Promise<Calibration> {
  const info = await board.info();
  const start = opts.start ?? withParameters(TIMING_PARAMS, {}, { kpuMhz: info.kpuMhz, cpuMhz: info.cpuMhz });
  const models = opts.models ?? calibrationSuite(opts.suite ?? 'full');
  const events = suiteEvents(models);
  const repeats = opts.repeats ?? 5;
  const target = opts.targetMs ?? 5;
  const maxLoops = opts.maxLoops ?? 200;
  const jobs: TimingJob[] = models.map((m, i) => ({
    name: m.name,
    kmodel: m.kmodel,
    input: m.input,
    repeats,
    loops: Math.max(1, Math.min(maxLoops, Math.ceil(target / predictRunMs(events[i], start)))),
  }));
  const runs = await board.time(jobs, opts.progress);
  const fitCases = models.map((m, i) => ({ name: m.name, events: events[i], measuredMs: median(runs[i].perRunMs) }));
  const fit = fitTiming(fitCases, { start });
  const cases: CalibrationCase[] = models.map((m, i) => ({
    name: m.name,
    group: m.group,
    measuredMs: fitCases[i].measuredMs,
    spreadMs: spread(runs[i].perRunMs),
    loops: jobs[i].loops,
    beforeMs: fit.before[i],
    afterMs: fit.after[i],
  }));
  const round = (x: number, d = 6) => Math.round(x * 10 ** d) / 10 ** d;
  const fileCases: TimingFileCase[] = cases.map((c) => ({
    name: c.name,
    measured_ms: round(c.measuredMs),
    spread_ms: round(c.spreadMs),
    before_ms: round(c.beforeMs),
    after_ms: round(c.afterMs),
    residual_pct: round((100 * (c.afterMs - c.measuredMs)) / c.measuredMs, 4),
  }));
  const file = timingFileOf(
    fit.params,
    {
      firmware: info.firmware,
      ...(info.version ? { version: info.version } : {}),
      virtual: info.virtual,
      ...(info.port ? { port: info.port } : {}),
      cpu_mhz: info.cpuMhz,
      kpu_mhz: info.kpuMhz,
    },
    {
      created: new Date().toISOString(),
      fitted: fit.fitted,
      cases: fileCases,
      fit: {
        iterations: fit.iterations,
        cases: cases.length,
        rms_pct_before: round(fit.rmsPctBefore, 4),
        rms_pct_after: round(fit.rmsPctAfter, 4),
      },
    },
  );
  return { board: info, fit, cases, file };
}

/** The before/after table: one line per case. */
export function calibrationTable(c: Calibration): string {
  const pct = (a: number, m: number) => {
    const v = (100 * (a - m)) / m;
    return `${v >= 0 ? '+' : ''}${v.toFixed(1)}%`;
  };
  const rows = c.cases.map(
    (k) =>
      `${k.name.padEnd(26)} ${k.group.padEnd(8)} ${k.measuredMs.toFixed(4).padStart(10)} ${k.spreadMs.toFixed(4).padStart(8)} ${k.beforeMs.toFixed(4).padStart(10)} ${pct(k.beforeMs, k.measuredMs).padStart(8)} ${k.afterMs.toFixed(4).padStart(10)} ${pct(k.afterMs, k.measuredMs).padStart(8)}`,
  );
  return (
    `${'case'.padEnd(26)} ${'group'.padEnd(8)} ${'board ms'.padStart(10)} ${'spread'.padStart(8)} ${'before'.padStart(10)} ${'error'.padStart(8)} ${'after'.padStart(10)} ${'error'.padStart(8)}\n` +
    rows.join('\n') +
    `\nRMS error: ${c.fit.rmsPctBefore.toFixed(2)}% with the built-in parameters, ${c.fit.rmsPctAfter.toFixed(2)}% fitted (${c.fit.fitted.length} parameters fitted, ${c.fit.unreached.length} not reached by the suite keep their values)\n`
  );
}
