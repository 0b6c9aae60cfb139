/**
 * A session with a MicroPython board (MaixPy, CanMV, or kpusim's virtual board) over a `ByteLink`:
 * the raw REPL, the prelude, and the operations every `kpusim board` command is written in
 * (exec/eval, files with a crc32 computed on the board, data buffers, scripts). A virtual board
 * is one more link: nothing here knows which board answers.
 */
import { BoardError, BoardPythonError, parseBoardTraceback } from './errors.js';
import type { ByteLink } from './link.js';
import { preludeCommands, pyStr, splitSentinels, type HilRecord } from './prelude.js';
import { BOARD_RX_BUFFER, RawRepl, type ExecOptions, type ExecResult } from './raw-repl.js';

export type Flavour = 'maixpy' | 'canmv' | 'unknown';
/**
 * Which KPU API the firmware offers: MaixPy's `KPU` module, CanMV main's `maix.KPU` (load_kmodel, run_with_output),
 * CanMV feat/kpu's `KPU()` (load, run, get_outputs).
 */
export type KpuApi = 'maixpy' | 'canmv-main' | 'canmv-kpu' | 'none';

export interface BoardFile {
  readonly dir: string;
  readonly name: string;
  readonly size: number;
  readonly isDir: boolean;
}

export interface BoardInfo {
  readonly flavour: Flavour;
  readonly virtual: boolean;
  /** `sys.implementation`: name and version (MaixPy and CanMV: micropython 1.11.0). */
  readonly implementation: string;
  /** `os.uname()` fields (sysname, release, version, machine), when the port has it. */
  readonly uname?: { sysname: string; release: string; version: string; machine: string };
  /** The firmware's own version string (uname version, else the implementation). */
  readonly firmware: string;
  readonly kpuApi: KpuApi;
  readonly modules: readonly string[];
  readonly cpuMhz?: number;
  readonly kpuMhz?: number;
  readonly gcFree: number;
  readonly gcAlloc: number;
  /** Free system heap (`utils.heap_free()`, where models are loaded), -1 when unknown. */
  readonly sysFree: number;
  readonly files: readonly BoardFile[];
  /** Directories that are not there (no SD card: `/sd`). */
  readonly missingDirs: readonly string[];
  /** kmodel format versions this firmware loads. */
  readonly kmodelVersions: readonly number[];
}

export interface BoardSessionOptions {
  /** Receive buffer of the board's UART (default 2048); commands never exceed it. */
  readonly rxBuffer?: number;
  /** Time to wait for the REPL prompt when the session opens (default 5 s). */
  readonly promptTimeoutMs?: number;
  /** Default time limit of one command (default 10 s). */
  readonly commandTimeoutMs?: number;
  /** Text outside the protocol: boot output, firmware log lines. */
  readonly onLog?: (text: string) => void;
}

export interface PutProgress {
  readonly sent: number;
  readonly total: number;
}

export interface PutResult {
  readonly path: string;
  readonly bytes: number;
  readonly crc32: number;
  /** False when a file with the same size and crc32 was already there. */
  readonly uploaded: boolean;
  readonly ms: number;
}

export interface ScriptResult {
  /** 0: the script ended; 1: it raised (error set), including KeyboardInterrupt. */
  readonly exitCode: number;
  readonly error?: BoardPythonError;
  readonly interrupted: boolean;
}

const enc = new TextEncoder();

let CRC_TABLE: Uint32Array | undefined;

/** CRC-32 (IEEE, as `binascii.crc32` computes it on the board). */
export function crc32Of(bytes: Uint8Array): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Which kmodel versions a firmware loads (README.md, "With a board"). */
export function kmodelVersionsFor(flavour: Flavour, api: KpuApi, virtual: boolean): number[] {
  if (api === 'canmv-kpu') return [3, 4, 5];
  if (virtual && flavour === 'unknown') return [3, 4, 5];
  if (api === 'none') return [];
  return [3, 4];
}

/**
 * Seconds an upload of `bytes` takes at `baud` (8N1: 10 bits a byte) in base64 commands of at most
 * `maxCommandBytes`, with `latencyMs` per command round trip.
 */
export function estimateUploadSeconds(
  bytes: number,
  baud: number,
  maxCommandBytes = BOARD_RX_BUFFER - 1,
  latencyMs = 8,
): number {
  const payload = Math.floor((maxCommandBytes - 13) / 4) * 3;
  const commands = Math.ceil(bytes / payload) + 4;
  const wire = Math.ceil(bytes / 3) * 4 + commands * 18;
  return (wire * 10) / baud + (commands * latencyMs) / 1000;
}

export class BoardSession {
  private constructor(
    readonly repl: RawRepl,
    readonly link: ByteLink,
    private readonly opts: BoardSessionOptions,
    private _info: BoardInfo | undefined,
  ) {}

  /** Enters the raw REPL, sends the prelude and reads the board's description. */
  static async open(link: ByteLink, opts: BoardSessionOptions = {}): Promise<BoardSession> {
    const repl = new RawRepl(link, { rxBuffer: opts.rxBuffer ?? BOARD_RX_BUFFER, onLog: opts.onLog });
    const s = new BoardSession(repl, link, opts, undefined);
    await repl.enter(opts.promptTimeoutMs ?? 5000);
    for (const c of preludeCommands(Math.min(1900, repl.maxCommandBytes))) await s.run(c);
    s._info = await s.readInfo();
    return s;
  }

  get info(): BoardInfo {
    if (!this._info) throw new BoardError('PROTOCOL', 'the session is not open');
    return this._info;
  }

  /** Bytes sent on the link since the session opened. */
  get bytesSent(): number {
    return this.repl.bytesSent;
  }

  /** The longest command this session sends. */
  get maxCommandBytes(): number {
    return this.repl.maxCommandBytes;
  }

  /** One command as the raw REPL returns it (no error checking). */
  exec(code: string, opts: ExecOptions = {}): Promise<ExecResult> {
    return this.repl.exec(code, { ...opts, timeoutMs: opts.timeoutMs ?? this.opts.commandTimeoutMs });
  }

  /** Runs a command; a traceback becomes a BoardPythonError. Returns its sentinel records and log text. */
  async run(code: string, opts: { timeoutMs?: number } = {}): Promise<{ records: HilRecord[]; log: string }> {
    const r = await this.exec(code, opts);
    const split = splitSentinels(r.stdout);
    if (split.log) this.opts.onLog?.(split.log);
    if (r.stderr.trim() !== '') throw parseBoardTraceback(r.stderr);
    return split;
  }

  /** `repr()` of a Python expression, evaluated on the board. */
  async eval(expr: string, opts: { timeoutMs?: number } = {}): Promise<string> {
    const { records } = await this.run(`_hil_say('v', repr(${expr}))`, opts);
    const r = records.find((x) => x.key === 'v');
    if (!r) throw new BoardError('PROTOCOL', `no answer to ${expr}`);
    return r.value;
  }

  private async readInfo(): Promise<BoardInfo> {
    const { records } = await this.run('_hil_hello()');
    const get = (k: string) => records.find((r) => r.key === k)?.value;
    const modules = (get('modules') ?? '').split(' ').filter(Boolean);
    const u = get('uname')?.split('|');
    const uname = u && u.length >= 4 ? { sysname: u[0], release: u[1], version: u[2], machine: u[3] } : undefined;
    const virtual = modules.includes('_kpusim_js');
    const unameText = u ? u.join(' ') : '';
    let flavour: Flavour = 'unknown';
    if (/canmv/i.test(unameText)) flavour = 'canmv';
    else if (/maixpy|sipeed/i.test(unameText)) flavour = 'maixpy';
    else if (modules.includes('maix') && !modules.includes('Maix')) flavour = 'canmv';
    else if (modules.includes('Maix') && !modules.includes('maix')) flavour = 'maixpy';
    else if (virtual && modules.includes('KPU')) flavour = 'maixpy';
    const canmv = (get('canmv_kpu') ?? '').split(' ');
    let kpuApi: KpuApi = 'none';
    if (flavour === 'canmv') {
      if (canmv.includes('get_outputs') && canmv.includes('load')) kpuApi = 'canmv-kpu';
      else if (canmv.includes('run_with_output')) kpuApi = 'canmv-main';
      else if (modules.includes('KPU')) kpuApi = 'maixpy';
    } else if (modules.includes('KPU')) kpuApi = 'maixpy';
    const freq = get('freq')?.split(' ').map(Number);
    const heap = (get('heap') ?? '0 0 -1').split(' ').map(Number);
    const files: BoardFile[] = [];
    for (const r of records.filter((x) => x.key === 'file')) {
      const m = /^(\S+) (\d) (-?\d+) (.*)$/.exec(r.value);
      if (m) files.push({ dir: m[1], isDir: m[2] === '1', size: Number(m[3]), name: m[4] });
    }
    const impl = get('impl') ?? 'unknown';
    return {
      flavour,
      virtual,
      implementation: impl,
      uname,
      firmware: uname?.version || uname?.release || impl,
      kpuApi,
      modules,
      cpuMhz: freq && Number.isFinite(freq[0]) ? freq[0] : undefined,
      kpuMhz: freq && Number.isFinite(freq[1]) ? freq[1] : undefined,
      gcFree: heap[0] ?? 0,
      gcAlloc: heap[1] ?? 0,
      sysFree: heap[2] ?? -1,
      files,
      missingDirs: records.filter((x) => x.key === 'nodir').map((x) => x.value),
      kmodelVersions: kmodelVersionsFor(flavour, kpuApi, virtual),
    };
  }

  /** Re-reads the board's description (files, free memory). */
  async refreshInfo(): Promise<BoardInfo> {
    this._info = await this.readInfo();
    return this._info;
  }

  /** Size and crc32 of a file on the board, or null when it is not there. */
  async fileCrc(path: string, opts: { timeoutMs?: number } = {}): Promise<{ size: number; crc32: number } | null> {
    const { records } = await this.run(`_hil_crc(${pyStr(path)})`, { timeoutMs: opts.timeoutMs ?? 120_000 });
    const r = records.find((x) => x.key === 'crc');
    if (!r) throw new BoardError('PROTOCOL', `no checksum for ${path}`);
    const [n, c] = r.value.split(' ').map(Number);
    return n < 0 ? null : { size: n, crc32: c >>> 0 };
  }

  async remove(path: string): Promise<boolean> {
    const { records } = await this.run(`_hil_rm(${pyStr(path)})`);
    return records.some((r) => r.key === 'ok');
  }

  /**
   * Base64 payload per command so that the whole command fits the receive buffer:
   * `wrapper('…')` with `overhead` bytes around the payload, payload a multiple of 4 characters.
   */
  private payloadChars(overhead: number): number {
    const room = this.repl.maxCommandBytes - overhead;
    return Math.max(4, Math.floor(room / 4) * 4);
  }

  /**
   * Writes `bytes` to `path` on the board: to `path.part` first, checked by a crc32 the board
   * computes from what it reads back, then renamed. A file already there with the same size and
   * crc32 is not sent again. An interrupted upload leaves `path` as it was.
   */
  async putFile(
    path: string,
    bytes: Uint8Array,
    opts: { onProgress?: (p: PutProgress) => void; force?: boolean } = {},
  ): Promise<PutResult> {
    const t0 = performance.now();
    const want = crc32Of(bytes);
    if (!opts.force) {
      const there = await this.fileCrc(path);
      if (there && there.size === bytes.length && there.crc32 === want)
        return { path, bytes: bytes.length, crc32: want, uploaded: false, ms: performance.now() - t0 };
    }
    const tmp = `${path}.part`;
    await this.run(`_hil_open(${pyStr(tmp)})`);
    const chars = this.payloadChars(`_hil_put('')`.length);
    const raw = (chars / 4) * 3;
    opts.onProgress?.({ sent: 0, total: bytes.length });
    for (let o = 0; o < bytes.length; o += raw) {
      const piece = bytes.subarray(o, Math.min(bytes.length, o + raw));
      await this.run(`_hil_put('${Buffer.from(piece).toString('base64')}')`);
      opts.onProgress?.({ sent: Math.min(bytes.length, o + raw), total: bytes.length });
    }
    const { records } = await this.run(`_hil_close(${pyStr(tmp)})`, { timeoutMs: 120_000 });
    const r = records.find((x) => x.key === 'crc');
    const [n, c] = (r?.value ?? '-1 0').split(' ').map(Number);
    if (n !== bytes.length || c >>> 0 !== want) {
      await this.remove(tmp).catch(() => false);
      throw new BoardError(
        'VERIFY_FAILED',
        `${path}: the board read back ${n} bytes with crc32 ${(c >>> 0).toString(16)}, sent ${bytes.length} bytes with crc32 ${want.toString(16)}; the file was not kept`,
      );
    }
    await this.run(`_hil_commit(${pyStr(tmp)}, ${pyStr(path)})`);
    return { path, bytes: bytes.length, crc32: want, uploaded: true, ms: performance.now() - t0 };
  }

  /**
   * Writes `bytes` into the board's data buffer `_hil_d` (a new bytearray, or the buffer the
   * `target` Python expression names, e.g. an image's pixels), checked by a crc32 on the board.
   */
  async putBuffer(
    bytes: Uint8Array,
    opts: { target?: string; onProgress?: (p: PutProgress) => void } = {},
  ): Promise<void> {
    if (opts.target) await this.run(`_hil_d = ${opts.target}`);
    else await this.run(`_hil_buf(${bytes.length})`);
    const overhead = `_hil_set(${bytes.length}, '')`.length;
    const chars = this.payloadChars(overhead);
    const raw = (chars / 4) * 3;
    for (let o = 0; o < bytes.length; o += raw) {
      const piece = bytes.subarray(o, Math.min(bytes.length, o + raw));
      await this.run(`_hil_set(${o}, '${Buffer.from(piece).toString('base64')}')`);
      opts.onProgress?.({ sent: Math.min(bytes.length, o + raw), total: bytes.length });
    }
    const { records } = await this.run(`_hil_dcrc(${bytes.length})`);
    const r = records.find((x) => x.key === 'crc');
    const [n, c] = (r?.value ?? '-1 0').split(' ').map(Number);
    const want = crc32Of(bytes);
    if (n !== bytes.length || c >>> 0 !== want)
      throw new BoardError(
        'VERIFY_FAILED',
        `data sent to the board arrived damaged (crc32 ${(c >>> 0).toString(16)} on the board, ${want.toString(16)} sent)`,
      );
  }

  /**
   * Runs a script as `kpusim maixpy` does: its own globals, tracebacks naming `name`. Its
   * output streams to `onOutput` (`\r\n` as `\n`). Without a time limit when `timeoutMs` is 0.
   */
  async runScript(
    source: string,
    name: string,
    opts: { onOutput?: (text: string) => void; timeoutMs?: number } = {},
  ): Promise<ScriptResult> {
    await this.putBuffer(enc.encode(source));
    let pendingCr = false;
    const out = (t: string) => {
      let s = (pendingCr ? '\r' : '') + t;
      pendingCr = s.endsWith('\r');
      if (pendingCr) s = s.slice(0, -1);
      s = s.replace(/\r\n/g, '\n');
      if (s) opts.onOutput?.(s);
    };
    const r = await this.exec(`_hil_script(${pyStr(name)})`, {
      timeoutMs: opts.timeoutMs === 0 ? Infinity : opts.timeoutMs,
      onStdout: out,
    });
    if (pendingCr) opts.onOutput?.('\r');
    if (r.stderr.trim() === '') return { exitCode: 0, interrupted: r.interrupted };
    const kept = r.stderr
      .replace(/\r/g, '')
      .split('\n')
      .filter((l) => !/^\s*File "<stdin>"/.test(l))
      .join('\n');
    return { exitCode: 1, error: parseBoardTraceback(kept, name), interrupted: r.interrupted };
  }

  /**
   * Switches the REPL UART (board and host) to `baud`: the board re-initialises its UART 100 ms
   * after taking the command, the host switches as soon as the board has taken it. Returns false
   * (nothing changed) when the firmware cannot (`UART.repl_uart` missing). A soft reboot of the
   * board restores 115200.
   */
  async switchBaud(baud: number, hostBaud: number): Promise<boolean> {
    const { records } = await this.run('_hil_canbaud()');
    if (records.find((r) => r.key === 'baud')?.value !== '1') return false;
    let accepted = false;
    try {
      // the board takes the command at the old rate, answers at the new one 100 ms later
      await this.exec(`_hil_baud(${Math.floor(baud)})`, {
        timeoutMs: 3000,
        onAccepted: async () => {
          accepted = true;
          await this.link.setBaud(baud);
        },
      });
      if ((await this.eval('1 + 1', { timeoutMs: 3000 })) !== '2') throw new Error('wrong answer');
    } catch (e) {
      if (!accepted) {
        await this.link.setBaud(hostBaud).catch(() => {});
        throw e;
      }
      throw new BoardError(
        'LINK_LOST',
        `the board did not answer at ${baud} baud (${(e as Error).message}); press reset (a soft reboot restores 115200)`,
      );
    }
    return true;
  }

  /** Interrupts the running command (Ctrl-C): it ends with KeyboardInterrupt. */
  interrupt(): Promise<void> {
    return this.repl.interrupt();
  }

  /** Leaves the raw REPL (the board is back at `>>> `) and closes the link. */
  async close(): Promise<void> {
    try {
      if (this.repl.isReady) await this.repl.leave();
    } catch {
      // the link may already be gone
    }
    this.repl.dispose();
    await this.link.close();
  }
}
