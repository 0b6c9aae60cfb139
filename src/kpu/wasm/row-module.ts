/**
 * What the small WebAssembly modules of the v5 CPU rows (./quantize.ts, ./binary-rows.ts) share: each is
 * assembled and compiled synchronously on first use, one instance with its own memory per thread, and can be
 * turned off (tests compare it with the JavaScript rows, which also serve where there is no WebAssembly).
 */

interface WasmGlobal {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
}

export interface RowModule<E> {
  /** The instance's exports, or null when turned off or without WebAssembly. */
  get(): E | null;
  /** Turns the module off (false) or on; returns the previous setting. */
  use(on: boolean): boolean;
}

export function rowModule<E>(build: () => Uint8Array): RowModule<E> {
  let instance: E | null | undefined;
  let enabled = true;
  return {
    get() {
      if (!enabled) return null;
      if (instance === undefined) {
        try {
          const WA = (globalThis as unknown as { WebAssembly?: WasmGlobal }).WebAssembly;
          if (!WA) throw new Error('no WebAssembly');
          instance = new WA.Instance(new WA.Module(build()), {}).exports as unknown as E;
        } catch {
          instance = null;
        }
      }
      return instance;
    },
    use(on) {
      const was = enabled;
      enabled = on;
      return was;
    },
  };
}

const bits = new Float32Array(1);
const bitsI = new Int32Array(bits.buffer);

/** The bits of a float32 value (for an i32 parameter splatted into f32x4 lanes). */
export function floatBits(x: number): number {
  bits[0] = x;
  return bitsI[0];
}
