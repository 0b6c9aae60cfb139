/**
 * The typed-array fast paths of the v5 stackvm kernels (src/kpu/ops/v5/) against plain reference implementations
 * written here from nncase's kernel semantics: element by element, in row-major order, through DataView. Random
 * shapes, layouts (dense, permuted, gapped, broadcast), offsets (aligned, where the fast paths run, and misaligned,
 * where the generic paths do) and random bytes as values (so NaNs, infinities and subnormals come up). fast-check,
 * fixed seeds.
 */
import fc from 'fast-check';
import { Lcg } from './lcg.js';
import { describe, expect, it } from 'vitest';
import { binary } from '../src/kpu/ops/v5/binary.js';
import { copy } from '../src/kpu/ops/v5/copy.js';
import { dequantize, quantize } from '../src/kpu/ops/v5/quantize.js';
import { reduceWindow2d } from '../src/kpu/ops/v5/reduce-window2d.js';
import { resizeImage } from '../src/kpu/ops/v5/resize-image.js';
import { slice, sliceOutputShape } from '../src/kpu/ops/v5/slice.js';
import { transpose } from '../src/kpu/ops/v5/transpose.js';
import { roundHalfEvenSigned0 } from '../src/kpu/v5/number-formats.js';
import { inside, rows, type StridedTensor } from '../src/kpu/v5/tensor.js';
import { binaryRowWasm, binaryWasmRows, useWasmBinary } from '../src/kpu/wasm/binary-rows.js';
import { dequantizeRowWasm, quantizeRowWasm, quantizeWasmRows, useWasmQuantize } from '../src/kpu/wasm/quantize.js';

const f32 = Math.fround;
const RUNS = { numRuns: 300 };

// ---- the plain walk ----

/** Element offsets of every index of `shape`, row-major (strides of the shape's rank). */
function offsets(shape: readonly number[], strides: readonly number[]): number[] {
  const out: number[] = [];
  const total = shape.reduce((a, b) => a * b, 1);
  for (let k = 0; k < total; k++) {
    let r = k;
    let at = 0;
    for (let d = shape.length - 1; d >= 0; d--) {
      at += (r % shape[d]) * strides[d];
      r = Math.floor(r / shape[d]);
    }
    out.push(at);
  }
  return out;
}

/** Row-major strides of `shape`, 0 for axes of size 1 (nncase's default strides). */
function dense(shape: readonly number[]): number[] {
  const s: number[] = [];
  let size = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = shape[d] === 1 ? 0 : size;
    size *= shape[d];
  }
  return s;
}

/** Bytes from element 0 to past the furthest element (non-negative strides). */
const extent = (shape: readonly number[], strides: readonly number[], size: number): number =>
  shape.some((d) => d === 0) ? 0 : (shape.reduce((a, d, i) => a + (d - 1) * strides[i], 0) + 1) * size;

// ---- generators ----

const shapeArb = (maxRank = 4, maxDim = 5) =>
  fc.array(fc.integer({ min: 1, max: maxDim }), { minLength: 1, maxLength: maxRank });

/** Strides for `shape`: dense, dense over a permuted order, dense over a larger shape (gaps), or some zeroed. */
function stridesArb(shape: readonly number[]): fc.Arbitrary<number[]> {
  const n = shape.length;
  return fc.oneof(
    fc.constant(dense(shape)),
    fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }).map((perm) => {
      const s = new Array<number>(n);
      let size = 1;
      for (let k = n - 1; k >= 0; k--) {
        s[perm[k]] = size;
        size *= shape[perm[k]];
      }
      return s;
    }),
    fc.array(fc.integer({ min: 0, max: 2 }), { minLength: n, maxLength: n }).map((gap) => {
      const s = new Array<number>(n);
      let size = 1;
      for (let d = n - 1; d >= 0; d--) {
        s[d] = size;
        size *= shape[d] + gap[d];
      }
      return s;
    }),
    fc.array(fc.boolean(), { minLength: n, maxLength: n }).map((zero) => dense(shape).map((v, d) => (zero[d] ? 0 : v))),
  );
}

/** Ties for rounding, signed zeros, infinities, NaN, a subnormal, large values, small integers. */
const SPECIAL = [
  NaN,
  0,
  -0,
  Infinity,
  -Infinity,
  0.5,
  -0.5,
  1.5,
  -2.5,
  3.5,
  254.5,
  127.5,
  -128.5,
  1e-40,
  3e38,
  -3e9,
  2,
  -7,
  100.25,
];

interface Placed {
  readonly t: StridedTensor;
  /** Where the tensor's buffer starts in the test's ArrayBuffer (so a view's byteOffset is exercised). */
  readonly lead: number;
}

/** A tensor of `shape`/`strides` in a fresh buffer of random bytes, at an aligned or a misaligned offset. */
function placedArb(
  datatype: number,
  size: number,
  shape: readonly number[],
  strides: readonly number[],
): fc.Arbitrary<Placed> {
  return fc
    .record({
      lead: fc.integer({ min: 0, max: 2 }).map((k) => k * 4),
      offset: fc.integer({ min: 0, max: 3 }).map((k) => k * size),
      misalign: fc.boolean(),
      tail: fc.integer({ min: 0, max: 8 }),
      seed: fc.integer(),
      special: fc.boolean(),
    })
    .map(({ lead, offset, misalign, tail, seed, special }) => {
      const at = offset + (misalign && size > 1 ? 1 : 0);
      const length = at + extent(shape, strides, size) + tail;
      const buffer = new ArrayBuffer(lead + length + 4);
      const bytes = new Uint8Array(buffer, lead, length);
      const rng = new Lcg(seed >>> 0 || 1);
      const next = () => rng.u32() >>> 16;
      for (let i = 0; i < length; i++) bytes[i] = next();
      if (special && datatype === 9) {
        // float32 elements from values where roundings, comparisons and NaN handling differ.
        const v = new DataView(buffer, lead, length);
        for (let i = at; i + 4 <= length; i += 4) v.setFloat32(i, SPECIAL[next() % SPECIAL.length], true);
      }
      return { t: { bytes, offset: at, datatype, shape, strides }, lead };
    });
}

const cloneT = (t: StridedTensor): StridedTensor => ({ ...t, bytes: t.bytes.slice() });
const dv = (t: StridedTensor) => new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);

/** Bytes with every float32 NaN (4-byte groups from `offset`) made the same: JS engines do not keep NaN payloads. */
function canonicalNaNs(t: StridedTensor): Uint8Array {
  const b = t.bytes.slice();
  const v = new DataView(b.buffer);
  for (let i = t.offset; i + 4 <= b.length; i += 4)
    if (Number.isNaN(v.getFloat32(i, true))) v.setUint32(i, 0x7fc00000, true);
  return b;
}

const rhe = (v: number): number => {
  const r = Math.round(v); // half up
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
};
const stdMin = (a: number, b: number) => (b < a ? b : a);
const stdMax = (a: number, b: number) => (a < b ? b : a);
const clamp = (v: number, lo: number, hi: number) => stdMax(stdMin(v, hi), lo);
/** cvttss2si: truncation; NaN and out-of-range give INT32_MIN. */
const cvtt = (v: number) => {
  const t = Math.trunc(v);
  return t >= -(2 ** 31) && t < 2 ** 31 ? t : -(2 ** 31);
};

// ---- tests ----

describe('rows: the strided walk a row at a time', () => {
  it('visits the offsets of the plain walk, in order, for every stride set; lowest/highest bound them', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 4 }).chain((shape) =>
          fc.tuple(
            fc.constant(shape),
            fc.array(fc.array(fc.integer({ min: -7, max: 7 }), { minLength: shape.length, maxLength: shape.length }), {
              minLength: 1,
              maxLength: 3,
            }),
          ),
        ),
        ([shape, sets]) => {
          const r = rows(shape, sets);
          sets.forEach((st, k) => {
            const got: number[] = [];
            for (let j = 0; j < r.count; j++) for (let i = 0; i < r.n; i++) got.push(r.starts[k][j] + i * r.steps[k]);
            const want = offsets(shape, st);
            expect(got).toEqual(want);
            if (want.length) {
              expect(r.lowest[k]).toBe(Math.min(...want));
              expect(r.highest[k]).toBe(Math.max(...want));
            }
          });
        },
      ),
      { seed: 501, ...RUNS },
    );
  });

  it('inside: true exactly when every element lies within the bytes', () => {
    fc.assert(
      fc.property(
        shapeArb(3, 4),
        fc.integer({ min: -3, max: 3 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 80 }),
        (shape, step, offset, length) => {
          const st = shape.map((_, d) => step * (d + 1));
          const r = rows(shape, [st]);
          const all = offsets(shape, st);
          const want = all.every((o) => offset + 4 * o >= 0 && offset + 4 * o + 4 <= length);
          expect(inside(r, 0, { bytes: new Uint8Array(length), offset }, 4)).toBe(want);
        },
      ),
      { seed: 502, ...RUNS },
    );
  });
});

describe('copy (also CONVERT to the same type, TRANSPOSE and SLICE underneath)', () => {
  const sizes = [
    [4, 1],
    [5, 2],
    [9, 4],
    [3, 8],
  ] as const;
  const copyCase = fc
    .constantFrom(...sizes)
    .chain(([dt, size]) =>
      shapeArb().chain((shape) =>
        fc
          .tuple(stridesArb(shape), stridesArb(shape))
          .chain(([si, so]) =>
            fc.tuple(fc.constant(size), placedArb(dt, size, shape, si), placedArb(dt, size, shape, so)),
          ),
      ),
    );

  it('moves every element’s bytes to its place, touching nothing else', () => {
    fc.assert(
      fc.property(copyCase, ([size, { t: input }, { t: output }]) => {
        const want = cloneT(output);
        const si = offsets(input.shape, input.strides);
        const so = offsets(input.shape, output.strides);
        si.forEach((a, k) => {
          for (let i = 0; i < size; i++)
            want.bytes[want.offset + size * so[k] + i] = input.bytes[input.offset + size * a + i];
        });
        copy(input, output);
        expect(output.bytes).toEqual(want.bytes);
      }),
      { seed: 503, ...RUNS },
    );
  });

  it('in place (input and output overlapping in one buffer): elements move one after the other, in order', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 4),
        shapeArb(3, 6).chain((shape) => fc.tuple(fc.constant(shape), stridesArb(shape), stridesArb(shape))),
        fc.nat(6),
        fc.nat(6),
        fc.integer(),
        (size, [shape, si, so], ia, oa, seed) => {
          const length = (Math.max(ia, oa) + 1) * size + Math.max(extent(shape, si, size), extent(shape, so, size));
          const bytes = new Uint8Array(length);
          let x = seed >>> 0 || 1;
          for (let i = 0; i < length; i++) bytes[i] = x = ((x * 75 + 74) % 65537) & 255;
          const want = bytes.slice();
          const from = offsets(shape, si);
          const to = offsets(shape, so);
          from.forEach((a, k) => {
            const el = want.slice(ia * size + size * a, ia * size + size * a + size);
            want.set(el, oa * size + size * to[k]);
          });
          copy(
            { bytes, offset: ia * size, datatype: [4, 1, 2][size >> 1], shape, strides: si },
            { bytes, offset: oa * size, datatype: [4, 1, 2][size >> 1], shape, strides: so },
          );
          expect(bytes).toEqual(want);
        },
      ),
      { seed: 504, ...RUNS },
    );
  });

  it('transpose: out[index[perm]] = in[index]', () => {
    fc.assert(
      fc.property(
        shapeArb().chain((shape) =>
          fc.tuple(
            fc.constant(shape),
            fc.shuffledSubarray([...shape.keys()], { minLength: shape.length, maxLength: shape.length }),
            stridesArb(shape),
          ),
        ),
        fc.boolean(),
        ([shape, perm, si], misalign) => {
          const outShape = perm.map((p) => shape[p]);
          const input: StridedTensor = {
            bytes: Uint8Array.from({ length: extent(shape, si, 4) + 8 }, (_, i) => (i * 37) & 255),
            offset: misalign ? 1 : 4,
            datatype: 9,
            shape,
            strides: si,
          };
          const output: StridedTensor = {
            bytes: new Uint8Array(extent(outShape, dense(outShape), 4) + 8),
            offset: misalign ? 3 : 0,
            datatype: 9,
            shape: outShape,
            strides: dense(outShape),
          };
          const want = output.bytes.slice();
          const os = dense(outShape);
          const n = shape.reduce((a, b) => a * b, 1);
          for (let k = 0; k < n; k++) {
            const idx: number[] = [];
            let r = k;
            for (let d = shape.length - 1; d >= 0; d--) {
              idx[d] = r % shape[d];
              r = Math.floor(r / shape[d]);
            }
            const a = input.offset + 4 * idx.reduce((s, v, d) => s + v * si[d], 0);
            const o = output.offset + 4 * perm.reduce((s, p, d) => s + idx[p] * os[d], 0);
            want.set(input.bytes.subarray(a, a + 4), o);
          }
          transpose(input, output, perm);
          expect(output.bytes).toEqual(want);
        },
      ),
      { seed: 505, ...RUNS },
    );
  });

  it('slice: out[(idx − begin) / stride] = in[idx] for positive and negative strides', () => {
    fc.assert(
      fc.property(
        shapeArb(3, 6).chain((shape) =>
          fc.tuple(
            fc.constant(shape),
            fc.tuple(
              ...shape.map((d) =>
                fc.record({
                  begin: fc.integer({ min: 0, max: d + 1 }),
                  end: fc.integer({ min: -2, max: d + 2 }),
                  stride: fc.constantFrom(-2, -1, 1, 2, 3),
                }),
              ),
            ),
          ),
        ),
        fc.boolean(),
        ([shape, axes], misalign) => {
          const begins = axes.map((a) => a.begin);
          const ends = axes.map((a) => a.end);
          const steps = axes.map((a) => a.stride);
          const outShape = sliceOutputShape(shape, begins, ends, steps);
          const is = dense(shape);
          const input: StridedTensor = {
            bytes: Uint8Array.from({ length: extent(shape, is, 4) + 4 }, (_, i) => (i * 53 + 7) & 255),
            offset: misalign ? 2 : 4,
            datatype: 9,
            shape,
            strides: is,
          };
          const os = dense(outShape);
          const output: StridedTensor = {
            bytes: new Uint8Array(extent(outShape, os, 4) + 4),
            offset: misalign ? 1 : 0,
            datatype: 9,
            shape: outShape,
            strides: os,
          };
          const want = output.bytes.slice();
          const n = outShape.reduce((a, b) => a * b, 1);
          for (let k = 0; k < n; k++) {
            const o: number[] = [];
            let r = k;
            for (let d = outShape.length - 1; d >= 0; d--) {
              o[d] = r % outShape[d];
              r = Math.floor(r / outShape[d]);
            }
            const idx = o.map((v, d) => begins[d] + v * steps[d]);
            if (idx.some((v, d) => v < 0 || v >= shape[d])) continue;
            const a = input.offset + 4 * idx.reduce((s, v, d) => s + v * is[d], 0);
            const to = output.offset + 4 * o.reduce((s, v, d) => s + v * os[d], 0);
            want.set(input.bytes.subarray(a, a + 4), to);
          }
          slice(input, output, begins, ends, steps);
          expect(output.bytes).toEqual(want);
        },
      ),
      { seed: 506, ...RUNS },
    );
  });
});

/** A float32 scalar operand: ordinary values mostly, sometimes a special one. */
const scalarArb = fc.oneof(
  { weight: 3, arbitrary: fc.float({ min: -4, max: 4, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(1, 0.5) },
  { weight: 2, arbitrary: fc.constantFrom(0, -0, Infinity, -Infinity, NaN, 1e-40, 3e38) },
);

describe('QUANTIZE and DEQUANTIZE', () => {
  it('roundHalfEvenSigned0: round half to even for every float32 and beyond, up to the sign of a zero', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.float(),
          fc.double(),
          fc.integer().map((k) => k + 0.5),
        ),
        (x) => {
          const got = roundHalfEvenSigned0(x);
          const want = rhe(x);
          expect(got === 0 ? 0 : got).toBe(want === 0 ? 0 : want);
        },
      ),
      { seed: 511, numRuns: 2000 },
    );
  });

  it('quantize: clamp(round-half-even(x·scale + bias)), contiguous and strided conversions', () => {
    fc.assert(
      fc.property(
        shapeArb().chain((shape) =>
          fc
            .tuple(stridesArb(shape), stridesArb(shape), fc.constantFrom(0, 4))
            .chain(([si, so, dt]) =>
              fc.tuple(fc.constant(dt), placedArb(9, 4, shape, si), placedArb(dt, 1, shape, so)),
            ),
        ),
        scalarArb,
        scalarArb,
        ([dt, { t: input }, { t: output }], scale, bias) => {
          const want = cloneT(output);
          const contiguous =
            input.strides.every((v, d) => v === dense(input.shape)[d]) &&
            output.strides.every((v, d) => v === dense(input.shape)[d]);
          const [lo, hi] = dt === 4 ? [0, 255] : [-128, 127];
          const si = offsets(input.shape, input.strides);
          const so = offsets(input.shape, output.strides);
          const s = f32(scale);
          const b = f32(bias);
          si.forEach((a, k) => {
            const v = f32(f32(dv(input).getFloat32(input.offset + 4 * a, true) * s) + b);
            const r = rhe(v);
            let q: number;
            if (contiguous) q = cvtt(r);
            else q = Number.isFinite(r) && Math.abs(r) < 2 ** 63 ? Number(BigInt.asIntN(32, BigInt(r))) : 0;
            dv(want).setInt8(want.offset + so[k], clamp(q, lo, hi));
          });
          quantize(input, output, scale, bias);
          expect(output.bytes).toEqual(want.bytes);
        },
      ),
      { seed: 507, ...RUNS },
    );
  });

  it('dequantize: (float)q·scale + bias for uint8 and int8', () => {
    fc.assert(
      fc.property(
        shapeArb().chain((shape) =>
          fc
            .tuple(stridesArb(shape), stridesArb(shape), fc.constantFrom(0, 4))
            .chain(([si, so, dt]) =>
              fc.tuple(fc.constant(dt), placedArb(dt, 1, shape, si), placedArb(9, 4, shape, so)),
            ),
        ),
        scalarArb,
        scalarArb,
        ([dt, { t: input }, { t: output }], scale, bias) => {
          const want = cloneT(output);
          const si = offsets(input.shape, input.strides);
          const so = offsets(input.shape, output.strides);
          si.forEach((a, k) => {
            const q = dt === 4 ? dv(input).getUint8(input.offset + a) : dv(input).getInt8(input.offset + a);
            dv(want).setFloat32(want.offset + 4 * so[k], f32(f32(q * f32(scale)) + f32(bias)), true);
          });
          dequantize(input, output, scale, bias);
          expect(canonicalNaNs(output)).toEqual(canonicalNaNs(want));
        },
      ),
      { seed: 508, ...RUNS },
    );
  });
});

describe('QUANTIZE and DEQUANTIZE in WebAssembly (dense rows of 64 elements and more)', () => {
  /** Floats with the SPECIAL values, values at the int32 range's ends and random bit patterns mixed in. */
  const floatsArb = fc
    .record({ n: fc.integer({ min: 1, max: 700 }), seed: fc.integer(), mix: fc.integer({ min: 0, max: 3 }) })
    .map(({ n, seed, mix }) => {
      const rng = new Lcg(seed >>> 0 || 1);
      const x = new Float32Array(n);
      const u = new Uint32Array(x.buffer);
      const edges = [2 ** 31, -(2 ** 31), 2 ** 31 - 128, -(2 ** 31) - 256, 2 ** 24 + 1, 255.5, -127.5];
      for (let i = 0; i < n; i++) {
        const k = rng.u32() % 4;
        if (k < mix) u[i] = rng.u32();
        else if (k === mix) x[i] = SPECIAL[rng.u32() % SPECIAL.length];
        else if (rng.u32() % 2) x[i] = edges[rng.u32() % edges.length];
        else x[i] = ((rng.u32() % 20000) - 10000) / 16;
      }
      return x;
    });

  it('quantizeRowWasm: the contiguous kernel, byte for byte, for uint8 and int8; nothing outside the row changes', () => {
    fc.assert(
      fc.property(
        floatsArb,
        scalarArb,
        scalarArb,
        fc.boolean(),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 40 }),
        (x, scale, bias, signed, lead, to) => {
          const n = x.length;
          const X = new Float32Array(lead + n);
          X.set(x, lead);
          const got = new Uint8Array(to + n + 17).fill(0xa5);
          const want = got.slice();
          const [lo, hi] = signed ? [-128, 127] : [0, 255];
          const s = f32(scale);
          const b = f32(bias);
          for (let i = 0; i < n; i++) want[to + i] = clamp(cvtt(rhe(f32(f32(x[i] * s) + b))), lo, hi) & 255;
          expect(quantizeRowWasm(X, lead, got, to, n, s, b, signed)).toBe(true);
          expect(got).toEqual(want);
        },
      ),
      { seed: 601, numRuns: 400 },
    );
  });

  it('dequantizeRowWasm: (float)q·scale + bias, bit for bit; false for a scale or bias that is not finite', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 700 }),
        scalarArb,
        scalarArb,
        fc.boolean(),
        fc.integer({ min: 0, max: 40 }),
        (q, scale, bias, signed, to) => {
          const n = q.length;
          const got = new Float32Array(to + n + 5).fill(-7.25);
          const want = got.slice();
          const s = f32(scale);
          const b = f32(bias);
          for (let i = 0; i < n; i++) want[to + i] = f32(f32((signed ? (q[i] << 24) >> 24 : q[i]) * s) + b);
          const done = dequantizeRowWasm(q, 0, got, to, n, s, b, signed);
          expect(done).toBe(Number.isFinite(s) && Number.isFinite(b));
          if (!done) expect(got).toEqual(new Float32Array(to + n + 5).fill(-7.25));
          // finite operands: a NaN can only come from a NaN, so the bits are all determined
          else expect(new Uint32Array(got.buffer)).toEqual(new Uint32Array(want.buffer));
        },
      ),
      { seed: 602, numRuns: 400 },
    );
  });

  it('rows longer than the kernel memory go through in chunks', () => {
    const n = 100_003;
    const x = new Float32Array(n).map((_, i) => ((i * 7919) % 4001) / 8 - 250);
    const q = new Uint8Array(n);
    const s = f32(0.37);
    const b = f32(12.5);
    expect(quantizeRowWasm(x, 0, q, 0, n, s, b, false)).toBe(true);
    let bad = 0;
    for (let i = 0; i < n; i++) if (q[i] !== clamp(cvtt(rhe(f32(f32(x[i] * s) + b))), 0, 255)) bad++;
    expect(bad).toBe(0);
    const y = new Float32Array(n);
    expect(dequantizeRowWasm(q, 0, y, 0, n, s, b, true)).toBe(true);
    for (let i = 0; i < n; i++) if (y[i] !== f32(f32(((q[i] << 24) >> 24) * s) + b)) bad++;
    expect(bad).toBe(0);
  });

  it('rows whose input and output share bytes are left to the JavaScript rows (their element order)', () => {
    const buf = new ArrayBuffer(4096);
    const f = new Float32Array(buf);
    f.set(Float32Array.from({ length: 1024 }, (_, i) => (i % 300) - 20.5));
    const keep = new Uint8Array(buf).slice();
    // quantize in place: the bytes start 100 bytes into the floats (a write can land on a float not yet read)
    expect(quantizeRowWasm(f, 0, new Uint8Array(buf), 100, 512, 1, 0, false)).toBe(false);
    expect(dequantizeRowWasm(new Uint8Array(buf), 0, f, 10, 256, 1, 0, false)).toBe(false);
    expect(new Uint8Array(buf)).toEqual(keep);
    const t = (datatype: number, offset: number, n: number): StridedTensor => ({
      bytes: new Uint8Array(buf),
      offset,
      datatype,
      shape: [n],
      strides: [1],
    });
    const results: Uint8Array[] = [];
    for (const on of [true, false]) {
      new Uint8Array(buf).set(keep);
      const was = useWasmQuantize(on);
      try {
        quantize(t(9, 0, 512), t(4, 100, 512), 1, 0);
        dequantize(t(4, 600, 256), t(9, 400, 256), 0.5, 1);
      } finally {
        useWasmQuantize(was);
      }
      results.push(new Uint8Array(buf).slice());
    }
    expect(results[0]).toEqual(results[1]);
  });

  it('quantize and dequantize take it for dense rows and give what the JavaScript rows give', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 120 }), { minLength: 1, maxLength: 2 }),
        fc.constantFrom(0, 4),
        fc.integer(),
        scalarArb,
        scalarArb,
        (shape, dt, seed, scale, bias) => {
          const n = shape.reduce((a, d) => a * d, 1);
          const rng = new Lcg(seed >>> 0 || 1);
          const f = new Float32Array(n).map(() => SPECIAL[rng.u32() % SPECIAL.length] * ((rng.u32() % 300) / 7));
          const t = (bytes: Uint8Array, datatype: number): StridedTensor => ({
            bytes,
            offset: 0,
            datatype,
            shape,
            strides: dense(shape),
          });
          const outs: Uint8Array[] = [];
          const deqs: Uint8Array[] = [];
          const before = { ...quantizeWasmRows };
          for (const on of [true, false]) {
            const was = useWasmQuantize(on);
            try {
              const q = new Uint8Array(n);
              quantize(t(new Uint8Array(f.buffer.slice(0)), 9), t(q, dt), scale, bias);
              outs.push(q);
              const y = new Uint8Array(4 * n);
              dequantize(t(q, dt), t(y, 9), scale, bias);
              deqs.push(canonicalNaNs(t(y, 9)));
            } finally {
              useWasmQuantize(was);
            }
          }
          expect(outs[0]).toEqual(outs[1]);
          expect(deqs[0]).toEqual(deqs[1]);
          // a dense tensor is one row: WebAssembly took it when it is long enough (dequantize: finite scale and bias)
          expect(quantizeWasmRows.quantize - before.quantize).toBe(n >= 64 ? 1 : 0);
          const finite = Number.isFinite(f32(scale)) && Number.isFinite(f32(bias));
          expect(quantizeWasmRows.dequantize - before.dequantize).toBe(n >= 64 && finite ? 1 : 0);
        },
      ),
      { seed: 603, numRuns: 150 },
    );
  });
});

describe('BINARY', () => {
  const ops = [
    (a: number, b: number) => f32(a + b),
    (a: number, b: number) => f32(a - b),
    (a: number, b: number) => f32(a * b),
    (a: number, b: number) => f32(a / b),
    stdMin,
    stdMax,
    (a: number, b: number) => f32(a ** b),
  ];

  it('op(a, b) with broadcasting, then the fused clamp', () => {
    // Per axis: both operands have it, or a has 1 there, or b has; leading axes where one has 1 may be dropped.
    const operands = (out: readonly number[]) =>
      fc
        .tuple(fc.array(fc.constantFrom(0, 1, 2), { minLength: out.length, maxLength: out.length }), fc.nat(out.length))
        .map(([which, drop]) => {
          const shapes = [1, 2].map((w) => out.map((d, i) => (which[i] === w ? 1 : d)));
          for (const w of [1, 2]) {
            let k = 0;
            while (k < drop && which[k] === w) k++;
            shapes[w - 1] = shapes[w - 1].slice(k);
          }
          return shapes;
        });
    fc.assert(
      fc.property(
        shapeArb().chain((out) =>
          fc.tuple(fc.constant(out), operands(out), stridesArb(out)).chain(([out, [sa, sb], so]) =>
            fc.tuple(
              fc.constant(out),
              stridesArb(sa).chain((st) => placedArb(9, 4, sa, st)),
              stridesArb(sb).chain((st) => placedArb(9, 4, sb, st)),
              placedArb(9, 4, out, so),
            ),
          ),
        ),
        fc.integer({ min: 0, max: 6 }),
        scalarArb,
        scalarArb,
        ([out, { t: a }, { t: b }, { t: output }], op, low, high) => {
          const want = cloneT(output);
          const lo = f32(low);
          const hi = f32(high);
          const bcast = (t: StridedTensor) => {
            const ext = out.length - t.shape.length;
            return out.map((_, d) => (d < ext || t.shape[d - ext] === 1 ? 0 : t.strides[d - ext]));
          };
          const sa = offsets(out, bcast(a));
          const sb = offsets(out, bcast(b));
          offsets(out, output.strides).forEach((o, k) => {
            const x = dv(a).getFloat32(a.offset + 4 * sa[k], true);
            const y = dv(b).getFloat32(b.offset + 4 * sb[k], true);
            dv(want).setFloat32(want.offset + 4 * o, clamp(ops[op](x, y), lo, hi), true);
          });
          binary(op, a, b, output, lo, hi);
          expect(canonicalNaNs(output)).toEqual(canonicalNaNs(want));
        },
      ),
      { seed: 509, ...RUNS },
    );
  });
});

describe('BINARY in WebAssembly (add, sub, mul, div on dense rows of 64 elements and more)', () => {
  const OPS = [
    (a: number, b: number) => f32(a + b),
    (a: number, b: number) => f32(a - b),
    (a: number, b: number) => f32(a * b),
    (a: number, b: number) => f32(a / b),
  ];
  /** Floats from SPECIAL (NaN, ±0, ±∞, ties, a subnormal, large values) or not, plus random values and bits. */
  const rowArb = (nanFree: boolean) =>
    fc.record({ n: fc.integer({ min: 1, max: 600 }), seed: fc.integer() }).map(({ n, seed }) => {
      const rng = new Lcg(seed >>> 0 || 1);
      const x = new Float32Array(n);
      const u = new Uint32Array(x.buffer);
      for (let i = 0; i < n; i++) {
        const k = rng.u32() % 4;
        if (k === 0) x[i] = SPECIAL[rng.u32() % SPECIAL.length];
        else if (k === 1) u[i] = rng.u32();
        else x[i] = ((rng.u32() % 20001) - 10000) / 64;
        if (nanFree && Number.isNaN(x[i])) x[i] = 0.75;
      }
      return x;
    });
  // clamp ends: none, zero (std::min/max's ties between +0 and −0 show in the bits) or a value
  const endArb = fc.oneof(
    fc.constant(Infinity),
    fc.constantFrom(0, -0),
    fc.float({ noNaN: true, min: -300, max: 300 }),
  );

  it('binaryRowWasm: clamp(a op b) bit for bit where it takes the row; rows with a NaN are handed back', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }),
        fc.constantFrom('vv', 'vs', 'sv'),
        rowArb(false),
        rowArb(false),
        endArb,
        endArb,
        (op, form, a, b, e1, e2) => {
          const n = Math.min(a.length, b.length);
          const [lx, ly] = form === 'vv' ? [1, 1] : form === 'vs' ? [1, 0] : [0, 1];
          const low = f32(-Math.abs(e1));
          const high = f32(Math.abs(e2));
          const got = new Float32Array(n + 3).fill(-9.5);
          const want = got.slice();
          let nan = false;
          for (let k = 0; k < n; k++) {
            const x = a[k * lx];
            const y = b[k * ly];
            const v = OPS[op](x, y);
            if (Number.isNaN(x) || Number.isNaN(y) || Number.isNaN(v)) nan = true;
            const m = high < v ? high : v;
            want[k] = m < low ? low : m;
          }
          const took = binaryRowWasm(op, a, 0, lx, b, 0, ly, got, 0, n, low, high);
          expect(took).toBe(!nan);
          if (took) expect(new Uint32Array(got.buffer)).toEqual(new Uint32Array(want.buffer));
        },
      ),
      { seed: 611, numRuns: 500 },
    );
  });

  it('long rows go through in chunks; an output that is an operand gives what the element loop gives', () => {
    const n = 40_003;
    const a = new Float32Array(n).map((_, i) => ((i * 7919) % 4001) / 8 - 250);
    const b = new Float32Array(n).map((_, i) => ((i * 104729) % 977) / 16 + 0.5);
    for (let op = 0; op < 4; op++) {
      const want = a.map((x, k) => OPS[op](x, b[k]));
      const inPlace = a.slice();
      expect(binaryRowWasm(op, inPlace, 0, 1, b, 0, 1, inPlace, 0, n, -Infinity, Infinity)).toBe(true);
      expect(new Uint32Array(inPlace.buffer)).toEqual(new Uint32Array(want.buffer));
    }
    // shifted overlap: not taken (the element loop reads what it has just written)
    const buf = a.slice();
    expect(binaryRowWasm(1, buf, 0, 1, b, 0, 1, buf, 1, 1000, -Infinity, Infinity)).toBe(false);
    expect(buf).toEqual(a);
    // a NaN in the last chunk of an in-place row: handed back with nothing written
    const withNan = a.slice();
    withNan[n - 2] = NaN;
    const before = withNan.slice();
    expect(binaryRowWasm(2, withNan, 0, 1, b, 0, 1, withNan, 0, n, -Infinity, Infinity)).toBe(false);
    expect(new Uint32Array(withNan.buffer)).toEqual(new Uint32Array(before.buffer));
  });

  it('binary takes it for dense rows and gives what the JavaScript rows give, byte for byte', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.boolean(),
        fc.integer(),
        (op, c, h, w, broadcast, seed) => {
          const shape = [1, c, h, w];
          const bShape = broadcast ? [1, c, 1, 1] : shape;
          const rng = new Lcg(seed >>> 0 || 1);
          const fill = (k: number) =>
            new Float32Array(k).map(() =>
              rng.u32() % 8 === 0 ? SPECIAL[rng.u32() % SPECIAL.length] : ((rng.u32() % 2001) - 1000) / 32,
            );
          const A = fill(c * h * w);
          const B = fill(bShape.reduce((x, y) => x * y, 1));
          const t = (f: Float32Array, sh: number[]): StridedTensor => ({
            bytes: new Uint8Array(f.buffer),
            offset: 0,
            datatype: 9,
            shape: sh,
            strides: dense(sh),
          });
          const outs: Uint8Array[] = [];
          const before = { ...binaryWasmRows };
          for (const on of [true, false]) {
            const was = useWasmBinary(on);
            try {
              const o = new Float32Array(c * h * w);
              binary(op, t(A, shape), t(B, bShape), t(o, shape), f32(-1e30), f32(1e30));
              outs.push(new Uint8Array(o.buffer));
            } finally {
              useWasmBinary(was);
            }
          }
          expect(Buffer.compare(outs[0], outs[1])).toBe(0);
          // rows of h·w elements (broadcast) or one row of c·h·w: each long one was tried
          const rowLen = broadcast ? h * w : c * h * w;
          const tried = binaryWasmRows.done + binaryWasmRows.nan - before.done - before.nan;
          expect(tried).toBe(rowLen >= 64 ? (broadcast ? c : 1) : 0);
        },
      ),
      { seed: 612, numRuns: 150 },
    );
  });
});

describe('REDUCE_WINDOW2D', () => {
  it('mean (over the valid taps), min, max and sum over windows with padding, stride and dilation', () => {
    const geometry = fc
      .record({
        n: fc.integer({ min: 1, max: 2 }),
        c: fc.integer({ min: 1, max: 3 }),
        h: fc.integer({ min: 1, max: 7 }),
        w: fc.integer({ min: 1, max: 7 }),
        fh: fc.integer({ min: 1, max: 3 }),
        fw: fc.integer({ min: 1, max: 3 }),
        sh: fc.integer({ min: 1, max: 3 }),
        sw: fc.integer({ min: 1, max: 3 }),
        dh: fc.integer({ min: 1, max: 2 }),
        dw: fc.integer({ min: 1, max: 2 }),
        pads: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 4, maxLength: 4 }),
      })
      .filter((g) => g.h + g.pads[0] + g.pads[1] >= g.dh * (g.fh - 1) + 1)
      .filter((g) => g.w + g.pads[2] + g.pads[3] >= g.dw * (g.fw - 1) + 1);
    fc.assert(
      fc.property(
        geometry.chain((g) => {
          const shape = [g.n, g.c, g.h, g.w];
          const oh = Math.floor((g.h + g.pads[0] + g.pads[1] - g.dh * (g.fh - 1) - 1) / g.sh) + 1;
          const ow = Math.floor((g.w + g.pads[2] + g.pads[3] - g.dw * (g.fw - 1) - 1) / g.sw) + 1;
          const oshape = [g.n, g.c, oh, ow];
          return fc.tuple(
            fc.constant(g),
            stridesArb(shape).chain((st) => placedArb(9, 4, shape, st)),
            stridesArb(oshape).chain((st) => placedArb(9, 4, oshape, st)),
          );
        }),
        fc.integer({ min: 0, max: 3 }),
        scalarArb,
        scalarArb,
        scalarArb,
        ([g, { t: input }, { t: output }], op, init, low, high) => {
          const want = cloneT(output);
          const [, , oh, ow] = output.shape;
          const reduce = [(a: number, b: number) => f32(a + b), stdMin, stdMax, (a: number, b: number) => f32(a + b)][
            op
          ];
          const at = (t: StridedTensor, i: number[]) => t.offset + 4 * i.reduce((s, v, d) => s + v * t.strides[d], 0);
          for (let n = 0; n < g.n; n++)
            for (let c = 0; c < g.c; c++)
              for (let oy = 0; oy < oh; oy++)
                for (let ox = 0; ox < ow; ox++) {
                  let v = f32(init);
                  let count = 0;
                  for (let ky = 0; ky < g.fh; ky++)
                    for (let kx = 0; kx < g.fw; kx++) {
                      const y = oy * g.sh - g.pads[0] + ky * g.dh;
                      const x = ox * g.sw - g.pads[2] + kx * g.dw;
                      if (y < 0 || y >= g.h || x < 0 || x >= g.w) continue;
                      v = reduce(v, dv(input).getFloat32(at(input, [n, c, y, x]), true));
                      count++;
                    }
                  if (op === 0) v = f32(v / count);
                  dv(want).setFloat32(at(want, [n, c, oy, ox]), clamp(v, f32(low), f32(high)), true);
                }
          reduceWindow2d(
            op,
            input,
            output,
            init,
            {
              filterH: g.fh,
              filterW: g.fw,
              strideH: g.sh,
              strideW: g.sw,
              dilationH: g.dh,
              dilationW: g.dw,
              paddingH: { before: g.pads[0], after: g.pads[1] },
              paddingW: { before: g.pads[2], after: g.pads[3] },
            },
            f32(low),
            f32(high),
          );
          expect(canonicalNaNs(output)).toEqual(canonicalNaNs(want));
        },
      ),
      { seed: 510, numRuns: 1000 },
    );
  });
});

describe('RESIZE_IMAGE nearest neighbour', () => {
  it('out[y, x] = in[nearest(y), nearest(x)], element bits unchanged, for every element size and both flags', () => {
    fc.assert(
      fc.property(
        fc
          .record({
            size: fc.constantFrom<[number, number]>([4, 1], [5, 2], [9, 4]),
            shape: fc.tuple(
              fc.integer({ min: 1, max: 2 }),
              fc.integer({ min: 1, max: 3 }),
              fc.integer({ min: 1, max: 6 }),
              fc.integer({ min: 1, max: 6 }),
            ),
            outH: fc.integer({ min: 1, max: 9 }),
            outW: fc.integer({ min: 1, max: 9 }),
          })
          .chain(({ size: [dt, size], shape, outH, outW }) => {
            const oshape = [shape[0], shape[1], outH, outW];
            return fc.tuple(
              fc.constant(size),
              stridesArb(shape).chain((st) => placedArb(dt, size, shape, st)),
              stridesArb(oshape).chain((st) => placedArb(dt, size, oshape, st)),
            );
          }),
        fc.boolean(),
        fc.boolean(),
        ([size, { t: input }, { t: output }], alignCorners, halfPixel) => {
          const [N, C, H, W] = input.shape;
          const [, , outH, outW] = output.shape;
          const nearest = (o: number, inSize: number, outSize: number) => {
            const scale = alignCorners && outSize > 1 ? f32((inSize - 1) / (outSize - 1)) : f32(inSize / outSize);
            const after = f32(f32(o + (halfPixel ? 0.5 : 0)) * scale);
            const r = alignCorners ? Math.sign(after) * Math.floor(Math.abs(after) + 0.5) : Math.floor(after);
            const v = Math.min(Math.trunc(r), inSize - 1);
            return halfPixel ? Math.max(0, v) : v;
          };
          const want = cloneT(output);
          const at = (t: StridedTensor, i: number[]) =>
            t.offset + size * i.reduce((s, v, d) => s + v * t.strides[d], 0);
          for (let n = 0; n < N; n++)
            for (let c = 0; c < C; c++)
              for (let y = 0; y < outH; y++)
                for (let x = 0; x < outW; x++) {
                  const from = at(input, [n, c, nearest(y, H, outH), nearest(x, W, outW)]);
                  want.bytes.set(input.bytes.subarray(from, from + size), at(want, [n, c, y, x]));
                }
          resizeImage(1, input, output, outH, outW, alignCorners, halfPixel);
          expect(output.bytes).toEqual(want.bytes);
        },
      ),
      { seed: 512, ...RUNS },
    );
  });
});
