/**
 * The conv kernel module at run time: assembled from ./kernels.ts on first use, compiled
 * synchronously (`new WebAssembly.Module`, allowed in Node for any size, so the library API stays
 * synchronous), one instance per process with one memory that grows to the largest layer run so
 * far. Everything is single-threaded: a layer run owns the whole memory while it runs.
 */
import { buildKernelModule } from './kernels.js';

/** The parts of the WebAssembly global used here (the project's lib settings carry no WebAssembly types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmGlobal {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
}

export interface KernelExports {
  readonly mem: WasmMemory;
  run(): void;
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
}

let runtime: KernelRuntime | null | undefined;
let failure = '';

function create(): KernelRuntime {
  const WA = (globalThis as unknown as { WebAssembly?: WasmGlobal }).WebAssembly;
  if (!WA) throw new Error('this JavaScript engine has no WebAssembly');
  const module = new WA.Module(buildKernelModule());
  const exports = new WA.Instance(module, {}).exports as unknown as KernelExports;
  const rt: KernelRuntime = {
    exports,
    u8: new Uint8Array(0),
    i32: new Int32Array(0),
    i64: new BigInt64Array(0),
    f64: new Float64Array(0),
    buffer: new ArrayBuffer(0),
    ensure(bytes: number) {
      const have = exports.mem.buffer.byteLength;
      if (bytes > have) exports.mem.grow(Math.ceil((bytes - have) / 65536));
      if (rt.buffer !== exports.mem.buffer) {
        rt.buffer = exports.mem.buffer;
        rt.u8 = new Uint8Array(rt.buffer);
        rt.i32 = new Int32Array(rt.buffer);
        rt.i64 = new BigInt64Array(rt.buffer);
        rt.f64 = new Float64Array(rt.buffer);
      }
    },
  };
  rt.ensure(65536);
  return rt;
}

/** The kernel runtime, or null when this engine cannot compile it (no WebAssembly SIMD); see `kernelFailure`. */
export function kernelRuntime(): KernelRuntime | null {
  if (runtime === undefined) {
    try {
      runtime = create();
    } catch (e) {
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
