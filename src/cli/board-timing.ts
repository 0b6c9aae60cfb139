/**
 * `kpusim board calibrate` and `kpusim board profile`: kpusim's timing model against a board's own
 * clock, over the serial REPL (src/hil/calibrate). `calibrate` times the calibration suite, fits the
 * timing parameters and writes a timing file for `--timing FILE`; `profile` measures each layer of a
 * model on the board beside the model's prediction. See README.md, "Timing".
 */
import { existsSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { median, type TimingBoard } from '../hil/calibrate/board.js';
import type { TimingApi } from '../hil/calibrate/board.js';
import { boardProfile, boardProfileRefusal, type BoardProfileMethod } from '../hil/calibrate/board-profile.js';
import { calibrate, calibrationTable } from '../hil/calibrate/calibrate.js';
import { checkTimingFirmware, sessionTimingBoard, timingApiOf } from '../hil/calibrate/session-board.js';
import { calibrationSuite } from '../hil/calibrate/suite.js';
import { BoardError } from '../hil/errors.js';
import { estimateUploadSeconds, type BoardSession } from '../hil/session.js';
import { prepare } from '../kpu/interpreter.js';
import { parameterValues, TIMING_PARAMETERS, TIMING_PARAMS, withParameters } from '../kpu/timing/params.js';
import { timingFileJson } from '../kpu/timing/timing-file.js';
import { loadKmodel } from '../load.js';
import { boardProfileCsv, boardProfileText, boardProfileTrace } from '../report/board-profile.js';
import { boardArgs, boardJson, boardOptions, UploadBar, withBoard, type BoardArgs } from './board.js';
import type { Command } from './command.js';
import { EXIT, printJson, Progress, type Io } from './common.js';
import { checkOutputPaths, timingFrom, timingJson, timingOption } from './options.js';

function repeatOf(v: unknown, def: number): number {
  const n = Number(v ?? def);
  if (!Number.isInteger(n) || n < 1 || n > 100)
    throw new UsageError('BAD_ARGUMENT', `--repeat ${String(v)}: 1 to 100 timed repeats`);
  return n;
}

function checkParent(file: string, opt: string): void {
  const d = dirname(resolve(file));
  if (!existsSync(d)) throw new UsageError('NOT_FOUND', `--${opt} ${file}: no such folder ${d}`);
}

/** Seconds as "12 s" or "6 min 35 s". */
function duration(s: number): string {
  if (s < 60) return `${Math.max(1, Math.round(s))} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${String(Math.round(s - 60 * m)).padStart(2, '0')} s`;
}

/** A timing board on the session, with upload notes and progress bars on stderr. */
function timingBoardFor(
  s: BoardSession,
  b: BoardArgs,
  io: Io,
  quiet: boolean,
  baud: number,
  api: TimingApi,
): TimingBoard {
  let uploaded = 0;
  let skipped = 0;
  let planned = 0;
  let sentBefore = 0;
  const seen = new Set<string>();
  const bar = new UploadBar(io, 'upload');
  const board = sessionTimingBoard(s, {
    api,
    port: b.port,
    batchTimeoutMs: Math.max(600_000, b.timeoutMs),
    onNote: (t) => io.err(`kpusim: note: ${t}\n`),
    onUploadPlan: (files, bytes) => {
      planned = bytes;
      if (!quiet && bytes > 64 * 1024)
        io.err(
          `kpusim: ${files} model file(s), ${bytes} bytes: uploading what is not on the board yet takes up to ${duration(estimateUploadSeconds(bytes, baud, s.maxCommandBytes))} at ${baud} baud\n`,
        );
    },
    onUpload: (f, p, fresh) => {
      if (fresh) bar.update({ sent: Math.min(planned, sentBefore + p.sent), total: planned });
      if (p.sent < p.total || seen.has(f)) return;
      seen.add(f);
      sentBefore += p.total;
      if (fresh) uploaded++;
      else skipped++;
    },
  });
  return {
    info: () => board.info(),
    async time(jobs, progress) {
      const timed = new Progress(io, jobs.length, 'timing');
      let last = 0;
      try {
        return await board.time(jobs, (done, total) => {
          if (done === 0 && uploaded > 0) bar.end();
          progress?.(done, total);
          for (; last < done; last++) timed.tick(jobs[last]?.name ?? '');
        });
      } finally {
        timed.end();
        if (!quiet)
          io.err(`kpusim: ${uploaded} model file(s) uploaded, ${skipped} already on the board (same size and crc32)\n`);
      }
    },
  };
}

/** Runs `fn` with the REPL switched to `--baud-up` (where the firmware can), and back. Returns the rate used. */
async function withBaudUp<T>(
  s: BoardSession,
  b: BoardArgs,
  io: Io,
  up: number | undefined,
  fn: (baud: number) => Promise<T>,
) {
  let baud = b.baud;
  if (up !== undefined && up !== b.baud) {
    if (await s.switchBaud(up, b.baud)) baud = up;
    else io.err(`kpusim: warning: this board cannot change its REPL baud rate; staying at ${b.baud} baud\n`);
  }
  try {
    return await fn(baud);
  } finally {
    if (baud !== b.baud) await s.switchBaud(b.baud, baud).catch(() => false);
  }
}

function baudUpOf(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 9600 || n > 5_000_000)
    throw new UsageError('BAD_ARGUMENT', `--baud-up ${String(v)}: a baud rate up to 5000000`);
  return n;
}

const KPU_APIS = ['auto', 'maixpy', 'canmv-kpu', 'canmv-main'] as const;

const kpuApiOption = {
  choices: KPU_APIS,
  default: 'auto',
  describe:
    "the KPU API the timing script drives: MaixPy's KPU module, CanMV's maix.KPU() load/run, or its older load_kmodel/run_with_output (auto: the one the firmware offers)",
} as const;

/** The timing script's KPU API: `--kpu-api`, else the firmware's. */
function apiFor(s: BoardSession, v: unknown): TimingApi {
  if (v === 'maixpy' || v === 'canmv-kpu' || v === 'canmv-main') return v;
  return timingApiOf(s) ?? 'maixpy';
}

const baudUpOption = {
  type: 'number',
  describe: 'switch the link to this baud rate for the uploads and timing, and back (where the firmware can)',
} as const;

const calibrateCommand: Command = {
  command: 'calibrate',
  describe:
    "Time kpusim's calibration suite on the board, fit the timing model's parameters to it and write a timing file (for --timing FILE)",
  builder: (y: Argv) =>
    boardOptions(y)
      .option('out', { type: 'string', demandOption: true, describe: 'the timing file to write (JSON)' })
      .option('repeat', { type: 'number', default: 5, describe: 'timed repeats per case (the median is fitted)' })
      .option('baud-up', baudUpOption)
      .option('kpu-api', kpuApiOption)
      .option('quick', {
        type: 'boolean',
        default: false,
        describe: 'a smaller suite (fewer shapes; for a first look and for tests): fewer parameters well determined',
      })
      .check((a) => checkOutputPaths(a, [], ['out'])),
  async run(args, io) {
    const b = boardArgs(args);
    const out = String(args.out);
    checkParent(out, 'out');
    const repeats = repeatOf(args.repeat, 5);
    const baudUp = baudUpOf(args['baud-up']);
    const size = args.quick ? 'small' : 'full';
    const t0 = performance.now();
    if (!b.json) io.err(`kpusim: building the calibration suite (${size})\n`);
    const models = calibrationSuite(size);
    return withBoard(b, io, async (s) => {
      checkTimingFirmware(s, 'kpusim board calibrate');
      const total = models.reduce((n, m) => n + m.kmodel.length, 0);
      io.err(
        `kpusim: ${models.length} suite models (${total} bytes; files already on the board are not sent again), ${repeats} repeats each\n`,
      );
      const c = await withBaudUp(s, b, io, baudUp, (baud) =>
        calibrate(timingBoardFor(s, b, io, false, baud, apiFor(s, args['kpu-api'])), { models, repeats }),
      );
      writeFileSync(out, timingFileJson(c.file));
      const seconds = Math.round((performance.now() - t0) / 100) / 10;
      const before = parameterValues(startOf(c.board));
      const after = parameterValues(c.fit.params);
      const fitted = new Set(c.fit.fitted);
      const pct = (a: number, m: number) => Math.round((10000 * (a - m)) / m) / 100;
      if (b.json) {
        printJson(io, {
          out,
          board: { ...boardJson(s.info), cpu_mhz: c.board.cpuMhz, kpu_mhz: c.board.kpuMhz },
          suite: size,
          repeats,
          seconds,
          fit: {
            iterations: c.fit.iterations,
            rms_pct_before: c.fit.rmsPctBefore,
            rms_pct_after: c.fit.rmsPctAfter,
            fitted: c.fit.fitted,
            unreached: c.fit.unreached,
          },
          parameters: TIMING_PARAMETERS.map((t) => ({
            name: t.name,
            unit: t.unit,
            before: before[t.name],
            after: after[t.name],
            fitted: fitted.has(t.name),
          })),
          cases: c.cases.map((k) => ({
            name: k.name,
            group: k.group,
            measured_ms: k.measuredMs,
            spread_ms: k.spreadMs,
            loops: k.loops,
            before_ms: k.beforeMs,
            after_ms: k.afterMs,
            before_error_pct: pct(k.beforeMs, k.measuredMs),
            after_error_pct: pct(k.afterMs, k.measuredMs),
          })),
        });
        return EXIT.OK;
      }
      const rows = c.fit.fitted.map(
        (n) =>
          `${n.padEnd(44)} ${before[n].toPrecision(6).padStart(12)} ${after[n].toPrecision(6).padStart(12)} ${`${pct(after[n], before[n]) >= 0 ? '+' : ''}${pct(after[n], before[n]).toFixed(1)}%`.padStart(8)}`,
      );
      io.out(
        `board: ${c.board.firmware}${c.board.version ? ` ${c.board.version}` : ''}${c.board.virtual ? " (kpusim's virtual board)" : ''} on ${b.port}, CPU ${c.board.cpuMhz} MHz, KPU ${c.board.kpuMhz} MHz\n\n` +
          calibrationTable(c) +
          `\n${'parameter (fitted)'.padEnd(44)} ${'built-in'.padStart(12)} ${'board'.padStart(12)} ${'change'.padStart(8)}\n${rows.join('\n')}\n\n` +
          `wrote ${out} (${seconds} s); use it with --timing ${out} on profile, estimate, check, face, maixpy and board serve\n`,
      );
      return EXIT.OK;
    });
  },
};

/** The built-in parameters at the board's clocks (where the fit started). */
function startOf(board: { cpuMhz: number; kpuMhz: number }) {
  return withParameters(TIMING_PARAMS, {}, { kpuMhz: board.kpuMhz, cpuMhz: board.cpuMhz });
}

const profileCommand: Command = {
  command: 'profile <model>',
  describe:
    "Each layer's time on the board (kpu.set_layers prefixes, MaixPy, kmodel v3) beside the timing model's prediction",
  builder: (y: Argv) =>
    timingOption(
      boardOptions(y)
        .positional('model', { type: 'string', demandOption: true, describe: '.kmodel file (v3, v4, v5)' })
        .option('method', {
          choices: ['auto', 'set_layers', 'layer-models'] as const,
          default: 'auto',
          describe:
            "set_layers: time prefixes of the model (MaixPy, kmodel v3); layer-models: time a single-layer v3 model per layer, written by kpusim's builder (any firmware, any version); auto: set_layers where it works",
        })
        .option('kpu-api', kpuApiOption)
        .option('repeat', { type: 'number', default: 5, describe: 'timed repeats per prefix (medians are compared)' })
        .option('csv', { type: 'string', describe: 'also write the per-layer table as CSV to this file' })
        .option('baud-up', baudUpOption)
        .option('chrome-trace', {
          type: 'string',
          alias: 'trace',
          describe: 'also write a Chrome trace (board and predicted tracks) to this file',
        })
        .check((a) => checkOutputPaths(a, [], ['csv', 'chrome-trace'])),
    ),
  async run(args, io) {
    const b = boardArgs(args);
    const repeats = repeatOf(args.repeat, 5);
    const baudUp = baudUpOf(args['baud-up']);
    const csv = typeof args.csv === 'string' ? args.csv : undefined;
    const trace = typeof args['chrome-trace'] === 'string' ? args['chrome-trace'] : undefined;
    if (csv) checkParent(csv, 'csv');
    if (trace) checkParent(trace, 'chrome-trace');
    const timing = timingFrom(args);
    const loaded = loadKmodel(String(args.model));
    const prepared = prepare(loaded.model, {});
    const asked =
      args.method === 'set_layers'
        ? 'set_layers-prefixes'
        : args.method === 'layer-models'
          ? 'layer-models'
          : undefined;
    if (asked === 'set_layers-prefixes') {
      const why = boardProfileRefusal(loaded.model, prepared);
      if (why) throw new BoardError('UNSUPPORTED', `${loaded.path}: ${why}`);
    }
    return withBoard(b, io, async (s) => {
      checkTimingFirmware(s, 'kpusim board profile');
      const api = apiFor(s, args['kpu-api']);
      const info = await sessionTimingBoard(s).info();
      const params = withParameters(timing?.params ?? TIMING_PARAMS, {}, { kpuMhz: info.kpuMhz, cpuMhz: info.cpuMhz });
      const method: BoardProfileMethod =
        asked ??
        (api === 'maixpy' && boardProfileRefusal(loaded.model, prepared) === null
          ? 'set_layers-prefixes'
          : 'layer-models');
      if (method === 'set_layers-prefixes' && api !== 'maixpy')
        throw new BoardError(
          'UNSUPPORTED',
          `--method set_layers needs MaixPy's kpu.set_layers; the timing script drives ${api} here: use --method layer-models`,
        );
      if (method === 'layer-models' && !b.json)
        io.err(`kpusim: building single-layer models for ${prepared.events.length} layers\n`);
      const p = await withBaudUp(s, b, io, baudUp, (baud) =>
        boardProfile(timingBoardFor(s, b, io, b.json, baud, api), {
          name: basename(loaded.path),
          model: loaded.model,
          bytes: loaded.bytes,
          prepared,
          params,
          repeats,
          method,
          hasSetLayers: api === 'maixpy',
          maixpyApi: api === 'maixpy',
          loads: s.info.kmodelVersions,
        }),
      );
      if (csv) writeFileSync(csv, boardProfileCsv(p));
      if (trace) writeFileSync(trace, JSON.stringify(boardProfileTrace(p, basename(loaded.path))) + '\n');
      if (b.json)
        printJson(io, {
          model: loaded.path,
          board: { ...boardJson(s.info), cpu_mhz: info.cpuMhz, kpu_mhz: info.kpuMhz },
          timing: timingJson(timing),
          method: p.method,
          kpu_api: api,
          repeats,
          layers: p.layers,
          total: p.total,
          runs: p.prefixes.map((x) => ({ ...x, median_ms: median(x.runs_ms) })),
        });
      else
        io.out(
          `${loaded.path} on ${info.firmware}${info.version ? ` ${info.version}` : ''}${info.virtual ? " (kpusim's virtual board)" : ''}, ${b.port}\n` +
            `predicted: ${timing ? `timing file ${timing.file}` : 'built-in parameters'} at the board's clocks (CPU ${info.cpuMhz} MHz, KPU ${info.kpuMhz} MHz)\n` +
            `method: ${p.method === 'layer-models' ? "single-layer models written by kpusim's builder" : 'kpu.set_layers prefixes'} (KPU API ${api})\n\n` +
            boardProfileText(p),
        );
      return EXIT.OK;
    });
  },
};

export const boardCalibrateCommand = calibrateCommand;
export const boardProfileCommand = profileCommand;
