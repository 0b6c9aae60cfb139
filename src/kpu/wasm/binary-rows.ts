/**
 * nncase 1.x BINARY (src/kpu/ops/v5/binary.ts) add, sub, mul and div on float32 rows in WebAssembly SIMD,
 * 4 elements a step, for the dense rows of the common shapes: both operands dense, or one of them a single
 * broadcast value. As for QUANTIZE (./quantize.ts), float32 lanes give the bits JavaScript's doubles rounded
 * by `Math.fround` give for these four operations, and the fused clamp `max(min(v, high), low)` (std::min and
 * std::max: the first argument wins ties and NaNs) is `pmax(pmin(v, high), low)`. A row whose operands or
 * results hold a NaN is left to JavaScript (the kernel reports it and the caller runs its own row), so no NaN's
 * bits depend on this path.
 *
 * Compiled on first use (./row-module.ts); its memory has a fixed size, rows go through it in chunks.
 */
import { floatBits, rowModule } from './row-module.js';
import { Label, Module, block, brIf, get, i32, i32x4, f32x4, loop, set, v128, type Expr } from './asm.js';

/** Elements per call: the memory holds a chunk of each operand and of the output. */
const CHUNK = 1 << 14;
const A_AT = 0;
const B_AT = 4 * CHUNK;
const O_AT = 8 * CHUNK;
const PAGES = Math.ceil((12 * CHUNK + 64) / 65536);

const OPS = ['add', 'sub', 'mul', 'div'] as const;
/** Operand shapes: both dense, b one value, a one value. */
const FORMS = ['vv', 'vs', 'sv'] as const;

function buildBinaryModule(): Uint8Array {
  const m = new Module();
  const params: [string, 'i32'][] = [
    ['n', 'i32'],
    ['low', 'i32'],
    ['high', 'i32'],
  ];
  OPS.forEach((op) => {
    for (const form of FORMS) {
      // n elements of a (A_AT) op b (B_AT) into O_AT, clamped; returns nonzero when an operand or result is NaN
      m.func(`${op}_${form}`, params, 'i32', (f) => {
        const [n, low, high] = params.map(([p]) => f.param(p));
        const at = f.local('i32', 'at');
        const end = f.local('i32', 'end');
        const lo = f.local('v128', 'lo');
        const hi = f.local('v128', 'hi');
        const x = f.local('v128', 'x');
        const y = f.local('v128', 'y');
        const v = f.local('v128', 'v');
        const nan = f.local('v128', 'nan');
        const top = new Label('top');
        const done = new Label('done');
        const opf = f32x4[op];
        const isNan = (e: Expr): Expr => f32x4.ne(e, e);
        return [
          set(lo, i32x4.splat(get(low))),
          set(hi, i32x4.splat(get(high))),
          set(nan, v128.const(new Array(16).fill(0))),
          set(x, v128.load32_splat(i32.const(A_AT))),
          set(y, v128.load32_splat(i32.const(B_AT))),
          set(end, i32.mul(get(n), i32.const(4))),
          set(at, i32.const(0)),
          block(
            done,
            brIf(done, i32.ge_s(get(at), get(end))),
            loop(
              top,
              ...(form === 'sv' ? [] : [set(x, v128.load(get(at), A_AT))]),
              ...(form === 'vs' ? [] : [set(y, v128.load(get(at), B_AT))]),
              set(v, opf(get(x), get(y))),
              set(nan, v128.or(get(nan), v128.or(v128.or(isNan(get(x)), isNan(get(y))), isNan(get(v))))),
              v128.store(get(at), f32x4.pmax(f32x4.pmin(get(v), get(hi)), get(lo)), O_AT),
              set(at, i32.add(get(at), i32.const(16))),
              brIf(top, i32.lt_s(get(at), get(end))),
            ),
          ),
          v128.any_true(get(nan)),
        ];
      });
    }
  });
  return m.assemble(PAGES);
}

type Kernel = (n: number, low: number, high: number) => number;
interface BinaryExports {
  readonly mem: { readonly buffer: ArrayBuffer };
  readonly [name: string]: unknown;
}

const module = rowModule<BinaryExports>(buildBinaryModule);
/** Rows the WebAssembly kernels have done in this thread, and rows they handed back for a NaN (for tests). */
export const binaryWasmRows = { done: 0, nan: 0 };

/** Turns the WebAssembly rows off (false) or on; returns the previous setting. For tests that compare the two. */
export const useWasmBinary = (on: boolean): boolean => module.use(on);

/**
 * One row of `binary` for op 0..3 (add, sub, mul, div): out[o + k] = clamp(a[x + k·lx] op b[y + k·ly]) for
 * k < n, with lx, ly each 1 (dense) or 0 (one value), not both 0. False when this is not such a row, without
 * WebAssembly, when the output overlaps an operand other than exactly, when the clamp's ends are not float32
 * values, or when an operand or result is NaN: the caller then runs its own row, which writes every element of
 * it (where the output is an operand, nothing has been written here).
 */
export function binaryRowWasm(
  op: number,
  A: Float32Array,
  x: number,
  lx: number,
  B: Float32Array,
  y: number,
  ly: number,
  O: Float32Array,
  o: number,
  n: number,
  low: number,
  high: number,
): boolean {
  if (op < 0 || op > 3 || (lx !== 0 && lx !== 1) || (ly !== 0 && ly !== 1) || lx + ly === 0) return false;
  if (Math.fround(low) !== low || Math.fround(high) !== high) return false;
  const overlaps = (S: Float32Array, s: number, ls: number): boolean => {
    if (S.buffer !== O.buffer) return false;
    const sFrom = S.byteOffset + 4 * s;
    const sTo = sFrom + 4 * (ls ? n : 1);
    const oFrom = O.byteOffset + 4 * o;
    const oTo = oFrom + 4 * n;
    return sFrom < oTo && oFrom < sTo && !(ls === 1 && sFrom === oFrom);
  };
  if (overlaps(A, x, lx) || overlaps(B, y, ly)) return false;
  const w = module.get();
  if (!w) return false;
  const run = w[`${OPS[op]}_${lx ? (ly ? 'vv' : 'vs') : 'sv'}`] as Kernel;
  const f = new Float32Array(w.mem.buffer);
  const lb = floatBits(low);
  const hb = floatBits(high);
  // Where the output is an operand, the results wait until every chunk is known to be free of NaN (the
  // caller's row then reads the operands as they were); elsewhere a chunk's results go straight out.
  const aliased = O.buffer === A.buffer || O.buffer === B.buffer;
  const out = aliased ? new Float32Array(n) : O.subarray(o, o + n);
  for (let at = 0; at < n; at += CHUNK) {
    const k = Math.min(CHUNK, n - at);
    const k4 = (k + 3) & ~3;
    if (lx) {
      f.set(A.subarray(x + at, x + at + k), A_AT / 4);
      f.fill(1, A_AT / 4 + k, A_AT / 4 + k4); // lanes past the row: 1 op 1 is never NaN
    } else f[A_AT / 4] = A[x];
    if (ly) {
      f.set(B.subarray(y + at, y + at + k), B_AT / 4);
      f.fill(1, B_AT / 4 + k, B_AT / 4 + k4);
    } else f[B_AT / 4] = B[y];
    if (run(k, lb, hb)) {
      binaryWasmRows.nan++;
      return false;
    }
    out.set(f.subarray(O_AT / 4, O_AT / 4 + k), at);
  }
  if (aliased) O.set(out, o);
  binaryWasmRows.done++;
  return true;
}
