/**
 * The virtual board: kpusim's emulated K210 (the MaixPy/CanMV modules, flash, SD card, camera and
 * LCD of `kpusim maixpy`) behind MaixPy's serial REPL, as a `ByteLink` in this process. `kpusim
 * board serve` puts it on a pseudo-terminal or on stdio; the HIL client's tests talk to it
 * directly. What it reproduces of a real board, byte for byte, and what it does not:
 * docs/virtual-board.md.
 *
 * MicroPython runs in a worker thread; this side only moves bytes, so Ctrl-C reaches a running
 * `while True:` loop and bytes keep arriving while code runs (`uartBuffer`: dropped past N, as the
 * board's receive ring drops them).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { UsageError } from '../../errors.js';
import type { NumericsMode } from '../../kpu/interpreter.js';
import type { TimingParams } from '../../kpu/timing/params.js';
import { expandCameraFiles, type CameraOrientation } from '../../maixpy/camera.js';
import { checkFolder } from '../../maixpy/host.js';
import { checkHeap } from '../../maixpy/sandbox.js';
import { listSdFolder, parseFlashSpec, type FlashSegment } from '../../maixpy/storage.js';
import type { ResizeMode } from '../../pipeline/convert.js';
import { LinkListeners, type ByteLink } from '../link.js';
import type { Flavor } from './console.js';
import { createWire, DROPPED, EXEC, put, queued, RING_BYTES, signal, STATE } from './shared.js';
import type { WorkerInit, WorkerMessage } from './worker.js';

export type { Flavor } from './console.js';

/** MaixPy's REPL receive ring (`MAIX_UART_BUF`); `uartBuffer` reproduces it when asked. */
export const MAIXPY_UART_BUFFER = 2048;

export interface VirtualBoardOptions {
  /** Firmware flavour the console presents (banner, boot and soft-reboot lines). Default `maixpy`. */
  readonly flavor?: Flavor;
  /** Camera frames: image files and folders (sorted by name); the camera cycles through them. */
  readonly camera?: readonly string[];
  /** `ADDR=FILE` / `.kfpkg` specs, or segments already read (as `kpusim maixpy --flash`). */
  readonly flash?: readonly (string | FlashSegment)[];
  /** The folder that stands for the SD card (`/sd`); files the board writes there land in it. */
  readonly sdDir?: string;
  /** The folder that stands for `/flash` (default: an empty `/flash` kept in memory). */
  readonly flashDir?: string;
  /** 1-based frame numbers before which the BOOT key is pressed. */
  readonly keyPress?: readonly number[];
  readonly lcdOut?: string;
  readonly cameraFit?: ResizeMode;
  readonly cameraOrientation?: CameraOrientation;
  readonly numerics?: NumericsMode;
  /** MicroPython heap in MiB (as `kpusim maixpy --heap`). */
  readonly heapMb?: number;
  readonly bundled?: boolean;
  /** Receive buffer in bytes while code runs (MaixPy: 2048); bytes past it are dropped. Default: no limit. */
  readonly uartBuffer?: number;
  /** The board clock's timing parameters (a timing file's, `board serve --timing`); default the built-in ones. */
  readonly timing?: TimingParams;
  /** Warnings of the board (one line each, no newline). Default: stderr. */
  readonly onWarning?: (text: string) => void;
}

export interface VirtualBoard {
  /** The host's end of the wire. */
  readonly link: ByteLink;
  readonly flavor: Flavor;
  /** Bytes dropped so far because the receive buffer was full while code ran. */
  readonly dropped: number;
  close(): Promise<void>;
}

/** The worker's compiled file (beside this one in dist/, or dist/'s copy when this file runs from src/). */
function workerFile(): string {
  const self = fileURLToPath(import.meta.url);
  const file = self.endsWith('.ts')
    ? join(resolve(dirname(self), '..', '..', '..'), 'dist', 'hil', 'virtual', 'worker.js')
    : join(dirname(self), 'worker.js');
  if (!existsSync(file))
    throw new Error(`the virtual board's worker ${file} is missing: build kpusim first (npm run build)`);
  return file;
}

/** Checks the options (usage errors before anything starts) and reads what the worker needs. */
function prepareInit(opts: VirtualBoardOptions): Omit<WorkerInit, 'wire'> {
  const flavor = opts.flavor ?? 'maixpy';
  if (flavor !== 'maixpy' && flavor !== 'canmv')
    throw new UsageError('BAD_ARGUMENT', `--flavor ${String(flavor)}: give maixpy or canmv`);
  if (opts.uartBuffer !== undefined && (!Number.isSafeInteger(opts.uartBuffer) || opts.uartBuffer < 1))
    throw new UsageError('BAD_ARGUMENT', `--uart-buffer ${opts.uartBuffer}: give a number of bytes (MaixPy: 2048)`);
  if (opts.uartBuffer !== undefined && opts.uartBuffer > RING_BYTES)
    throw new UsageError('BAD_ARGUMENT', `--uart-buffer ${opts.uartBuffer}: at most ${RING_BYTES} bytes`);
  if (opts.keyPress?.some((n) => !Number.isInteger(n) || n < 1))
    throw new UsageError('BAD_ARGUMENT', '--key-press takes frame numbers 1, 2, …');
  checkHeap(opts.heapMb);
  const cameraFiles = expandCameraFiles(opts.camera ?? []);
  const flash: FlashSegment[] = [];
  for (const f of opts.flash ?? []) flash.push(...(typeof f === 'string' ? parseFlashSpec(f) : [f]));
  // a missing folder, or a link in one leading out of it, is a usage error here, before anything starts
  if (opts.sdDir !== undefined) listSdFolder(opts.sdDir);
  if (opts.flashDir !== undefined) {
    checkFolder(opts.flashDir, '--flash-dir');
    listSdFolder(opts.flashDir, undefined, '/flash', '--flash-dir');
  }
  return {
    flavor,
    board: {
      cameraFiles,
      flash,
      sdDir: opts.sdDir === undefined ? undefined : resolve(opts.sdDir),
      flashDir: opts.flashDir === undefined ? undefined : resolve(opts.flashDir),
      keyPress: opts.keyPress,
      lcdOut: opts.lcdOut,
      cameraFit: opts.cameraFit,
      cameraOrientation: opts.cameraOrientation,
      numerics: opts.numerics,
      heapMb: opts.heapMb,
      bundled: opts.bundled,
      timing: opts.timing,
    },
  };
}

/**
 * Starts a virtual board and resolves once it has booted and printed its prompt. Output the board
 * sends before anyone listens (boot lines, banner) is kept for the first `onData` listener, as a
 * serial line's buffer would hold it.
 */
export async function createVirtualBoard(opts: VirtualBoardOptions = {}): Promise<VirtualBoard> {
  const base = prepareInit(opts);
  const wire = createWire();
  const init: WorkerInit = { ...base, wire: wire.buffer };
  const warnFn = opts.onWarning ?? ((t: string) => process.stderr.write(`kpusim: ${t}\n`));
  const worker = new Worker(workerFile(), { workerData: init });
  const control = wire.control;
  const cap = opts.uartBuffer;

  const listeners = new LinkListeners();
  let early: Uint8Array[] | null = [];
  let closed = false;
  let overflow: number[] = [];
  let pump: NodeJS.Immediate | null = null;

  const finish = (reason?: Error): void => {
    if (closed) return;
    closed = true;
    if (pump) clearImmediate(pump);
    listeners.close(reason);
  };

  let readyResolve!: () => void, readyReject!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    readyResolve = res;
    readyReject = rej;
  });
  worker.on('message', (m: WorkerMessage) => {
    if (m.t === 'out') {
      const chunk = m.data;
      if (!listeners.hasData && early) early.push(chunk);
      else listeners.data(chunk);
    } else if (m.t === 'warn') warnFn(m.text);
    else if (m.t === 'ready') readyResolve();
    else if (m.t === 'fatal') {
      const e = new Error(m.message);
      readyReject(e);
      finish(e);
      void worker.terminate();
    }
  });
  worker.on('error', (e) => {
    readyReject(e);
    finish(e);
  });
  worker.on('exit', (code) => {
    const e = closed ? undefined : new Error(`the virtual board stopped (worker exit ${code})`);
    readyReject(e ?? new Error('the virtual board was closed'));
    finish(e);
  });

  /** Moves bytes that did not fit into the ring once the board has read some. */
  const drain = (): void => {
    pump = null;
    if (closed) return;
    let moved = 0;
    while (moved < overflow.length && queued(wire) < RING_BYTES) put(wire, overflow[moved++]);
    overflow = overflow.slice(moved);
    if (moved) signal(wire);
    if (overflow.length) pump = setImmediate(drain);
  };

  const receive = (data: Uint8Array): void => {
    for (const b of data) {
      const state = Atomics.load(control, STATE);
      const waiting = queued(wire) + overflow.length;
      // A Ctrl-C is always queued: if it arrived while code runs, the worker answers it with a
      // KeyboardInterrupt at once (it never takes a place in MaixPy's receive ring, so no cap)
      if (b !== 0x03 && cap !== undefined && state === EXEC && waiting >= cap) {
        Atomics.add(control, DROPPED, 1);
        continue;
      }
      if (overflow.length === 0 && queued(wire) < RING_BYTES) put(wire, b);
      else overflow.push(b);
    }
    signal(wire);
    if (overflow.length && !pump) pump = setImmediate(drain);
  };

  const link: ByteLink = {
    async write(data: Uint8Array): Promise<void> {
      if (closed) throw new Error('the virtual board is closed');
      receive(data);
    },
    onData(listener) {
      const remove = listeners.onData(listener);
      if (early) {
        const held = early;
        early = null;
        for (const c of held) listener(c);
      }
      return remove;
    },
    onClose: (listener) => listeners.onClose(listener),
    async setSignals(): Promise<void> {
      // no modem lines on the virtual board: DTR/RTS change nothing
    },
    async setBaud(): Promise<void> {
      // bytes move in process at any rate
    },
    async close(): Promise<void> {
      await board.close();
    },
  };

  const board: VirtualBoard = {
    link,
    flavor: base.flavor,
    get dropped() {
      return Atomics.load(control, DROPPED);
    },
    async close(): Promise<void> {
      if (closed) return;
      finish();
      await worker.terminate();
    },
  };

  try {
    await ready;
  } catch (e) {
    await worker.terminate();
    throw e;
  }
  return board;
}
