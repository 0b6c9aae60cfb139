/**
 * The virtual board (hil/virtual: kpusim's emulated K210 behind MaixPy's serial REPL) in a Web
 * Worker. The first message is the console's `WorkerInit` (the shared wire and the board's
 * options); the bundled models are fetched first, then the console runs exactly as in `kpusim
 * board serve`'s worker thread, posting its output back. web/virtual-serial.ts is the other end.
 */
import { BoardConsole, type WorkerInit, type WorkerMessage } from '../hil/virtual/worker.js';
import { attachWire } from '../hil/virtual/shared.js';
import { firmwareName } from '../hil/virtual/console.js';
import { loadBundledModels } from './bundled.js';

interface Scope {
  postMessage(m: WorkerMessage, transfer?: ArrayBuffer[]): void;
  onmessage: ((e: { data: WorkerInit }) => void) | null;
  location: { href: string };
}
const scope = globalThis as unknown as Scope;

scope.onmessage = (e) => {
  scope.onmessage = null;
  const init = e.data;
  void loadBundledModels(scope.location.href)
    .then(() => new BoardConsole(attachWire(init.wire), init, scope).run())
    .catch((err: unknown) =>
      scope.postMessage({
        t: 'fatal',
        message: `the virtual ${firmwareName(init.flavor)} board stopped: ${err instanceof Error ? err.message : String(err)}`,
      }),
    );
};
