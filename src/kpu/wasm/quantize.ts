/**
 * nncase 1.x QUANTIZE and DEQUANTIZE (src/kpu/ops/v5/quantize.ts) on dense rows in WebAssembly SIMD,
 * 16 elements a step. Both compute in float32 as the kernels do, and WebAssembly's float32 lanes give
 * the same bits as JavaScript's doubles rounded by `Math.fround` after each operation:
 *   - dequantize: out = (float)q · scale + bias. q (−128..255) converts exactly; a product or sum of two
 *     floats computed in double and rounded to float equals the float operation (double has more than
 *     twice float's precision), so `f32x4.mul` then `f32x4.add` are `fround(fround(q·s) + b)`. Only for
 *     finite scale and bias: a NaN's bits could differ between the two, so those rows stay in JavaScript.
 *   - quantize: v = x · scale + bias as above, rounded half to even (`f32x4.nearest`), converted to int32
 *     and clamped by two saturating narrows (int32 → int16 → uint8 or int8), which is the clamp to
 *     [0, 255] or [−128, 127]. The contiguous kernel's conversion, `(int32_t)` of the rounded value, gives
 *     INT32_MIN for NaN and for values at or beyond 2^31, which clamp to the low end; the saturating
 *     conversion would give 0 or INT32_MAX there, so those lanes are set to INT32_MIN first.
 *
 * Compiled on first use (./row-module.ts); its memory has a fixed size, rows go through it in chunks.
 */
import { floatBits, rowModule } from './row-module.js';
import { Label, Module, block, brIf, get, i16x8, i32, i32x4, i8x16, f32x4, loop, set, v128, type Expr } from './asm.js';

/** Elements per call: the memory holds one chunk's floats, then its bytes. */
const CHUNK = 1 << 15;
const BYTES_AT = 4 * CHUNK;
const PAGES = Math.ceil((5 * CHUNK + 64) / 65536);

function buildQuantizeModule(): Uint8Array {
  const m = new Module();
  const params: [string, 'i32'][] = [
    ['src', 'i32'],
    ['dst', 'i32'],
    ['n', 'i32'],
    ['s', 'i32'],
    ['b', 'i32'],
  ];
  for (const signed of [false, true]) {
    // quantize: n floats at src → n bytes at dst (n rounded up to 16; the memory past n is scratch)
    m.func(signed ? 'quantizeI8' : 'quantizeU8', params, null, (f) => {
      const [src, dst, n, s, b] = params.map(([p]) => f.param(p));
      const vs = f.local('v128', 'vs');
      const vb = f.local('v128', 'vb');
      const end = f.local('i32', 'end');
      const top = new Label('top');
      const done = new Label('done');
      /** Four floats → four int32 lanes: INT32_MIN where the conversion is out of range or NaN. */
      const lanes = (at: number): Expr => {
        const r = f32x4.nearest(f32x4.add(f32x4.mul(v128.load(get(src), at), get(vs)), get(vb)));
        return v128.bitselect(
          i32x4.trunc_sat_f32x4_s(r),
          i32x4.splat(i32.const(-(2 ** 31))),
          f32x4.lt(r, i32x4.splat(i32.const(0x4f000000))), // 2^31 as a float
        );
      };
      const narrow = signed ? i8x16.narrow_i16x8_s : i8x16.narrow_i16x8_u;
      return [
        set(vs, i32x4.splat(get(s))),
        set(vb, i32x4.splat(get(b))),
        set(end, i32.add(get(dst), get(n))),
        block(
          done,
          brIf(done, i32.ge_s(get(dst), get(end))),
          loop(
            top,
            v128.store(
              get(dst),
              narrow(i16x8.narrow_i32x4_s(lanes(0), lanes(16)), i16x8.narrow_i32x4_s(lanes(32), lanes(48))),
            ),
            set(src, i32.add(get(src), i32.const(64))),
            set(dst, i32.add(get(dst), i32.const(16))),
            brIf(top, i32.lt_s(get(dst), get(end))),
          ),
        ),
      ];
    });
    // dequantize: n bytes at src → n floats at dst
    m.func(signed ? 'dequantizeI8' : 'dequantizeU8', params, null, (f) => {
      const [src, dst, n, s, b] = params.map(([p]) => f.param(p));
      const vs = f.local('v128', 'vs');
      const vb = f.local('v128', 'vb');
      const x = f.local('v128', 'x');
      const h = f.local('v128', 'h');
      const end = f.local('i32', 'end');
      const top = new Label('top');
      const done = new Label('done');
      const out = (v: Expr): Expr => f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(v), get(vs)), get(vb));
      const lo16 = signed ? i16x8.extend_low_i8x16_s : i16x8.extend_low_i8x16_u;
      const hi16 = signed ? i16x8.extend_high_i8x16_s : i16x8.extend_high_i8x16_u;
      return [
        set(vs, i32x4.splat(get(s))),
        set(vb, i32x4.splat(get(b))),
        set(end, i32.add(get(src), get(n))),
        block(
          done,
          brIf(done, i32.ge_s(get(src), get(end))),
          loop(
            top,
            set(x, v128.load(get(src))),
            set(h, lo16(get(x))),
            v128.store(get(dst), out(i32x4.extend_low_i16x8_s(get(h)))),
            v128.store(get(dst), out(i32x4.extend_high_i16x8_s(get(h))), 16),
            set(h, hi16(get(x))),
            v128.store(get(dst), out(i32x4.extend_low_i16x8_s(get(h))), 32),
            v128.store(get(dst), out(i32x4.extend_high_i16x8_s(get(h))), 48),
            set(src, i32.add(get(src), i32.const(16))),
            set(dst, i32.add(get(dst), i32.const(64))),
            brIf(top, i32.lt_s(get(src), get(end))),
          ),
        ),
      ];
    });
  }
  return m.assemble(PAGES);
}

type Kernel = (src: number, dst: number, n: number, s: number, b: number) => void;
interface QuantizeExports {
  readonly mem: { readonly buffer: ArrayBuffer };
  readonly quantizeU8: Kernel;
  readonly quantizeI8: Kernel;
  readonly dequantizeU8: Kernel;
  readonly dequantizeI8: Kernel;
}

const module = rowModule<QuantizeExports>(buildQuantizeModule);
/** Rows the WebAssembly kernels have done in this thread (for tests). */
export const quantizeWasmRows = { quantize: 0, dequantize: 0 };

/** Turns the WebAssembly rows off (false) or on; returns the previous setting. For tests that compare the two. */
export const useWasmQuantize = (on: boolean): boolean => module.use(on);

/**
 * Whether bytes [a, a + an) of A's array and [o, o + on) of O's share memory. The kernels' rows read and
 * write element by element in order, these copy a chunk in before writing it out: where the two overlap,
 * the JavaScript rows keep the kernels' order.
 */
function overlap(A: ArrayBufferView, a: number, an: number, O: ArrayBufferView, o: number, on: number): boolean {
  if (A.buffer !== O.buffer) return false;
  const from = A.byteOffset + a;
  const at = O.byteOffset + o;
  return from < at + on && at < from + an;
}

/**
 * `quantize`'s contiguous kernel on one dense row: X[from, from+n) (floats) → O[to, to+n) as uint8 or
 * int8 bytes, with `s` and `b` already float32 values. False (nothing written) without WebAssembly or where the
 * row's input and output share bytes.
 */
export function quantizeRowWasm(
  X: Float32Array,
  from: number,
  O: Uint8Array,
  to: number,
  n: number,
  s: number,
  b: number,
  signed: boolean,
): boolean {
  if (overlap(X, 4 * from, 4 * n, O, to, n)) return false;
  const x = module.get();
  if (!x) return false;
  const floats = new Float32Array(x.mem.buffer, 0, CHUNK);
  const bytes = new Uint8Array(x.mem.buffer, BYTES_AT, CHUNK);
  const run = signed ? x.quantizeI8 : x.quantizeU8;
  const sb = floatBits(s);
  const bb = floatBits(b);
  for (let at = 0; at < n; at += CHUNK) {
    const k = Math.min(CHUNK, n - at);
    floats.set(X.subarray(from + at, from + at + k));
    run(0, BYTES_AT, k, sb, bb);
    O.set(bytes.subarray(0, k), to + at);
  }
  quantizeWasmRows.quantize++;
  return true;
}

/**
 * `dequantize` on one dense row: Q[from, from+n) (uint8, or int8 bits when `signed`) → O[to, to+n) as
 * floats. False (nothing written) without WebAssembly, for a scale or bias that is not finite, or where the
 * row's input and output share bytes.
 */
export function dequantizeRowWasm(
  Q: Uint8Array,
  from: number,
  O: Float32Array,
  to: number,
  n: number,
  s: number,
  b: number,
  signed: boolean,
): boolean {
  if (!Number.isFinite(s) || !Number.isFinite(b) || overlap(Q, from, n, O, 4 * to, 4 * n)) return false;
  const x = module.get();
  if (!x) return false;
  const bytes = new Uint8Array(x.mem.buffer, BYTES_AT, CHUNK);
  const floats = new Float32Array(x.mem.buffer, 0, CHUNK);
  const run = signed ? x.dequantizeI8 : x.dequantizeU8;
  const sb = floatBits(s);
  const bb = floatBits(b);
  for (let at = 0; at < n; at += CHUNK) {
    const k = Math.min(CHUNK, n - at);
    bytes.set(Q.subarray(from + at, from + at + k));
    run(BYTES_AT, 0, k, sb, bb);
    O.set(floats.subarray(0, k), to + at);
  }
  quantizeWasmRows.dequantize++;
  return true;
}
