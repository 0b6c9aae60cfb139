/**
 * Plain MicroPython (the npm WebAssembly port, no kpusim modules) behind a `ByteLink`, driven
 * byte by byte through its REPL (`replInit` / `replProcessChar`): checks that the client's Python
 * (the prelude, uploads, scripts) is valid MicroPython. Output `\n` becomes `\r\n` as on a board.
 * Test-only: kpusim's virtual board is `src/hil/virtual/`.
 */
import { loadMicroPython } from '@micropython/micropython-webassembly-pyscript';
import type { ByteLink } from '../../src/hil/link.js';

interface Repl {
  replInit(): void;
  replProcessChar(c: number): number;
  FS: { mkdirTree(p: string): void };
}

export async function micropythonLink(): Promise<ByteLink & { written: number }> {
  const listeners = new Set<(b: Uint8Array) => void>();
  let pending: number[] = [];
  const flush = () => {
    if (!pending.length) return;
    const b = Uint8Array.from(pending);
    pending = [];
    setImmediate(() => listeners.forEach((l) => l(b)));
  };
  const push = (data: Uint8Array | string) => {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    for (const c of bytes) {
      if (c === 10) pending.push(13);
      pending.push(c);
    }
  };
  const mp = (await loadMicroPython({ stdout: push, stderr: push, linebuffer: false })) as unknown as Repl;
  mp.FS.mkdirTree('/flash');
  mp.replInit();
  flush();
  const link = {
    written: 0,
    async write(data: Uint8Array) {
      link.written += data.length;
      for (const c of data) {
        // v1.11 has no raw-paste mode: the port's would hang on \x05, so drop it as v1.11 stores it
        if (c === 5) continue;
        mp.replProcessChar(c);
      }
      // the REPL's own CRLF handling: strip the doubled \r the translation above adds
      pending = pending.filter((c, i, a) => !(c === 13 && a[i + 1] === 13));
      flush();
    },
    onData(l: (b: Uint8Array) => void) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    onClose() {
      return () => {};
    },
    async setSignals() {},
    async setBaud() {},
    async close() {},
  };
  return link;
}
