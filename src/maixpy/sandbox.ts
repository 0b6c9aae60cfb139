/**
 * The sandbox a MaixPy script runs in: it reaches nothing of the PC beyond the folders mapped for
 * it, and imports nothing a K210 lacks.
 *
 * MicroPython's WebAssembly port gives Python two bridges into JavaScript: the `js` module (a
 * proxy of `globalThis`, through which `js.process` reaches Node) and `jsffi`, and any JavaScript
 * object handed to Python becomes a proxy whose attributes lead on (`f.constructor` of a function is
 * `Function`, which compiles code). Every such step goes through one of the port's JavaScript
 * imports (`lookup_attr`, `call1`, `js_reflect_construct`, …), called by the interpreter with an
 * index into the port's object table. The sandbox wraps those imports before the module is
 * instantiated (the security boundary; it holds however the script got its proxy, even one it
 * forged in memory with `uctypes`):
 * - the only JavaScript objects Python may look into are the modules kpusim registers and the
 *   structured results of their functions, copied into frozen objects without prototype (lists
 *   become array-likes with `length` and an iterator), and only their own entries;
 * - the only JavaScript functions Python may call are the modules' entries;
 * - everything else (storing attributes or items, iterating or indexing anything else, `new`,
 *   promises, error objects) ends the run as a sandbox violation (`SandboxViolation`, which Python
 *   cannot catch);
 * - `js` itself is made a proxy of an empty object.
 *
 * The import rules are for fidelity (a script sees ImportError where a board would): the port's
 * modules a K210 has not (`js`, `jsffi`, `vfs`, `platform`, `deflate`, and the port's frozen
 * pure-Python library: `asyncio`, `functools`, …) are not importable. A script that undoes them
 * (it can rebind `builtins.__import__`) still finds nothing behind `js`.
 *
 * Files: the interpreter's file system is Emscripten's in-memory one (the port is built without
 * NODEFS), so `open('/etc/passwd')` finds nothing and writes to `/sd/...` stay in memory; what
 * reads host files on the script's behalf (`kpu.load('/sd/...')`, `image.Image('/sd/...')`) goes
 * through `Storage.readBoardFile`, which keeps to the `--sd` folder (see storage.ts).
 */

import vm from 'node:vm';
import { UsageError } from '../errors.js';

/** Ends the run: the script reached for JavaScript beyond what kpusim registered. */
export class SandboxViolation extends Error {
  constructor(readonly what: string) {
    super(`the script reached for the host through the WebAssembly port's JavaScript bridge (${what}); stopped`);
  }
}

/** Modules a K210 (MaixPy, CanMV) has not but the WebAssembly port builds in. */
export const DENIED_MODULES: readonly string[] = ['js', 'jsffi', 'vfs', 'platform', 'deflate', 'pyscript'];

/**
 * Python run once before the script: an import hook refusing `DENIED_MODULES` (as a board does,
 * "no module named ..."), and the port's frozen library taken off `sys.path`.
 */
export function sandboxPrelude(): string {
  return [
    'def _kpusim_sandbox():',
    '    import builtins, sys',
    `    denied = frozenset(${JSON.stringify(DENIED_MODULES).replace(/^\[/, '(').replace(/\]$/, ',)')})`,
    '    imp = builtins.__import__',
    '    def guarded(name, *args):',
    "        if name.split('.')[0] in denied and (len(args) < 4 or args[3] == 0):",
    '            raise ImportError("no module named \'%s\'" % name)',
    '        return imp(name, *args)',
    '    builtins.__import__ = guarded',
    "    while '.frozen' in sys.path:",
    "        sys.path.remove('.frozen')",
    '    for name in denied:',
    '        if name in sys.modules:',
    '            del sys.modules[name]',
    '_kpusim_sandbox()',
    'del _kpusim_sandbox',
  ].join('\n');
}

type ImportFn = (...args: number[]) => unknown;
type ImportObject = Record<string, Record<string, unknown>>;

/** Imports that take the index of a JavaScript object (first argument) and act on it. */
const CALLS = ['call0', 'call0_kwarg', 'call1', 'call2', 'calln', 'calln_kwarg'] as const;
const LOOKUPS = ['lookup_attr', 'has_attr'] as const;
/** Imports Python never needs on kpusim's values. */
const DENIED_IMPORTS = [
  'store_attr',
  'js_subscr_store',
  'js_reflect_construct',
  'js_get_error_info',
  'js_then_resolve',
  'js_then_reject',
  'js_then_continue',
  'create_promise',
] as const;

function refTable(): unknown[] {
  const t = (globalThis as { proxy_js_ref?: unknown[] }).proxy_js_ref;
  if (!Array.isArray(t)) throw new SandboxViolation('no object table');
  return t;
}

/** The JavaScript side of the sandbox: what Python may look into and call. */
export class JsGate {
  private readonly modules = new WeakSet<object>();
  private readonly functions = new WeakSet<object>();
  /** Frozen copies of structured results, and the iterators made over them. */
  private readonly data = new WeakSet<object>();
  private readonly iterators = new WeakSet<object>();
  private memory: { readonly buffer: ArrayBuffer } | null = null;
  /** Linear memory may grow while the interpreter starts (its heap is allocated then), not after `fixHeap`. */
  private growth = true;

  /** Wraps the port's imports in place; call with the import object before instantiation. */
  guardImports(imports: ImportObject): void {
    const env = imports.env;
    if (!env) throw new Error('kpusim sandbox: the WebAssembly module has no env imports');
    const wrap = (name: string, guard: (orig: ImportFn, args: number[]) => unknown): void => {
      const orig = env[name];
      if (typeof orig !== 'function') return;
      env[name] = (...args: number[]) => guard(orig as ImportFn, args);
    };
    for (const name of CALLS)
      wrap(name, (orig, args) => {
        const f = refTable()[args[0]];
        if (typeof f !== 'function' || !this.functions.has(f)) throw new SandboxViolation(`a call of ${describe(f)}`);
        return orig(...args);
      });
    for (const name of LOOKUPS)
      wrap(name, (orig, args) => {
        const base = refTable()[args[0]];
        if (typeof base !== 'object' || base === null || !(this.modules.has(base) || this.data.has(base))) return 0;
        if (!Object.prototype.hasOwnProperty.call(base, this.cString(args[1]))) return 0;
        return orig(...args);
      });
    // Indexing and iterating kpusim's result copies (no prototype: any key is an own entry or nothing).
    wrap('js_subscr_load', (orig, args) => {
      if (!this.data.has(refTable()[args[0]] as object)) throw new SandboxViolation('an index into JavaScript');
      return orig(...args);
    });
    wrap('js_get_iter', (orig, args) => {
      if (!this.data.has(refTable()[args[0]] as object)) throw new SandboxViolation('an iteration of JavaScript');
      return orig(...args);
    });
    wrap('js_iter_next', (orig, args) => {
      if (!this.iterators.has(refTable()[args[0]] as object)) throw new SandboxViolation('an iteration of JavaScript');
      return orig(...args);
    });
    wrap('emscripten_resize_heap', (orig, args) => (this.growth ? orig(...args) : 0));
    for (const name of DENIED_IMPORTS)
      wrap(name, () => {
        throw new SandboxViolation(name);
      });
  }

  /** The interpreter's memory (to read attribute names); set once the module is instantiated. */
  attach(memory: { readonly buffer: ArrayBuffer }): void {
    this.memory = memory;
  }

  /**
   * Makes the MicroPython heap given at start the whole heap. The port grows its GC heap on demand
   * (its split heap takes new areas from the C allocator, up to the 2 GiB of WebAssembly memory),
   * so `heapsize` alone bounds nothing. Here the memory stops growing, the C allocator's free space
   * is taken by ballast, and `slack` bytes are left for the port's own short-lived buffers (strings
   * crossing the bridge): less than any area the split heap would add (at least the heap's size), so
   * an allocation beyond the heap is Python's MemoryError.
   */
  fixHeap(heapBytes: number, malloc: (n: number) => number, free: (p: number) => void): void {
    const slack = Math.max(64 * 1024, Math.min(1024 * 1024, Math.floor(heapBytes / 2)));
    const spare = malloc(slack);
    this.growth = false;
    for (let size = 1 << 26; size >= 16; size >>= 1) while (malloc(size) !== 0);
    if (spare !== 0) free(spare);
  }

  /** Takes `globalThis` out of the object table (the `js` module becomes a proxy of an empty object). */
  seal(): void {
    refTable()[0] = Object.freeze(Object.create(null));
  }

  /**
   * A module object Python may use: frozen, without prototype, holding only `fns`. A function's
   * result reaches Python as a number, string, boolean or None, or as a frozen copy (lists and
   * plain objects of those, nested).
   */
  module(fns: Readonly<Record<string, (...args: never[]) => unknown>>): object {
    const m = Object.create(null) as Record<string, unknown>;
    for (const [name, fn] of Object.entries(fns)) {
      const f = (...args: unknown[]): unknown => this.copy((fn as (...a: unknown[]) => unknown)(...args), name, 0);
      this.functions.add(f);
      m[name] = f;
    }
    Object.freeze(m);
    this.modules.add(m);
    return m;
  }

  /** A value Python may hold: primitives as they are, lists and plain objects as frozen copies without prototype. */
  private copy(v: unknown, fn: string, depth: number): unknown {
    if (v === undefined || v === null) return null;
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
    if (depth > 16) throw new Error(`kpusim sandbox: ${fn} returned a value nested too deeply`);
    const out = Object.create(null) as Record<string | symbol, unknown>;
    if (Array.isArray(v)) {
      const items = v.map((x) => this.copy(x, fn, depth + 1));
      items.forEach((x, i) => (out[i] = x));
      out.length = items.length;
      const iterators = this.iterators;
      Object.defineProperty(out, Symbol.iterator, {
        enumerable: false,
        value: () => {
          let i = 0;
          const it = Object.create(null) as { next: () => { done: boolean; value?: unknown } };
          it.next = () => (i < items.length ? { done: false, value: items[i++] } : { done: true });
          iterators.add(Object.freeze(it));
          return it;
        },
      });
    } else if (typeof v === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(v))) {
      for (const [k, x] of Object.entries(v)) out[k] = this.copy(x, fn, depth + 1);
    } else throw new Error(`kpusim sandbox: ${fn} returned a ${typeof v}, not a plain value`);
    Object.freeze(out);
    this.data.add(out);
    return out;
  }

  private cString(ptr: number): string {
    if (!this.memory) return '';
    const bytes = new Uint8Array(this.memory.buffer);
    let end = ptr;
    while (end < bytes.length && bytes[end] !== 0 && end - ptr < 256) end++;
    return new TextDecoder().decode(bytes.subarray(ptr, end));
  }
}

function describe(v: unknown): string {
  if (typeof v === 'function') return `the function ${v.name || '(anonymous)'}`;
  if (v === undefined) return 'a freed object';
  return `a ${typeof v}`;
}

/** The run passed its `--timeout`. */
export class WallTimeout extends Error {
  constructor(readonly seconds: number) {
    super(`timed out after ${seconds} s`);
  }
}

/** Checks a `--timeout` value (seconds, > 0). */
export function checkTimeout(seconds: number | undefined): void {
  if (seconds === undefined) return;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0)
    throw new UsageError('BAD_ARGUMENT', `--timeout takes a number of seconds greater than 0, got ${String(seconds)}`);
}

/**
 * Runs `fn` (a synchronous call into the interpreter) and stops it at `deadline` (a
 * `performance.now()` time), however it is spending its time: a pure-Python `while True: pass`
 * never returns to JavaScript, so the bound is Node's own watchdog (`vm`'s `timeout`, which
 * terminates the running code, WebAssembly included) rather than a check in the script's path.
 */
export function runUntil<T>(deadline: number | undefined, seconds: number | undefined, fn: () => T): T {
  if (deadline === undefined) return fn();
  const left = Math.floor(deadline - performance.now());
  if (left <= 0) throw new WallTimeout(seconds ?? 0);
  const box = { fn, result: undefined as T | undefined };
  try {
    vm.runInNewContext('box.result = box.fn()', { box }, { timeout: left });
  } catch (e) {
    if ((e as { code?: string })?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw new WallTimeout(seconds ?? 0);
    throw e;
  }
  return box.result as T;
}

/**
 * The default `--heap` (MiB), a hard bound. MaixPy's GC heap is 512 KiB, but kpusim's heap also
 * holds the camera's frame buffer (display pixels and AI planes, 375 KiB at QVGA), which the
 * firmware keeps outside it, and the whole run's garbage: the port collects only when the script
 * returns (a face-recognition loop leaves roughly 100–150 KiB a frame with faces in view). 64 MiB runs
 * some hundreds of such frames; `--heap 1` is close to the board's budget for short runs.
 */
export const DEFAULT_HEAP_MB = 64;

/** The smallest `--heap` kpusim accepts (MiB): its own modules need about 100 KiB of it. */
export const MIN_HEAP_MB = 0.25;

/** Checks a `--heap` value (MiB, at least `MIN_HEAP_MB`). */
export function checkHeap(mb: number | undefined): void {
  if (mb === undefined) return;
  if (typeof mb !== 'number' || !Number.isFinite(mb) || mb < MIN_HEAP_MB || mb > 1024)
    throw new UsageError(
      'BAD_ARGUMENT',
      `--heap takes the MicroPython heap in MiB, from ${MIN_HEAP_MB} to 1024 (MaixPy's is 0.5), got ${String(mb)}`,
    );
}
