/**
 * The emulated board one `kpusim maixpy` run sees: clock, camera, storage, LCD, key presses,
 * and the plumbing between the Python modules and their TypeScript halves.
 *
 * Calls from Python go through one JS function, `_kpusim_js.call(name, ...args)`, with plain
 * arguments (ints, floats, strings, None, and addresses + lengths of `bytearray`s). A backend
 * function that fails throws `PyError`; the dispatcher stores it and Python's side (`_kpusim.py`)
 * raises it as the named Python exception, so the script sees it with its own file and line.
 * Results of variable size (image files, model outputs, detection lists) are handed over in two
 * steps: the backend keeps a blob and returns its length, Python allocates a `bytearray` and
 * has the blob copied in (`take`).
 *
 * `StopRun` is the one exception that is not turned into a Python one: it unwinds the
 * interpreter (the camera ran out, or `--frames` was reached) and the host ends the run cleanly.
 */
import { KmodelError, KpuFault, UsageError } from '../errors.js';
import type { RgbImage } from '../pipeline/types.js';
import type { Camera } from './camera.js';
import type { SensorName } from './sensor-timing.js';
import type { Storage } from './storage.js';
import { BoardClock } from './timing.js';
import type { WasmMemory } from './wasm.js';

/** A Python exception raised by a backend function. */
export class PyError extends Error {
  constructor(
    readonly pyType:
      | 'ValueError'
      | 'TypeError'
      | 'OSError'
      | 'MemoryError'
      | 'NotImplementedError'
      | 'IndexError'
      | 'RuntimeError'
      | 'AttributeError',
    message: string,
  ) {
    super(message);
  }
}

export type StopReason = 'camera-exhausted' | 'frames-limit' | 'board-time-limit' | 'lcd-frames-limit';

/** A BOOT key press at a board time: down from `at` for `ms` milliseconds. */
export interface KeyPress {
  readonly at: number;
  readonly ms: number;
}

/** Ends the run without Python seeing it (uncatchable by the script, even by a bare `except:`). */
export class StopRun extends Error {
  constructor(
    readonly reason: StopReason,
    message: string,
  ) {
    super(message);
  }
}

export type BackendFn = (ctx: BoardContext, ...args: unknown[]) => unknown;
export type Backend = Readonly<Record<string, BackendFn>>;

export interface BoardOptions {
  readonly camera: Camera;
  readonly storage: Storage;
  readonly memory: WasmMemory;
  /** Converts a Python proxy (list, tuple) to plain JS values. */
  readonly toJs: (v: unknown) => unknown;
  /** Reads a file of the interpreter's file system (for `/sd` files the script wrote). */
  readonly readVfs: (path: string) => Uint8Array | null;
  /** 1-based frame numbers before which the BOOT key is pressed. */
  readonly keyPressFrames: readonly number[];
  /** BOOT key presses at board times. */
  readonly keyPressMs?: readonly KeyPress[];
  /** Stop after this many snapshots. */
  readonly maxFrames?: number;
  /** Stop when the board clock reaches this many ms. */
  readonly maxBoardMs?: number;
  /** Stop when this many LCD frames (PNGs) are complete. */
  readonly maxLcdFrames?: number;
  readonly lcdOut?: string;
  /** The camera sensor whose frame timing snapshots follow (default OV2640). */
  readonly sensor?: SensorName;
  readonly warn: (text: string) => void;
  /**
   * A served board (REPL mode): nothing ends the session, so a `StopRun` (no camera frames) becomes
   * a Python `RuntimeError` the script or the REPL sees.
   */
  readonly endless?: boolean;
  /** Called at the start of every module call (a served board delivers a pending Ctrl-C here). */
  readonly poll?: () => void;
  /** Called with every complete LCD frame (the browser's live panel), beside or instead of `lcdOut`. */
  readonly lcdFrame?: (img: RgbImage) => void;
  /** Told when a model load or run, a snapshot or an `lcd.display` returns (`KPUSIM_TRACE`: where the time goes). */
  readonly trace?: (event: string) => void;
}

/** The module calls `trace` hears of. */
const TRACED = new Set(['kpu_load_flash', 'kpu_load_path', 'kpu_run', 'sensor_snapshot', 'lcd_display']);

export class BoardContext {
  readonly clock: BoardClock;
  readonly camera: Camera;
  readonly storage: Storage;
  readonly memory: WasmMemory;
  readonly toJs: (v: unknown) => unknown;
  readonly readVfs: (path: string) => Uint8Array | null;
  readonly keyPressFrames: ReadonlySet<number>;
  readonly keyPressMs: readonly KeyPress[];
  readonly maxFrames?: number;
  readonly maxBoardMs?: number;
  readonly maxLcdFrames?: number;
  /** The BOOT key is held for the frame being delivered (`--key-press` frame numbers). */
  frameKeyDown = false;
  /** Key edges (press = falling, release = rising) that passed since Python last took them. */
  private keyEdges: ('falling' | 'rising')[] = [];
  /** Edges of `keyPressMs` already queued, in time order (press, release, press, …). */
  private edgesQueued = 0;
  readonly lcdOut?: string;
  readonly lcdFrame?: (img: RgbImage) => void;
  readonly sensor: SensorName;
  /** Snapshots delivered. */
  frames = 0;
  /** PNGs written by `lcd.display`. */
  displays = 0;
  /**
   * Each snapshot: its number, the camera file, the board time when it was taken and the PC's
   * own time since the board started (steady-state speed against the board: bench, the web page).
   */
  readonly frameLog: { index: number; file: string; board_ms: number; pc_ms: number }[] = [];
  /** `performance.now()` when the board started. */
  readonly startedAt = performance.now();
  /** Per-module state, keyed by module name. */
  readonly state = new Map<string, unknown>();
  private readonly boundaryHooks: (() => void)[] = [];
  private readonly warnFn: (text: string) => void;
  private readonly warned = new Set<string>();
  private blob: Uint8Array | null = null;
  private error: PyError | null = null;
  private readonly endless: boolean;
  private readonly poll?: () => void;
  private readonly trace?: (event: string) => void;

  constructor(opts: BoardOptions) {
    this.camera = opts.camera;
    this.storage = opts.storage;
    this.clock = new BoardClock(opts.storage.timing.clocks.cpuMhz);
    this.memory = opts.memory;
    this.toJs = opts.toJs;
    this.readVfs = opts.readVfs;
    this.keyPressFrames = new Set(opts.keyPressFrames);
    this.keyPressMs = [...(opts.keyPressMs ?? [])].sort((a, b) => a.at - b.at);
    this.maxFrames = opts.maxFrames;
    this.maxBoardMs = opts.maxBoardMs;
    this.maxLcdFrames = opts.maxLcdFrames;
    this.lcdOut = opts.lcdOut;
    this.lcdFrame = opts.lcdFrame;
    this.sensor = opts.sensor ?? 'ov2640';
    this.warnFn = opts.warn;
    this.endless = opts.endless ?? false;
    this.poll = opts.poll;
    this.trace = opts.trace;
  }

  warn(text: string): void {
    this.warnFn(text);
  }

  warnOnce(key: string, text: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.warnFn(text);
  }

  /**
   * Called at each frame boundary: the script waits (a snapshot, a sleep) and what the LCD shows is a complete frame.
   */
  onFrameBoundary(hook: () => void): void {
    this.boundaryHooks.push(hook);
  }

  frameBoundary(): void {
    for (const h of this.boundaryHooks) h();
  }

  /** Per-module state, created on first use. */
  get<T>(key: string, init: () => T): T {
    if (!this.state.has(key)) this.state.set(key, init());
    return this.state.get(key) as T;
  }

  /**
   * A BOOT key press from outside while the script runs (the browser's button): before the next frame, as
   * `--key-press`.
   */
  pressKeyBeforeNextFrame(): void {
    (this.keyPressFrames as Set<number>).add(this.frames + 1);
  }

  /** The BOOT key is down now (a frame press or a timed press). */
  keyDown(): boolean {
    const t = this.clock.now();
    return this.frameKeyDown || this.keyPressMs.some((k) => t >= k.at && t < k.at + k.ms);
  }

  /** Queue the edges of timed presses the clock has passed. */
  private queueKeyEdges(): void {
    const t = this.clock.now();
    for (;;) {
      const i = this.edgesQueued;
      const press = this.keyPressMs[i >> 1];
      if (!press) return;
      const at = i & 1 ? press.at + press.ms : press.at;
      if (t < at) return;
      this.keyEdges.push(i & 1 ? 'rising' : 'falling');
      this.edgesQueued++;
    }
  }

  /** A run limit reached: the board clock (`--max-board-ms`). */
  checkLimits(): void {
    if (this.maxBoardMs !== undefined && this.clock.now() >= this.maxBoardMs)
      throw new StopRun('board-time-limit', `--max-board-ms ${this.maxBoardMs} reached`);
  }

  /** Keep a result for `take`; returns its length. */
  give(bytes: Uint8Array): number {
    this.blob = bytes;
    return bytes.length;
  }

  take(addr: number, length: number): void {
    if (!this.blob) throw new PyError('RuntimeError', 'kpusim host: nothing to take');
    if (length !== this.blob.length)
      throw new PyError('RuntimeError', `kpusim host: take of ${length} bytes, ${this.blob.length} pending`);
    if (length > 0) this.memory.bytes(addr, length).set(this.blob);
    this.blob = null;
  }

  /** The dispatcher Python calls: runs `name`, turning failures into a pending Python exception. */
  dispatch(backend: Backend, name: string, args: unknown[]): unknown {
    this.error = null;
    this.poll?.();
    const fn = Object.prototype.hasOwnProperty.call(backend, name) ? backend[name] : undefined;
    if (!fn) {
      this.error = new PyError('RuntimeError', `kpusim host: no backend function ${name}`);
      return null;
    }
    try {
      const r = fn(this, ...args);
      if (this.trace && TRACED.has(name)) this.trace(name);
      this.checkLimits();
      this.queueKeyEdges();
      return r === undefined ? null : r;
    } catch (e) {
      if (e instanceof StopRun && !this.endless) throw e;
      this.error = toPyError(e);
      return null;
    }
  }

  /** After a call: null, or the pending exception ("Type\nmessage") and key edges for Python. */
  takeStatus(): { error: string | null; edges: string[] } | null {
    if (!this.error && this.keyEdges.length === 0) return null;
    const edges = this.keyEdges;
    this.keyEdges = [];
    return { error: this.takeError(), edges };
  }

  /** Records a failure of a call that does not go through `dispatch` (a Python exception follows). */
  fail(e: unknown): void {
    this.error = toPyError(e);
  }

  /** The pending exception as "Type\nmessage", or null. */
  takeError(): string | null {
    const e = this.error;
    this.error = null;
    return e ? `${e.pyType}\n${e.message}` : null;
  }
}

export function toPyError(e: unknown): PyError {
  if (e instanceof PyError) return e;
  if (e instanceof StopRun) return new PyError('RuntimeError', e.message);
  if (e instanceof UsageError) return new PyError(e.code === 'NOT_FOUND' ? 'OSError' : 'ValueError', e.message);
  if (e instanceof KmodelError) return new PyError('ValueError', e.message);
  if (e instanceof KpuFault) return new PyError('OSError', `KPU fault: ${e.message}`);
  if (e instanceof RangeError) return new PyError('ValueError', e.message);
  return new PyError('RuntimeError', `kpusim internal error: ${e instanceof Error ? e.message : String(e)}`);
}

// Argument helpers for backend functions (Python passes plain values).
export function int(v: unknown, what: string): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new PyError('TypeError', `${what}: expected an int, got ${v === null ? 'None' : typeof v}`);
  return v;
}

export function num(v: unknown, what: string): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v !== 'number')
    throw new PyError('TypeError', `${what}: expected a number, got ${v === null ? 'None' : typeof v}`);
  return v;
}

export function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new PyError('TypeError', `${what}: expected a str`);
  return v;
}

export function numberList(ctx: BoardContext, v: unknown, what: string): number[] {
  const js = ctx.toJs(v);
  if (!Array.isArray(js)) throw new PyError('TypeError', `${what}: expected a list or tuple`);
  return js.map((x, i) => num(x, `${what}[${i}]`));
}
