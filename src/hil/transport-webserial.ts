/**
 * A Web Serial port (the browser's `navigator.serial`) as a `ByteLink` (hil/link.ts), so the board
 * page's "Connect board" drives a real K210 with the same raw-REPL client and session as `kpusim
 * board` (hil/raw-repl.ts, hil/session.ts); hil/serial.ts is the Node transport over npm
 * `serialport`. Modem lines are set both at once, as there.
 */
import { BoardError } from './errors.js';
import { LinkListeners, type ByteLink } from './link.js';
import type { Signals } from './profiles.js';

/** The part of the Web Serial API's `SerialPort` this link uses. */
export interface WebSerialPort {
  readonly readable: ReadableStream<Uint8Array> | null;
  readonly writable: WritableStream<Uint8Array> | null;
  open(options: { baudRate: number }): Promise<void>;
  close(): Promise<void>;
  setSignals(signals: { dataTerminalReady?: boolean; requestToSend?: boolean }): Promise<void>;
}

export class WebSerialLink implements ByteLink {
  private closed = false;
  private reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  private pumping: Promise<void> = Promise.resolve();
  private readonly listeners = new LinkListeners();

  private constructor(
    private readonly port: WebSerialPort,
    private baud: number,
    readonly name: string,
  ) {}

  /** Opens `port` at `baud` (default 115200, the REPL's rate on MaixPy and CanMV) with `idle` modem lines. */
  static async open(
    port: WebSerialPort,
    opts: { baud?: number; idle?: Signals; name?: string } = {},
  ): Promise<WebSerialLink> {
    const link = new WebSerialLink(port, opts.baud ?? 115200, opts.name ?? 'serial port');
    try {
      await port.open({ baudRate: link.baud });
    } catch (e) {
      throw new BoardError('PORT_UNAVAILABLE', `${link.name}: cannot open: ${(e as Error).message}`);
    }
    await link.setSignals(opts.idle ?? { dtr: false, rts: false });
    link.startReading();
    return link;
  }

  private startReading(): void {
    const readable = this.port.readable;
    if (!readable) return this.finish(new BoardError('LINK_LOST', `${this.name}: the port has no input`));
    const reader = readable.getReader();
    this.reader = reader;
    this.pumping = (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          if (value?.length) this.listeners.data(value);
        }
      } catch (e) {
        if (this.reader === reader)
          return this.finish(new BoardError('LINK_LOST', `${this.name}: read failed: ${(e as Error).message}`));
      } finally {
        reader.releaseLock();
      }
      if (this.reader === reader) this.finish();
    })();
  }

  private finish(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.close(err);
  }

  async write(data: Uint8Array): Promise<void> {
    if (this.closed || !this.port.writable)
      throw new BoardError('LINK_LOST', `${this.name}: the serial link is closed`);
    const writer = this.port.writable.getWriter();
    try {
      await writer.write(data);
    } catch (e) {
      throw new BoardError('LINK_LOST', `${this.name}: write failed: ${(e as Error).message}`);
    } finally {
      writer.releaseLock();
    }
  }

  onData(listener: (chunk: Uint8Array) => void): () => void {
    return this.listeners.onData(listener);
  }

  onClose(listener: (reason?: Error) => void): () => void {
    return this.listeners.onClose(listener);
  }

  async setSignals(signals: Signals): Promise<void> {
    if (this.closed) return;
    await this.port.setSignals({ dataTerminalReady: signals.dtr, requestToSend: signals.rts }).catch(() => undefined);
  }

  /** Web Serial sets the rate when a port opens: the port is closed and opened again at `baud`. */
  async setBaud(baud: number): Promise<void> {
    if (this.closed) throw new BoardError('LINK_LOST', `${this.name}: the serial link is closed`);
    await this.stopReading();
    await this.port.close();
    this.baud = baud;
    try {
      await this.port.open({ baudRate: baud });
    } catch (e) {
      this.finish();
      throw new BoardError('PORT_UNAVAILABLE', `${this.name}: cannot switch to ${baud} baud: ${(e as Error).message}`);
    }
    this.startReading();
  }

  private async stopReading(): Promise<void> {
    const r = this.reader;
    this.reader = null;
    await r?.cancel().catch(() => undefined);
    await this.pumping;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.stopReading();
    await this.port.close().catch(() => undefined);
    this.finish();
  }
}
