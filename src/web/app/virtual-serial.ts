/**
 * A serial port, shaped as the Web Serial API's `SerialPort`, whose other end is the virtual board
 * running in a Web Worker (web/virtual-board.ts): what "Connect board" talks to when a page has no
 * board at hand (the browser tests give it to the page as `navigator.serial`'s port). Bytes written
 * go into the board's receive ring (hil/virtual/shared.ts, as `kpusim board serve` feeds it); the
 * board's output comes out of `readable`. Needs a cross-origin isolated page (shared memory).
 */
import { createWire, put, queued, RING_BYTES, signal } from '../../hil/virtual/shared.js';

/** The board console's messages (hil/virtual/worker.ts `WorkerMessage`) this port reads. */
type BoardMessage =
  | { readonly t: 'out'; readonly data: Uint8Array }
  | { readonly t: 'ready' }
  | { readonly t: 'warn'; readonly text: string }
  | { readonly t: 'fatal'; readonly message: string };

export interface VirtualSerialPort {
  readonly readable: ReadableStream<Uint8Array> | null;
  readonly writable: WritableStream<Uint8Array> | null;
  open(options: { baudRate: number }): Promise<void>;
  close(): Promise<void>;
  setSignals(signals: { dataTerminalReady?: boolean; requestToSend?: boolean }): Promise<void>;
  getInfo(): { usbVendorId?: number; usbProductId?: number };
}

/** A port whose board boots when the port is opened (the page's URL is the bundle's folder). */
export function virtualSerialPort(base: string = new URL('.', import.meta.url).href): VirtualSerialPort {
  let worker: Worker | null = null;
  let readable: ReadableStream<Uint8Array> | null = null;
  let writable: WritableStream<Uint8Array> | null = null;
  return {
    get readable() {
      return readable;
    },
    get writable() {
      return writable;
    },
    async open() {
      if (worker) throw new DOMException('The port is already open.', 'InvalidStateError');
      const wire = createWire();
      const w = new Worker(new URL('virtual-board.js', base), { type: 'module' });
      worker = w;
      let ready!: () => void, failed!: (e: Error) => void;
      const booted = new Promise<void>((res, rej) => ((ready = res), (failed = rej)));
      readable = new ReadableStream<Uint8Array>({
        start(controller) {
          w.onmessage = (e: MessageEvent<BoardMessage>) => {
            const m = e.data;
            if (m.t === 'out') controller.enqueue(m.data);
            else if (m.t === 'ready') ready();
            else if (m.t === 'fatal') {
              failed(new Error(m.message));
              controller.error(new DOMException(m.message, 'NetworkError'));
            }
          };
        },
      });
      writable = new WritableStream<Uint8Array>({
        async write(chunk) {
          for (const b of chunk) {
            while (queued(wire) >= RING_BYTES) await new Promise((r) => setTimeout(r, 5));
            put(wire, b);
          }
          signal(wire);
        },
      });
      // hil/virtual/worker.ts `WorkerInit`: a MaixPy board with the bundled models and no camera files
      w.postMessage({ wire: wire.buffer, flavor: 'maixpy', board: { cameraFiles: [], flash: [] } });
      await booted;
    },
    async close() {
      worker?.terminate();
      worker = null;
      readable = writable = null;
    },
    async setSignals() {
      // the virtual board has no modem lines
    },
    getInfo: () => ({}),
  };
}
