/**
 * MicroPython's WebAssembly module compiled ahead of its load: the command line starts compiling
 * the port's `micropython.wasm` as soon as it knows a MaixPy run is coming (src/cli/main.ts), so
 * the engine compiles it on its background threads while the command's JavaScript loads, and
 * `loadMicroPythonWithMemory` (wasm.ts) instantiates the compiled module instead of compiling the
 * bytes the port hands it. Only a module compiled from exactly those bytes is used; anything else
 * (no compile started, a failed one, other bytes) leaves the port's own path as it is.
 *
 * Kept apart from wasm.ts so that the command line's entry can reach it without loading the port.
 */

/** A compiled module and the bytes it was compiled from. */
export interface CompiledAhead {
  readonly bytes: Uint8Array;
  readonly module: object;
}

let ahead: Promise<CompiledAhead | undefined> | undefined;

/** Hands over a compile under way (a rejected or undefined result means none). */
export function setCompiledAhead(compiled: Promise<CompiledAhead | undefined>): void {
  // A failed compile is only a missed head start: the port compiles the bytes itself.
  ahead = compiled.catch(() => undefined);
}

/** The compile handed over, if any. */
export function compiledAhead(): Promise<CompiledAhead | undefined> | undefined {
  return ahead;
}

/** Whether `bytes` (what the port passes to `WebAssembly.instantiate`) are the bytes `c` was compiled from. */
export function sameBytes(bytes: unknown, c: CompiledAhead): boolean {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength !== c.bytes.byteLength) return false;
  const a = bytes,
    b = c.bytes;
  let i = 0;
  // Four bytes at a time where both views allow it (a few hundred KiB: the bytewise loop would be felt).
  if (a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const n = a.byteLength >> 2;
    const a32 = new Int32Array(a.buffer, a.byteOffset, n),
      b32 = new Int32Array(b.buffer, b.byteOffset, n);
    for (let k = 0; k < n; k++) if (a32[k] !== b32[k]) return false;
    i = n << 2;
  }
  for (; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
