/**
 * MicroPython's raw REPL as MaixPy and CanMV run it (MicroPython v1.11: no raw-paste mode).
 *
 * Wire rules (README.md, "With a board"):
 * - enter: `\r\x03\x03` (interrupt what runs), a short drain, then `\r\x01`; the board answers
 *   `raw REPL; CTRL-B to exit\r\n>`. Anything before that (boot messages, firmware log lines, stray
 *   NUL bytes) is log.
 * - a command: its text, then `\x04`; the board answers `OK`, the output, `\x04`, the error text,
 *   `\x04`, and `>` when it reads again.
 * - flow control: the board's UART keeps 2048 bytes and drops the rest without a word while a
 *   command runs. So one command at a time, nothing sent before its `>`, and no command longer than
 *   the receive buffer: even a board that read nothing until the command ended could not lose a
 *   byte. Writes go out in pieces of at most 256 bytes.
 * - bytes 0x01-0x05 are REPL controls: a command never contains them (payloads travel as base64).
 */
import { BoardError } from './errors.js';
import type { ByteLink } from './link.js';

export const RAW_BANNER = 'raw REPL; CTRL-B to exit\r\n>';
/** The receive ring of MaixPy's REPL UART (MAIX_UART_BUF). */
export const BOARD_RX_BUFFER = 2048;
const WRITE_PIECE = 256;

export interface RawReplOptions {
  /** Bytes the board can hold unread (default 2048); no command is longer. */
  readonly rxBuffer?: number;
  /** Bytes outside the framing (boot output, firmware log lines), as text. */
  readonly onLog?: (text: string) => void;
}

export interface ExecOptions {
  /** Give up after this long (the board is interrupted with Ctrl-C first). Default 10 s; Infinity: no limit. */
  readonly timeoutMs?: number;
  /** Output as it arrives (NUL bytes removed). */
  readonly onStdout?: (text: string) => void;
  /** Called when the board has taken the command (its `OK`), before any output is read. */
  readonly onAccepted?: () => Promise<void>;
}

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  /** The command was interrupted (Ctrl-C from `interrupt()` or a timeout). */
  readonly interrupted: boolean;
}

const enc = new TextEncoder();

function printable(bytes: Uint8Array, max = 120): string {
  const s = Buffer.from(bytes.subarray(Math.max(0, bytes.length - max))).toString('latin1');
  return JSON.stringify(s);
}

export class RawRepl {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private lost: Error | null = null;
  private busy = false;
  private ready = false;
  private interruptRequested = false;
  readonly rxBuffer: number;
  private readonly offData: () => void;
  private readonly offClose: () => void;
  private readonly log: (text: string) => void;
  /** Bytes sent in total (for throughput figures). */
  bytesSent = 0;

  constructor(
    private readonly link: ByteLink,
    opts: RawReplOptions = {},
  ) {
    this.rxBuffer = opts.rxBuffer ?? BOARD_RX_BUFFER;
    this.log = opts.onLog ?? (() => {});
    this.offData = link.onData((chunk) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : Buffer.from(chunk);
      this.wake();
    });
    this.offClose = link.onClose((reason) => {
      this.lost = new BoardError(
        'LINK_LOST',
        `the serial link closed${reason ? ` (${reason.message})` : ''}: cable pulled or board reset?`,
      );
      this.wake();
    });
  }

  /** The longest command `exec` accepts, in bytes (the receive buffer less the end byte). */
  get maxCommandBytes(): number {
    return this.rxBuffer - 1;
  }

  get isReady(): boolean {
    return this.ready && !this.lost;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** Waits until `test` finds what it wants in the buffer (returns its index), or the deadline. */
  private async waitFor(test: (b: Buffer) => number, deadline: number): Promise<number> {
    for (;;) {
      const i = test(this.buf);
      if (i >= 0) return i;
      if (this.lost) throw this.lost;
      const left = deadline - Date.now();
      if (left <= 0) return -1;
      await new Promise<void>((resolve) => {
        const t = Number.isFinite(left)
          ? setTimeout(
              () => {
                this.waiter = null;
                resolve();
              },
              Math.min(left, 0x7fffffff),
            )
          : undefined;
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  private take(n: number): Buffer {
    const head = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return head;
  }

  private async send(bytes: Uint8Array): Promise<void> {
    if (this.lost) throw this.lost;
    for (let o = 0; o < bytes.length; o += WRITE_PIECE) {
      const piece = bytes.subarray(o, Math.min(bytes.length, o + WRITE_PIECE));
      await this.link.write(piece);
      this.bytesSent += piece.length;
      if (this.lost) throw this.lost;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
  }

  /**
   * Interrupts whatever runs and enters the raw REPL. Throws NO_PROMPT (with the likely causes)
   * when the board does not answer within `timeoutMs`.
   */
  async enter(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let attempt = 0;
    while (Date.now() < deadline) {
      await this.send(enc.encode('\r\x03\x03'));
      await this.sleep(attempt === 0 ? 150 : 400);
      if (this.buf.length) this.log(this.take(this.buf.length).toString('latin1').replace(/\0/g, ''));
      await this.send(enc.encode('\r\x01'));
      const step = Math.min(deadline, Date.now() + Math.max(1000, timeoutMs / 3));
      const i = await this.waitFor((b) => b.indexOf(RAW_BANNER, 0, 'latin1'), step);
      if (i >= 0) {
        if (i > 0) this.log(this.take(i).toString('latin1').replace(/\0/g, ''));
        this.take(RAW_BANNER.length);
        this.ready = true;
        return;
      }
      attempt++;
    }
    const seen = this.buf.length ? ` (last bytes received: ${printable(this.buf)})` : ' (nothing received)';
    throw new BoardError(
      'NO_PROMPT',
      `no MicroPython prompt within ${(timeoutMs / 1000).toFixed(1)} s${seen}. Likely causes: the wrong port or baud rate; ` +
        `the board in ISP (flashing) mode or held in reset by DTR/RTS (try another --board profile); the MaixPy IDE mode ` +
        `(/flash/ide_mode.conf switches the REPL to 1.5 Mbaud); a boot.py or main.py that does not give the REPL back.`,
    );
  }

  /** Sends Ctrl-C to the running command (it ends with KeyboardInterrupt). */
  async interrupt(): Promise<void> {
    if (!this.busy || this.lost) return;
    this.interruptRequested = true;
    await this.link.write(enc.encode('\x03'));
  }

  /** Runs one command and returns its output and error text. */
  async exec(code: string, opts: ExecOptions = {}): Promise<ExecResult> {
    if (this.lost) throw this.lost;
    if (!this.ready) throw new BoardError('PROTOCOL', 'the raw REPL is not ready for a command');
    if (this.busy) throw new BoardError('PROTOCOL', 'one command at a time');
    const bytes = enc.encode(code);
    for (const b of bytes)
      if (b >= 1 && b <= 5) throw new BoardError('PROTOCOL', `a command must not contain REPL control byte ${b}`);
    if (bytes.length === 0) throw new BoardError('PROTOCOL', 'an empty command would soft-reset the board');
    if (bytes.length > this.maxCommandBytes)
      throw new BoardError(
        'PROTOCOL',
        `a ${bytes.length}-byte command does not fit the board's ${this.rxBuffer}-byte receive buffer`,
      );
    this.busy = true;
    this.ready = false;
    this.interruptRequested = false;
    const timeoutMs = opts.timeoutMs ?? 10_000;
    let deadline = Date.now() + timeoutMs;
    let timedOut = false;
    const decoder = new TextDecoder();
    try {
      await this.send(bytes);
      await this.send(enc.encode('\x04'));
      // "OK": the board took the command.
      // "OK" comes as soon as the board has read the command; a board that shows nothing until the
      // command ends (or hangs in it) gets Ctrl-C at the deadline like a command that runs too long.
      let i = await this.waitFor((b) => b.indexOf('OK', 0, 'latin1'), deadline);
      if (i < 0) {
        timedOut = true;
        this.interruptRequested = true;
        await this.link.write(enc.encode('\x03'));
        i = await this.waitFor((b) => b.indexOf('OK', 0, 'latin1'), Date.now() + 3000);
        if (i < 0)
          throw new BoardError(
            'TIMEOUT',
            `the board did not take a command within ${(timeoutMs / 1000).toFixed(1)} s nor answer Ctrl-C (received: ${printable(this.buf)})`,
          );
        deadline = Date.now() + 3000;
      }
      if (i > 0) this.log(this.take(i).toString('latin1').replace(/\0/g, ''));
      this.take(2);
      await opts.onAccepted?.();
      // Output up to the first \x04, streamed.
      let stdout = '';
      const parts: string[] = [];
      for (let phase = 0; phase < 2;) {
        i = await this.waitFor((b) => (b.length ? 0 : -1), deadline);
        if (i < 0) {
          if (timedOut) {
            this.busy = false;
            throw new BoardError(
              'TIMEOUT',
              `the board stopped answering: the command ran longer than ${(timeoutMs / 1000).toFixed(1)} s and did not stop on Ctrl-C`,
            );
          }
          timedOut = true;
          this.interruptRequested = true;
          await this.link.write(enc.encode('\x03'));
          deadline = Date.now() + 3000;
          continue;
        }
        const end = this.buf.indexOf(4);
        const chunk = this.take(end >= 0 ? end : this.buf.length);
        const text = decoder.decode(chunk, { stream: true }).replace(/\0/g, '');
        if (phase === 0) {
          stdout += text;
          if (text) opts.onStdout?.(text);
        } else parts.push(text);
        if (end >= 0) {
          this.take(1);
          phase++;
        }
      }
      // Then ">" when the board reads again.
      i = await this.waitFor((b) => b.indexOf('>', 0, 'latin1'), Date.now() + 3000);
      if (i < 0) throw new BoardError('PROTOCOL', `no ">" after a command (received: ${printable(this.buf)})`);
      if (i > 0) this.log(this.take(i).toString('latin1').replace(/\0/g, ''));
      this.take(1);
      this.ready = true;
      const stderr = parts.join('');
      if (timedOut)
        throw new BoardError(
          'TIMEOUT',
          `the command ran longer than ${(timeoutMs / 1000).toFixed(1)} s and was interrupted with Ctrl-C` +
            (stdout ? ` (its output: ${JSON.stringify(stdout.slice(-200))})` : ''),
        );
      return { stdout, stderr, interrupted: this.interruptRequested };
    } finally {
      this.busy = false;
    }
  }

  /** Leaves the raw REPL for the friendly one (`>>> `). */
  async leave(): Promise<void> {
    if (this.lost) return;
    await this.send(enc.encode('\r\x02'));
    this.ready = false;
  }

  dispose(): void {
    this.offData();
    this.offClose();
  }
}
