/**
 * Loading MicroPython's WebAssembly port in Node and reaching its linear memory.
 *
 * The port does not export its heap views (`HEAPU8` aborts when read), so the host captures the
 * `WebAssembly.Memory` while the module instantiates (a one-shot wrapper around
 * `WebAssembly.instantiate`). With it the host reads and writes Python `bytearray`s in place,
 * given their addresses (`uctypes.addressof`): image pixels and AI planes live in the MicroPython
 * GC heap, so they are freed by Python's own garbage collector, exactly as scripts expect.
 *
 * Only one MicroPython instance may be live at a time in a process: the port keeps its proxy
 * tables on `globalThis`.
 */
import { loadMicroPython, type MicroPython } from '@micropython/micropython-webassembly-pyscript';
import type { JsGate } from './sandbox.js';

export interface LoadedMicroPython {
  readonly mp: MicroPython;
  readonly memory: WasmMemory;
}

/** Views into the interpreter's linear memory (re-made per call: the buffer may be replaced when memory grows). */
export class WasmMemory {
  constructor(private readonly memory: WasmMemoryLike) {}

  private check(addr: number, bytes: number): void {
    if (
      !Number.isInteger(addr) ||
      !Number.isInteger(bytes) ||
      addr <= 0 ||
      bytes < 0 ||
      addr + bytes > this.memory.buffer.byteLength
    )
      throw new RangeError(`kpusim host: a buffer at ${addr} of ${bytes} bytes lies outside the interpreter's memory`);
  }

  bytes(addr: number, length: number): Uint8Array {
    this.check(addr, length);
    return new Uint8Array(this.memory.buffer, addr, length);
  }

  /** A Uint16Array view; MicroPython's GC blocks are 16-byte aligned, so `addr` is even. */
  u16(addr: number, count: number): Uint16Array {
    this.check(addr, 2 * count);
    if (addr % 2 !== 0) throw new RangeError(`kpusim host: 16-bit buffer at odd address ${addr}`);
    return new Uint16Array(this.memory.buffer, addr, count);
  }
}

/** The parts of the WebAssembly global this file uses (the project's lib settings have no DOM/WebAssembly types). */
interface WasmMemoryLike {
  readonly buffer: ArrayBuffer;
}
interface WasmGlobal {
  instantiate: (...args: unknown[]) => Promise<unknown>;
  readonly Memory: abstract new (...args: never[]) => WasmMemoryLike;
}
const WA = (globalThis as unknown as { WebAssembly: WasmGlobal }).WebAssembly;

let loading = false;

export async function loadMicroPythonWithMemory(
  heapBytes: number,
  stdout: (b: Uint8Array | string) => void,
  stderr: (b: Uint8Array | string) => void,
  gate: JsGate,
): Promise<LoadedMicroPython> {
  if (loading) throw new Error('kpusim host: MicroPython is already being loaded in this process');
  loading = true;
  const original = WA.instantiate;
  let captured: WasmMemoryLike | undefined;
  let guarded = false;
  WA.instantiate = async function (this: unknown, ...args: unknown[]): Promise<unknown> {
    // The sandbox wraps the port's JavaScript imports before the module sees them (sandbox.ts).
    const imports = args[1] as { env?: Record<string, unknown> } | undefined;
    if (typeof imports?.env?.lookup_attr === 'function' && typeof imports.env.mp_js_ticks_ms === 'function') {
      gate.guardImports(imports as Record<string, Record<string, unknown>>);
      guarded = true;
    }
    const result = await original.apply(this, args);
    type Inst = { exports?: { memory?: unknown; mp_js_init?: unknown } };
    const inst = (result as { instance?: Inst }).instance ?? (result as Inst);
    const mem = inst?.exports?.memory;
    // Only MicroPython's module (other code may instantiate WebAssembly meanwhile).
    if (mem instanceof WA.Memory && typeof inst?.exports?.mp_js_init === 'function') captured = mem;
    return result;
  };
  let mp: MicroPython;
  try {
    mp = await loadMicroPython({ heapsize: heapBytes, pystack: 8192, stdout, stderr, linebuffer: false });
  } finally {
    WA.instantiate = original;
    loading = false;
  }
  if (!captured) throw new Error('kpusim host: could not reach the MicroPython WebAssembly memory');
  if (!guarded) throw new Error('kpusim host: could not put the MicroPython WebAssembly module in its sandbox');
  gate.attach(captured);
  gate.seal();
  const em = mp._module as { _malloc: (n: number) => number; _free: (p: number) => void };
  gate.fixHeap(heapBytes, em._malloc, em._free);
  return { mp, memory: new WasmMemory(captured) };
}
