/**
 * A serial link as the board-side and host-side code of `kpusim board` see it: bytes in both
 * directions and, where the wire has them, the modem lines and the baud rate.
 *
 * Implementations: a real serial device or a pseudo-terminal (npm `serialport`), serialport's
 * mock binding (tests with scripted firmware fakes), and the virtual board in the same process.
 * Nothing above this interface knows which one it talks to.
 */
export interface ByteLink {
  /** Sends bytes; resolves once they are handed to the wire (or to the board, in process). */
  write(data: Uint8Array): Promise<void>;
  /** Registers a receiver of incoming bytes; returns a function that removes it. */
  onData(listener: (chunk: Uint8Array) => void): () => void;
  /** Registers a listener called once when the link closes or breaks (cable pulled, board gone). */
  onClose(listener: (reason?: Error) => void): () => void;
  /** Sets DTR and RTS together (asserted = true). Links without modem lines resolve and ignore it. */
  setSignals(signals: { readonly dtr: boolean; readonly rts: boolean }): Promise<void>;
  /** Changes the baud rate. Links without one (in process) resolve and ignore it. */
  setBaud(baud: number): Promise<void>;
  close(): Promise<void>;
}

/** The data and close listeners of a ByteLink, for its implementations to register and call. */
export class LinkListeners {
  private readonly dataListeners = new Set<(chunk: Uint8Array) => void>();
  private readonly closeListeners = new Set<(reason?: Error) => void>();

  get hasData(): boolean {
    return this.dataListeners.size > 0;
  }

  onData(listener: (chunk: Uint8Array) => void): () => void {
    this.dataListeners.add(listener);
    return () => this.dataListeners.delete(listener);
  }

  onClose(listener: (reason?: Error) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Hands `chunk` to every data listener (a listener may remove itself meanwhile). */
  data(chunk: Uint8Array): void {
    for (const l of [...this.dataListeners]) l(chunk);
  }

  close(reason?: Error): void {
    for (const l of [...this.closeListeners]) l(reason);
  }
}
