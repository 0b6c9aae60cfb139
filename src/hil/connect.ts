/**
 * Opening a board by the name a user gives `--port`: a serial device or pseudo-terminal path,
 * `virtual` / `virtual:maixpy` / `virtual:canmv` for kpusim's virtual board in this process, or a
 * scheme registered by a caller (tests register their firmware fakes this way).
 */
import type { ByteLink } from './link.js';
import type { BoardProfileName } from './profiles.js';

export interface PortOptions {
  readonly baud?: number;
  readonly board?: BoardProfileName;
  readonly warn?: (text: string) => void;
}

export type PortOpener = (rest: string, opts: PortOptions) => Promise<ByteLink>;

const schemes = new Map<string, PortOpener>();

/** Makes `--port NAME:rest` open links with `open` (NAME is matched before the first colon). */
export function registerPortScheme(name: string, open: PortOpener): () => void {
  schemes.set(name, open);
  return () => schemes.delete(name);
}

async function openVirtual(flavour: string): Promise<ByteLink> {
  // Loaded only when asked for: the virtual board brings MicroPython and a worker thread.
  const { createVirtualBoard } = await import('./virtual/index.js');
  const vb = await createVirtualBoard(flavour ? { flavor: flavour as 'maixpy' | 'canmv' } : {});
  const link = vb.link;
  return {
    write: (d) => link.write(d),
    onData: (l) => link.onData(l),
    onClose: (l) => link.onClose(l),
    setSignals: (sig) => link.setSignals(sig),
    setBaud: (b) => link.setBaud(b),
    close: async () => {
      await link.close().catch(() => {});
      await vb.close();
    },
  };
}

/** Opens the link `--port` names. */
export async function openPort(port: string, opts: PortOptions = {}): Promise<ByteLink> {
  const m = /^([a-z][a-z0-9+-]*):(.*)$/i.exec(port);
  if (port === 'virtual' || (m && m[1] === 'virtual')) return openVirtual(m ? m[2] : '');
  if (m && schemes.has(m[1])) return (schemes.get(m[1]) as PortOpener)(m[2], opts);
  // Loaded only when a serial port is opened: the serialport packages (a native binding found at
  // run time, CommonJS that Node reads whole) cost the commands that take --port more to start than
  // their own code, when most runs of them never open a board.
  const { openSerialLink } = await import('./serial.js');
  return openSerialLink({ path: port, baud: opts.baud, board: opts.board, warn: opts.warn });
}
