import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ref from './fixtures/image-ops-reference.js';
import { getAffineTransform, warpAffineAi, warpAffineAiInto } from '../src/pipeline/index.js';
import type { PlanarImage, Point } from '../src/pipeline/index.js';

const TEMPLATE: Point[] = [
  [44, 59],
  [84, 59],
  [64, 82],
  [47, 105],
  [81, 105],
];

/**
 * Least-squares similarity by the closed form (independent of the SVD route): with centred
 * template (u, v) and image (x, y) points, a = Σ(u·x + v·y)/Σ(u² + v²), b = Σ(u·y − v·x)/Σ(u² + v²),
 * and x = a·u − b·v + tx, y = b·u + a·v + ty.
 */
function closedForm(img: Point[], tpl: Point[]): number[] {
  const n = img.length;
  const mu = tpl.reduce((s, p) => s + p[0], 0) / n,
    mv = tpl.reduce((s, p) => s + p[1], 0) / n;
  const mx = img.reduce((s, p) => s + p[0], 0) / n,
    my = img.reduce((s, p) => s + p[1], 0) / n;
  let sxx = 0,
    sa = 0,
    sb = 0;
  for (let i = 0; i < n; i++) {
    const u = tpl[i][0] - mu,
      v = tpl[i][1] - mv,
      x = img[i][0] - mx,
      y = img[i][1] - my;
    sxx += u * u + v * v;
    sa += u * x + v * y;
    sb += u * y - v * x;
  }
  const a = sa / sxx,
    b = sb / sxx;
  return [a, -b, mx - a * mu + b * mv, b, a, my - b * mu - a * mv, 0, 0, 1];
}

function expectClose(actual: readonly number[], expected: readonly number[], tol: number): void {
  expect(actual).toHaveLength(9);
  actual.forEach((v, i) =>
    expect(Math.abs(v - expected[i]), `element ${i}: ${v} vs ${expected[i]}`).toBeLessThanOrEqual(tol),
  );
}

describe('get_affine_transform', () => {
  it("matches the doc's worked example and the closed-form least-squares similarity", () => {
    const src: Point[] = [
      [120, 80],
      [160, 82],
      [141, 105],
      [122, 128],
      [156, 130],
    ];
    const T = getAffineTransform(src, TEMPLATE);
    // face-pipeline §5.1: T ≈ [[1.026331, −0.034345, 76.931082], [0.034345, 1.026331, 18.642816], [0, 0, 1]].
    expectClose(T, [1.026331, -0.034345, 76.931082, 0.034345, 1.026331, 18.642816, 0, 0, 1], 5e-5);
    expectClose(T, closedForm(src, TEMPLATE), 5e-5);
    // Every element is a binary32 value, the last row exactly (0, 0, 1).
    for (const v of T) expect(Math.fround(v)).toBe(v);
    expect(T.slice(6)).toEqual([0, 0, 1]);
  });

  it('recovers scale 2 and a translation', () => {
    const src = TEMPLATE.map(([u, v]) => [2 * u + 10, 2 * v - 20] as Point);
    expectClose(getAffineTransform(src, TEMPLATE), [2, 0, 10, 0, 2, -20, 0, 0, 1], 1e-4);
  });

  it('recovers a 90° rotation', () => {
    // x = −v + 300, y = u + 10: a = 0, b = 1.
    const src = TEMPLATE.map(([u, v]) => [300 - v, u + 10] as Point);
    expectClose(getAffineTransform(src, TEMPLATE), [0, -1, 300, 1, 0, 10, 0, 0, 1], 1e-4);
  });

  it('returns a reflection for a mirrored point set (no reflection correction)', () => {
    // x = 300 − u, y = v. Umeyama with the det test would give a rotation; this code gives the mirror.
    const src = TEMPLATE.map(([u, v]) => [300 - u, v] as Point);
    const T = getAffineTransform(src, TEMPLATE);
    expect(T[0] * T[4] - T[1] * T[3]).toBeLessThan(0);
    expectClose(T, [-1, 0, 300, 0, 1, 0, 0, 0, 1], 1e-4);
  });

  it('stores coordinates as uint16, so a negative landmark wraps to 65536 + v', () => {
    const src: Point[] = [
      [-5, 80],
      [40, 82],
      [21, 105],
      [2, 128],
      [36, 130],
    ];
    const wrapped: Point[] = src.map(([x, y]) => [x < 0 ? 65536 + x : x, y]);
    expect(getAffineTransform(src, TEMPLATE)).toEqual(getAffineTransform(wrapped, TEMPLATE));
    const exact = getAffineTransform(src, TEMPLATE, { wrapUint16: false });
    expectClose(exact, closedForm(src, TEMPLATE), 5e-5);
    expect(Math.abs(getAffineTransform(src, TEMPLATE)[2] - exact[2])).toBeGreaterThan(1000);
  });

  it('checks its arguments like MaixPy', () => {
    expect(() => getAffineTransform(TEMPLATE.slice(0, 4), TEMPLATE)).toThrow(/src len must equal dst len/);
    const eleven = new Array(11).fill([1, 2] as Point);
    expect(() => getAffineTransform(eleven, eleven)).toThrow(RangeError);
    expect(() => getAffineTransform([[1.5, 2]], [[1, 2]])).toThrow(/integers/);
  });
});

describe('warp_affine_ai (8-bit fixed-point bilinear)', () => {
  // One 3×2 plane: row 0 = 0, 100, 200; row 1 = 50, 150, 250.
  const plane = [0, 100, 200, 50, 150, 250];
  const gray: PlanarImage = { width: 3, height: 2, channels: 1, data: Uint8Array.from(plane) };
  const shift = (tx: number, ty: number): number[] => [1, 0, tx, 0, 1, ty, 0, 0, 1];

  it('is an exact copy under the identity', () => {
    const out = warpAffineAi(gray, 3, 2, shift(0, 0));
    expect(Array.from(out.data)).toEqual(plane);
  });

  it('weights the four neighbours by 1/256 steps and floors (>> 16)', () => {
    // T = shift(0.5, 0.25): pre_x = 128 → fx = 128, X = 0; pre_y = 64 → fy = 64, Y = 0.
    // (0,0): (128·192·0 + 128·192·100 + 128·64·50 + 128·64·150) >> 16 = 4096000 >> 16 = 62 (62.5 floored).
    // (1,0): 24576·100 + 24576·200 + 8192·150 + 8192·250 = 10649600 >> 16 = 162 (162.5).
    const out = warpAffineAi(gray, 2, 1, shift(0.5, 0.25));
    expect(Array.from(out.data)).toEqual([62, 162]);
  });

  it('reads the next row at the last column and past the buffer at the last row (the quirk)', () => {
    const out = warpAffineAi(gray, 3, 2, shift(0.5, 0.25));
    // (2,0): X = 2 = W−1 passes; p(X+1, 0) is flat index 3 = row 1, column 0 (50); p(X+1, 1) is
    // flat index 6, past the 6-byte plane (0): 24576·200 + 24576·50 + 8192·250 + 8192·0 = 8192000 >> 16 = 125.
    expect(out.data[2]).toBe(125);
    // (0,1): Y = 1 = H−1 reads row 2 (past the buffer): 24576·50 + 24576·150 = 4915200 >> 16 = 75.
    expect(out.data[3]).toBe(75);
    // With 255 past the buffer: 8192000 + 8192·255 = 10280960 >> 16 = 156.
    expect(warpAffineAi(gray, 3, 2, shift(0.5, 0.25), { outOfBuffer: 255 }).data[2]).toBe(156);
  });

  it('reads the next plane at the last row of a 3-plane image', () => {
    // R = the plane above, G = 10, 20, 30 / 40, 50, 60, B = 0. Output (0,1) of R reads G's first row:
    // 24576·50 + 24576·150 + 8192·10 + 8192·20 = 5160960 >> 16 = 78.
    const rgb: PlanarImage = {
      width: 3,
      height: 2,
      channels: 3,
      data: Uint8Array.from([...plane, 10, 20, 30, 40, 50, 60, 0, 0, 0, 0, 0, 0]),
    };
    const out = warpAffineAi(rgb, 3, 2, shift(0.5, 0.25));
    expect(out.channels).toBe(3);
    expect(out.data[3]).toBe(78);
    // G's (0,0): (24576·10 + 24576·20 + 8192·40 + 8192·50) >> 16 = 1474560 >> 16 = 22.
    expect(out.data[6]).toBe(22);
  });

  it('leaves pixels mapped outside the source black, with truncation toward zero', () => {
    // tx = −0.5: (0,0) pre_x = −128 → X = −128 >> 8 = −1 → skipped (0);
    // (1,0) pre_x = 128 → X = 0, fx = 128 → (128·256·0 + 128·256·100) >> 16 = 50; (2,0) → (100 + 200)/2 = 150.
    expect(Array.from(warpAffineAi(gray, 3, 1, shift(-0.5, 0)).data)).toEqual([0, 50, 150]);
    // tx = −0.001: (0,0) pre_x = (int)(−0.256) = 0 → X = 0, fx = 0: column 0 exactly;
    // (1,0) pre_x = (int)(255.744) = 255 → X = 0, fx = 255 → 255·256·100 >> 16 = 99 (not 100).
    expect(Array.from(warpAffineAi(gray, 2, 1, shift(-0.001, 0)).data)).toEqual([0, 99]);
    // Entirely outside: all 0.
    expect(Array.from(warpAffineAi(gray, 3, 2, shift(10, 0)).data)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('checks its arguments', () => {
    expect(() => warpAffineAi(gray, 0, 2, shift(0, 0))).toThrow(RangeError);
    expect(() => warpAffineAi(gray, 2, 2, [1, 0, 0])).toThrow(RangeError);
  });
});

describe('warp_affine_ai against the plain per-pixel loop (test/fixtures/image-ops-reference.ts)', () => {
  const source = fc
    .record({
      w: fc.integer({ min: 1, max: 12 }),
      h: fc.integer({ min: 1, max: 12 }),
      channels: fc.constantFrom<1 | 3>(1, 3),
      tail: fc.integer({ min: 0, max: 16 }),
      seed: fc.integer(),
    })
    .map(({ w, h, channels, tail, seed }): PlanarImage => {
      let s = seed >>> 0;
      const next = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24;
      // `tail` bytes past the planes, as in MaixPy's 64-aligned allocations (0: the quirk reads past the buffer).
      return { width: w, height: h, channels, data: Uint8Array.from({ length: channels * w * h + tail }, next) };
    });
  const coord = fc.double({ min: -30, max: 40, noNaN: true });
  /** Similarities (rotation, scale of either sign: mirrored), shears, and any doubles (NaN, ±∞, huge). */
  const transform = fc.oneof(
    fc
      .record({
        s: fc.double({ min: -3, max: 3, noNaN: true }),
        r: fc.double({ min: -4, max: 4 }),
        tx: coord,
        ty: coord,
      })
      .map(({ s, r, tx, ty }) => [
        s * Math.cos(r),
        -s * Math.sin(r),
        tx,
        s * Math.sin(r),
        s * Math.cos(r),
        ty,
        0,
        0,
        1,
      ]),
    fc
      .tuple(
        fc.double({ min: -2, max: 2 }),
        fc.double({ min: -2, max: 2 }),
        coord,
        fc.double({ min: -2, max: 2 }),
        fc.double({ min: -2, max: 2 }),
        coord,
      )
      .map((t) => [...t, 0, 0, 1]),
    fc.array(fc.double(), { minLength: 9, maxLength: 9 }),
  );

  it('warpAffineAi and warpAffineAiInto give the reference bytes; the target tail is left alone', () => {
    fc.assert(
      fc.property(
        source,
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 12 }),
        transform,
        fc.integer({ min: 0, max: 255 }),
        (src, width, height, T, outOfBuffer) => {
          const want = Array.from(ref.warpAffineAi(src, width, height, T, { outOfBuffer }).data);
          expect(Array.from(warpAffineAi(src, width, height, T, { outOfBuffer }).data)).toEqual(want);
          const n = src.channels * width * height;
          const into: PlanarImage = { width, height, channels: src.channels, data: new Uint8Array(n + 5).fill(0xa5) };
          warpAffineAiInto(src, into, T, { outOfBuffer });
          expect(Array.from(into.data.subarray(0, n))).toEqual(want);
          expect(Array.from(into.data.subarray(n))).toEqual([0xa5, 0xa5, 0xa5, 0xa5, 0xa5]);
        },
      ),
      { seed: 18, numRuns: 1500 },
    );
  });

  it('a face-sized warp (128×128 from a 320×240 frame, face near the top edge) gives the reference bytes', () => {
    const src: PlanarImage = {
      width: 320,
      height: 240,
      channels: 3,
      data: Uint8Array.from({ length: 3 * 320 * 240 }, (_, i) => Math.imul(i + 7, 2654435761) >>> 24),
    };
    for (const pts of [
      [
        [120, 60],
        [150, 61],
        [136, 75],
        [124, 88],
        [148, 88],
      ],
      [
        [100, 5],
        [160, 2],
        [131, 30],
        [110, 60],
        [155, 58],
      ],
      [
        [300, 230],
        [318, 231],
        [309, 236],
        [302, 239],
        [317, 239],
      ],
    ] as Point[][]) {
      const T = getAffineTransform(pts, TEMPLATE);
      expect(Array.from(warpAffineAi(src, 128, 128, T).data)).toEqual(
        Array.from(ref.warpAffineAi(src, 128, 128, T).data),
      );
    }
  });
});
