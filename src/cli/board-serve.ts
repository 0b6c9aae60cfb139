/**
 * `kpusim board serve --pty PATH | --stdio`: the emulated K210 as a serial board. The virtual
 * board (hil/virtual) speaks MaixPy's REPL; `--stdio` serves it on stdin/stdout, `--pty PATH`
 * on a pseudo-terminal made by `socat` (Debian package `socat`) with a link at PATH, so terminals,
 * pyboard.py, mpremote and `kpusim board …` open PATH as they open a board's serial port.
 * Serves until killed: SIGINT / SIGTERM end it with exit 0 and PATH removed. See
 * docs/virtual-board.md.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, readlinkSync, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import {
  createVirtualBoard,
  MAIXPY_UART_BUFFER,
  type VirtualBoard,
  type VirtualBoardOptions,
} from '../hil/virtual/index.js';
import type { Command } from './command.js';
import { EXIT, type Io } from './common.js';
import { frameNumbers, list, timingFrom, timingOption } from './options.js';

/** Is `socat` on the PATH? */
export function socatAvailable(): boolean {
  const r = spawnSync('socat', ['-V'], { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

/** Resolves when SIGINT or SIGTERM arrives (and stops listening for them). */
function untilSignal(): { done: Promise<string>; cancel: () => void } {
  let cancel!: () => void;
  const done = new Promise<string>((res) => {
    const on = (s: string) => (): void => {
      cancel();
      res(s);
    };
    const int = on('SIGINT'),
      term = on('SIGTERM');
    process.on('SIGINT', int);
    process.on('SIGTERM', term);
    cancel = () => {
      process.off('SIGINT', int);
      process.off('SIGTERM', term);
    };
  });
  return { done, cancel };
}

async function serveStdio(board: VirtualBoard, io: Io): Promise<number> {
  const stop = untilSignal();
  board.link.onData((chunk) => process.stdout.write(chunk));
  const onData = (b: Buffer): void => void board.link.write(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  process.stdin.on('data', onData);
  const ended = new Promise<string>((res) => process.stdin.once('end', () => res('end')));
  const closed = new Promise<string>((res) => board.link.onClose((e) => res(e ? `error:${e.message}` : 'closed')));
  const why = await Promise.race([stop.done, ended, closed]);
  stop.cancel();
  process.stdin.off('data', onData);
  process.stdin.pause();
  await board.close();
  if (why.startsWith('error:')) {
    io.err(`kpusim board: ${why.slice(6)}\n`);
    return EXIT.FAILURE;
  }
  return EXIT.OK;
}

/** Waits until `path` exists (socat made the link) or the child ends. */
async function waitForLink(path: string, child: ChildProcess, ms: number): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (existsSync(path)) return true;
    if (child.exitCode !== null || child.signalCode !== null) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return existsSync(path);
}

/** Removes PATH if it is still the link to a pseudo-terminal (socat removes it itself when it ends). */
function removeLink(path: string): void {
  try {
    if (lstatSync(path).isSymbolicLink() && readlinkSync(path).startsWith('/dev/')) unlinkSync(path);
  } catch {
    // already gone
  }
}

async function servePty(board: VirtualBoard, path: string, io: Io): Promise<number> {
  const stop = untilSignal();
  const child = spawn('socat', [`pty,raw,echo=0,link=${path}`, 'STDIO'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let socatErr = '';
  child.stderr!.on('data', (b: Buffer) => (socatErr += b.toString()));
  const exited = new Promise<string>((res) => child.once('exit', (code, sig) => res(`socat ended (${sig ?? code})`)));
  child.stdout!.on('data', (b: Buffer) => void board.link.write(new Uint8Array(b.buffer, b.byteOffset, b.byteLength)));
  board.link.onData((chunk) => {
    if (child.stdin!.writable) child.stdin!.write(chunk);
  });
  child.stdin!.on('error', () => undefined);
  const closed = new Promise<string>((res) => board.link.onClose((e) => res(`board: ${e?.message ?? 'closed'}`)));
  if (!(await waitForLink(path, child, 10_000))) {
    stop.cancel();
    child.kill('SIGTERM');
    await board.close();
    io.err(`kpusim board: socat did not create ${path}${socatErr ? `: ${socatErr.trim()}` : ''}\n`);
    return EXIT.FAILURE;
  }
  io.err(`kpusim board: serving on ${path}\n`);
  const why = await Promise.race([stop.done, exited, closed]);
  stop.cancel();
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    await exited;
  }
  removeLink(path);
  await board.close();
  if (why === 'SIGINT' || why === 'SIGTERM') return EXIT.OK;
  io.err(`kpusim board: ${why}${socatErr ? `: ${socatErr.trim()}` : ''}\n`);
  return EXIT.FAILURE;
}

export const boardServeCommand: Command = {
  command: 'serve',
  describe:
    "Serve the emulated K210 as a MaixPy board: its REPL on a pseudo-terminal (--pty PATH, needs socat) or on stdin/stdout (--stdio), with kpusim maixpy's camera, flash, SD card and LCD",
  builder: (y: Argv) =>
    timingOption(y)
      .option('pty', { type: 'string', describe: 'make a pseudo-terminal with a link at PATH (needs socat)' })
      .option('stdio', { type: 'boolean', default: false, describe: 'serve on stdin/stdout' })
      .option('flavor', {
        choices: ['maixpy', 'canmv'] as const,
        default: 'maixpy' as const,
        describe: 'firmware the board presents (banner, boot and soft-reboot lines)',
      })
      .option('uart-buffer', {
        type: 'number',
        describe: `drop received bytes past N while code runs, as the board's receive ring does (MaixPy: ${MAIXPY_UART_BUFFER}); default: no limit`,
      })
      .option('camera', {
        type: 'string',
        array: true,
        describe: 'camera frames: image files and folders (sorted by name); the camera cycles through them',
      })
      .option('flash', {
        type: 'string',
        array: true,
        describe: 'ADDR=FILE puts a kmodel at a flash address for kpu.load(ADDR); a .kfpkg maps all its files',
      })
      .option('sd', { type: 'string', describe: 'folder that stands for the SD card (/sd); board writes land in it' })
      .option('flash-dir', {
        type: 'string',
        describe: 'folder that stands for /flash (board writes land in it); default: an empty /flash in memory',
      })
      .option('key-press', {
        type: 'string',
        array: true,
        describe: 'press the BOOT key before these frames (1-based, comma-separated)',
      })
      .option('lcd-out', { type: 'string', describe: 'write every lcd.display() as a PNG into this folder' })
      .option('camera-fit', {
        choices: ['crop', 'fit', 'stretch'] as const,
        default: 'crop' as const,
        describe: 'how a file of another size becomes a frame',
      })
      .option('camera-orientation', {
        choices: ['script', 'raw'] as const,
        default: 'script' as const,
        describe: 'as kpusim maixpy --camera-orientation',
      })
      .option('numerics', {
        choices: ['golden', 'board'] as const,
        default: 'golden' as const,
        describe: 'CPU-layer float arithmetic of the models (see kpusim run)',
      })
      .option('heap', { type: 'number', describe: 'MicroPython heap in MiB (as kpusim maixpy --heap)' })
      .option('bundled', {
        type: 'boolean',
        default: true,
        describe: "use kpusim's bundled models for flash addresses no --flash maps",
      }),
  async run(args: Record<string, unknown>, io: Io): Promise<number> {
    const pty = args.pty === undefined ? undefined : String(args.pty);
    const stdio = Boolean(args.stdio);
    if ((pty === undefined) === !stdio)
      throw new UsageError('BAD_ARGUMENT', 'kpusim board serve: give exactly one of --pty PATH and --stdio');
    let path: string | undefined;
    if (pty !== undefined) {
      if (pty.trim() === '') throw new UsageError('BAD_ARGUMENT', '--pty: give a path for the link');
      path = resolve(pty);
      if (!existsSync(dirname(path)))
        throw new UsageError('NOT_FOUND', `--pty ${pty}: no such folder ${dirname(path)}`);
      if (lstatSync(path, { throwIfNoEntry: false }))
        throw new UsageError(
          'BAD_ARGUMENT',
          `--pty ${pty}: something is already there; remove it or name another path`,
        );
      if (!socatAvailable())
        throw new UsageError(
          'NOT_FOUND',
          '--pty needs socat, which is not installed: apt-get install socat (or serve on --stdio)',
        );
    }
    const timing = timingFrom(args);
    const opts: VirtualBoardOptions = {
      flavor: args.flavor as 'maixpy' | 'canmv',
      uartBuffer: args['uart-buffer'] === undefined ? undefined : Number(args['uart-buffer']),
      camera: list(args.camera),
      flash: list(args.flash),
      sdDir: args.sd === undefined ? undefined : String(args.sd),
      flashDir: args['flash-dir'] === undefined ? undefined : String(args['flash-dir']),
      keyPress: frameNumbers(args['key-press']),
      lcdOut: args['lcd-out'] === undefined ? undefined : String(args['lcd-out']),
      cameraFit: args['camera-fit'] as 'crop' | 'fit' | 'stretch',
      cameraOrientation: args['camera-orientation'] as 'script' | 'raw',
      numerics: args.numerics as 'golden' | 'board',
      heapMb: args.heap === undefined ? undefined : Number(args.heap),
      bundled: args.bundled !== false,
      ...(timing ? { timing: timing.params } : {}),
      onWarning: (t) => io.err(`kpusim: ${t}\n`),
    };
    const board = await createVirtualBoard(opts);
    return path === undefined ? serveStdio(board, io) : servePty(board, path, io);
  },
};
