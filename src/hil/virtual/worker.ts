/**
 * The virtual board's worker thread: one emulated K210 (kpusim's MaixPy board, `maixpy/host.ts`)
 * behind MicroPython's own REPL (`replInit` / `replProcessChar`), fed byte by byte from the shared
 * receive ring (shared.ts). Python runs here, synchronously; the serial side stays responsive on
 * the main thread. How the console matches MaixPy's: docs/virtual-board.md.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SandboxViolation } from '../../maixpy/sandbox.js';
import { bootMaixpyBoard, createBoard, type MaixpyBoard, type MaixpyBoardOptions } from '../../maixpy/host.js';
import {
  cook,
  firmwareName,
  initEndLine,
  latin1,
  PYEXEC_FORCED_EXIT,
  RAW_REPL_BANNER,
  rebrand,
  softRebootBytes,
  type Flavor,
} from './console.js';
import { ANSWERED, answerCtrlC, attachWire, BUSY, EXEC, HEAD, IDLE, STATE, take, type SharedWire } from './shared.js';

/** What the main thread hands the worker. */
export interface WorkerInit {
  readonly wire: SharedArrayBuffer;
  readonly flavor: Flavor;
  readonly board: Omit<MaixpyBoardOptions, 'stdout' | 'stderr' | 'warn' | 'poll' | 'served'>;
}

/** Messages to the main thread. */
export type WorkerMessage =
  | { readonly t: 'out'; readonly data: Uint8Array }
  | { readonly t: 'warn'; readonly text: string }
  | { readonly t: 'ready' }
  | { readonly t: 'fatal'; readonly message: string };

const FLUSH_MS = 20;
const FLUSH_BYTES = 4096;

/** Where the console's messages go: the Node worker's parent port, or a Web Worker's scope (the browser). */
export interface ConsoleHost {
  postMessage(m: WorkerMessage, transfer?: ArrayBuffer[]): void;
}

export class BoardConsole {
  private board!: MaixpyBoard;
  private mode: 'friendly' | 'raw' = 'friendly';
  /** Raw REPL: bytes in the current line and its first two (to spot the raw-paste probe). */
  private rawLen = 0;
  private rawFirst = -1;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private lastByte = -1;
  private lastFlush = 0;
  private booting = false;
  /**
   * Ring position from which a queued Ctrl-C is an interrupt: where the ring's head was when the
   * running code was first seen (a Ctrl-C queued earlier arrived before the code ran, and is an
   * ordinary byte, as on the board where the interrupt character is armed only while code runs);
   * -1 while no code runs.
   */
  private interruptFrom = -1;
  /** When set, stdout goes here instead of the wire (output the console rewrites). */
  private capture: Uint8Array[] | null = null;
  /** `/flash` kept across a soft reset when no folder maps it. */
  private flashFiles = new Map<string, Uint8Array | null>();

  constructor(
    private readonly wire: SharedWire,
    private readonly init: WorkerInit,
    private readonly host: ConsoleHost = parentPort!,
  ) {}

  private post(m: WorkerMessage, transfer?: ArrayBuffer[]): void {
    this.host.postMessage(m, transfer ?? []);
  }

  private stdout = (b: Uint8Array | string): void => {
    const bytes = typeof b === 'string' ? new TextEncoder().encode(b) : b.slice();
    if (this.capture) this.capture.push(bytes);
    else {
      this.pending.push(bytes);
      this.pendingBytes += bytes.length;
    }
  };

  private emit(bytes: Uint8Array | string): void {
    const b = typeof bytes === 'string' ? new Uint8Array(Buffer.from(bytes, 'latin1')) : bytes;
    this.pending.push(b);
    this.pendingBytes += b.length;
  }

  flush(): void {
    this.lastFlush = performance.now();
    if (this.pendingBytes === 0) return;
    const all = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    let out = cook(new Uint8Array(all.buffer, all.byteOffset, all.byteLength), this.lastByte);
    out = rebrand(out, this.init.flavor);
    this.lastByte = out[out.length - 1];
    const copy = out.slice();
    this.post({ t: 'out', data: copy }, [copy.buffer as ArrayBuffer]);
  }

  /** Runs `fn` with stdout captured; returns what it printed. */
  private captured(fn: () => void): string {
    const saved = this.capture;
    const sink: Uint8Array[] = [];
    this.capture = sink;
    try {
      fn();
    } finally {
      this.capture = saved;
    }
    return latin1(Buffer.concat(sink));
  }

  /** Runs while Python runs (every ~1000 interpreter calls, and at every module call). */
  private poll = (): void => {
    if (!this.board) return;
    const executing = this.booting || this.board.interrupt.interruptChar() === 3;
    if (!executing) return;
    if (this.interruptFrom < 0) {
      this.interruptFrom = Atomics.load(this.wire.control, HEAD);
      Atomics.store(this.wire.control, STATE, EXEC);
    }
    const { found, to } = answerCtrlC(this.wire, this.interruptFrom);
    this.interruptFrom = to;
    if (found > 0) this.board.interrupt.keyboardInterrupt();
    if (this.pendingBytes >= FLUSH_BYTES || (this.pendingBytes > 0 && performance.now() - this.lastFlush > FLUSH_MS))
      this.flush();
  };

  private warn = (text: string): void => this.post({ t: 'warn', text });

  private async makeBoard(): Promise<void> {
    this.board = undefined as unknown as MaixpyBoard;
    const board = await createBoard({
      ...this.init.board,
      served: true,
      stdout: this.stdout,
      stderr: this.stdout,
      warn: this.warn,
      poll: this.poll,
    });
    if (!this.init.board.flashDir) {
      for (const [path, data] of this.flashFiles) {
        if (data === null) board.mp.FS.mkdirTree(path);
        else board.mp.FS.writeFile(path, data);
      }
    }
    this.board = board;
  }

  /** The in-memory `/flash` (no `--flash-dir`): kept across a soft reset as a board's SPIFFS is. */
  private saveFlash(): void {
    if (this.init.board.flashDir || !this.board) return;
    const FS = this.board.mp.FS;
    const files = new Map<string, Uint8Array | null>();
    const walk = (dir: string): void => {
      for (const name of FS.readdir(dir)) {
        if (name === '.' || name === '..') continue;
        const p = `${dir}/${name}`;
        if (FS.isDir(FS.stat(p).mode)) {
          files.set(p, null);
          walk(p);
        } else files.set(p, FS.readFile(p));
      }
    };
    walk('/flash');
    this.flashFiles = files;
  }

  /** Runs a boot file from the working directory in `__main__` if it is there (`pyexec_file_if_exists`). */
  private runBootFile(name: string): void {
    const n = JSON.stringify(name);
    try {
      this.board.mp.runPython(
        [
          'try:',
          `    _kpusim_f = open(${n})`,
          'except OSError:',
          '    _kpusim_f = None',
          'if _kpusim_f is not None:',
          '    _kpusim_s = _kpusim_f.read()',
          '    _kpusim_f.close()',
          '    del _kpusim_f',
          `    exec(compile(_kpusim_s, ${n}, 'exec'), globals())`,
          'else:',
          '    del _kpusim_f',
        ].join('\n'),
      );
    } catch (e) {
      this.printError(e);
    }
    try {
      this.board.mp.runPython('try:\n    del _kpusim_s\nexcept NameError:\n    pass');
    } catch {
      // nothing to clean
    }
  }

  /** A Python exception from `runPython` printed as the board prints an uncaught one. */
  private printError(e: unknown): void {
    if (e instanceof Error && e.name === 'PythonError') {
      const lines = e.message
        .replace(/\r/g, '')
        .split('\n')
        .filter((l) => l.length > 0 && !/^\s*File "<stdin>"/.test(l) && !/^\s*File "<string>"/.test(l));
      this.emit(lines.join('\r\n') + '\r\n');
    } else {
      this.emit(`RuntimeError: kpusim internal error: ${e instanceof Error ? e.message : String(e)}\r\n`);
    }
  }

  /** Boot as the firmware does: the boot step, `boot.py`, `main.py` (friendly REPL only), then the REPL. */
  private boot(): void {
    Atomics.store(this.wire.control, STATE, BUSY);
    this.interruptFrom = -1;
    this.booting = true;
    try {
      try {
        bootMaixpyBoard(this.board);
      } catch (e) {
        this.printError(e);
      }
      this.emit(initEndLine(this.init.flavor));
      this.runBootFile('boot.py');
      if (this.mode === 'friendly') this.runBootFile('main.py');
    } finally {
      this.booting = false;
      this.interruptFrom = -1;
    }
    const mp = this.board.mp;
    if (this.mode === 'friendly') {
      // replInit prints "\r\n" + banner + ">>> "; the firmware's blocking REPL starts with the banner
      this.emit(this.captured(() => mp.replInit()).replace(/^\r\n/, ''));
    } else {
      this.captured(() => mp.replInit());
      this.emit(this.captured(() => mp.replProcessChar(0x01)).replace(/^\r\n/, ''));
    }
  }

  /** A JavaScript exception escaped the interpreter: report it as a Python error and reset the REPL. */
  private recover(e: unknown): number {
    if (e instanceof SandboxViolation) {
      // The script reached for the host: the sandbox stopped it mid-call. The board answers as if
      // the command ended with an error, then reboots (a fresh interpreter, nothing of the old one).
      const msg = `SandboxViolation: ${e.message}\r\n`;
      this.warn(e.message);
      this.emit(this.mode === 'raw' ? `\x04${msg}\x04` : msg);
      return PYEXEC_FORCED_EXIT;
    }
    const msg = `RuntimeError: kpusim internal error: ${e instanceof Error ? e.message : String(e)}\r\n`;
    this.warn(`kpusim internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    const mp = this.board.mp;
    if (this.mode === 'raw') {
      this.emit(`\x04${msg}\x04`);
      this.captured(() => mp.replInit());
      this.emit('>');
    } else {
      this.emit(msg);
      this.captured(() => mp.replInit());
      this.emit('>>> ');
    }
    this.rawLen = 0;
    this.rawFirst = -1;
    return 0;
  }

  private feed(c: number): number {
    try {
      return this.board.mp.replProcessChar(c) as number;
    } catch (e) {
      return this.recover(e);
    }
  }

  /** One received byte. Returns true when it asked for a soft reset. */
  private handle(c: number): boolean {
    Atomics.store(this.wire.control, STATE, BUSY);
    this.interruptFrom = -1;
    const wasRaw = this.mode === 'raw';
    if (wasRaw && c === 0x01 && this.rawLen === 2 && this.rawFirst === 0x05) {
      // The raw-paste probe (`\x05A\x01`): v1.11 has no raw-paste and answers it as a plain
      // Ctrl-A; the port would enter raw-paste and wait for input it cannot read. Clearing the
      // line first (Ctrl-C, silent in the raw REPL) gives v1.11's answer.
      this.feed(0x03);
    }
    let r: number;
    if (c === 0x01 && !wasRaw) {
      const out = this.captured(() => (r = this.feed(c)));
      if (out.endsWith(RAW_REPL_BANNER + '>')) this.mode = 'raw';
      this.emit(out);
    } else {
      r = this.feed(c);
      if (c === 0x02 && wasRaw) this.mode = 'friendly';
    }
    if (this.mode === 'raw') {
      if (c >= 0x01 && c <= 0x04) {
        this.rawLen = 0;
        this.rawFirst = -1;
      } else {
        if (this.rawLen === 0) this.rawFirst = c;
        this.rawLen++;
      }
    }
    this.interruptFrom = -1;
    return (r! & PYEXEC_FORCED_EXIT) !== 0;
  }

  async run(): Promise<void> {
    await this.makeBoard();
    this.boot();
    this.flush();
    this.post({ t: 'ready' });
    const control = this.wire.control;
    const idle = (): void => {
      this.flush();
      Atomics.store(control, STATE, IDLE);
    };
    for (;;) {
      const c = take(this.wire, idle);
      if (c === ANSWERED) continue;
      const reset = this.handle(c);
      if (reset) {
        this.flush();
        this.saveFlash();
        this.emit(softRebootBytes(this.init.flavor));
        this.flush();
        await this.makeBoard();
        this.boot();
        this.flush();
      }
    }
  }
}

if (parentPort) {
  const init = workerData as WorkerInit;
  const console_ = new BoardConsole(attachWire(init.wire), init);
  console_.run().catch((e: unknown) => {
    parentPort!.postMessage({
      t: 'fatal',
      message: `the virtual ${firmwareName(init.flavor)} board stopped: ${e instanceof Error ? e.message : String(e)}`,
    } satisfies WorkerMessage);
  });
}
