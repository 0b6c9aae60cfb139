/**
 * `kpusim maixpy`: runs a MaixPy or CanMV script unchanged in MicroPython's WebAssembly port,
 * with kpusim's modules standing in for the board's (sensor, image, lcd, KPU, time/utime, gc,
 * Maix, fpioa_manager, board; CanMV's maix).
 *
 * How a run ends:
 * - the camera runs out (or `--frames` is reached): the interpreter is unwound from inside
 *   `sensor.snapshot()` (the script cannot catch it), exit 0 and a one-line summary;
 * - the script returns, or calls `sys.exit(n)`: exit 0 (or n), summary;
 * - a Python exception escapes: its traceback (file and line in the script) on stderr, exit 1.
 *
 * Numbers: everything computed inside kpusim's modules follows MaixPy's binary32 arithmetic; the
 * script's own float arithmetic runs in double precision (the WebAssembly port's floats), where
 * MaixPy computes in single precision. See examples/maixpy/README.md.
 */
import { readFileSync, statSync } from 'node:fs';
import type { MicroPython } from '@micropython/micropython-webassembly-pyscript';
import { UsageError } from '../errors.js';
import { FILE_CAPS, readUserText } from '../io/read-file.js';
import type { NumericsMode } from '../kpu/interpreter.js';
import type { ResizeMode } from '../pipeline/convert.js';
import {
  Camera,
  expandCameraFiles,
  type CameraOptions,
  type CameraOrientation,
  type CameraPrefetch,
} from './camera.js';
import type { RgbImage } from '../pipeline/types.js';
import { bootBoard } from './boot.js';
import { BoardContext, StopRun, type Backend, type KeyPress, type StopReason } from './context.js';
import { boardModule, fpioaManagerModule, ioModule } from './modules/gpio.js';
import { imageModule } from './modules/image.js';
import { osModule } from './modules/os.js';
import { kpuModule } from './modules/kpu.js';
import { lcdModule } from './modules/lcd.js';
import { canmvKpuModule, maixModule, MaixModule, periphModule } from './modules/maix.js';
import { runtimeModule } from './modules/runtime.js';
import { sensorModule } from './modules/sensor.js';
import { stubModules } from './modules/stubs.js';
import { gcModule, timeModule } from './modules/time.js';
import type { MaixpyModule } from './modules/types.js';
import { mirrorWrites } from './mirror.js';
import { listSdFolder, parseFlashSpec, Storage, type FlashSegment, type SdEntry } from './storage.js';
import {
  checkHeap,
  checkTimeout,
  DEFAULT_HEAP_MB,
  JsGate,
  runUntil,
  sandboxPrelude,
  SandboxViolation,
  WallTimeout,
} from './sandbox.js';
import type { SensorName } from './sensor-timing.js';
import type { TimingParams } from '../kpu/timing/params.js';
import { ENDLESS_LOOP_TRAP, interruptControl, loadMicroPythonWithMemory, type InterruptControl } from './wasm.js';

export const MAIXPY_MODULES: readonly MaixpyModule[] = [
  runtimeModule,
  ioModule,
  timeModule,
  gcModule,
  osModule,
  imageModule,
  sensorModule,
  lcdModule,
  kpuModule,
  periphModule,
  canmvKpuModule,
  MaixModule,
  maixModule,
  fpioaManagerModule,
  boardModule,
  ...stubModules,
];

export interface MaixpyRunOptions {
  /** The script's path, as tracebacks name it. */
  readonly script: string;
  /** The script's text (default: read `script`). */
  readonly source?: string;
  /** `--camera`: image files and folders, in order. */
  readonly camera: readonly string[];
  /** `--flash` specs (`ADDR=FILE` or a `.kfpkg`), or segments already read. */
  readonly flash?: readonly (string | FlashSegment)[];
  readonly sdDir?: string;
  /** 1-based frame numbers before which the BOOT key is pressed. */
  readonly keyPress?: readonly number[];
  /** BOOT key presses at board times (`--key-press-ms`). */
  readonly keyPressMs?: readonly KeyPress[];
  /** Stop when the board clock reaches this many ms. */
  readonly maxBoardMs?: number;
  /** Stop when this many LCD frames are complete. */
  readonly maxLcdFrames?: number;
  readonly lcdOut?: string;
  readonly frames?: number;
  readonly cameraFit?: ResizeMode;
  readonly cameraOrientation?: CameraOrientation;
  readonly numerics?: NumericsMode;
  /** The camera sensor whose frame timing snapshots follow (default ov2640). */
  readonly sensor?: SensorName;
  /** MicroPython heap in MiB, a hard bound (default `DEFAULT_HEAP_MB`; see sandbox.ts). */
  readonly heapMb?: number;
  /** Wall-clock bound on the whole run, seconds (`--timeout`): then the script is stopped, exit 1. */
  readonly timeoutS?: number;
  /** Use bundled models for unmapped flash addresses (default true). */
  readonly bundled?: boolean;
  /** The board's timing parameters (`--timing FILE`); default the built-in ones. */
  readonly timing?: TimingParams;
  /** Called regularly while Python runs (the browser's Stop and BOOT buttons reach the board here). */
  readonly poll?: (board: MaixpyBoard) => void;
  /** Every complete LCD frame (the browser's live panel). */
  readonly lcdFrame?: (img: RgbImage) => void;
  /** A live camera (the browser's webcam) instead of `camera` files. */
  readonly liveCamera?: CameraOptions['live'];
  /** Starts decoding the (expanded) camera files ahead of their snapshots (the command line's worker thread). */
  readonly cameraPrefetch?: (files: readonly string[]) => CameraPrefetch | undefined;
  /** Reads and decodes a camera file (`CameraOptions.read`: the command line's goes through its image cache). */
  readonly readCameraFile?: CameraOptions['read'];
  /** Camera frames kept between runs (`CameraOptions.frames`: the command line's image cache). */
  readonly cameraFrames?: CameraOptions['frames'];
  /**
   * Told of the run's milestones (`KPUSIM_TRACE`): the interpreter loaded, booted, each model load and run, snapshot
   * and display.
   */
  readonly trace?: (event: string) => void;
  /** The script's output. */
  readonly out: (text: string) => void;
  /** Warnings, tracebacks and the summary. */
  readonly err: (text: string) => void;
}

export type MaixpyEnd =
  StopReason | 'script-ended' | 'sys-exit' | 'python-error' | 'sandbox-violation' | 'timeout' | 'internal-error';

export interface MaixpyRunResult {
  readonly exitCode: number;
  readonly reason: MaixpyEnd;
  readonly frames: number;
  readonly displays: number;
  /** Predicted board time of the whole run (ms) and its parts. */
  readonly boardMs: number;
  readonly boardParts: {
    readonly kpu: number;
    readonly cpu: number;
    readonly sleep: number;
    readonly lcd: number;
    readonly camera: number;
  };
  readonly emulatorMs: number;
  /** Each snapshot: its number, the camera file and the board time (ms since boot) when it was taken. */
  readonly frameLog: readonly {
    readonly index: number;
    readonly file: string;
    readonly board_ms: number;
    readonly pc_ms: number;
  }[];
  readonly error?: {
    readonly type: string;
    readonly message: string;
    readonly file?: string;
    readonly line?: number;
    readonly traceback: string;
  };
  readonly summary: string;
}

const SD_COPY_LIMIT = 256 * 1024 * 1024;

function pyString(s: string): string {
  return JSON.stringify(s);
}

/**
 * Copies a mapped folder's entries (`listSdFolder`) into the interpreter's file system (so `open`, `os.listdir` see
 * them).
 */
function copyEntries(
  mp: { FS: { mkdirTree(p: string): void; writeFile(p: string, d: Uint8Array): void } },
  root: string,
  entries: readonly SdEntry[],
  warn: (t: string) => void,
): void {
  let total = 0;
  mp.FS.mkdirTree(root);
  for (const e of entries) {
    if (e.kind === 'dir') mp.FS.mkdirTree(e.board);
    else if (total + e.size > SD_COPY_LIMIT)
      warn(
        `${root}: ${e.host} is not copied into the emulated board (more than ${SD_COPY_LIMIT >> 20} MiB in all); kpu.load still finds it`,
      );
    else {
      total += e.size;
      mp.FS.writeFile(e.board, readFileSync(e.host));
    }
  }
}

/** A folder option must name an existing folder. */
export function checkFolder(dir: string, option: string): void {
  const ok = statSync(dir, { throwIfNoEntry: false })?.isDirectory() === true;
  if (!ok) throw new UsageError('NOT_FOUND', `${option} ${dir}: no such folder`);
}

/** Parses a MicroPython traceback: the innermost frame in the script, and the final "Type: message" line. */
export function parseTraceback(
  text: string,
  script: string,
): { type: string; message: string; file?: string; line?: number; traceback: string } {
  const lines = text
    .replace(/\r/g, '')
    .split('\n')
    .filter((l) => l.length > 0);
  const kept = lines.filter((l) => !/^\s*File "<stdin>"/.test(l));
  let file: string | undefined, line: number | undefined;
  for (const l of kept) {
    const m = /^\s*File "(.*)", line (\d+)/.exec(l);
    if (m && m[1] === script) {
      file = m[1];
      line = Number(m[2]);
    }
  }
  const last = kept[kept.length - 1] ?? '';
  const m = /^([A-Za-z_][A-Za-z0-9_.]*)(?::\s?(.*))?$/.exec(last);
  return { type: m?.[1] ?? 'Exception', message: m?.[2] ?? last, file, line, traceback: kept.join('\n') + '\n' };
}

/** What a board is built from: `kpusim maixpy`'s options, and a served board's. */
export interface MaixpyBoardOptions {
  /** Camera files (already expanded: `expandCameraFiles`). */
  readonly cameraFiles: readonly string[];
  readonly flash: readonly FlashSegment[];
  readonly sdDir?: string;
  /** A folder that stands for `/flash` (default: an empty `/flash` in memory). */
  readonly flashDir?: string;
  readonly keyPress?: readonly number[];
  /** BOOT key presses at board times (`--key-press-ms`). */
  readonly keyPressMs?: readonly KeyPress[];
  /** Stop when the board clock reaches this many ms. */
  readonly maxBoardMs?: number;
  /** Stop when this many LCD frames are complete. */
  readonly maxLcdFrames?: number;
  readonly lcdOut?: string;
  readonly frames?: number;
  readonly cameraFit?: ResizeMode;
  readonly cameraOrientation?: CameraOrientation;
  readonly numerics?: NumericsMode;
  /** The camera sensor whose frame timing snapshots follow (default ov2640). */
  readonly sensor?: SensorName;
  readonly heapMb?: number;
  readonly bundled?: boolean;
  /** The board's timing parameters (`--timing FILE`); default the built-in ones. */
  readonly timing?: TimingParams;
  /**
   * A served board: the camera cycles through its files, nothing ends the session (module failures
   * are Python exceptions), and files the scripts write into `/sd` and `/flash` land in the mapped
   * folders (`sdDir`, `flashDir`).
   */
  readonly served?: boolean;
  /** MicroPython's stdout, as the port produces it (bytes or strings). */
  readonly stdout: (b: Uint8Array | string) => void;
  /** Warnings (one line each, `kpusim: ` prefixed by the caller's `warn`). */
  readonly warn: (text: string) => void;
  /** MicroPython's stderr. */
  readonly stderr?: (b: Uint8Array | string) => void;
  /** Called regularly while Python runs and at every module call (a served board's Ctrl-C). */
  readonly poll?: () => void;
  /** Every complete LCD frame (the browser's live panel). */
  readonly lcdFrame?: (img: RgbImage) => void;
  /** A live camera (the browser's webcam) instead of `cameraFiles`. */
  readonly liveCamera?: CameraOptions['live'];
  /** Camera files decoded ahead (`CameraOptions.prefetched`). */
  readonly cameraPrefetched?: CameraOptions['prefetched'];
  /** Reads and decodes a camera file (`CameraOptions.read`). */
  readonly readCameraFile?: CameraOptions['read'];
  /** Camera frames kept between runs (`CameraOptions.frames`). */
  readonly cameraFrames?: CameraOptions['frames'];
  /** Told of the board's milestones (see `MaixpyRunOptions.trace`). */
  readonly trace?: (event: string) => void;
}

/**
 * The emulated K210 one MicroPython instance sees: the interpreter with kpusim's modules
 * registered and installed in `/lib`, storage (flash, SD card), camera and LCD. `bootBoard` runs
 * the firmware's boot step on it; `runMaixpy` then runs a script, a served board its REPL.
 */
export interface MaixpyBoard {
  readonly mp: MicroPython;
  readonly ctx: BoardContext;
  readonly storage: Storage;
  readonly backend: Backend;
  readonly interrupt: InterruptControl;
}

export async function createBoard(opts: MaixpyBoardOptions): Promise<MaixpyBoard> {
  checkHeap(opts.heapMb);
  // Folders are listed before anything loads: a link leading out of one is a usage error.
  const sdEntries = opts.sdDir !== undefined ? listSdFolder(opts.sdDir, opts.warn) : [];
  const flashEntries =
    opts.flashDir !== undefined ? listSdFolder(opts.flashDir, opts.warn, '/flash', '--flash-dir') : [];
  const gate = new JsGate();
  const { mp, memory } = await loadMicroPythonWithMemory(
    Math.floor((opts.heapMb ?? DEFAULT_HEAP_MB) * 1024 * 1024),
    opts.stdout,
    opts.stderr ?? opts.stdout,
    gate,
    opts.poll,
  );
  opts.trace?.('micropython loaded');
  const warn = opts.warn;
  const storage = new Storage({
    flash: opts.flash,
    sdDir: opts.sdDir,
    numerics: opts.numerics,
    bundled: opts.bundled,
    note: warn,
    timing: opts.timing,
  });
  const ctx = new BoardContext({
    camera: new Camera(opts.cameraFiles, {
      fit: opts.cameraFit,
      orientation: opts.cameraOrientation,
      cycle: opts.served,
      live: opts.liveCamera,
      prefetched: opts.cameraPrefetched,
      read: opts.readCameraFile,
      frames: opts.cameraFrames,
    }),
    storage,
    memory,
    toJs: (v) => mp.PyProxy.toJs(v),
    readVfs: (p) => {
      try {
        return mp.FS.readFile(p);
      } catch {
        return null;
      }
    },
    keyPressFrames: opts.keyPress ?? [],
    keyPressMs: opts.keyPressMs,
    maxFrames: opts.served ? undefined : opts.frames,
    maxBoardMs: opts.served ? undefined : opts.maxBoardMs,
    maxLcdFrames: opts.served ? undefined : opts.maxLcdFrames,
    lcdOut: opts.lcdOut,
    lcdFrame: opts.lcdFrame,
    sensor: opts.sensor,
    warn,
    endless: opts.served,
    poll: opts.poll,
    trace: opts.trace,
  });

  const backend: Record<string, Backend[string]> = {};
  for (const m of MAIXPY_MODULES) Object.assign(backend, m.backend);
  // A JavaScript exception must never unwind the interpreter on a served board (it would leave the
  // REPL's state half-done): every entry point turns a failure into a pending Python exception.
  const guard =
    <A extends unknown[]>(f: (...a: A) => unknown) =>
    (...a: A): unknown => {
      if (!opts.served) return f(...a);
      try {
        return f(...a);
      } catch (e) {
        ctx.fail(e);
        warn(`kpusim internal error: ${e instanceof Error ? e.message : String(e)}`);
        return null;
      }
    };
  mp.registerJsModule(
    '_kpusim_js',
    gate.module({
      call: guard((name: string, ...args: unknown[]) => ctx.dispatch(backend, name, args)),
      error: guard(() => ctx.takeError()),
      status: guard(() => ctx.takeStatus()),
      take: guard((addr: number, n: number) => ctx.take(addr, n)),
      warn: guard((text: string) => warn(String(text))),
    }),
  );
  mp.FS.mkdirTree('/flash');
  if (opts.flashDir) copyEntries(mp, '/flash', flashEntries, warn);
  if (opts.sdDir) copyEntries(mp, '/sd', sdEntries, warn);
  if (opts.served) {
    const mounts = [];
    if (opts.sdDir) mounts.push({ vfs: '/sd', host: opts.sdDir });
    if (opts.flashDir) mounts.push({ vfs: '/flash', host: opts.flashDir });
    mirrorWrites(mp.FS, mounts, warn);
  }
  return { mp, ctx, storage, backend, interrupt: interruptControl(mp) };
}

/**
 * Runs a script's text on a booted board in `__main__`, after the boot, as main.py runs on the board (tracebacks name
 * `script`).
 */
export function runScript(board: MaixpyBoard, script: string, source: string): void {
  board.mp.FS.writeFile('/__kpusim_main__.py', new TextEncoder().encode(source));
  // The interpreter builds the report of an exception that ends the script (its traceback) on the heap:
  // SCRIPT_RESERVE.bytes of it are kept back while the script runs and let go on the way out (`reserve`
  // in _kpusim.py), so a script that fills the heap still gets its MemoryError and traceback.
  board.mp.runPython(
    [
      `__file__ = ${pyString(script)}`,
      `with __import__('_kpusim').reserve(${SCRIPT_RESERVE.bytes}): exec(compile(open('/__kpusim_main__.py').read(), __file__, 'exec'), globals())`,
    ].join('\n'),
  );
}

/** Heap bytes kept back while a script runs, for the report of the exception that ends it (`runScript`). */
export const SCRIPT_RESERVE = { bytes: 4096 };

/**
 * Whether `e` is the interpreter's trap for an exception it could not report (`trapEndlessLoops` in
 * wasm.ts): the heap was too full even with the reserve let go.
 */
function unreportable(e: unknown): boolean {
  const RuntimeError = (globalThis as unknown as { WebAssembly: { RuntimeError: new () => Error } }).WebAssembly
    .RuntimeError;
  return e instanceof RuntimeError && e.message === ENDLESS_LOOP_TRAP;
}

/**
 * The firmware's boot step on a fresh board (maixpy/boot.ts: modules installed, `_boot.py` run),
 * then the sandbox's import rules (sandbox.ts).
 */
export function bootMaixpyBoard(board: MaixpyBoard): void {
  bootBoard(board.mp, MAIXPY_MODULES);
  board.mp.runPython(sandboxPrelude());
}

export async function runMaixpy(opts: MaixpyRunOptions): Promise<MaixpyRunResult> {
  const t0 = performance.now();
  checkTimeout(opts.timeoutS);
  checkHeap(opts.heapMb);
  const deadline = opts.timeoutS === undefined ? undefined : t0 + opts.timeoutS * 1000;
  const source = opts.source ?? readUserText(opts.script, FILE_CAPS.script);
  const files = expandCameraFiles(opts.camera);
  if (opts.keyPress?.some((n) => !Number.isInteger(n) || n < 1))
    throw new UsageError('BAD_ARGUMENT', '--key-press takes frame numbers 1, 2, …');
  if (opts.frames !== undefined && (!Number.isInteger(opts.frames) || opts.frames < 0))
    throw new UsageError('BAD_ARGUMENT', '--frames takes a whole number');
  if (opts.keyPressMs?.some((k) => !(k.at >= 0) || !(k.ms > 0) || !Number.isFinite(k.at + k.ms)))
    throw new UsageError('BAD_ARGUMENT', '--key-press-ms takes board times in ms (T or T:DURATION, DURATION > 0)');
  if (opts.maxBoardMs !== undefined && !(opts.maxBoardMs > 0 && Number.isFinite(opts.maxBoardMs)))
    throw new UsageError('BAD_ARGUMENT', '--max-board-ms takes a positive number of ms');
  if (opts.maxLcdFrames !== undefined && (!Number.isInteger(opts.maxLcdFrames) || opts.maxLcdFrames < 1))
    throw new UsageError('BAD_ARGUMENT', '--max-lcd-frames takes a whole number from 1');
  const flash: FlashSegment[] = [];
  for (const f of opts.flash ?? []) flash.push(...(typeof f === 'string' ? parseFlashSpec(f) : [f]));
  if (opts.sdDir !== undefined) listSdFolder(opts.sdDir);

  const warned = new Set<string>();
  const warn = (text: string): void => {
    if (warned.has(text)) return;
    warned.add(text);
    opts.err(`kpusim: ${text}\n`);
  };

  // The script's output: bytes from MicroPython, decoded as UTF-8, written line by line.
  const decoder = new TextDecoder();
  let pending = '';
  const emit = (b: Uint8Array | string): void => {
    pending += typeof b === 'string' ? b : decoder.decode(b, { stream: true });
    const nl = pending.lastIndexOf('\n');
    if (nl >= 0) {
      opts.out(pending.slice(0, nl + 1));
      pending = pending.slice(nl + 1);
    }
  };
  const flushOut = (): void => {
    pending += decoder.decode();
    if (pending) opts.out(pending);
    pending = '';
  };

  const polled: { board?: MaixpyBoard } = {};
  const userPoll = opts.poll;
  // The camera files start decoding now, while the interpreter loads and boots.
  const prefetch = opts.liveCamera ? undefined : opts.cameraPrefetch?.(files);
  const board = await createBoard({
    cameraFiles: files,
    cameraPrefetched: prefetch && ((file) => prefetch.take(file)),
    readCameraFile: opts.readCameraFile,
    cameraFrames: opts.cameraFrames,
    liveCamera: opts.liveCamera,
    lcdFrame: opts.lcdFrame,
    poll: userPoll ? () => polled.board && userPoll(polled.board) : undefined,
    flash,
    sdDir: opts.sdDir,
    keyPress: opts.keyPress,
    lcdOut: opts.lcdOut,
    frames: opts.frames,
    cameraFit: opts.cameraFit,
    cameraOrientation: opts.cameraOrientation,
    numerics: opts.numerics,
    heapMb: opts.heapMb,
    keyPressMs: opts.keyPressMs,
    maxBoardMs: opts.maxBoardMs,
    maxLcdFrames: opts.maxLcdFrames,
    sensor: opts.sensor,
    timing: opts.timing,
    bundled: opts.bundled,
    stdout: emit,
    stderr: (b) => opts.err(typeof b === 'string' ? b : decoder.decode(b)),
    warn,
    trace: opts.trace,
  }).catch((e: unknown) => {
    prefetch?.stop();
    throw e;
  });
  polled.board = board;
  const { ctx, backend } = board;

  let reason: MaixpyEnd = 'script-ended';
  let exitCode = 0;
  let error: MaixpyRunResult['error'];
  let internal: string | undefined;
  let violation: string | undefined;
  try {
    runUntil(deadline, opts.timeoutS, () => {
      bootMaixpyBoard(board);
      opts.trace?.('booted');
      // The script runs in __main__, after the boot, as main.py does on the board.
      runScript(board, opts.script, source);
    });
  } catch (e) {
    if (e instanceof StopRun) {
      reason = e.reason;
    } else if (e instanceof WallTimeout) {
      reason = 'timeout';
      exitCode = 1;
    } else if (e instanceof SandboxViolation) {
      reason = 'sandbox-violation';
      exitCode = 1;
      violation = e.message;
    } else if (unreportable(e)) {
      reason = 'python-error';
      exitCode = 1;
      const message = 'the heap was too full to report the exception that ended the script';
      error = { type: 'MemoryError', message, traceback: `MemoryError: ${message}\n` };
    } else if (e instanceof Error && e.name === 'PythonError') {
      const type = (e as Error & { type?: string }).type ?? '';
      if (type === 'SystemExit') {
        reason = 'sys-exit';
        const m = /SystemExit:?\s*(-?\d+)?/.exec(e.message);
        exitCode = m?.[1] !== undefined ? Number(m[1]) & 0xff : 0;
      } else {
        reason = 'python-error';
        exitCode = 1;
        error = parseTraceback(e.message, opts.script);
      }
    } else {
      reason = 'internal-error';
      exitCode = 1;
      internal = e instanceof Error ? e.message : String(e);
    }
  }
  flushOut();
  try {
    ctx.dispatch(backend, 'lcd_flush', []);
  } catch {
    // a failure to write the last panel does not change how the script ended
  }
  prefetch?.stop();

  const emulatorMs = performance.now() - t0;
  const c = ctx.clock;
  const why: Record<MaixpyEnd, string> = {
    'camera-exhausted': `the camera ran out of frames`,
    'frames-limit': `--frames ${opts.frames} reached`,
    'board-time-limit': `--max-board-ms ${opts.maxBoardMs} reached`,
    'lcd-frames-limit': `--max-lcd-frames ${opts.maxLcdFrames} reached`,
    'script-ended': 'the script ended',
    'sys-exit': `sys.exit(${exitCode})`,
    'python-error': `${error?.type ?? 'error'} at ${error?.file ?? opts.script}${error?.line !== undefined ? `:${error.line}` : ''}`,
    'sandbox-violation': `${violation}`,
    timeout: `timed out after ${opts.timeoutS} s`,
    'internal-error': `kpusim internal error: ${internal}`,
  };
  const fps = ctx.frames > 0 ? (1000 * ctx.frames) / c.now() : 0;
  const summary =
    `kpusim maixpy: ${why[reason]}: ${ctx.frames} frame${ctx.frames === 1 ? '' : 's'}, ${ctx.displays} lcd image${ctx.displays === 1 ? '' : 's'}` +
    `${opts.lcdOut && ctx.displays ? ` in ${opts.lcdOut}` : ''}; board ${c.now().toFixed(1)} ms` +
    `${ctx.frames > 0 ? ` (${fps.toFixed(1)} fps)` : ''} [KPU ${c.totals.kpu.toFixed(1)}, CPU ${c.totals.cpu.toFixed(1)}, LCD ${c.totals.lcd.toFixed(1)}, camera ${c.totals.camera.toFixed(1)}, sleep ${c.totals.sleep.toFixed(1)}]; ` +
    `emulator ${(emulatorMs / 1000).toFixed(1)} s`;
  if (error) opts.err(error.traceback);
  if (error?.type === 'MemoryError')
    opts.err(
      `kpusim: the MicroPython heap (--heap ${opts.heapMb ?? DEFAULT_HEAP_MB} MiB) is full; garbage is collected only when the script ends (see examples/maixpy/README.md)\n`,
    );
  opts.err(summary + '\n');
  return {
    exitCode,
    reason,
    frames: ctx.frames,
    displays: ctx.displays,
    boardMs: c.now(),
    boardParts: { ...c.totals },
    emulatorMs,
    frameLog: ctx.frameLog,
    error,
    summary,
  };
}
