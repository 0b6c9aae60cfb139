/**
 * Feature post-processing and scoring.
 *
 * MaixPy (face-pipeline §6, disassembled from the closed `lib_sipeed_kpu.a`):
 * - `kpu.face_encode(floats)`: clamp to [−0.25, 0.25] (fmax then fmin, so NaN → −0.25), ×512 in
 *   binary32, truncate to int32, keep the low 8 bits as a signed byte. Quirk: ≥ +0.25 gives 128,
 *   stored as −128.
 * - `kpu.face_compare(a, b)`: exact integer dot and norms, score = 50·(1 + cos θ) computed as
 *   `((float)dot·0.5f) / sqrt((double)(na·nb)) + 0.5) · 100` in double, returned as binary32.
 *
 * CanMV (face-pipeline C.6):
 * - `run_with_output(get_feature=True)`: L2 normalisation in binary32 (sequential sum of
 *   squares, sqrtf, divide; no epsilon, an all-zero vector gives NaN).
 * - `feature_compare(a, b)`: dot accumulated in binary32, score = (0.5 + 0.5·dot)·100 in binary32.
 *
 * `fusedMultiplyAdd`: the firmware is built with `-ffast-math` and may contract each
 * accumulation step into `fmadd.s` (one rounding); not checked in a binary. Default false
 * (separate rounding of product and sum). For binary32 inputs the product is exact in double, so
 * `f32(acc + x·y)` is exactly the fused result.
 */
import { f32, f32ToI32 } from './f32.js';

/** `FACE_FEATURE_DIM_MAX` of the MaixPy binding. */
export const FACE_FEATURE_DIM_MAX = 512;

export function faceEncode(values: ArrayLike<number>): Int8Array {
  if (values.length > FACE_FEATURE_DIM_MAX)
    throw new RangeError(`face_encode: feature length ${values.length} exceeds ${FACE_FEATURE_DIM_MAX}`);
  const out = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    let v = f32(values[i]);
    v = Number.isNaN(v) ? -0.25 : Math.max(v, -0.25); // fmax(NaN, y) = y
    v = Math.min(v, 0.25);
    out[i] = f32ToI32(f32(v * 512)); // Int8Array keeps the low 8 bits, two's complement
  }
  return out;
}

export function faceCompare(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`face_compare: feature lengths differ (${a.length} vs ${b.length})`);
  let dot = 0,
    na = 0,
    nb = 0;
  for (let i = 0; i < a.length; i++) {
    // Signed bytes; sums stay far below 2^53 for ≤ 512 entries, so they are exact.
    const x = (a[i] << 24) >> 24,
      y = (b[i] << 24) >> 24;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  const h = f32(f32(dot) * 0.5);
  return f32((h / Math.sqrt(na * nb) + 0.5) * 100);
}

export interface FloatAccumulateOptions {
  readonly fusedMultiplyAdd?: boolean;
}

function dotF32(a: ArrayLike<number>, b: ArrayLike<number>, fused: boolean): number {
  let acc = 0;
  for (let i = 0; i < a.length; i++) {
    const x = f32(a[i]),
      y = f32(b[i]);
    acc = fused ? f32(acc + x * y) : f32(acc + f32(x * y));
  }
  return acc;
}

/** CanMV `l2normalize`: g_i = f_i / sqrtf(Σ f_i²), binary32. */
export function l2Normalize(values: ArrayLike<number>, opts: FloatAccumulateOptions = {}): Float32Array {
  const s = dotF32(values, values, opts.fusedMultiplyAdd ?? false);
  const norm = f32(Math.sqrt(s));
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32(f32(values[i]) / norm);
  return out;
}

/** CanMV `feature_compare(a, b)` (`calCosinDistance`): (0.5 + 0.5·dot)·100 in binary32. */
export function featureCompare(a: ArrayLike<number>, b: ArrayLike<number>, opts: FloatAccumulateOptions = {}): number {
  if (a.length !== b.length) throw new RangeError(`feature_compare: feature len error (${a.length} vs ${b.length})`);
  const dot = dotF32(a, b, opts.fusedMultiplyAdd ?? false);
  return f32(f32(0.5 + f32(0.5 * dot)) * 100);
}

export interface MatchCandidate<T> {
  readonly name: string;
  readonly feature: T;
}

export interface MatchResult {
  /** The best-scoring entry's name if its score is > threshold, else null. */
  readonly name: string | null;
  /** Best score over all entries (NaN-free scores compared with `>`; null when none stored). */
  readonly score: number | null;
  /** Index of the best entry (first maximum, like `scores.index(max(scores))`). */
  readonly index: number | null;
}

/**
 * The demos' matching: score the probe against every stored feature in order, take the first
 * maximum (a NaN first score stays the maximum, as with Python's `max`), accept iff it is
 * strictly above the threshold.
 */
export function bestMatch<T>(
  entries: readonly MatchCandidate<T>[],
  probe: T,
  score: (stored: T, probe: T) => number,
  threshold: number,
): MatchResult {
  let best = -Infinity,
    index = -1;
  for (let i = 0; i < entries.length; i++) {
    const s = score(entries[i].feature, probe);
    if (index < 0 || s > best) {
      best = s;
      index = i;
    }
  }
  if (index < 0) return { name: null, score: null, index: null };
  // The script's threshold is a MicroPython float, i.e. binary32.
  return { name: best > f32(threshold) ? entries[index].name : null, score: best, index };
}
