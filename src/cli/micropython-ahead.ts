/**
 * Starts compiling MicroPython's WebAssembly module (the port's `micropython.wasm`, read from
 * beside the package's code as the port reads it) on the engine's background threads, for a
 * command that will load the interpreter: the compile then runs while the command's own
 * JavaScript loads, and the load instantiates the finished module (src/maixpy/wasm-ahead.ts).
 * Once per process; nothing waits for it, and a failure only leaves the port to compile its bytes.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { setCompiledAhead } from '../maixpy/wasm-ahead.js';

/** The part of the WebAssembly global used here (the project's lib settings have no WebAssembly types). */
const WA = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<object> } }).WebAssembly;

let started = false;

export function compileMicroPythonAhead(): void {
  if (started) return;
  started = true;
  let file: string;
  try {
    const entry = createRequire(import.meta.url).resolve('@micropython/micropython-webassembly-pyscript');
    file = join(dirname(entry), 'micropython.wasm');
  } catch {
    return;
  }
  setCompiledAhead(readFile(file).then(async (bytes) => ({ bytes, module: await WA.compile(bytes) })));
}
