/**
 * The SIMD window search in doubles (`windowFinder`) against its BigInt specification
 * (`windowFinderBigInt`): the same window, constant ends and monotonicity for every table and
 * channel range, over random tables of every shape the fields allow (signed 36-bit x_start, signed
 * 16-bit y_mul, shifts 0..255 including those past 53, biases 0..255, sorted or not) and ranges
 * aimed at the segment starts, up to the ±2^51 the double search takes and past it (where both
 * answer in BigInt). Products past 2^53 (evaluated in BigInt inside the double search) come from
 * the large ranges and multipliers.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { ActivationSegment } from '../src/kmodel-parser/kpu-layer-argument.js';
import { referenceRoundShift } from '../src/kpu/conv/reference.js';
import { bnRangeNumber, rneNumber, roundShiftNumber, windowFinder, windowFinderBigInt } from '../src/kpu/conv/wasm.js';

const X36 = 2 ** 35;

const segment = fc.record({
  x_start: fc.oneof(
    fc.integer({ min: -X36, max: X36 - 1 }),
    fc.integer({ min: -5000, max: 5000 }),
    fc.constantFrom(-X36, X36 - 1, 0, -1, 1),
  ),
  y_mul: fc.oneof(
    fc.integer({ min: -(2 ** 15), max: 2 ** 15 - 1 }),
    fc.integer({ min: 0, max: 64 }),
    fc.constantFrom(0, 1, -1, 2 ** 15 - 1, -(2 ** 15)),
  ),
  shift_number: fc.oneof(
    fc.integer({ min: 0, max: 40 }),
    fc.integer({ min: 0, max: 255 }),
    fc.constantFrom(52, 53, 54),
  ),
  bias: fc.integer({ min: 0, max: 255 }),
});

/** A table: 16 random segments, sorted by x_start (as real tables are) unless `sorted` is false. */
const table = fc
  .record({ segs: fc.array(segment, { minLength: 16, maxLength: 16 }), sorted: fc.boolean() })
  .map(({ segs, sorted }) => (sorted ? [...segs].sort((a, b) => a.x_start - b.x_start) : segs));

/** Ramps like real layers': a few rising segments of one slope and constant ones around them. */
const rampTable = fc
  .record({
    start: fc.integer({ min: -100_000, max: 100_000 }),
    ym: fc.integer({ min: 1, max: 2 ** 15 - 1 }),
    shift: fc.integer({ min: 0, max: 40 }),
    steps: fc.array(fc.integer({ min: 1, max: 200_000 }), { minLength: 15, maxLength: 15 }),
    biases: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 15, maxLength: 15 }),
    flat: fc.array(fc.boolean(), { minLength: 15, maxLength: 15 }),
  })
  .map(({ start, ym, shift, steps, biases, flat }): ActivationSegment[] => {
    const t: ActivationSegment[] = [{ x_start: -X36, y_mul: 0, shift_number: 0, bias: 0 }];
    let x = start;
    for (let k = 0; k < 15; k++) {
      t.push({ x_start: x, y_mul: flat[k] ? 0 : ym, shift_number: shift, bias: biases[k] });
      x += steps[k];
    }
    return t;
  });

/** A range near one of the table's starts (or anywhere), of any length up to past 2^51. */
function rangeFor(segs: readonly ActivationSegment[]) {
  return fc
    .record({
      at: fc.integer({ min: 0, max: 16 }),
      off: fc.oneof(fc.integer({ min: -3000, max: 3000 }), fc.bigInt({ min: -(2n ** 52n), max: 2n ** 52n })),
      len: fc.oneof(
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.bigInt({ min: 0n, max: 2n ** 53n }),
      ),
    })
    .map(({ at, off, len }) => {
      const base = at < 16 ? BigInt(segs[at].x_start) : 0n;
      const lo = base + BigInt(off);
      return [lo, lo + BigInt(len)] as const;
    });
}

describe('the roundings in doubles', () => {
  // t: any integer below 2^53 in magnitude, or a tie (an odd multiple of 2^(s−1)), or next to one
  const cases = fc
    .record({
      s: fc.oneof(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 255 })),
      t: fc.bigInt({ min: -(2n ** 53n) + 1n, max: 2n ** 53n - 1n }),
      odd: fc.bigInt({ min: -(2n ** 20n), max: 2n ** 20n }),
      near: fc.integer({ min: -1, max: 1 }),
      tie: fc.boolean(),
    })
    .map(({ s, t, odd, near, tie }) => {
      if (!tie || s === 0 || s > 53) return { s, t };
      const v = (2n * odd + 1n) * (1n << BigInt(s - 1)) + BigInt(near);
      const lim = 2n ** 53n - 1n;
      return { s, t: v > lim ? lim : v < -lim ? -lim : v };
    });

  it("roundShiftNumber is nncase 0.2's rounding shift (referenceRoundShift) for |t| < 2^53", () => {
    fc.assert(
      fc.property(cases, ({ s, t }) => {
        expect(roundShiftNumber(Number(t), s)).toBe(Number(referenceRoundShift(t, s, 'nncase02')));
      }),
      { seed: 53, numRuns: 20000 },
    );
  });

  it('rneNumber rounds half to even: the reference for t ≥ 0, mirrored for t < 0', () => {
    // nncase 0.2's rounding is round half to even for t ≥ 0, and RNE is odd-symmetric
    fc.assert(
      fc.property(cases, ({ s, t }) => {
        const ref = t >= 0n ? referenceRoundShift(t, s, 'nncase02') : -referenceRoundShift(-t, s, 'nncase02');
        expect(rneNumber(Number(t), s) + 0).toBe(Number(ref));
      }),
      { seed: 54, numRuns: 20000 },
    );
  });
});

describe('the window search in doubles', () => {
  it('gives the BigInt search’s answers (window, constant ends, monotone) for every table and range', () => {
    let windows = 0;
    let inDoubles = 0;
    fc.assert(
      fc.property(
        fc
          .oneof(table, rampTable)
          .chain((segs) => fc.tuple(fc.constant(segs), fc.array(rangeFor(segs), { minLength: 1, maxLength: 6 }))),
        ([segs, ranges]) => {
          const fast = windowFinder(segs);
          const spec = windowFinderBigInt(segs);
          for (const [lo, hi] of ranges) {
            const w = fast.window(lo, hi);
            expect(w).toEqual(spec.window(lo, hi));
            expect(fast.head(lo, hi)).toEqual(spec.head(lo, hi));
            expect(fast.tail(lo, hi)).toEqual(spec.tail(lo, hi));
            expect(fast.monotone(lo, hi)).toBe(spec.monotone(lo, hi));
            if (w) windows++;
            if (lo >= -(2n ** 51n) && hi <= 2n ** 51n) inDoubles++;
          }
        },
      ),
      { seed: 18, numRuns: 1500 },
    );
    // the comparison is not vacuous: many ranges have a window, and most were searched in doubles
    expect(windows).toBeGreaterThan(500);
    expect(inDoubles).toBeGreaterThan(2000);
  });

  it('reaches a neighbour only while (bn − x0)·y_mul stays below the limit (2^51 here), as the BigInt search', () => {
    // segment 1 rises from 0 (y_mul 1, shift 21: the limit is 2^51) into a constant 255 from 2^30;
    // a range ending at 2^51 puts that end exactly on the limit
    const segs: ActivationSegment[] = [
      { x_start: -X36, y_mul: 0, shift_number: 0, bias: 0 },
      { x_start: 0, y_mul: 1, shift_number: 21, bias: 0 },
      ...Array.from({ length: 14 }, () => ({ x_start: 2 ** 30, y_mul: 0, shift_number: 0, bias: 255 })),
    ];
    for (const hi of [2n ** 51n - 1n, 2n ** 51n]) {
      const w = windowFinder(segs).window(-5n, hi);
      expect(w).toEqual(windowFinderBigInt(segs).window(-5n, hi));
      // below the limit segment 1's formula covers the whole range; on it, segment 1 stops at its own
      // end and the constant segment 15 takes over as a second piece
      expect(w!.second === undefined).toBe(hi < 2n ** 51n);
    }
  });

  it('keeps the BigInt rounding at ties, past 2^53 and for shifts past 53', () => {
    // one rising segment from 0 (y_mul 3, shift s) after a constant one: ranges whose products
    // tie (t = 2^(s−1)·odd), exceed 2^53, or meet a shift of 60
    for (const s of [1, 2, 20, 52, 53, 54, 60, 255]) {
      const segs: ActivationSegment[] = [
        { x_start: -X36, y_mul: 0, shift_number: 0, bias: 7 },
        { x_start: 0, y_mul: 3, shift_number: s, bias: 1 },
        ...Array.from({ length: 14 }, () => ({ x_start: X36 - 1, y_mul: -2, shift_number: s, bias: 9 })),
      ];
      const fast = windowFinder(segs);
      const spec = windowFinderBigInt(segs);
      for (const [lo, hi] of [
        [-(2n ** 51n), 2n ** 51n],
        [-3n, 2n ** 50n],
        [1n, 5n],
        [-(2n ** 51n), -1n],
        [2n ** 35n, 2n ** 51n],
      ] as const) {
        expect(fast.window(lo, hi)).toEqual(spec.window(lo, hi));
        expect(fast.head(lo, hi)).toEqual(spec.head(lo, hi));
        expect(fast.tail(lo, hi)).toEqual(spec.tail(lo, hi));
        expect(fast.monotone(lo, hi)).toBe(spec.monotone(lo, hi));
      }
    }
  });
});

describe('the batch-norm range in doubles', () => {
  it('bnRangeNumber is ((acc·norm_mul) >> norm_shift) + norm_add at both ends in BigInt, ordered', () => {
    // exact channels: |acc·norm_mul| < 2^52 at both ends (prepare.ts), norm_mul signed 24-bit,
    // norm_shift 4 bits, norm_add signed 32-bit
    const cases = fc
      .record({
        mul: fc.oneof(fc.integer({ min: -(2 ** 23), max: 2 ** 23 - 1 }), fc.constantFrom(0, 1, -1, -(2 ** 23))),
        shift: fc.integer({ min: 0, max: 15 }),
        add: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      })
      .chain((r) => {
        const bound = (2n ** 52n - 1n) / BigInt(Math.max(1, Math.abs(r.mul)));
        const acc = fc.oneof(fc.bigInt({ min: -bound, max: bound }), fc.bigInt({ min: -4096n, max: 4096n }));
        return fc.tuple(fc.constant(r), acc, acc);
      });
    fc.assert(
      fc.property(cases, ([{ mul, shift, add }, a, b]) => {
        const [lo, hi] = a < b ? [a, b] : [b, a];
        const f = (acc: bigint): bigint => ((acc * BigInt(mul)) >> BigInt(shift)) + BigInt(add);
        const [x, y] = [f(lo), f(hi)];
        const want = x < y ? [x, y] : [y, x];
        const got = bnRangeNumber(Number(lo), Number(hi), { norm_mul: mul, norm_shift: shift, norm_add: add });
        expect(got.map((v) => v + 0)).toEqual(want.map(Number));
      }),
      { seed: 52, numRuns: 20000 },
    );
  });
});
