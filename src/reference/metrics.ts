/**
 * Agreement measures between a reference tensor and a tested one. Sums run in float64.
 *
 * - cosine: Σab / (|a||b|); 1 when both are all zero, 0 when only one is.
 * - centred cosine: the cosine of the two after subtracting each one's mean. A raw cosine is
 *   inflated by a constant offset (detector outputs sit around a large negative logit), so
 *   both are reported for model outputs.
 * - SNR: 10·log10(Σ ref² / Σ (ref − test)²) in dB; `null` when the two are identical
 *   (infinite SNR). When the reference is all zero and the test is not, the signal power is
 *   taken as the smallest positive double, giving a very negative finite value.
 * - max abs: max |ref − test|.
 */

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return cosineAbout(a, b, Math.min(a.length, b.length), 0, 0);
}

export function centredCosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  return cosineAbout(a, b, n, mean(a, n), mean(b, n));
}

/** The cosine of the first `n` values of a − ma and b − mb (x − 0 is x exactly, so the plain cosine is about 0). */
function cosineAbout(a: ArrayLike<number>, b: ArrayLike<number>, n: number, ma: number, mb: number): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i] - ma;
    const y = b[i] - mb;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  if (aa === 0 && bb === 0) return 1;
  if (aa === 0 || bb === 0) return 0;
  return clampUnit(ab / Math.sqrt(aa * bb));
}

function clampUnit(v: number): number {
  return v > 1 ? 1 : v < -1 ? -1 : v;
}

function mean(a: ArrayLike<number>, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i];
  return n ? s / n : 0;
}

export function snrDb(reference: ArrayLike<number>, test: ArrayLike<number>): number | null {
  let s = 0;
  let e = 0;
  const n = Math.min(reference.length, test.length);
  for (let i = 0; i < n; i++) {
    const r = reference[i];
    const d = r - test[i];
    s += r * r;
    e += d * d;
  }
  if (e === 0) return null;
  return 10 * Math.log10(Math.max(s, Number.MIN_VALUE) / e);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > m || Number.isNaN(d)) m = d;
  }
  return m;
}

/** Round half to even (the KPU's activation rounding for t ≥ 0), then clamp to 0..255. */
export function requantizeU8(x: number): number {
  if (!(x > 0)) return 0; // also NaN
  if (x >= 255) return 255;
  let r = Math.round(x);
  if (r - x === 0.5 && r % 2 !== 0) r -= 1;
  return r;
}

export interface LsbAgreement {
  /** Largest |q_ref − q_test|. */
  readonly maxLsbDiff: number;
  /** Fraction of elements that differ. */
  readonly mismatchFraction: number;
}

/** Compares quantised uint8 values (already integers). */
export function lsbAgreement(reference: ArrayLike<number>, test: ArrayLike<number>): LsbAgreement {
  let m = 0;
  let k = 0;
  const n = Math.min(reference.length, test.length);
  for (let i = 0; i < n; i++) {
    const d = Math.abs(reference[i] - test[i]);
    if (d !== 0) k++;
    if (d > m) m = d;
  }
  return { maxLsbDiff: m, mismatchFraction: n ? k / n : 0 };
}

/** Fraction of float elements outside |ref − test| ≤ abs + rel·|ref|. */
export function floatMismatchFraction(
  reference: ArrayLike<number>,
  test: ArrayLike<number>,
  tol: { readonly abs: number; readonly rel: number },
): number {
  let k = 0;
  const n = Math.min(reference.length, test.length);
  for (let i = 0; i < n; i++) {
    const r = reference[i];
    const d = Math.abs(r - test[i]);
    if (!(d <= tol.abs + tol.rel * Math.abs(r))) k++;
  }
  return n ? k / n : 0;
}
