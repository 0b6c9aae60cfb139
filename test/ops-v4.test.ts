// v4 neutral ops (nncase 0.2 semantics, kpu-numerics §7.2, §7.3 and §10). Expected values are
// derived by hand in the comments, not from the code under test.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KpuFault } from '../src/errors.js';
import { Lcg } from './lcg.js';
import {
  binary,
  BinaryOp,
  concat,
  conv2d,
  conv2dTranspose,
  decodeNnil,
  dequantize,
  FLT_MAX,
  matmul,
  memoryCopy,
  nnilUnaryMethod,
  pad,
  padOutputShape,
  padReference,
  quantize,
  quantizedBinary,
  quantizedBinaryKernel,
  quantizedConv2d,
  quantizedMatmul,
  reduce,
  ReduceOp,
  reduceWindow2d,
  resizeBilinear,
  resizeImage,
  resizeNearestNeighbor,
  ResizeMode,
  resolveStridedSlice,
  softmax,
  stridedSlice,
  stridedSliceOutputShape,
  tableLookup1d,
  transpose,
  transposeOutputShape,
  unary,
  UnaryOp,
  type Padding,
  type QuantizedBinaryParams,
  type Window2d,
} from '../src/kpu/ops/index.js';

const f32 = Math.fround;
const F = (xs: number[]): Float32Array => Float32Array.from(xs);
const U = (xs: number[]): Uint8Array => Uint8Array.from(xs);
const arr = (x: ArrayLike<number>): number[] => Array.from(x);
const THIRD = 11184811 / 2 ** 25; // fround(1/3)
const P0: Padding = { before: 0, after: 0 };
const win = (w: Partial<Window2d>): Window2d => ({
  filterH: 1,
  filterW: 1,
  strideH: 1,
  strideW: 1,
  dilationH: 1,
  dilationW: 1,
  paddingH: P0,
  paddingW: P0,
  ...w,
});

describe('binary (0x00)', () => {
  it('broadcasts 4-D shapes', () => {
    // a 1×2×1×3, b 1×1×2×1 → out 1×2×2×3 with out[c][h][w] = a[c][w] + b[h]
    const out = new Float32Array(12);
    binary(
      F([0, 1, 2, 10, 11, 12]),
      F([100, 200]),
      out,
      [1, 2, 1, 3],
      [1, 1, 2, 1],
      [1, 2, 2, 3],
      BinaryOp.Add,
      -FLT_MAX,
      FLT_MAX,
    );
    expect(arr(out)).toEqual([100, 101, 102, 200, 201, 202, 110, 111, 112, 210, 211, 212]);
    binary(
      F([0, 1, 2, 10, 11, 12]),
      F([100, 200]),
      out,
      [1, 2, 1, 3],
      [1, 1, 2, 1],
      [1, 2, 2, 3],
      BinaryOp.Add,
      105,
      205,
    );
    expect(arr(out)).toEqual([105, 105, 105, 200, 201, 202, 110, 111, 112, 205, 205, 205]);
  });
  it('follows std::min/std::max with NaN and float32 division', () => {
    const out = new Float32Array(2);
    binary(F([NaN, 1]), F([1, NaN]), out, [1, 1, 1, 2], [1, 1, 1, 2], [1, 1, 1, 2], BinaryOp.Min, -Infinity, Infinity);
    // std::min(a, b) = b < a ? b : a: min(NaN, 1) = NaN, min(1, NaN) = 1
    expect(out[0]).toBeNaN();
    expect(out[1]).toBe(1);
    binary(F([1, 1]), F([3, 0]), out, [1, 1, 1, 2], [1, 1, 1, 2], [1, 1, 1, 2], BinaryOp.Div, -FLT_MAX, FLT_MAX);
    // 1/3 → fround; 1/0 = ∞, then clamped to FLT_MAX by the (full-range) fused clamp
    expect(arr(out)).toEqual([THIRD, FLT_MAX]);
  });
});

describe('quantized_binary (0x11)', () => {
  const id: QuantizedBinaryParams = {
    inputAOffset: -100,
    inputAMul: 1,
    inputAShift: 0,
    inputBOffset: -100,
    inputBMul: 1,
    inputBShift: 0,
    outputOffset: 128,
    outputMul: 1,
    outputShift: 0,
  };
  it('divides with (a′ + b′/2) / b′, truncating (C1), and defines b′ = 0 as −1', () => {
    // a′ = a − 100, b′ = b − 100:
    //  7 / 2: (7 + 1)/2 = 4;  −7 / 2: (−7 + 1)/2 = −3 (trunc);  5 / −2: (5 − 1)/−2 = −2;  9 / 0: −1 (RISC-V)
    const out = new Uint8Array(4);
    const s = [1, 1, 1, 4];
    quantizedBinary(U([107, 93, 105, 109]), U([102, 102, 98, 100]), out, s, s, s, BinaryOp.Div, id);
    expect(arr(out)).toEqual([132, 125, 126, 127]);
  });
  it('rounds the output mcs half up, also for negative values', () => {
    // sub with b′ = 0, then mcs(v, 1, 1) = (v + 1) >> 1:
    //  −3 → −1, −5 → −2, 3 → 2, 5 → 3, −1 → 0 (banker's would give −2, −2, 2, 2, 0)
    const out = new Uint8Array(5);
    const s = [1, 1, 1, 5];
    quantizedBinary(U([97, 95, 103, 105, 99]), U([100, 100, 100, 100, 100]), out, s, s, s, BinaryOp.Sub, {
      ...id,
      outputShift: 1,
    });
    expect(arr(out)).toEqual([127, 126, 130, 131, 128]);
  });
  it('applies the input mcs before the op and clamps', () => {
    // a′ = mcs(a − 100, 3, 1) = (3(a − 100) + 1) >> 1: a = 101 → 2; b′ = mcs(b − 100, 1, 0)
    // add: 2 + 5 = 7; × out_mul 2 → 14; + 128 = 142; with offset 250 → 255
    const out = new Uint8Array(1);
    const s = [1, 1, 1, 1];
    const p = { ...id, inputAMul: 3, inputAShift: 1, outputMul: 2 };
    quantizedBinary(U([101]), U([105]), out, s, s, s, BinaryOp.Add, p);
    expect(out[0]).toBe(142);
    quantizedBinary(U([101]), U([105]), out, s, s, s, BinaryOp.Add, { ...p, outputOffset: 250 });
    expect(out[0]).toBe(255);
  });
  it('broadcasts', () => {
    const out = new Uint8Array(4);
    const p = { ...id, inputAOffset: 0, inputBOffset: 0, outputOffset: 0 };
    quantizedBinary(U([1, 2]), U([10, 20]), out, [1, 1, 1, 2], [1, 1, 2, 1], [1, 1, 2, 2], BinaryOp.Add, p);
    expect(arr(out)).toEqual([11, 12, 21, 22]);
    quantizedBinary(U([1, 25]), U([10, 20]), out, [1, 1, 1, 2], [1, 1, 2, 1], [1, 1, 2, 2], BinaryOp.Max, p);
    expect(arr(out)).toEqual([10, 25, 20, 25]);
  });
  // an int64 (BigInt) statement of the op: mcs(v, m, s) = int32((v·m + 2^(s−1)) >> s), shifts by
  // their amount mod 64 as on x86/RISC-V; the op in int32
  const mcs = (v: number, m: number, sh: number): number => {
    const s = sh & 0xff;
    let q = BigInt(v) * BigInt(m);
    if (s > 0) q = BigInt.asIntN(64, q + BigInt.asIntN(64, 1n << BigInt((s - 1) & 63))) >> BigInt(s & 63);
    return Number(BigInt.asIntN(32, q));
  };
  const ops: Record<number, (a: number, b: number) => number> = {
    [BinaryOp.Add]: (a, b) => (a + b) | 0,
    [BinaryOp.Sub]: (a, b) => (a - b) | 0,
    [BinaryOp.Mul]: (a, b) => Number(BigInt.asIntN(32, BigInt(a) * BigInt(b))),
    [BinaryOp.Div]: (a, b) => (b === 0 ? -1 : Math.trunc(((a + Math.trunc(b / 2)) | 0) / b) | 0),
    [BinaryOp.Min]: Math.min,
    [BinaryOp.Max]: Math.max,
  };
  const spec = (op: number, p: QuantizedBinaryParams, x: number, y: number): number => {
    const a = mcs(x + p.inputAOffset, p.inputAMul, p.inputAShift);
    const b = mcs(y + p.inputBOffset, p.inputBMul, p.inputBShift);
    const v = (mcs(ops[op]!(a, b), p.outputMul, p.outputShift) + p.outputOffset) | 0; // int32, wrapping
    return Math.max(0, Math.min(255, v));
  };
  const i32 = fc.integer({ min: -2147483648, max: 2147483647 });
  const small = fc.integer({ min: -300, max: 300 });
  const shift = fc.integer({ min: 0, max: 70 });
  const anyOp = fc.constantFrom(...Object.keys(ops).map(Number));
  const anyParams = fc.record({
    inputAOffset: small,
    inputAMul: fc.oneof(i32, small),
    inputAShift: shift,
    inputBOffset: small,
    inputBMul: fc.oneof(i32, small),
    inputBShift: shift,
    outputOffset: small,
    outputMul: fc.oneof(i32, small),
    outputShift: shift,
  });
  it('matches an int64 (BigInt) statement of the op for any parameters', () => {
    fc.assert(
      fc.property(anyOp, anyParams, fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(255), (op, p, xs, salt) => {
        const ys = xs.map((x, i) => (x * 31 + i * 7 + salt) & 255);
        const s = [1, 1, 1, xs.length];
        const out = new Uint8Array(xs.length);
        quantizedBinary(xs, ys, out, s, s, s, op, p);
        return arr(out).every((o, i) => o === spec(op, p, xs[i]!, ys[i]!));
      }),
      { numRuns: 3000 },
    );
  });
  it('a prepared kernel gives the same over runs, reading the byte pairs it met before from its table', () => {
    const n = 2048;
    const s = [1, 2, 32, 32];
    fc.assert(
      fc.property(anyOp, anyParams, fc.nat(255), (op, p, salt) => {
        const run = quantizedBinaryKernel(s, s, s, op, p);
        return [0, 1, 2].every((r) => {
          // every byte pair over the runs: x = i & 255, y = i >> 3 scrambled per run
          const xs = Uint8Array.from({ length: n }, (_, i) => (i + r * 85) & 255);
          const ys = Uint8Array.from({ length: n }, (_, i) => ((i >> 3) * 97 + salt + r) & 255);
          const out = new Uint8Array(n);
          run(xs, ys, out);
          return arr(out).every((o, i) => o === spec(op, p, xs[i]!, ys[i]!));
        });
      }),
      { numRuns: 60 },
    );
  });
});

describe('quantize (0x06)', () => {
  it('golden uses roundf (ties away from zero)', () => {
    const out = new Uint8Array(5);
    quantize(F([0.5, 1.5, 2.5, 3.5, 4.5]), out, 1, 0, 'golden');
    expect(arr(out)).toEqual([1, 2, 3, 4, 5]);
  });
  it('board rounds pairs to even and the odd last element with roundf', () => {
    const out4 = new Uint8Array(4);
    quantize(F([0.5, 1.5, 2.5, 3.5]), out4, 1, 0, 'board');
    expect(arr(out4)).toEqual([0, 2, 2, 4]);
    const out5 = new Uint8Array(5);
    quantize(F([0.5, 1.5, 2.5, 3.5, 4.5]), out5, 1, 0, 'board');
    expect(arr(out5)).toEqual([0, 2, 2, 4, 5]); // 4.5 is the odd last one → roundf → 5
  });
  it('computes x·scale + zero_point and clamps', () => {
    const g = new Uint8Array(4);
    const b = new Uint8Array(4);
    // 1.25·2 + 10 = 12.5 → golden 13, board (pair, to even) 12; 200·2 + 10 → 255; −20·2 + 10 → 0
    quantize(F([1.25, 200, -20, NaN]), g, 2, 10, 'golden');
    quantize(F([1.25, 200, -20, NaN]), b, 2, 10, 'board');
    expect(arr(g)).toEqual([13, 255, 0, 0]); // NaN → INT32_MIN (x86) → 0
    expect(arr(b)).toEqual([12, 255, 0, 255]); // NaN → INT32_MAX (fcvt) → 255
  });
});

describe('dequantize (0x03)', () => {
  it('golden multiplies (q − zp) by 1/scale (not a division)', () => {
    // scale 3 (quanta per unit), zp 0, q = 5: 5·fround(1/3) = 55924055/2^25 → ulp 2^-23:
    // 13981013.75 → 13981014/2^23. A division 5/3 would give 13981013/2^23.
    const out = new Float32Array(1);
    dequantize(U([5]), out, 3, 0, 'golden');
    expect(out[0]).toBe(13981014 / 2 ** 23);
  });
  it('board computes q·(1/scale) + (−zp·(1/scale)), fused', () => {
    // scale 3, zp 3, q = 4. d = 11184811/2^25.
    // golden: (4 − 3)·d = d = 11184811/2^25.
    // board: z = fround(−3d) = fround(−(1 + 2^-25)) = −1; fma(4, d, −1) = 44739244/2^25 − 1 = 11184812/2^25.
    const g = new Float32Array(1);
    const b = new Float32Array(1);
    dequantize(U([4]), g, 3, 3, 'golden');
    dequantize(U([4]), b, 3, 3, 'board');
    expect(g[0]).toBe(11184811 / 2 ** 25);
    expect(b[0]).toBe(11184812 / 2 ** 25);
  });
});

describe('reduce (0x07)', () => {
  it('mean multiplies the sum by out_count/in_count (C2), which differs from dividing', () => {
    // sum 1 + 2 + 2 = 5; mul = fround(1/3) = 11184811/2^25; 5·mul = 55924055/2^25 → 13981014/2^23.
    // 5/3 in float would be 13981013/2^23.
    const out = new Float32Array(1);
    reduce(F([1, 2, 2]), out, [1, 1, 1, 3], [1, 1, 1, 1], ReduceOp.Mean, 0);
    expect(out[0]).toBe(13981014 / 2 ** 23);
  });
  it('reduces the size-1 axes of out_shape starting from init_value', () => {
    const out = new Float32Array(2);
    // in 1×2×1×2 = [[1, 2], [3, 4]] reduced over C → out 1×1×1×2
    reduce(F([1, 2, 3, 4]), out, [1, 2, 1, 2], [1, 1, 1, 2], ReduceOp.Sum, 0);
    expect(arr(out)).toEqual([4, 6]);
    reduce(F([1, 2, 3, 4]), out, [1, 2, 1, 2], [1, 1, 1, 2], ReduceOp.Max, -Infinity);
    expect(arr(out)).toEqual([3, 4]);
    reduce(F([1, 2, 3, 4]), out, [1, 2, 1, 2], [1, 1, 1, 2], ReduceOp.Min, 0); // init 0 wins
    expect(arr(out)).toEqual([0, 0]);
    reduce(F([1, 2, 3, 4]), out, [1, 2, 1, 2], [1, 1, 1, 2], ReduceOp.Mean, 0); // (4, 6)·fround(2/4)
    expect(arr(out)).toEqual([2, 3]);
  });
});

describe('reduce_window2d (0x08)', () => {
  // 1×1×3×3 input 1..9; 2×2 window, stride 2, padding 1 before: out 2×2 (= (3 + 1 − 2 + 2)/2);
  // windows: {1}, {2, 3}, {4, 7}, {5, 6, 8, 9}
  const w = win({
    filterH: 2,
    filterW: 2,
    strideH: 2,
    strideW: 2,
    paddingH: { before: 1, after: 0 },
    paddingW: { before: 1, after: 0 },
  });
  const src = F([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  it('mean divides by the count of valid taps', () => {
    const out = new Float32Array(4);
    reduceWindow2d(src, out, [1, 1, 3, 3], ReduceOp.Mean, 0, w, -FLT_MAX, FLT_MAX);
    expect(arr(out)).toEqual([1, 2.5, 5.5, 7]);
  });
  it('max with a fused clamp', () => {
    const out = new Float32Array(4);
    reduceWindow2d(src, out, [1, 1, 3, 3], ReduceOp.Max, -Infinity, w, 2, 8);
    expect(arr(out)).toEqual([2, 3, 7, 8]);
  });
  it('dilation', () => {
    // 1×5 [1..5], filter 2 with dilation 2 (span 3), stride 1: out 3 = sums {1,3}, {2,4}, {3,5}
    const out = new Float32Array(3);
    reduceWindow2d(
      F([1, 2, 3, 4, 5]),
      out,
      [1, 1, 1, 5],
      ReduceOp.Sum,
      0,
      win({ filterW: 2, dilationW: 2 }),
      -FLT_MAX,
      FLT_MAX,
    );
    expect(arr(out)).toEqual([4, 6, 8]);
  });
});

describe('memory_copy (0x09) and table_lookup1d (0x12)', () => {
  it('memory_copy copies whole floats only, like the reference span<float>', () => {
    const dst = new Uint8Array(6);
    memoryCopy(U([1, 2, 3, 4, 5, 6]), dst);
    expect(arr(dst)).toEqual([1, 2, 3, 4, 0, 0]);
  });
  it('table_lookup1d', () => {
    const table = Uint8Array.from({ length: 256 }, (_, i) => (i * 3) & 255);
    const out = new Uint8Array(3);
    tableLookup1d(U([0, 1, 100]), out, table);
    expect(arr(out)).toEqual([0, 3, 44]); // 300 & 255 = 44
  });
});

describe('resize_image (0x0A)', () => {
  it('bilinear truncates the uint8 result', () => {
    // 1×2 [0, 7] → 1×4, scale 0.5: x = 0, 0.5, 1, 1.5 → 0, 0·0.5 + 7·0.5 = 3.5, 7, x1 clamped: 7·0.5 + 7·0.5
    const q = new Uint8Array(4);
    resizeBilinear(U([0, 7]), q, [1, 1, 1, 2], 1, 4, false, 'golden');
    expect(arr(q)).toEqual([0, 3, 7, 7]);
    const f = new Float32Array(4);
    resizeBilinear(F([0, 7]), f, [1, 1, 1, 2], 1, 4, false, 'golden');
    expect(arr(f)).toEqual([0, 3.5, 7, 7]);
  });
  it('bilinear with align_corners uses (in − 1)/(out − 1)', () => {
    // 2×2 [[0, 10], [20, 30]] → 3×3, scale 0.5 both ways
    const out = new Uint8Array(9);
    resizeImage(U([0, 10, 20, 30]), out, [1, 1, 2, 2], 3, 3, ResizeMode.Bilinear, true, 'golden');
    expect(arr(out)).toEqual([0, 5, 10, 10, 15, 20, 20, 25, 30]);
    const q = new Uint8Array(3);
    resizeBilinear(U([0, 7]), q, [1, 1, 1, 2], 1, 3, true, 'golden'); // x = 0, 0.5, 1 → 0, 3.5 → 3, 7
    expect(arr(q)).toEqual([0, 3, 7]);
  });
  it('nearest neighbour', () => {
    const out = new Float32Array(8);
    resizeNearestNeighbor(F([1, 2, 3, 4]), out, [1, 1, 2, 2], 2, 4); // scale 0.5 on x: 0 0 1 1
    expect(arr(out)).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
    const q = new Uint8Array(2);
    resizeImage(U([5, 6, 7]), q, [1, 1, 1, 3], 1, 2, ResizeMode.NearestNeighbor, false, 'golden'); // scale 1.5: 0, 1
    expect(arr(q)).toEqual([5, 6]);
  });
});

describe('softmax (0x0B)', () => {
  it('subtracts the true max (unlike v3) and applies beta', () => {
    const out = new Float32Array(4);
    // outer 2 × inner 2. Row 0: [−200, −201] → e = [1, expf(−1)]. Row 1 with beta 1: [0, 1] → [expf(−1), 1].
    softmax(F([-200, -201, 0, 1]), out, 1, 2, 2);
    const e = f32(Math.exp(-1));
    const s = f32(1 + e);
    expect(arr(out)).toEqual([f32(1 / s), f32(e / s), f32(e / s), f32(1 / s)]);
    const b = new Float32Array(2);
    softmax(F([0, 1]), b, 2, 1, 2); // (x − 1)·2 → e = [expf(−2), 1]
    const e2 = f32(Math.exp(-2));
    const s2 = f32(e2 + 1);
    expect(arr(b)).toEqual([f32(e2 / s2), f32(1 / s2)]);
  });
});

describe('transpose (0x0C)', () => {
  it('permutes NCHW to NHWC', () => {
    // in 1×2×3×1: c0 = [1, 2, 3], c1 = [4, 5, 6]; perm (0, 2, 3, 1) → 1×3×1×2: out[h][c] = in[c][h]
    expect(transposeOutputShape([1, 2, 3, 1], [0, 2, 3, 1])).toEqual([1, 3, 1, 2]);
    const out = new Uint8Array(6);
    transpose(U([1, 2, 3, 4, 5, 6]), out, 1, [1, 2, 3, 1], [0, 2, 3, 1]);
    expect(arr(out)).toEqual([1, 4, 2, 5, 3, 6]);
  });
  it('transposing back with the inverse permutation is the identity (any element size)', () => {
    const perm = fc.shuffledSubarray([0, 1, 2, 3], { minLength: 4, maxLength: 4 });
    const dim = fc.integer({ min: 1, max: 4 });
    fc.assert(
      fc.property(
        fc.tuple(dim, dim, dim, dim),
        perm,
        fc.constantFrom(1, 2, 4),
        fc.integer({ min: 0, max: 1e6 }),
        (shape, p, eb, seed) => {
          const n = shape.reduce((x, y) => x * y, 1) * eb;
          const src = Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);
          const mid = new Uint8Array(n);
          const back = new Uint8Array(n);
          transpose(src, mid, eb, shape, p);
          const inv = [0, 0, 0, 0];
          p.forEach((axis, i) => (inv[axis] = i));
          transpose(mid, back, eb, transposeOutputShape(shape, p), inv);
          return back.every((v, i) => v === src[i]);
        },
      ),
    );
  });
});

describe('strided_slice (0x0D)', () => {
  const src = U([0, 1, 2, 3, 4, 5]); // 1×1×1×6
  const S = [1, 1, 1, 6];
  it('resolves begin/end masks and negative indices like the compiler', () => {
    // begin_mask on all axes, end_mask on all axes, stride −2 on W: begin W = 6 − 1 = 5, end W = −1
    const r = resolveStridedSlice(S, [0, 0, 0, -1], [0, 0, 0, 0], [1, 1, 1, -2], {
      beginMask: 0b1111,
      endMask: 0b1111,
      shrinkAxisMask: 0,
    });
    expect(r).toEqual({ begin: [0, 0, 0, 5], end: [1, 1, 1, -1] });
    expect(stridedSliceOutputShape(r.begin, r.end, [1, 1, 1, -2])).toEqual([1, 1, 1, 3]);
    const out = new Uint8Array(3);
    stridedSlice(src, out, 1, S, r.begin, r.end, [1, 1, 1, -2]); // 5, 3, 1
    expect(arr(out)).toEqual([5, 3, 1]);
  });
  it('negative end without mask, and shrink_axis', () => {
    const r = resolveStridedSlice(S, [0, 0, 0, 1], [1, 1, 1, -1], [1, 1, 1, 1], {
      beginMask: 0,
      endMask: 0,
      shrinkAxisMask: 0,
    });
    expect(r.end).toEqual([1, 1, 1, 5]);
    const out = new Uint8Array(4);
    stridedSlice(src, out, 1, S, r.begin, r.end, [1, 1, 1, 1]);
    expect(arr(out)).toEqual([1, 2, 3, 4]);
    const s = resolveStridedSlice(S, [0, 0, 0, 2], [1, 1, 1, 6], [1, 1, 1, 1], {
      beginMask: 0,
      endMask: 0,
      shrinkAxisMask: 0b1000,
    });
    expect(s.end).toEqual([1, 1, 1, 3]); // end = begin + 1
  });
  it('runs stored (already normalised) bodies as they are: end −1 with a negative stride', () => {
    const out = new Uint8Array(6);
    stridedSlice(src, out, 1, S, [0, 0, 0, 5], [1, 1, 1, -1], [1, 1, 1, -1]);
    expect(arr(out)).toEqual([5, 4, 3, 2, 1, 0]);
  });
  it('strides over 2-byte elements on two axes', () => {
    // 1×1×2×3 of u16 LE values v(h, w) = 10h + w; take h = 1, w = 0 and 2
    const bytes = new Uint8Array(12);
    const dv = new DataView(bytes.buffer);
    for (let h = 0; h < 2; h++) for (let w = 0; w < 3; w++) dv.setUint16((h * 3 + w) * 2, 10 * h + w, true);
    const out = new Uint8Array(4);
    stridedSlice(bytes, out, 2, [1, 1, 2, 3], [0, 0, 1, 0], [1, 1, 2, 3], [1, 1, 1, 2]);
    expect(arr(new Uint16Array(out.buffer))).toEqual([10, 12]);
  });
});

describe('pad (0x05)', () => {
  it('negative paddings crop (C8)', () => {
    // 3×3 input 1..9, H (0, −1), W (−1, 1), pad byte 0xAA → 2×3: rows 0..1, columns 1..2 then a pad column
    const p: Padding[] = [P0, P0, { before: 0, after: -1 }, { before: -1, after: 1 }];
    expect(padOutputShape([1, 1, 3, 3], p)).toEqual([1, 1, 2, 3]);
    const out = new Uint8Array(6);
    pad(U([1, 2, 3, 4, 5, 6, 7, 8, 9]), out, 1, [1, 1, 3, 3], p, [0xaa, 0, 0, 0]);
    expect(arr(out)).toEqual([2, 3, 0xaa, 5, 6, 0xaa]);
  });
  it('reinterprets the scalar storage as the tensor element type', () => {
    // storage bytes of 1.0f = 00 00 80 3F: a float tensor pads with 1.0, a uint8 tensor with byte 0x00
    const storage = [0x00, 0x00, 0x80, 0x3f];
    const p: Padding[] = [P0, P0, P0, { before: 1, after: 0 }];
    const fOut = new Uint8Array(8);
    pad(new Uint8Array(F([2.5]).buffer), fOut, 4, [1, 1, 1, 1], p, storage);
    expect(arr(new Float32Array(fOut.buffer))).toEqual([1, 2.5]);
    const qOut = new Uint8Array(2);
    pad(U([9]), qOut, 1, [1, 1, 1, 1], p, storage);
    expect(arr(qOut)).toEqual([0, 9]);
  });
  it('pads on every axis', () => {
    const p: Padding[] = [{ before: 1, after: 0 }, P0, { before: 0, after: 1 }, P0];
    const out = new Uint8Array(4); // 2×1×2×1
    pad(U([7]), out, 1, [1, 1, 1, 1], p, [3, 0, 0, 0]);
    expect(arr(out)).toEqual([3, 3, 7, 3]);
  });
  it('the row-at-a-time pad gives the element loop’s bytes (any paddings, element sizes, wide rows)', () => {
    const pd = fc.record({ before: fc.integer({ min: -3, max: 4 }), after: fc.integer({ min: -3, max: 4 }) });
    fc.assert(
      fc.property(
        fc.tuple(
          fc.integer({ min: 1, max: 2 }),
          fc.integer({ min: 1, max: 3 }),
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 1, max: 90 }),
        ),
        fc.tuple(pd, pd, pd, pd),
        fc.constantFrom(1, 2, 4),
        fc.integer(),
        (shape, pads, eb, seed) => {
          const out = padOutputShape(shape, pads);
          fc.pre(out.every((d) => d > 0));
          const src = new Lcg(seed >>> 0 || 1).bytes(shape.reduce((x, y) => x * y, 1) * eb);
          const size = out.reduce((x, y) => x * y, 1) * eb;
          const got = new Uint8Array(size).fill(0x55);
          const want = got.slice();
          pad(src, got, eb, shape, pads, [0xfe, 0xfd, 0xfc, 0xfb]);
          padReference(src, want, eb, shape, pads, [0xfe, 0xfd, 0xfc, 0xfb]);
          expect(Buffer.compare(got, want)).toBe(0);
        },
      ),
      { seed: 505, numRuns: 400 },
    );
  });
  it('pad then crop with the negated paddings is the identity', () => {
    const dim = fc.integer({ min: 1, max: 3 });
    const pd = fc.record({ before: fc.integer({ min: 0, max: 2 }), after: fc.integer({ min: 0, max: 2 }) });
    fc.assert(
      fc.property(
        fc.tuple(dim, dim, dim, dim),
        fc.tuple(pd, pd, pd, pd),
        fc.constantFrom(1, 2, 4),
        (shape, pads, eb) => {
          const n = shape.reduce((x, y) => x * y, 1) * eb;
          const src = Uint8Array.from({ length: n }, (_, i) => (i * 7 + 1) & 255);
          const mid = padOutputShape(shape, pads);
          const padded = new Uint8Array(mid.reduce((x, y) => x * y, 1) * eb);
          pad(src, padded, eb, shape, pads, [0xfe, 0xfd, 0xfc, 0xfb]);
          const back = new Uint8Array(n);
          const neg = pads.map((q) => ({ before: -q.before, after: -q.after }));
          pad(padded, back, eb, mid, neg, [0, 0, 0, 0]);
          return back.every((v, i) => v === src[i]);
        },
      ),
    );
  });
});

describe('concat (0x01)', () => {
  it('interleaves inputs per outer index', () => {
    // outer 2; input a has dims 1, input b dims 2; inner 1 byte
    const out = new Uint8Array(6);
    concat([U([1, 2]), U([3, 4, 5, 6])], out, [1, 2], 1, 2);
    expect(arr(out)).toEqual([1, 3, 4, 2, 5, 6]);
  });
});

describe('unary (0x0E)', () => {
  it('computes each op in float32', () => {
    const src = F([4, -1.5, 0.25]);
    const out = new Float32Array(3);
    const run = (op: number): number[] => (unary(src, out, op), arr(out));
    expect(run(UnaryOp.Rsqrt)).toEqual([0.5, NaN, 2]);
    expect(run(UnaryOp.Square)).toEqual([16, 2.25, 0.0625]);
    expect(run(UnaryOp.Abs)).toEqual([4, 1.5, 0.25]);
    expect(run(UnaryOp.Floor)).toEqual([4, -2, 0]);
    expect(run(UnaryOp.Ceil)).toEqual([4, -1, 1]);
    expect(run(UnaryOp.Neg)).toEqual([-4, 1.5, -0.25]);
    expect(run(UnaryOp.Exp)).toEqual([f32(Math.exp(4)), f32(Math.exp(-1.5)), f32(Math.exp(0.25))]);
    expect(() => unary(src, out, 42)).toThrow(KpuFault);
  });
});

describe('nnil_unary_method (0x14)', () => {
  const ldc = (v: number): number[] => [0x06, ...new Uint8Array(F([v]).buffer)];
  it('runs clamp(x·2 − 1, 0, 6): binary ops take (second-from-top, top)', () => {
    // lda_0; ldc 2; mul; ldc_1; sub; ldc_0; ldc 6; clamp; ret
    const prog = U([0x03, ...ldc(2), 0x42, 0x05, 0x41, 0x04, ...ldc(6), 0x80, 0xa0]);
    const out = new Float32Array(3);
    nnilUnaryMethod(F([3, 0, 5]), out, prog);
    // 3 → 5; 0 → −1 → 0; 5 → 9 → 6
    expect(arr(out)).toEqual([5, 0, 6]);
  });
  it('div, dup, pop, min and max follow the reference order', () => {
    const out = new Float32Array(2);
    nnilUnaryMethod(F([8, -2]), out, U([0x03, ...ldc(4), 0x43, 0xa0])); // x / 4
    expect(arr(out)).toEqual([2, -0.5]);
    nnilUnaryMethod(F([3, -2]), out, U([0x03, 0x01, 0x42, 0x03, 0x02, 0xa0])); // dup; mul → x²; push x; pop
    expect(arr(out)).toEqual([9, 4]);
    nnilUnaryMethod(F([3, -2]), out, U([0x04, 0x03, 0x45, ...ldc(1), 0x44, 0xa0])); // min(max(0, x), 1)
    expect(arr(out)).toEqual([1, 0]);
  });
  it('faults on a bad opcode or stack underflow; no ret leaves the output', () => {
    expect(() => decodeNnil(U([0x03, 0x99, 0xa0]))).toThrow(KpuFault);
    expect(() => decodeNnil(U([0x06, 0x00]))).toThrow(KpuFault); // truncated immediate
    expect(() => nnilUnaryMethod(F([1]), new Float32Array(1), U([0x40, 0xa0]))).toThrow(KpuFault);
    const out = F([42]);
    nnilUnaryMethod(F([1]), out, U([0x03, 0x00]));
    expect(out[0]).toBe(42);
  });
});

describe('conv2d (0x02) and matmul (0x04)', () => {
  it('convolves with bias, valid taps only, and clamps', () => {
    // 3×3 input 1..9, one 2×2 all-ones filter, bias 0.5, stride 1: [1+2+4+5, 2+3+5+6, 4+5+7+8, 5+6+8+9] + 0.5
    const out = new Float32Array(4);
    conv2d(
      F([1, 2, 3, 4, 5, 6, 7, 8, 9]),
      out,
      F([1, 1, 1, 1]),
      F([0.5]),
      [1, 1, 3, 3],
      1,
      1,
      win({ filterH: 2, filterW: 2 }),
      -FLT_MAX,
      FLT_MAX,
      'golden',
    );
    expect(arr(out)).toEqual([12.5, 16.5, 24.5, 28.5]);
    // 3×3 ones filter with padding 1 on a 2×2 input [1, 2, 3, 4]: every window covers all 4 → 10, clamp at 9
    const o2 = new Float32Array(4);
    const pad1 = { before: 1, after: 1 };
    conv2d(
      F([1, 2, 3, 4]),
      o2,
      F(Array(9).fill(1)),
      F([0]),
      [1, 1, 2, 2],
      1,
      1,
      win({ filterH: 3, filterW: 3, paddingH: pad1, paddingW: pad1 }),
      0,
      9,
      'golden',
    );
    expect(arr(o2)).toEqual([9, 9, 9, 9]);
  });
  it('groups', () => {
    // C = 2, groups = 2, 1×1 weights [2, 3]: out c0 = 2·x0, c1 = 3·x1
    const out = new Float32Array(2);
    conv2d(F([5, 7]), out, F([2, 3]), F([0, 0]), [1, 2, 1, 1], 2, 2, win({}), -FLT_MAX, FLT_MAX, 'golden');
    expect(arr(out)).toEqual([10, 21]);
  });
  it('board fuses the accumulation', () => {
    // in [1, 1 + 2^-12] (C = 2, 1×1), w [−(1 + 2^-11), 1 + 2^-12]: golden 0, fused 2^-24 (as v3 FC)
    const a = 1 + 2 ** -12;
    const g = new Float32Array(1);
    const b = new Float32Array(1);
    conv2d(F([1, a]), g, F([-(1 + 2 ** -11), a]), F([0]), [1, 2, 1, 1], 1, 1, win({}), -FLT_MAX, FLT_MAX, 'golden');
    conv2d(F([1, a]), b, F([-(1 + 2 ** -11), a]), F([0]), [1, 2, 1, 1], 1, 1, win({}), -FLT_MAX, FLT_MAX, 'board');
    expect([g[0], b[0]]).toEqual([0, 2 ** -24]);
  });
  it('matmul starts from the bias', () => {
    // [[1, 2], [3, 4]] × [[5, 6], [7, 8]] = [[19, 22], [43, 50]] + bias [1, −1]
    const out = new Float32Array(4);
    matmul(F([1, 2, 3, 4]), F([5, 6, 7, 8]), out, F([1, -1]), 2, 2, 2, -FLT_MAX, 45, 'golden');
    expect(arr(out)).toEqual([20, 21, 44, 45]);
  });
});

describe('quantized_conv2d (0x0F) and quantized_matmul (0x10)', () => {
  it('adds the offsets, skips padding, and applies mcs + offset', () => {
    // in [1, 2, 3, 4] + (−1) = [0, 1, 2, 3]; 2×2 weights 3 + (−2) = 1: Σ = 6, + bias 4 = 10;
    // mcs(10, 1, 1) = (10 + 1) >> 1 = 5; + 100 = 105
    const out = new Uint8Array(1);
    const p = { inputOffset: -1, filterOffset: -2, outputMul: 1, outputShift: 1, outputOffset: 100 };
    quantizedConv2d(
      U([1, 2, 3, 4]),
      out,
      U([3, 3, 3, 3]),
      Int32Array.from([4]),
      [1, 1, 2, 2],
      1,
      1,
      win({ filterH: 2, filterW: 2 }),
      p,
    );
    expect(out[0]).toBe(105);
    // 1×1 input 5 with a 3×3 filter and padding 1: only the centre tap (weight 9) counts:
    // (5 − 1)(9 − 2) = 28, + 4 = 32, mcs → (32 + 1) >> 1 = 16, + 100 = 116
    const pad1 = { before: 1, after: 1 };
    const w9 = U([0, 0, 0, 0, 9, 0, 0, 0, 0]);
    quantizedConv2d(
      U([5]),
      out,
      w9,
      Int32Array.from([4]),
      [1, 1, 1, 1],
      1,
      1,
      win({ filterH: 3, filterW: 3, paddingH: pad1, paddingW: pad1 }),
      p,
    );
    expect(out[0]).toBe(116);
  });
  it('quantized_matmul', () => {
    // [1, 2]·[3, 4]ᵀ + 5 = 16; mcs(16, 3, 2) = (48 + 2) >> 2 = 12
    const out = new Uint8Array(1);
    const p = { inputAOffset: 0, inputBOffset: 0, outputMul: 3, outputShift: 2, outputOffset: 0 };
    quantizedMatmul(U([1, 2]), U([3, 4]), out, Int32Array.from([5]), 1, 2, 1, p);
    expect(out[0]).toBe(12);
    // a offset −2: [−1, 0]·[3, 4] + 5 = 2; mul 1, shift 0
    quantizedMatmul(U([1, 2]), U([3, 4]), out, Int32Array.from([5]), 1, 2, 1, {
      ...p,
      inputAOffset: -2,
      outputMul: 1,
      outputShift: 0,
    });
    expect(out[0]).toBe(2);
  });
});

describe('conv2d_transpose (0x13)', () => {
  it('scatters in·w and ignores the bias like beta4', () => {
    // in 1×2 [1, 2], filter 1×2 [10, 1], stride 1 → out 1×3: [1·10, 1·1 + 2·10, 2·1]; bias 100 unused
    const out = new Float32Array(3);
    const w = win({ filterW: 2 });
    conv2dTranspose(
      F([1, 2]),
      out,
      F([10, 1]),
      F([100]),
      [1, 1, 1, 2],
      [1, 1, 1, 3],
      1,
      w,
      -FLT_MAX,
      FLT_MAX,
      'golden',
    );
    expect(arr(out)).toEqual([10, 21, 2]);
    conv2dTranspose(F([1, 2]), out, F([10, 1]), F([100]), [1, 1, 1, 2], [1, 1, 1, 3], 1, w, 0, 20, 'golden');
    expect(arr(out)).toEqual([10, 20, 2]);
    // stride 2 → out 1×4: [10, 1, 20, 2]
    const o4 = new Float32Array(4);
    conv2dTranspose(
      F([1, 2]),
      o4,
      F([10, 1]),
      F([100]),
      [1, 1, 1, 2],
      [1, 1, 1, 4],
      1,
      win({ filterW: 2, strideW: 2 }),
      -FLT_MAX,
      FLT_MAX,
      'golden',
    );
    expect(arr(o4)).toEqual([10, 1, 20, 2]);
  });
  it('leaves ±∞ unclamped when the activation is the full range', () => {
    const out = new Float32Array(1);
    conv2dTranspose(
      F([Infinity]),
      out,
      F([1]),
      F([0]),
      [1, 1, 1, 1],
      [1, 1, 1, 1],
      1,
      win({}),
      -FLT_MAX,
      FLT_MAX,
      'golden',
    );
    expect(out[0]).toBe(Infinity);
  });
});
