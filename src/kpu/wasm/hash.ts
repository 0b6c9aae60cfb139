/**
 * FNV-1a 64 (src/kpu/hash.ts) in WebAssembly, for the memory hashes of traces: 2 MiB and more
 * after every layer. Each byte is a 64-bit xor and multiply, a chain no reordering can shorten;
 * what WebAssembly buys over JavaScript is the native 64-bit multiply (JavaScript needs two
 * halves and a float division). A zero byte leaves the xor a no-op, so 8 zero bytes are one multiply by
 * prime^8 and 64 zero bytes one by prime^64 (memory between tensors is mostly zeros).
 *
 * Compiled synchronously on first use, as the conv kernels are (src/kpu/wasm/runtime.ts); one
 * instance with its own memory, grown to the largest range hashed so far.
 */
import { Label, Local, Module, block, brIf, get, i32, i64, if_, loop, set, type Expr, type Stmt } from './asm.js';

const PRIME = 0x100000001b3n;
const MASK = (1n << 64n) - 1n;

function pow(base: bigint, n: number): bigint {
  let r = 1n;
  for (let i = 0; i < n; i++) r = (r * base) & MASK;
  return r;
}

/** `fnv(ptr, n, basis)`: the hash of memory[ptr, ptr+n) from the state `basis`. */
function buildHashModule(): Uint8Array {
  const m = new Module();
  m.func(
    'fnv',
    [
      ['p', 'i32'],
      ['n', 'i32'],
      ['h', 'i64'],
    ],
    'i64',
    (f) => {
      const [p, n, h] = [f.param('p'), f.param('n'), f.param('h')];
      const end8 = f.local('i32', 'end8');
      const end = f.local('i32', 'end');
      const prime = i64.const(PRIME);
      const prime8 = i64.const(BigInt.asIntN(64, pow(PRIME, 8)));
      const prime64 = i64.const(BigInt.asIntN(64, pow(PRIME, 64)));
      const end64 = f.local('i32', 'end64');
      const any = f.local('i64', 'any');
      const ws = Array.from({ length: 8 }, (_, k) => f.local('i64', `w${k}`));
      const blocks = new Label('blocks');
      const blocksDone = new Label('blocksDone');
      const words = new Label('words');
      const wordsDone = new Label('wordsDone');
      const tail = new Label('tail');
      const tailDone = new Label('tailDone');
      const byte = (x: Expr) => set(h, i64.mul(i64.xor(get(h), i64.and(x, i64.const(0xff))), prime));
      /** One aligned word's 8 bytes, low byte first (little-endian memory order). */
      const word = (v: Local): Stmt =>
        if_(
          i64.eqz(get(v)),
          [set(h, i64.mul(get(h), prime8))],
          Array.from({ length: 8 }, (_, k) => byte(k === 0 ? get(v) : i64.shr_u(get(v), i64.const(8 * k)))),
        );
      return [
        set(end, i32.add(get(p), get(n))),
        set(end8, i32.add(get(p), i32.and(get(n), i32.const(-8)))),
        set(end64, i32.add(get(p), i32.and(get(n), i32.const(-64)))),
        // 64 bytes at a time: all zero is one multiply by prime^64.
        block(
          blocksDone,
          brIf(blocksDone, i32.ge_s(get(p), get(end64))),
          loop(
            blocks,
            ...ws.map((v, k) => set(v, i64.load(get(p), 8 * k))),
            set(
              any,
              ws.slice(1).reduce<Expr>((a, v) => i64.or(a, get(v)), get(ws[0])),
            ),
            if_(i64.eqz(get(any)), [set(h, i64.mul(get(h), prime64))], ws.map(word)),
            set(p, i32.add(get(p), i32.const(64))),
            brIf(blocks, i32.lt_s(get(p), get(end64))),
          ),
        ),
        block(
          wordsDone,
          brIf(wordsDone, i32.ge_s(get(p), get(end8))),
          loop(
            words,
            set(ws[0], i64.load(get(p))),
            word(ws[0]),
            set(p, i32.add(get(p), i32.const(8))),
            brIf(words, i32.lt_s(get(p), get(end8))),
          ),
        ),
        block(
          tailDone,
          brIf(tailDone, i32.ge_s(get(p), get(end))),
          loop(
            tail,
            byte(i64.extend_i32_u(i32.load8_u(get(p)))),
            set(p, i32.add(get(p), i32.const(1))),
            brIf(tail, i32.lt_s(get(p), get(end))),
          ),
        ),
        get(h),
      ];
    },
  );
  return m.assemble(1);
}

interface WasmGlobal {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
}
interface HashExports {
  readonly mem: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  fnv(p: number, n: number, h: bigint): bigint;
}

let instance: HashExports | null | undefined;
let compiled: object | null | undefined;

/**
 * The compiled hash module, or null without WebAssembly. Posted to a worker thread of this process,
 * which passes it to `adoptHashModule`, it saves that thread compiling its own, and the threads
 * share its optimized code (src/cli/sweep.ts).
 */
export function hashModule(): object | null {
  if (compiled === undefined) {
    try {
      const WA = (globalThis as unknown as { WebAssembly?: WasmGlobal }).WebAssembly;
      if (!WA) throw new Error('no WebAssembly');
      compiled = new WA.Module(buildHashModule());
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** Uses `module` (from `hashModule()` in another thread) for the instance made here. */
export function adoptHashModule(module: object): void {
  if (compiled === undefined) compiled = module;
}

function hashInstance(): HashExports | null {
  if (instance === undefined) {
    try {
      const WA = (globalThis as unknown as { WebAssembly?: WasmGlobal }).WebAssembly;
      const m = hashModule();
      if (!WA || !m) throw new Error('no WebAssembly');
      instance = new WA.Instance(m, {}).exports as unknown as HashExports;
    } catch {
      instance = null; // the JavaScript version (src/kpu/hash.ts) serves instead
    }
  }
  return instance;
}

/** Bytes hashed per call: the wasm memory stays this small whatever the range. */
const CHUNK = 1 << 20;

/**
 * The FNV-1a 64 state after `bytes[start, end)` from `basis` (a `bigint`), or null when this
 * engine has no WebAssembly.
 */
export function fnv1a64Wasm(bytes: Uint8Array, start: number, end: number, basis: bigint): bigint | null {
  const x = hashInstance();
  if (!x) return null;
  let h = BigInt.asIntN(64, basis);
  for (let at = start; at < end; at += CHUNK) {
    const n = Math.min(CHUNK, end - at);
    if (x.mem.buffer.byteLength < n) x.mem.grow(Math.ceil((n - x.mem.buffer.byteLength) / 65536));
    new Uint8Array(x.mem.buffer, 0, n).set(bytes.subarray(at, at + n));
    h = x.fnv(0, n, h);
  }
  return BigInt.asUintN(64, h);
}
