/**
 * `kpusim board <command> --port DEVICE`: drive a MaixPy or CanMV board (or kpusim's virtual board)
 * over its serial REPL. Each subcommand is one `Command` in BOARD_SUBCOMMANDS; the library does
 * the work (src/hil). See README.md, "With a board".
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { openPort } from '../hil/connect.js';
import { BoardError } from '../hil/errors.js';
import { BOARD_PROFILE_NAMES, type BoardProfileName } from '../hil/profiles.js';
import { BoardSession, crc32Of, estimateUploadSeconds, type BoardInfo, type PutProgress } from '../hil/session.js';
import type { Command } from './command.js';
import { EXIT, printJson, type Io } from './common.js';

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
    session = await BoardSession.open(link, { promptTimeoutMs: b.timeoutMs, commandTimeoutMs: b.timeoutMs });
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

/** The subcommands of `kpusim board`, in help order (one line each). */
export const BOARD_SUBCOMMANDS: Command[] = [infoCommand, pushCommand, execCommand];

export const boardCommand: Command = {
  command: 'board',
  describe: 'Hardware in the loop: drive a MaixPy/CanMV board (or the virtual board) over its serial REPL',
  builder: (y: Argv) => y,
  subcommands: BOARD_SUBCOMMANDS,
  async run() {
    throw new BoardError('PROTOCOL', 'name a board subcommand');
  },
};
