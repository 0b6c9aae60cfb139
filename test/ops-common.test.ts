// Shared numerics of the CPU kernels: exact fmaf, roundf/rintf, float→int conversion, mcs.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cvtF32ToI32, fmaf, kpuCarryShift, mulAndCarryShift, rintf, roundf } from '../src/kpu/ops/index.js';

const f32 = Math.fround;

// ---- an independent exact reference for fmaf, in BigInt ---------------------------------
const dv = new DataView(new ArrayBuffer(4));
/** A finite float32 as sign·m·2^e with integer m. */
function decode(x: number): { s: bigint; m: bigint; e: number } {
  dv.setFloat32(0, x);
  const bits = dv.getUint32(0);
  const exp = (bits >>> 23) & 0xff;
  const frac = bits & 0x7fffff;
  const s = bits >>> 31 ? -1n : 1n;
  return exp === 0 ? { s, m: BigInt(frac), e: -149 } : { s, m: BigInt(frac | 0x800000), e: exp - 150 };
}
function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}
/** Round sign·n·2^e (n ≥ 0) to float32, nearest-even, with subnormals and overflow. */
function roundToF32(sign: number, n: bigint, e: number): number {
  const L = bitLength(n);
  const q = Math.max(L + e - 24, -149); // exponent of the result's ulp
  let mag: number;
  if (q <= e) {
    mag = Number(n) * 2 ** e;
  } else {
    const sh = BigInt(q - e);
    let quo = n >> sh;
    const rem = n & ((1n << sh) - 1n);
    const half = 1n << (sh - 1n);
    if (rem > half || (rem === half && (quo & 1n) === 1n)) quo += 1n;
    mag = Number(quo) * 2 ** q;
  }
  if (mag > 3.4028234663852886e38) mag = Infinity;
  return sign < 0 ? -mag : mag;
}
function exactFma(a: number, b: number, c: number): number {
  const A = decode(a),
    B = decode(b),
    C = decode(c);
  const ep = A.e + B.e;
  const E = Math.min(ep, C.e);
  const N = A.s * B.s * A.m * B.m * (1n << BigInt(ep - E)) + C.s * C.m * (1n << BigInt(C.e - E));
  if (N === 0n) {
    const productZero = A.m === 0n || B.m === 0n;
    return productZero && C.m === 0n && A.s * B.s < 0n && C.s < 0n ? -0 : 0;
  }
  return roundToF32(N < 0n ? -1 : 1, N < 0n ? -N : N, E);
}

describe('fmaf', () => {
  it('rounds once where two roundings differ', () => {
    // (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24 exactly. As a float product it ties between 1 + 2^-11 and
    // 1 + 2^-11 + 2^-23 and goes to the even one, 1 + 2^-11, so a·b + c with c = −(1 + 2^-11) is 0
    // with two roundings and 2^-24 with one.
    const a = 1 + 2 ** -12;
    const c = -(1 + 2 ** -11);
    expect(f32(f32(a * a) + c)).toBe(0);
    expect(fmaf(a, a, c)).toBe(2 ** -24);
  });

  it('does not double-round through the double sum', () => {
    // p = 1 + 2^-11 + 2^-24 is exactly the midpoint of two floats; adding c = ±2^-80 moves the exact
    // sum just off the midpoint, but the double sum rounds back onto it and a plain fround would then
    // tie to even (1 + 2^-11) in both cases.
    const a = 1 + 2 ** -12;
    expect(f32(a * a + 2 ** -80)).toBe(1 + 2 ** -11); // the naive, wrong answer
    expect(fmaf(a, a, 2 ** -80)).toBe(1 + 2 ** -11 + 2 ** -23);
    expect(fmaf(a, a, -(2 ** -80))).toBe(1 + 2 ** -11);
    // Same with the double's last bit borrowed across the 32-bit word boundary (exact sum just
    // below a power of two): 2 − 2^-80 must round to 2.
    expect(fmaf(1, 2, -(2 ** -80))).toBe(2);
  });

  it('handles zeros, infinities and NaN like C fmaf', () => {
    expect(Object.is(fmaf(-0, 1, -0), -0)).toBe(true);
    expect(Object.is(fmaf(1, 1, -1), 0)).toBe(true);
    expect(fmaf(3e38, 10, 0)).toBe(Infinity);
    expect(fmaf(Infinity, 0, 1)).toBeNaN();
  });

  it('equals the exact BigInt reference (random float32 triples)', () => {
    const fl = fc.float({ noNaN: true, noDefaultInfinity: true });
    fc.assert(
      fc.property(fl, fl, fl, (a, b, c) => {
        const want = exactFma(a, b, c);
        const got = fmaf(a, b, c);
        return Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want));
      }),
      { numRuns: 20000 },
    );
  });

  it('equals the exact BigInt reference under cancellation (c ≈ −a·b)', () => {
    const fl = fc.float({ noNaN: true, noDefaultInfinity: true, min: f32(-1e18), max: f32(1e18) });
    fc.assert(
      fc.property(fl, fl, fc.integer({ min: -8, max: 8 }), (a, b, k) => {
        const c = f32(-(a * b) * (1 + k * 2 ** -23));
        return Object.is(fmaf(a, b, c), exactFma(a, b, c));
      }),
      { numRuns: 20000 },
    );
  });
});

describe('roundf / rintf / float→int conversion', () => {
  it('roundf rounds half away from zero', () => {
    expect([0.5, 1.5, 2.5, -0.5, -2.5, f32(0.49999997)].map(roundf)).toEqual([1, 2, 3, -1, -3, 0]);
    expect(Object.is(roundf(-0.3), -0)).toBe(true);
  });
  it('rintf rounds half to even', () => {
    expect([0.5, 1.5, 2.5, -1.5, -2.5, 2.6].map(rintf)).toEqual([0, 2, 2, -2, -2, 3]);
    expect(Object.is(rintf(-0.5), -0)).toBe(true);
  });
  it('x86 conversion gives INT32_MIN out of range, RISC-V saturates', () => {
    expect(cvtF32ToI32(3e9, 'golden')).toBe(-2147483648);
    expect(cvtF32ToI32(NaN, 'golden')).toBe(-2147483648);
    expect(cvtF32ToI32(3e9, 'board')).toBe(2147483647);
    expect(cvtF32ToI32(NaN, 'board')).toBe(2147483647);
    expect(cvtF32ToI32(-3e9, 'board')).toBe(-2147483648);
    expect(cvtF32ToI32(-7.9, 'golden')).toBe(-7);
  });
});

describe('mul_and_carry_shift (nncase 0.2, round half up)', () => {
  it('rounds half up, including negative values', () => {
    // (v·m + 2^(s−1)) >> s with a floor shift
    expect(mulAndCarryShift(-3, 1, 1)).toBe(-1); // −1.5 → −1
    expect(mulAndCarryShift(-5, 1, 1)).toBe(-2); // −2.5 → −2
    expect(mulAndCarryShift(-6, 1, 2)).toBe(-1); // −1.5 → −1
    expect(mulAndCarryShift(-7, 1, 2)).toBe(-2); // −1.75 → −2
    expect(mulAndCarryShift(5, 1, 1)).toBe(3); // 2.5 → 3 (banker's would give 2)
    expect(mulAndCarryShift(7, 3, 0)).toBe(21);
  });
  it('uses a 64-bit product truncated to int32, and a uint8 shift', () => {
    expect(mulAndCarryShift(1 << 30, 1 << 30, 40)).toBe(1 << 20); // 2^60 >> 40
    expect(mulAndCarryShift(1 << 30, 4, 0)).toBe(0); // 2^32 truncated
    expect(mulAndCarryShift(1 << 30, 3, 0)).toBe(-1073741824); // 0xC0000000
    expect(mulAndCarryShift(-3, 1, 257)).toBe(-1); // shift 257 as uint8 is 1
  });
  it('matches a BigInt formula for shifts 0..62', () => {
    const i32 = fc.integer({ min: -2147483648, max: 2147483647 });
    fc.assert(
      fc.property(i32, i32, fc.integer({ min: 0, max: 62 }), (v, m, s) => {
        const p = BigInt(v) * BigInt(m);
        const r = s === 0 ? p : (p + (1n << BigInt(s - 1))) >> BigInt(s);
        return mulAndCarryShift(v, m, s) === Number(BigInt.asIntN(32, r));
      }),
      { numRuns: 20000 },
    );
  });
});

describe('kpu_carry_shift (SDK, v3 QUANTIZED_ADD)', () => {
  it('rounds half up for positive values and mis-rounds negative ones like the SDK', () => {
    // v = x >> (s−1); odd v: (v >> 1) ± 1; even v: v >> 1
    expect(kpuCarryShift(3n, 1)).toBe(2n); // 1.5 → 2
    expect(kpuCarryShift(5n, 2)).toBe(1n); // v = 2 → 1 (1.25)
    expect(kpuCarryShift(6n, 2)).toBe(2n); // v = 3 → 1 + 1 (1.5)
    expect(kpuCarryShift(-3n, 1)).toBe(-3n); // v = −3 odd → −2 − 1 (true value −1.5)
    expect(kpuCarryShift(-6n, 2)).toBe(-3n); // v = −3 odd → −2 − 1 (true value −1.5)
    expect(kpuCarryShift(-8n, 2)).toBe(-2n); // v = −4 even → −2
    expect(kpuCarryShift(-5n, 0)).toBe(-5n);
  });
});
