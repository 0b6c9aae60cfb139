/** nncase 1.x `kernels::binary` over float32 with broadcasting (kmodel v5 BINARY). */
import { KpuFault } from '../../../errors.js';
import { cxxMax, cxxMin } from '../common.js';
import { alignStrides, floatElements, forEach3, inside, rows, view, type StridedTensor } from '../../v5/tensor.js';
import { clampF } from '../../v5/number-formats.js';
import { binaryRowWasm } from '../../wasm/binary-rows.js';

const f32 = Math.fround;
/** Rows at least this long try WebAssembly (src/kpu/wasm/binary-rows.ts); shorter ones cost more to copy. */
const WASM_ROW = 64;

export const BINARY_FUNCS: readonly ((a: number, b: number) => number)[] = [
  (a, b) => f32(a + b),
  (a, b) => f32(a - b),
  (a, b) => f32(a * b),
  (a, b) => f32(a / b),
  cxxMin,
  cxxMax,
  // powf: Math.pow is correctly rounded in double; rounding to float can differ from glibc's powf by 1 ulp.
  (a, b) => f32(a ** b),
];

/** Broadcast output shape (`get_binary_output_shape`). */
export function binaryOutputShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = i - (n - a.length) < 0 ? 1 : a[i - (n - a.length)];
    const db = i - (n - b.length) < 0 ? 1 : b[i - (n - b.length)];
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else throw new KpuFault('BAD_LAYER', `binary: shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast`);
  }
  return out;
}

/** Strides of a broadcast input on the output's rank: leading axes and size-1 axes get stride 0. */
function broadcastStrides(outShape: readonly number[], shape: readonly number[], strides: readonly number[]): number[] {
  const s = alignStrides(shape, strides);
  const ext = outShape.length - shape.length;
  return outShape.map((_, i) => (i < ext || shape[i - ext] === 1 ? 0 : s[i - ext]));
}

/** `kernels::binary` (reference, float32): out = clamp(op(a, b), low, high) with broadcasting. */
export function binary(
  op: number,
  a: StridedTensor,
  b: StridedTensor,
  output: StridedTensor,
  low: number,
  high: number,
): void {
  const fn = BINARY_FUNCS[op];
  if (!fn) throw new KpuFault('UNSUPPORTED', `binary op ${op} is not supported by nncase's reference binary kernel`);
  const outShape = binaryOutputShape(a.shape, b.shape);
  const sa = broadcastStrides(outShape, a.shape, a.strides);
  const sb = broadcastStrides(outShape, b.shape, b.strides);
  const so = alignStrides(outShape, output.strides);
  const fa = floatElements(a);
  const fb = floatElements(b);
  const fo = floatElements(output);
  const r = rows(outShape, [sa, sb, so]);
  if (fa && fb && fo && inside(r, 0, a, 4) && inside(r, 1, b, 4) && inside(r, 2, output, 4)) {
    const [x, y, o] = r.starts;
    const [lx, ly, lo] = r.steps;
    const row = BINARY_ROWS[op];
    const wasm = op <= 3 && lo === 1 && r.n >= WASM_ROW;
    for (let j = 0; j < r.count; j++) {
      const [ax, by, oz] = [fa.base + x[j], fb.base + y[j], fo.base + o[j]];
      if (wasm && binaryRowWasm(op, fa.a, ax, lx, fb.a, by, ly, fo.a, oz, r.n, low, high)) continue;
      row(fa.a, ax, lx, fb.a, by, ly, fo.a, oz, lo, r.n, low, high);
    }
    return;
  }
  const da = view(a);
  const db = view(b);
  const dout = view(output);
  const ab = a.offset;
  const bb = b.offset;
  const ob = output.offset;
  forEach3(outShape, sa, sb, so, (x, y, o) => {
    dout.setFloat32(
      ob + 4 * o,
      clampF(fn(da.getFloat32(ab + 4 * x, true), db.getFloat32(bb + 4 * y, true)), low, high),
      true,
    );
  });
}

/** One row of binary on typed arrays: a[x + k·lx] op b[y + k·ly] into out[o + k·lo], k < n, then the clamp. */
type BinaryRow = (
  A: Float32Array,
  x: number,
  lx: number,
  B: Float32Array,
  y: number,
  ly: number,
  O: Float32Array,
  o: number,
  lo: number,
  n: number,
  low: number,
  high: number,
) => void;

// The clamp is clampF's max(min(v, high), low) written out. `high * 1` is high: the product makes it a float inside the
// loop, where V8 would otherwise box every v of a conditional that mixes it with a parameter (seen in the loops it
// compiles on the fly for long rows). Each arithmetic op has its own row function: a call per element to a function
// V8 does not inline would box every result too.
const addRow: BinaryRow = (A, x, lx, B, y, ly, O, o, lo, n, low, high) => {
  for (let k = 0; k < n; k++) {
    const v = f32(A[x + k * lx] + B[y + k * ly]);
    const m = high < v ? high * 1 : v;
    O[o + k * lo] = m < low ? low * 1 : m;
  }
};
const subRow: BinaryRow = (A, x, lx, B, y, ly, O, o, lo, n, low, high) => {
  for (let k = 0; k < n; k++) {
    const v = f32(A[x + k * lx] - B[y + k * ly]);
    const m = high < v ? high * 1 : v;
    O[o + k * lo] = m < low ? low * 1 : m;
  }
};
const mulRow: BinaryRow = (A, x, lx, B, y, ly, O, o, lo, n, low, high) => {
  for (let k = 0; k < n; k++) {
    const v = f32(A[x + k * lx] * B[y + k * ly]);
    const m = high < v ? high * 1 : v;
    O[o + k * lo] = m < low ? low * 1 : m;
  }
};
const divRow: BinaryRow = (A, x, lx, B, y, ly, O, o, lo, n, low, high) => {
  for (let k = 0; k < n; k++) {
    const v = f32(A[x + k * lx] / B[y + k * ly]);
    const m = high < v ? high * 1 : v;
    O[o + k * lo] = m < low ? low * 1 : m;
  }
};

/** The row function of each op: the four above, and min, max and pow through BINARY_FUNCS. */
const BINARY_ROWS: readonly BinaryRow[] = BINARY_FUNCS.map(
  (fn, op) =>
    [addRow, subRow, mulRow, divRow][op] ??
    ((A, x, lx, B, y, ly, O, o, lo, n, low, high) => {
      for (let k = 0; k < n; k++) {
        const v = fn(A[x + k * lx], B[y + k * ly]);
        const m = high < v ? high * 1 : v;
        O[o + k * lo] = m < low ? low * 1 : m;
      }
    }),
);
