/**
 * `kpusim board <command> --port DEVICE`: drive a MaixPy or CanMV board (or kpusim's virtual board)
 * over its serial REPL. Each subcommand is one `Command` in BOARD_SUBCOMMANDS; the library does
 * the work (src/hil). See README.md, "With a board".
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { openPort } from '../hil/connect.js';
import { BoardError } from '../hil/errors.js';
import { BOARD_PROFILE_NAMES, type BoardProfileName } from '../hil/profiles.js';
import { BoardSession, crc32Of, estimateUploadSeconds, type BoardInfo, type PutProgress } from '../hil/session.js';
import { findCases } from '../golden.js';
import { compareCase, emulatorTruth, median, type CaseComparison, type OutputReport } from '../hil/compare.js';
import { INPUT_PATHS, runCaseOnBoard, type BoardCaseResult, type InputPath } from '../hil/run-case.js';
import { readInputFile } from '../input.js';
import { prepare } from '../kpu/interpreter.js';
import { loadKmodel, type LoadedModel } from '../load.js';
import { boardServeCommand } from './board-serve.js';
import type { Command } from './command.js';
import { EXIT, printJson, type Io } from './common.js';
import { checkOutputPaths, inputOptions, inputOptionsFrom, parseOptionsFrom } from './options.js';

/** Options every `kpusim board` command that talks to a board takes. */
export const boardOptions = (y: Argv) =>
  y
    .option('port', {
      type: 'string',
      demandOption: true,
      describe: 'serial device or pseudo-terminal (/dev/ttyUSB0, COM3, a `board serve --pty` path), or "virtual"',
    })
    .option('baud', { type: 'number', default: 115200, describe: 'baud rate of the REPL' })
    .option('board', {
      choices: BOARD_PROFILE_NAMES,
      default: 'none' as const,
      describe: 'DTR/RTS wiring (kflash names); none = leave both lines released',
    })
    .option('timeout', {
      type: 'number',
      default: 10,
      describe: 'seconds to wait for the prompt, and for each command',
    })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON document' });

export interface BoardArgs {
  readonly port: string;
  readonly baud: number;
  readonly board: BoardProfileName;
  readonly timeoutMs: number;
  readonly json: boolean;
}

export function boardArgs(args: Record<string, unknown>): BoardArgs {
  const baud = Number(args.baud ?? 115200);
  if (!Number.isInteger(baud) || baud < 300 || baud > 5_000_000)
    throw new UsageError('BAD_ARGUMENT', `--baud ${String(args.baud)}: a baud rate between 300 and 5000000`);
  const timeout = Number(args.timeout ?? 10);
  if (!(timeout > 0)) throw new UsageError('BAD_ARGUMENT', `--timeout ${String(args.timeout)}: seconds, more than 0`);
  return {
    port: String(args.port),
    baud,
    board: (args.board ?? 'none') as BoardProfileName,
    timeoutMs: timeout * 1000,
    json: Boolean(args.json),
  };
}

/** Opens the board `--port` names, runs `fn` with a session, closes it whatever happens. */
export async function withBoard<T>(b: BoardArgs, io: Io, fn: (s: BoardSession) => Promise<T>): Promise<T> {
  const link = await openPort(b.port, {
    baud: b.baud,
    board: b.board,
    warn: (t) => io.err(`kpusim: warning: ${t}\n`),
  });
  let session: BoardSession;
  try {
    // --timeout bounds the wait for the prompt and a script's run; kpusim's own commands (an upload
    // piece, a checksum) get at least 30 s on a slow or busy board.
    session = await BoardSession.open(link, {
      promptTimeoutMs: b.timeoutMs,
      commandTimeoutMs: Math.max(b.timeoutMs, 30_000),
    });
  } catch (e) {
    await link.close().catch(() => {});
    throw e;
  }
  try {
    return await fn(session);
  } finally {
    await session.close().catch(() => {});
  }
}

/** The `board` part of every JSON document. */
export function boardJson(info: BoardInfo): Record<string, unknown> {
  return { firmware: info.firmware, flavour: info.flavour, virtual: info.virtual, implementation: info.implementation };
}

function boardLine(info: BoardInfo): string {
  const name = info.flavour === 'canmv' ? 'CanMV' : info.flavour === 'maixpy' ? 'MaixPy' : 'MicroPython';
  return `${name} ${info.firmware} (${info.implementation}), ${info.virtual ? "kpusim's virtual board" : 'a real board'}`;
}

function duration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${String(Math.round(s - 60 * m)).padStart(2, '0')} s`;
}

/** Upload progress with speed and ETA on stderr (drawn on a terminal only). */
export class UploadBar {
  private readonly t0 = performance.now();
  private last = 0;
  constructor(
    private readonly io: Io,
    private readonly label: string,
  ) {}
  update(p: PutProgress): void {
    if (!this.io.errIsTty) return;
    const now = performance.now();
    if (now - this.last < 100 && p.sent < p.total) return;
    this.last = now;
    const secs = (now - this.t0) / 1000;
    const rate = secs > 0 ? p.sent / secs : 0;
    const eta = rate > 0 ? (p.total - p.sent) / rate : Infinity;
    const width = 24;
    const filled = Math.round((p.sent / Math.max(1, p.total)) * width);
    this.io.err(
      `\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.floor((100 * p.sent) / Math.max(1, p.total))}% ` +
        `${(rate / 1024).toFixed(1)} KiB/s ETA ${duration(eta)}`.padEnd(30),
    );
  }
  end(): void {
    if (this.io.errIsTty) this.io.err('\n');
  }
}

function readLocal(file: string, what: string): Uint8Array {
  if (!existsSync(file)) throw new UsageError('NOT_FOUND', `${file}: no such file`);
  if (!statSync(file).isFile()) throw new UsageError('BAD_FILE', `${file}: ${what} must be a regular file`);
  return new Uint8Array(readFileSync(file));
}

function checkBoardPath(p: string): void {
  if (!/^\/(flash|sd)\/[^/\0]+(\/[^/\0]+)*$/.test(p) || p.split('/').includes('..'))
    throw new UsageError('BAD_ARGUMENT', `--to ${p}: a path on the board under /flash/ or /sd/`);
}

/**
 * Uploads with the estimate said first, a progress bar, and the optional faster baud rate for the
 * transfer (and back). Returns the library's result.
 */
export async function pushFile(
  s: BoardSession,
  b: BoardArgs,
  io: Io,
  data: Uint8Array,
  to: string,
  opts: { baudUp?: number; force?: boolean; quiet?: boolean } = {},
) {
  const there = opts.force ? null : await s.fileCrc(to);
  if (there && there.size === data.length && there.crc32 === crc32Of(data))
    return { path: to, bytes: data.length, crc32: there.crc32, uploaded: false, ms: 0, baud: b.baud };
  let baud = b.baud;
  if (opts.baudUp && opts.baudUp !== b.baud) {
    if (await s.switchBaud(opts.baudUp, b.baud)) baud = opts.baudUp;
    else io.err(`kpusim: warning: this board cannot change its REPL baud rate; staying at ${b.baud} baud\n`);
  }
  const est = estimateUploadSeconds(data.length, baud, s.maxCommandBytes);
  if (!opts.quiet) io.err(`kpusim: uploading ${data.length} bytes to ${to}: about ${duration(est)} at ${baud} baud\n`);
  const bar = new UploadBar(io, `push ${basename(to)}`);
  try {
    const r = await s.putFile(to, data, { force: true, onProgress: (p) => bar.update(p) });
    return { ...r, baud };
  } finally {
    bar.end();
    if (baud !== b.baud) await s.switchBaud(b.baud, baud);
  }
}

const infoCommand: Command = {
  command: 'info',
  describe: 'Firmware, clocks, free memory, files and the kmodel versions the board loads',
  builder: (y: Argv) => boardOptions(y),
  async run(args, io) {
    const b = boardArgs(args);
    return withBoard(b, io, async (s) => {
      const i = s.info;
      if (b.json) {
        printJson(io, {
          port: b.port,
          baud: b.baud,
          board: { ...boardJson(i), uname: i.uname ?? null, kpu_api: i.kpuApi, modules: i.modules },
          clocks: { cpu_mhz: i.cpuMhz ?? null, kpu_mhz: i.kpuMhz ?? null },
          memory: { gc_free: i.gcFree, gc_alloc: i.gcAlloc, sys_free: i.sysFree < 0 ? null : i.sysFree },
          files: i.files.map((f) => ({ path: `${f.dir}/${f.name}`, size: f.size, dir: f.isDir })),
          missing_dirs: i.missingDirs,
          kmodel_versions: i.kmodelVersions,
        });
        return EXIT.OK;
      }
      let t = `${b.port} (${b.baud} baud, board profile ${b.board})\n`;
      t += `firmware: ${boardLine(i)}\n`;
      if (i.uname) t += `machine: ${i.uname.machine}\n`;
      t += `clocks: CPU ${i.cpuMhz ?? '?'} MHz, KPU ${i.kpuMhz ?? '?'} MHz\n`;
      t += `memory: GC heap ${i.gcFree} bytes free (${i.gcAlloc} in use)${i.sysFree >= 0 ? `, system heap ${i.sysFree} bytes free` : ''}\n`;
      t += `kmodel versions this firmware loads: ${i.kmodelVersions.length ? i.kmodelVersions.map((v) => `v${v}`).join(', ') : 'none'} (KPU API: ${i.kpuApi})\n`;
      for (const d of ['/flash', '/sd']) {
        if (i.missingDirs.includes(d)) {
          t += `${d}: not present\n`;
          continue;
        }
        const fs = i.files.filter((f) => f.dir === d);
        t += `${d}: ${fs.length ? fs.map((f) => (f.isDir ? `${f.name}/` : `${f.name} (${f.size} bytes)`)).join(', ') : 'empty'}\n`;
      }
      io.out(t);
      return EXIT.OK;
    });
  },
};

const pushCommand: Command = {
  command: 'push <file>',
  describe:
    'Upload a file (a model, an input) to /flash or /sd, checked by a crc32 the board computes; skipped when already there',
  builder: (y: Argv) =>
    boardOptions(y)
      .positional('file', { type: 'string', demandOption: true, describe: 'the file to upload' })
      .option('to', {
        type: 'string',
        describe: 'path on the board (default /sd/NAME, or /flash/NAME without an SD card)',
      })
      .option('baud-up', { type: 'number', describe: 'switch the link to this baud rate for the transfer, and back' })
      .option('force', { type: 'boolean', default: false, describe: 'upload even when the same file is there' }),
  async run(args, io) {
    const b = boardArgs(args);
    const file = String(args.file);
    const data = readLocal(file, 'the file to push');
    if (args.to !== undefined) checkBoardPath(String(args.to));
    const baudUp = args['baud-up'] === undefined ? undefined : Number(args['baud-up']);
    if (baudUp !== undefined && (!Number.isInteger(baudUp) || baudUp < 9600 || baudUp > 5_000_000))
      throw new UsageError('BAD_ARGUMENT', `--baud-up ${String(args['baud-up'])}: a baud rate up to 5000000`);
    return withBoard(b, io, async (s) => {
      const to =
        args.to !== undefined
          ? String(args.to)
          : `${s.info.missingDirs.includes('/sd') ? '/flash' : '/sd'}/${basename(file)}`;
      const r = await pushFile(s, b, io, data, to, { baudUp, force: Boolean(args.force), quiet: b.json });
      const rate = r.ms > 0 ? Math.round((r.bytes * 1000) / r.ms) : null;
      if (b.json)
        printJson(io, {
          board: boardJson(s.info),
          file,
          to: r.path,
          bytes: r.bytes,
          crc32: r.crc32.toString(16).padStart(8, '0'),
          uploaded: r.uploaded,
          seconds: Math.round(r.ms) / 1000,
          bytes_per_second: rate,
          baud: r.baud,
        });
      else
        io.out(
          r.uploaded
            ? `${file} → ${r.path}: ${r.bytes} bytes in ${duration(r.ms / 1000)} (${rate} bytes/s), crc32 ${r.crc32.toString(16).padStart(8, '0')} checked on the board\n`
            : `${r.path}: already on the board (same size and crc32 ${r.crc32.toString(16).padStart(8, '0')}); not sent\n`,
        );
      return EXIT.OK;
    });
  },
};

const execCommand: Command = {
  command: 'exec <script>',
  describe:
    'Run a MaixPy script on the board as `kpusim maixpy` runs it, its prints streamed; Ctrl-C interrupts the board',
  builder: (y: Argv) =>
    boardOptions(y)
      .positional('script', { type: 'string', demandOption: true, describe: 'the MicroPython script (.py)' })
      .option('follow', {
        type: 'boolean',
        default: false,
        describe: 'no time limit: stream until the script ends or Ctrl-C (camera loops)',
      }),
  async run(args, io) {
    const b = boardArgs(args);
    const script = String(args.script);
    const source = new TextDecoder().decode(readLocal(script, 'the script'));
    return withBoard(b, io, async (s) => {
      let output = '';
      let interrupts = 0;
      const onSigint = () => {
        interrupts++;
        if (interrupts === 1) {
          io.err('\nkpusim: interrupting the board (Ctrl-C again to give up)\n');
          void s.interrupt();
        } else process.exit(EXIT.FAILURE);
      };
      process.on('SIGINT', onSigint);
      let r;
      try {
        r = await s.runScript(source, script, {
          timeoutMs: args.follow ? 0 : b.timeoutMs,
          onOutput: (t) => (b.json ? (output += t) : io.out(t)),
        });
      } finally {
        process.off('SIGINT', onSigint);
      }
      const e = r.error;
      const why = !e
        ? 'the script ended'
        : e.type === 'KeyboardInterrupt' && r.interrupted
          ? 'interrupted (Ctrl-C)'
          : `${e.type} at ${e.file ?? script}${e.line !== undefined ? `:${e.line}` : ''}`;
      if (b.json)
        printJson(io, {
          script,
          board: boardJson(s.info),
          end: !e ? 'script-ended' : r.interrupted ? 'interrupted' : 'python-error',
          exit_code: r.exitCode,
          error: e ? { type: e.type, message: e.pyMessage, file: e.file ?? null, line: e.line ?? null } : null,
          output,
        });
      else {
        if (e) io.err(e.traceback);
        io.err(`kpusim board exec: ${why}\n`);
      }
      return r.exitCode === 0 ? EXIT.OK : EXIT.FAILURE;
    });
  },
};

/** `--at 0x300000`: a flash address. */
function flashAddress(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const t = String(v).trim();
  const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0 || n >= 16 * 1024 * 1024)
    throw new UsageError('BAD_ARGUMENT', `--at ${t}: a flash address such as 0x300000 (inside the 16 MiB flash)`);
  return n;
}

const runOptions = (y: Argv) =>
  y
    .option('repeat', { type: 'number', describe: 'forwards to time on the board (run: 5, check: 1)' })
    .option('at', {
      type: 'string',
      describe: 'the model is already in flash at this address (kpu.load(0x300000)); no upload',
    })
    .option('to', { type: 'string', describe: 'where to upload the model (default /sd/NAME, or /flash/NAME)' })
    .option('input-path', {
      choices: INPUT_PATHS,
      describe: 'how the input reaches the model (default: the most exact this firmware offers)',
    })
    .option('kpu-numerics', {
      choices: ['nncase02', 'nncase01'] as const,
      default: 'nncase02' as const,
      describe: "the emulator's KPU rounding rules",
    });

interface CaseRun {
  readonly board: BoardCaseResult;
  readonly cmp: CaseComparison;
  readonly predicted_ms: number;
  readonly golden: readonly Uint8Array[];
  readonly emuBoard: readonly Uint8Array[];
}

/** One case on the board and on the emulator (both numerics modes, on the input the board saw). */
async function runAndCompare(
  s: BoardSession,
  loaded: LoadedModel,
  input: Uint8Array,
  args: Record<string, unknown>,
  io: Io,
  quiet: boolean,
): Promise<CaseRun> {
  const prepared = prepare(loaded.model, {});
  const bars = new Map<string, UploadBar>();
  const r = await runCaseOnBoard(s, {
    model: loaded,
    inputs: prepared.inputs,
    outputs: prepared.outputs,
    input,
    repeat: Number(args.repeat ?? 5),
    at: flashAddress(args.at),
    to: args.to === undefined ? undefined : String(args.to),
    inputPath: args['input-path'] as InputPath | undefined,
    onNote: (t) => io.err(`kpusim: note: ${t}\n`),
    onProgress: (what, p) => {
      let bar = bars.get(what);
      if (!bar) {
        if (p.sent === 0 && !quiet && what === 'model' && p.total > 64 * 1024)
          io.err(
            `kpusim: uploading the model (${p.total} bytes): about ${duration(estimateUploadSeconds(p.total, Number(args.baud ?? 115200), s.maxCommandBytes))}\n`,
          );
        bar = new UploadBar(io, what);
        bars.set(what, bar);
      }
      bar.update(p);
      if (p.sent >= p.total) bar.end();
    },
  });
  const truth = emulatorTruth(loaded.model, r.effectiveInput, {
    cpuMhz: s.info.cpuMhz,
    kpuMhz: s.info.kpuMhz,
    kpuNumerics: args['kpu-numerics'] as 'nncase02' | 'nncase01',
  });
  return {
    board: r,
    cmp: compareCase(r.outputs, truth, prepared.outputs),
    predicted_ms: truth.predicted_ms,
    golden: truth.golden,
    emuBoard: truth.board,
  };
}

function round(x: number, d = 3): number {
  return Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x;
}

function outputJson(o: OutputReport) {
  const diff = (d: OutputReport['vs_golden']) => ({
    exact: d.exact,
    max_abs_diff: d.max_abs_diff,
    max_lsb_diff: d.max_lsb_diff,
    first_diff_index: d.first_diff_index,
    mismatched: d.mismatched,
  });
  return {
    index: o.index,
    exact: o.exact,
    read: o.read,
    dtype: o.dtype,
    bytes: o.bytes,
    matched: o.matched,
    vs_golden: diff(o.vs_golden),
    vs_board: diff(o.vs_board),
  };
}

function timeJson(times: readonly number[], predicted: number) {
  const ms = times.map((t) => t / 1000);
  const med = median(ms);
  return {
    board_ms: round(med),
    board_min_ms: round(Math.min(...ms)),
    board_max_ms: round(Math.max(...ms)),
    board_runs_ms: ms.map((x) => round(x)),
    predicted_ms: round(predicted),
    ratio: predicted > 0 ? round(med / predicted, 4) : null,
  };
}

const runBoardCommand: Command = {
  command: 'run <model>',
  describe:
    'Run a model on the board and on the emulator, compare every output byte and the time (exit 3 on a difference)',
  builder: (y: Argv) =>
    runOptions(
      inputOptions(
        boardOptions(y)
          .positional('model', { type: 'string', demandOption: true, describe: '.kmodel file' })
          .option('input', { type: 'string', demandOption: true, describe: 'raw tensor .bin (NCHW) or image' })
          .option('out', {
            type: 'string',
            describe: 'folder for the board outputs (board_output_<i>.bin) and board.json',
          })
          .check((a) => checkOutputPaths(a, ['out'])),
      ),
    ),
  async run(args, io) {
    const b = boardArgs(args);
    flashAddress(args.at);
    if (args.to !== undefined) checkBoardPath(String(args.to));
    const repeat = Number(args.repeat ?? 5);
    if (!Number.isInteger(repeat) || repeat < 1 || repeat > 1000)
      throw new UsageError('BAD_ARGUMENT', `--repeat ${String(args.repeat)}: 1 to 1000 forwards`);
    const loaded = loadKmodel(String(args.model), parseOptionsFrom(args));
    const prepared = prepare(loaded.model, {});
    if (prepared.inputs.length !== 1)
      throw new UsageError(
        'BAD_INPUT',
        `this model takes ${prepared.inputs.length} inputs; the board's KPU API feeds one`,
      );
    const { bytes: input } = readInputFile(String(args.input), prepared.inputs[0], inputOptionsFrom(args));
    return withBoard(b, io, async (s) => {
      const r = await runAndCompare(s, loaded, input, args, io, b.json);
      const out = args.out === undefined ? undefined : String(args.out);
      const time = timeJson(r.board.timesUs, r.predicted_ms);
      const doc = {
        model: loaded.path,
        input: { file: String(args.input), path: r.board.inputPath, exact: r.board.inputExact, how: r.board.inputNote },
        board: {
          ...boardJson(s.info),
          cpu_mhz: s.info.cpuMhz ?? null,
          kpu_mhz: s.info.kpuMhz ?? null,
          model_ref: r.board.modelRef,
        },
        matched: r.cmp.matched,
        exact: r.cmp.exact,
        outputs: r.cmp.outputs.map(outputJson),
        time,
        upload: r.board.upload
          ? {
              path: r.board.upload.path,
              uploaded: r.board.upload.uploaded,
              bytes: r.board.upload.bytes,
              seconds: round(r.board.upload.ms / 1000),
            }
          : null,
      };
      if (out) {
        mkdirSync(out, { recursive: true });
        r.board.outputs.forEach((o, i) => o && writeFileSync(join(out, `board_output_${i}.bin`), o));
        r.golden.forEach((o, i) => writeFileSync(join(out, `emulator_output_${i}.bin`), o));
        writeFileSync(join(out, 'board.json'), JSON.stringify({ schema_version: 1, ...doc }, null, 2) + '\n');
      }
      if (b.json) printJson(io, doc);
      else {
        let t = `${loaded.path} on ${boardLine(s.info)}\n`;
        t += `input: ${r.board.inputPath}: ${r.board.inputNote}\n`;
        for (const o of r.cmp.outputs) {
          if (!o.read) {
            t += `output ${o.index}: not readable on this firmware\n`;
            continue;
          }
          const d = o.matched === 'golden' || o.matched === 'both' ? o.vs_golden : o.vs_board;
          t += o.exact
            ? `output ${o.index}: exact (${o.bytes} bytes; matches --numerics ${o.matched === 'both' ? 'golden and board' : o.matched})\n`
            : `output ${o.index}: DIFFERENT: ${d.mismatched} element(s), max |Δ| ${d.max_abs_diff} (${d.max_lsb_diff} LSB), first at index ${d.first_diff_index}\n`;
        }
        t += `board time: median ${time.board_ms} ms (min ${time.board_min_ms}, max ${time.board_max_ms}, ${repeat} run${repeat === 1 ? '' : 's'}); predicted ${time.predicted_ms} ms\n`;
        t += r.cmp.exact
          ? `the board matches the emulator (--numerics ${r.cmp.matched === 'both' ? 'golden and board' : r.cmp.matched})\n`
          : 'the board and the emulator DIFFER\n';
        if (out) t += `board outputs: ${out}\n`;
        io.out(t);
      }
      return r.cmp.exact ? EXIT.OK : EXIT.VIOLATION;
    });
  },
};

const checkBoardCommand: Command = {
  command: 'check <model> <dir>',
  describe:
    "Golden check on the board: each recorded case's input run on the board, its outputs against the recorded ones",
  builder: (y: Argv) =>
    runOptions(
      boardOptions(y)
        .positional('model', { type: 'string', demandOption: true, describe: '.kmodel file' })
        .positional('dir', {
          type: 'string',
          demandOption: true,
          describe: 'folder of golden cases (input.bin, output_<i>.bin)',
        }),
    ),
  async run(args, io) {
    const b = boardArgs(args);
    flashAddress(args.at);
    if (args.to !== undefined) checkBoardPath(String(args.to));
    const loaded = loadKmodel(String(args.model), parseOptionsFrom(args));
    const prepared = prepare(loaded.model, {});
    const dir = String(args.dir);
    const cases = findCases(dir);
    return withBoard(b, io, async (s) => {
      const results = [];
      for (const c of cases) {
        const input = readLocal(join(c, 'input.bin'), 'a case input');
        const name = relative(dir, c) || '.';
        const r = await runAndCompare(s, loaded, input, { ...args, repeat: args.repeat ?? 1 }, io, true);

        const outs = prepared.outputs.map((_d, i) => {
          const f = join(c, `output_${i}.bin`);
          const got = r.board.outputs[i];
          if (!existsSync(f)) return { index: i, status: 'different' as const, reason: 'no recorded output' };
          if (!got) return { index: i, status: 'not_checked' as const, reason: 'this firmware does not return it' };
          const want = readLocal(f, 'a recorded output');
          const same = want.length === got.length && Buffer.compare(Buffer.from(want), Buffer.from(got)) === 0;
          return { index: i, status: same ? ('exact' as const) : ('different' as const) };
        });
        const extra = existsSync(join(c, `output_${prepared.outputs.length}.bin`));
        // A case passes only when every output was read and equal: nothing unchecked counts as a pass.
        const status =
          extra || outs.some((o) => o.status === 'different')
            ? 'different'
            : outs.some((o) => o.status === 'not_checked')
              ? 'incomplete'
              : 'exact';
        results.push({
          case: name,
          status,
          input_path: r.board.inputPath,
          input_exact: r.board.inputExact,
          outputs: outs,
          emulator_matched: r.cmp.matched,
          time: timeJson(r.board.timesUs, r.predicted_ms),
        });
        if (!b.json) io.err(`${name}: ${status}\n`);
      }
      const failed = results.filter((r) => r.status === 'different').length;
      if (b.json)
        printJson(io, {
          model: loaded.path,
          dir,
          board: boardJson(s.info),
          passed: results.length - failed,
          failed,
          cases: results,
        });
      else
        io.out(
          `${results.length - failed} of ${results.length} case(s) exact on the board${failed ? `; ${failed} DIFFERENT` : ''}\n`,
        );
      return failed ? EXIT.VIOLATION : EXIT.OK;
    });
  },
};

/** The subcommands of `kpusim board`, in help order (one line each). */
export const BOARD_SUBCOMMANDS: Command[] = [
  infoCommand,
  pushCommand,
  runBoardCommand,
  checkBoardCommand,
  execCommand,
  boardServeCommand,
];

export const boardCommand: Command = {
  command: 'board',
  describe: 'Hardware in the loop: drive a MaixPy/CanMV board (or the virtual board) over its serial REPL',
  builder: (y: Argv) => y,
  subcommands: BOARD_SUBCOMMANDS,
  async run() {
    throw new BoardError('PROTOCOL', 'name a board subcommand');
  },
};
