/**
 * A serial device (a USB-serial adapter or a pseudo-terminal) as a `ByteLink`, over npm
 * `serialport`. Modem lines are set once after opening, both in one call (serialport merges a
 * partial `set()` with `{dtr: true, rts: true}`, which would reset a Dock); a pseudo-terminal has
 * no modem lines, so failures to set them are warnings, not errors.
 */
import { statSync } from 'node:fs';
import { SerialPortStream } from '@serialport/stream';
import { SerialPort } from 'serialport';
import { BoardError } from './errors.js';
import { LinkListeners, type ByteLink } from './link.js';
import { BOARD_PROFILES, type BoardProfileName, type Signals } from './profiles.js';

/** A serialport binding (the system's, or serialport's mock binding in tests). */
export type BindingInterface = ConstructorParameters<typeof SerialPortStream>[0]['binding'];

export interface SerialLinkOptions {
  readonly path: string;
  /** Default 115200, the REPL's rate on MaixPy and CanMV. */
  readonly baud?: number;
  /** DTR/RTS wiring (default `none`: both lines released). */
  readonly board?: BoardProfileName;
  /** A serialport binding (tests pass serialport's mock binding); default: the system's. */
  readonly binding?: BindingInterface;
  /** Warnings (modem-line ioctl failures on pseudo-terminals). */
  readonly warn?: (text: string) => void;
}

/** Serial ports the system (or the given binding) lists, for error messages. */
export async function listSerialPorts(binding?: BindingInterface): Promise<string[]> {
  try {
    const ports = binding ? await binding.list() : await SerialPort.list();
    return ports.map(
      (p: { path: string; manufacturer?: string }) => p.path + (p.manufacturer ? ` (${p.manufacturer})` : ''),
    );
  } catch {
    return [];
  }
}

async function portNotFound(path: string, binding?: BindingInterface, why = 'no such device'): Promise<BoardError> {
  const found = await listSerialPorts(binding);
  return new BoardError(
    'PORT_NOT_FOUND',
    `${path}: ${why}; serial ports found: ${found.length ? found.join(', ') : 'none'}`,
  );
}

export class SerialLink implements ByteLink {
  private closed = false;
  private readonly listeners = new LinkListeners();
  private warnedSignals = false;

  private constructor(
    private readonly port: SerialPortStream,
    private readonly warn: (text: string) => void,
    readonly path: string,
  ) {
    port.on('data', (chunk: Buffer) => {
      const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
      this.listeners.data(bytes);
    });
    port.on('close', (err?: Error & { disconnected?: boolean }) => this.finish(err ?? undefined));
    port.on('error', (err: Error) => this.finish(err));
  }

  static async open(opts: SerialLinkOptions): Promise<SerialLink> {
    const baud = opts.baud ?? 115200;
    const warn = opts.warn ?? (() => {});
    if (!opts.binding) {
      try {
        statSync(opts.path);
      } catch {
        throw await portNotFound(opts.path);
      }
    }
    const settings = { path: opts.path, baudRate: baud, autoOpen: false, hupcl: false } as const;
    const port = opts.binding
      ? new SerialPortStream({ ...settings, binding: opts.binding })
      : (new SerialPort(settings) as unknown as SerialPortStream);
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve()))).catch(
      async (err: Error & { code?: string }) => {
        const m = err.message ?? String(err);
        if (/does not exist|ENOENT|No such file/i.test(m)) throw await portNotFound(opts.path, opts.binding);
        if (/EACCES|permission/i.test(m))
          throw new BoardError(
            'PORT_UNAVAILABLE',
            `${opts.path}: permission denied (on Linux add yourself to the dialout group, then log in again)`,
          );
        if (/lock|EBUSY|busy/i.test(m))
          throw new BoardError(
            'PORT_UNAVAILABLE',
            `${opts.path}: in use by another program (a terminal, the MaixPy IDE, kflash?)`,
          );
        throw new BoardError('PORT_UNAVAILABLE', `${opts.path}: cannot open: ${m}`);
      },
    );
    // Profile `none` on a pseudo-terminal: releasing lines that do not exist is not worth a warning.
    const link = new SerialLink(port, (opts.board ?? 'none') === 'none' ? () => {} : warn, opts.path);
    await link.setSignals(BOARD_PROFILES[opts.board ?? 'none'].idle);
    return link;
  }

  private finish(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.close(err);
  }

  write(data: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new BoardError('LINK_LOST', `${this.path}: the serial link is closed`));
    return new Promise((resolve, reject) => {
      this.port.write(Buffer.from(data), (err) => {
        if (err) return reject(new BoardError('LINK_LOST', `${this.path}: write failed: ${err.message}`));
        this.port.drain((e) =>
          e ? reject(new BoardError('LINK_LOST', `${this.path}: write failed: ${e.message}`)) : resolve(),
        );
      });
    });
  }

  onData(listener: (chunk: Uint8Array) => void): () => void {
    return this.listeners.onData(listener);
  }

  onClose(listener: (reason?: Error) => void): () => void {
    return this.listeners.onClose(listener);
  }

  /** Sets both lines in one call (never one alone: serialport would assert the other). */
  async setSignals(signals: Signals): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((resolve) =>
      this.port.set({ dtr: signals.dtr, rts: signals.rts }, (err) => {
        if (err && !this.warnedSignals) {
          this.warnedSignals = true;
          this.warn(`${this.path}: cannot set DTR/RTS (${err.message}); a pseudo-terminal has no modem lines`);
        }
        resolve();
      }),
    );
  }

  async setBaud(baud: number): Promise<void> {
    if (this.closed) throw new BoardError('LINK_LOST', `${this.path}: the serial link is closed`);
    await new Promise<void>((resolve, reject) =>
      this.port.update({ baudRate: baud }, (err) =>
        err
          ? reject(new BoardError('PORT_UNAVAILABLE', `${this.path}: cannot switch to ${baud} baud: ${err.message}`))
          : resolve(),
      ),
    );
  }

  async close(): Promise<void> {
    if (this.closed || !this.port.isOpen) {
      this.finish();
      return;
    }
    await new Promise<void>((resolve) => this.port.close(() => resolve()));
    this.finish();
  }
}

/** Opens a serial device as a link (see `SerialLinkOptions`). */
export function openSerialLink(opts: SerialLinkOptions): Promise<SerialLink> {
  return SerialLink.open(opts);
}
