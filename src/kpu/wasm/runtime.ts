/**
 * The conv kernel module at run time: its bytes as ./kernels/ assembles them, generated ahead of
 * time (kernel-module.generated.ts, so no process pays for the assembly), compiled
 * synchronously (`new WebAssembly.Module`, allowed in Node for any size, so the library API stays
 * synchronous), one instance per process with one memory that grows to the largest layer run so
 * far. A layer run owns the whole memory while it runs. Where one layer may use two threads
 * (src/kpu/parallel), the memory is shared and a worker holds a second instance on it.
 */
import { layerThreads, startPartPool, type PartPool } from '../parallel/index.js';
import { CTL, DESC_BYTES } from './abi.js';
import { KERNEL_MODULE_BASE64 } from './kernel-module.generated.js';
import { SHARED_MAX_PAGES } from './kernel-spec.js';
import { fromBase64 } from '../../io/base64.js';

/** The parts of the WebAssembly global used here (the project's lib settings carry no WebAssembly types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmGlobal {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
  Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
}

export interface KernelExports {
  /** Gathers and packs the input of the layer described at `desc` (one batch item). */
  prep(desc: number): void;
  /** Output channels [o0, o1) of that layer. */
  part(desc: number, o0: number, o1: number): void;
}

export interface KernelRuntime {
  readonly exports: KernelExports;
  /** Byte views of the memory; replaced when it grows (compare `buffer` to cache derived views). */
  u8: Uint8Array;
  i32: Int32Array;
  i64: BigInt64Array;
  f64: Float64Array;
  buffer: ArrayBuffer;
  /** Grows the memory to at least `bytes`. */
  ensure(bytes: number): void;
  /** The two-thread pool when one layer may use two threads now (see src/kpu/parallel), else null. */
  parts(): PartPool | null;
}

let runtime: KernelRuntime | null | undefined;
let runtimeShared = false;
/** A shared memory could not be made here (e.g. a browser page that is not cross-origin isolated). */
let sharedFailed = false;
let failure = '';

/** The compiled module by memory kind (shared or not), also given to and taken from other threads. */
const modules = new Map<boolean, object>();

function kernelModule(WA: WasmGlobal, shared: boolean): object {
  let m = modules.get(shared);
  if (!m) {
    m = new WA.Module(kernelModuleBytes(shared));
    modules.set(shared, m);
  }
  return m;
}

/** The module's bytes for a plain memory or a shared one (`buildKernelModule(kernelMemorySpec(shared))`). */
export function kernelModuleBytes(shared: boolean): Uint8Array {
  return fromBase64(shared ? KERNEL_MODULE_BASE64.shared : KERNEL_MODULE_BASE64.plain);
}

/**
 * The compiled module for a memory of one thread (`shared` false) or shared by two, or null when it
 * does not compile here. Posted to a worker thread of this process, which passes it to
 * `adoptKernelModule`, it saves that thread assembling and compiling its own, and the threads share
 * its optimized code (src/cli/sweep.ts).
 */
export function compiledKernelModule(shared: boolean): object | null {
  const WA = (globalThis as unknown as { WebAssembly?: WasmGlobal }).WebAssembly;
  try {
    return WA ? kernelModule(WA, shared) : null;
  } catch {
    return null;
  }
}

/** Uses `module` (from `compiledKernelModule(shared)` in another thread) for the runtime made here. */
export function adoptKernelModule(module: object, shared: boolean): void {
  if (!modules.has(shared)) modules.set(shared, module);
}

function create(shared: boolean): KernelRuntime {
  const WA = (globalThis as unknown as { WebAssembly?: WasmGlobal }).WebAssembly;
  if (!WA) throw new Error('this JavaScript engine has no WebAssembly');
  const memory = shared
    ? new WA.Memory({ initial: 1, maximum: SHARED_MAX_PAGES, shared: true })
    : new WA.Memory({ initial: 1 });
  const module = kernelModule(WA, shared);
  const exports = new WA.Instance(module, { env: { mem: memory } }).exports as unknown as KernelExports;
  let pool: PartPool | null | undefined = shared ? undefined : null;
  const rt: KernelRuntime = {
    exports,
    u8: new Uint8Array(0),
    i32: new Int32Array(0),
    i64: new BigInt64Array(0),
    f64: new Float64Array(0),
    buffer: new ArrayBuffer(0),
    ensure(bytes: number) {
      const have = memory.buffer.byteLength;
      if (bytes > have) memory.grow(Math.ceil((bytes - have) / 65536));
      if (rt.buffer !== memory.buffer) {
        rt.buffer = memory.buffer;
        rt.u8 = new Uint8Array(rt.buffer);
        rt.i32 = new Int32Array(rt.buffer);
        rt.i64 = new BigInt64Array(rt.buffer);
        rt.f64 = new Float64Array(rt.buffer);
      }
    },
    parts() {
      if (pool === undefined)
        pool = startPartPool({ module, memory, part: exports.part, ctl: CTL, descs: [0, DESC_BYTES] });
      return pool && layerThreads() > 1 ? pool : null;
    },
  };
  rt.ensure(65536);
  return rt;
}

/** The kernel runtime, or null when this engine cannot compile it (no WebAssembly SIMD); see `kernelFailure`. */
export function kernelRuntime(): KernelRuntime | null {
  // a runtime made for one thread is made again on shared memory when two threads are asked for
  if (runtime === undefined || (runtime && !runtimeShared && !sharedFailed && layerThreads() > 1)) {
    const shared = layerThreads() > 1 && !sharedFailed;
    try {
      runtime = create(shared);
      runtimeShared = shared;
    } catch (e) {
      if (shared) {
        sharedFailed = true;
        try {
          runtime = create(false);
          runtimeShared = false;
          return runtime;
        } catch {
          /* reported below */
        }
      }
      runtime = null;
      failure = e instanceof Error ? e.message : String(e);
    }
  }
  return runtime;
}

/** Why `kernelRuntime()` is null ('' when it is not). */
export function kernelFailure(): string {
  kernelRuntime();
  return failure;
}
