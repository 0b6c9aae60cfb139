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
  instantiateStreaming?: (source: unknown, imports: unknown) => Promise<unknown>;
  readonly Memory: abstract new (...args: never[]) => WasmMemoryLike;
}
const WA = (globalThis as unknown as { WebAssembly: WasmGlobal }).WebAssembly;

let loading = false;

/**
 * How often `poll` runs while Python runs: every this many calls the interpreter makes through the
 * port's `invoke_*` trampolines (its setjmp/longjmp glue wraps nearly every call of the bytecode
 * loop: a `while` loop that does anything at all makes several per iteration).
 */
const POLL_EVERY_CALLS = 1024;

/** Wraps the port's `invoke_*` imports so that `poll` runs every `POLL_EVERY_CALLS` of them. */
function addPoll(imports: unknown, poll: () => void): void {
  if (typeof imports !== 'object' || imports === null) return;
  let countdown = POLL_EVERY_CALLS;
  for (const ns of Object.values(imports as Record<string, unknown>)) {
    if (typeof ns !== 'object' || ns === null) continue;
    const table = ns as Record<string, unknown>;
    for (const [name, f] of Object.entries(table)) {
      if (!name.startsWith('invoke_') || typeof f !== 'function') continue;
      const fn = f as (...a: unknown[]) => unknown;
      table[name] = (a: unknown, b: unknown, c: unknown, d: unknown, e: unknown, g: unknown, h: unknown): unknown => {
        if (--countdown <= 0) {
          countdown = POLL_EVERY_CALLS;
          poll();
        }
        return fn(a, b, c, d, e, g, h);
      };
    }
  }
}

/** The exports the port's `invoke_*` glue uses: its stack pointer, longjmp flag and function table. */
interface InvokeExports {
  emscripten_stack_get_current(): number;
  _emscripten_stack_restore(sp: number): void;
  setThrew(threw: number, value: number): void;
  __indirect_function_table: { get(index: number): unknown };
}

type Fn = (...a: unknown[]) => unknown;

/**
 * The port's `invoke_*` imports without their debug-build check. MicroPython's exception handling
 * (setjmp/longjmp as JavaScript exceptions) routes every call made by a C function that sets a jump
 * buffer, the bytecode loop above all, through these: each saves the stack pointer, calls the function
 * table's entry and, when a longjmp (a number) was thrown, restores the stack pointer and sets the flag
 * the caller tests; anything else thrown goes on. The port's build looks the entry up twice a call (the
 * second a check that its copy of the table is current); these look each entry up once, which holds
 * because nothing changes the table (the port has no `addFunction`). Same calls, same stack and flag
 * handling. Replaced in `imports.env` before instantiation; `attach` gives them the instance's exports
 * (until then, or when one of them is missing, they call the port's own).
 */
/** Whether loads use `fastInvokes` (tests compare with the port's own glue). */
export const invokeGlue = { fast: true };

function fastInvokes(imports: unknown): { attach(exports: unknown): void } {
  let ex: InvokeExports | undefined;
  const entries: Fn[] = [];
  const entry = (i: number): Fn => (entries[i] ??= ex!.__indirect_function_table.get(i) as Fn);
  const unwound = (e: unknown, sp: number): undefined => {
    ex!._emscripten_stack_restore(sp);
    if (e !== (e as number) + 0) throw e;
    ex!.setThrew(1, 0);
    return undefined;
  };
  // One function per arity (the index, then the call's arguments), as the port's glue has.
  const arities: Record<number, (o: Fn) => Fn> = {
    0: (o) => (i) => {
      if (!ex) return o(i);
      const sp = ex.emscripten_stack_get_current();
      try {
        return entry(i as number)();
      } catch (e) {
        return unwound(e, sp);
      }
    },
    1: (o) => (i, a) => {
      if (!ex) return o(i, a);
      const sp = ex.emscripten_stack_get_current();
      try {
        return entry(i as number)(a);
      } catch (e) {
        return unwound(e, sp);
      }
    },
    2: (o) => (i, a, b) => {
      if (!ex) return o(i, a, b);
      const sp = ex.emscripten_stack_get_current();
      try {
        return entry(i as number)(a, b);
      } catch (e) {
        return unwound(e, sp);
      }
    },
    3: (o) => (i, a, b, c) => {
      if (!ex) return o(i, a, b, c);
      const sp = ex.emscripten_stack_get_current();
      try {
        return entry(i as number)(a, b, c);
      } catch (e) {
        return unwound(e, sp);
      }
    },
    4: (o) => (i, a, b, c, d) => {
      if (!ex) return o(i, a, b, c, d);
      const sp = ex.emscripten_stack_get_current();
      try {
        return entry(i as number)(a, b, c, d);
      } catch (e) {
        return unwound(e, sp);
      }
    },
    5: (o) => (i, a, b, c, d, g) => {
      if (!ex) return o(i, a, b, c, d, g);
      const sp = ex.emscripten_stack_get_current();
      try {
        return entry(i as number)(a, b, c, d, g);
      } catch (e) {
        return unwound(e, sp);
      }
    },
  };
  const env = (imports as { env?: Record<string, unknown> } | undefined)?.env;
  for (const [name, f] of Object.entries(env ?? {})) {
    const m = /^invoke_([vijfd])([ijfd]*)$/.exec(name);
    const make = m && arities[m[2].length];
    if (make && typeof f === 'function') env![name] = make(f as Fn);
  }
  return {
    attach(exports: unknown): void {
      const e = (exports ?? {}) as Partial<InvokeExports>;
      if (
        typeof e.emscripten_stack_get_current === 'function' &&
        typeof e._emscripten_stack_restore === 'function' &&
        typeof e.setThrew === 'function' &&
        typeof e.__indirect_function_table?.get === 'function'
      )
        ex = e as InvokeExports;
    },
  };
}

/** Whether loads use `cheapErrnoErrors` (tests compare with the port's own errors). */
export const fsErrors = { cheap: true };

/** An Emscripten file-system error as the port's glue and kpusim's host read it. */
interface ErrnoErrorLike {
  readonly name: string;
  readonly errno: number;
  readonly code?: string;
  readonly message: string;
}
type ErrnoErrorClass = new (errno: number) => ErrnoErrorLike;

/**
 * The file system's errors without their cost. Emscripten's file system reports a failed call by
 * throwing `new FS.ErrnoError(errno)`, which the port's system-call glue catches and turns into the
 * errno the C code sees. Most are lookups of files that do not exist: every import searches
 * `sys.path` (a directory, `.py` and `.mpy` for each entry), about 180 before the face script's first
 * model load. The port's class builds each one as an `Error`: it captures a stack trace and asks the C
 * library for the message (`strerror`), 10–35 µs each. This constructor, put in its place
 * (`FS.ErrnoError` is read at each throw), makes objects of the same prototype with the same own
 * properties: the message (computed once per errno by the port's own class, which also finds the
 * code), `name`, `errno` and `code`; only the stack trace is left out (`stack` holds the name and
 * message alone). Nothing in the port or in kpusim reads the stack of these errors.
 */
export function cheapErrnoErrors(fs: { ErrnoError: ErrnoErrorClass }): void {
  const Port = fs.ErrnoError;
  const known = new Map<number, { readonly message: string; readonly code?: string; readonly own: string[] }>();
  const describe = (errno: number) => {
    let d = known.get(errno);
    if (!d) {
      const e = new Port(errno);
      d = { message: e.message, code: e.code, own: Object.keys(e) };
      known.set(errno, d);
    }
    return d;
  };
  function ErrnoError(errno: number): ErrnoErrorLike {
    const d = describe(errno);
    const e = Object.create(Port.prototype) as Record<string, unknown>;
    Object.defineProperty(e, 'stack', {
      value: `ErrnoError: ${d.message}`,
      writable: true,
      configurable: true,
      enumerable: false,
    });
    Object.defineProperty(e, 'message', { value: d.message, writable: true, configurable: true, enumerable: false });
    e.name = 'ErrnoError';
    e.errno = errno;
    if (d.own.includes('code')) e.code = d.code;
    return e as unknown as ErrnoErrorLike;
  }
  ErrnoError.prototype = Port.prototype;
  fs.ErrnoError = ErrnoError as unknown as ErrnoErrorClass;
}

/** What a trap of a patched endless loop (`trapEndlessLoops`) says in JavaScript. */
export const ENDLESS_LOOP_TRAP = 'unreachable';

/** A function body that is an empty endless loop: no locals, `loop br 0 end`, `end`. */
const ENDLESS = [0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b];
/** The same number of bytes trapping at once: no locals, `unreachable`, four `nop`s, `end`. */
const TRAP = [0x00, 0x00, 0x01, 0x01, 0x01, 0x01, 0x0b];

/**
 * A copy of a WebAssembly module's bytes in which every function whose whole body is an empty endless
 * loop traps instead (a `RuntimeError` in JavaScript). The port has such a function for an exception
 * raised where no handler is set (`nlr_jump_fail`): it happens when Python's heap is so full that the
 * port cannot build the report of an exception that ended the code it ran, and the interpreter would
 * spin for ever. Nothing else changes: the bytes keep their length and every other function its code.
 * Bytes that are not a module it can read are returned as they are.
 */
export function trapEndlessLoops(bytes: Uint8Array): { readonly bytes: Uint8Array; readonly patched: number } {
  const out = new Uint8Array(bytes);
  let p = 8;
  const leb = (): number => {
    let v = 0,
      shift = 0,
      b: number;
    do {
      if (p >= out.length || shift > 28) throw new RangeError('bad LEB128');
      b = out[p++];
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return v;
  };
  let patched = 0;
  try {
    if (out.length < 8 || out[0] !== 0 || out[1] !== 0x61 || out[2] !== 0x73 || out[3] !== 0x6d)
      return { bytes, patched };
    while (p < out.length) {
      const id = out[p++];
      const size = leb();
      const end = p + size;
      if (end > out.length) return { bytes, patched: 0 };
      if (id === 10) {
        const count = leb();
        for (let i = 0; i < count && p < end; i++) {
          const len = leb();
          if (len === ENDLESS.length && ENDLESS.every((b, k) => out[p + k] === b)) {
            out.set(TRAP, p);
            patched++;
          }
          p += len;
        }
      }
      p = end;
    }
  } catch {
    return { bytes, patched: 0 };
  }
  return patched ? { bytes: out, patched } : { bytes, patched };
}

/** The port's keyboard-interrupt entry points (exported C functions). */
export interface InterruptControl {
  /** Raises KeyboardInterrupt in the running Python code at its next check (`mp_sched_keyboard_interrupt`). */
  keyboardInterrupt(): void;
  /** The interrupt character MicroPython has armed (3 while the REPL executes code, else -1). */
  interruptChar(): number;
}

export function interruptControl(mp: MicroPython): InterruptControl {
  const m = mp._module as { _mp_sched_keyboard_interrupt?: () => void; _mp_hal_get_interrupt_char?: () => number };
  const kbd = m._mp_sched_keyboard_interrupt,
    chr = m._mp_hal_get_interrupt_char;
  if (typeof kbd !== 'function' || typeof chr !== 'function')
    throw new Error('kpusim host: this MicroPython build exports no keyboard interrupt');
  return { keyboardInterrupt: () => kbd(), interruptChar: () => chr() };
}

export async function loadMicroPythonWithMemory(
  heapBytes: number,
  stdout: (b: Uint8Array | string) => void,
  stderr: (b: Uint8Array | string) => void,
  gate: JsGate,
  /** Called regularly while Python runs (a served board's Ctrl-C and output flushing); off by default. */
  poll?: () => void,
): Promise<LoadedMicroPython> {
  if (loading) throw new Error('kpusim host: MicroPython is already being loaded in this process');
  loading = true;
  const original = WA.instantiate;
  const originalStreaming = WA.instantiateStreaming;
  // In a browser the port compiles from the fetch response (instantiateStreaming): it is routed
  // through the wrapper below, so the sandbox and the memory capture apply there too.
  if (originalStreaming)
    WA.instantiateStreaming = async (source: unknown, imports: unknown): Promise<unknown> => {
      const response = (await source) as { arrayBuffer(): Promise<ArrayBuffer> };
      return WA.instantiate(await response.arrayBuffer(), imports);
    };
  let captured: WasmMemoryLike | undefined;
  let guarded = false;
  WA.instantiate = async function (this: unknown, ...args: unknown[]): Promise<unknown> {
    // The sandbox wraps the port's JavaScript imports before the module sees them (sandbox.ts).
    const imports = args[1] as { env?: Record<string, unknown> } | undefined;
    // The port's endless loop on an exception nothing can report traps instead (trapEndlessLoops).
    if (args[0] instanceof ArrayBuffer || ArrayBuffer.isView(args[0])) {
      const b = args[0] as ArrayBuffer | ArrayBufferView;
      const view = b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      args[0] = trapEndlessLoops(view).bytes;
    }
    const invokes = invokeGlue.fast ? fastInvokes(imports) : undefined;
    if (poll) addPoll(imports, poll);
    if (typeof imports?.env?.lookup_attr === 'function' && typeof imports.env.mp_js_ticks_ms === 'function') {
      gate.guardImports(imports as Record<string, Record<string, unknown>>);
      guarded = true;
    }
    const result = await original.apply(this, args);
    type Inst = { exports?: { memory?: unknown; mp_js_init?: unknown } };
    const inst = (result as { instance?: Inst }).instance ?? (result as Inst);
    invokes?.attach(inst?.exports);
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
    if (originalStreaming) WA.instantiateStreaming = originalStreaming;
    loading = false;
  }
  if (!captured) throw new Error('kpusim host: could not reach the MicroPython WebAssembly memory');
  if (!guarded) throw new Error('kpusim host: could not put the MicroPython WebAssembly module in its sandbox');
  if (fsErrors.cheap) cheapErrnoErrors(mp.FS as unknown as { ErrnoError: ErrnoErrorClass });
  gate.attach(captured);
  gate.seal();
  const em = mp._module as { _malloc: (n: number) => number; _free: (p: number) => void };
  gate.fixHeap(heapBytes, em._malloc, em._free);
  return { mp, memory: new WasmMemory(captured) };
}
