/**
 * The WebAssembly engine of the KPU conv layer (kernels in src/kpu/wasm/kernels/, their descriptor
 * ABI in src/kpu/wasm/abi.ts). This file packs a layer's weights and tables once (on its first run),
 * lays out the kernel memory, and per run copies the input map, output map and tables in, runs every
 * batch item, and copies the output map (and the dense copy) back. It computes exactly what
 * `runKpuConvReference` computes; the fast-check properties in test/kpu-conv.test.ts and
 * test/kpu-wasm.test.ts hold it to that.
 *
 * Exactness of the SIMD activation path (`simdWindow`). The scalar kernel is the reference's int64
 * arithmetic and needs no proof. The SIMD kernel evaluates, in f64 for two lanes at a time,
 *     out = clamp(RNE((bn − x0)·y_mul·2^−s) + bias),
 *     bn = floor((S + Tx + C)·norm_mul·2^−norm_shift) + norm_add
 * for one segment (x0, y_mul, s, bias) chosen per channel, or two (the second past a split). It is
 * used only where
 *  - the channel is `exact` (prepare.ts: |acc·norm_mul| < 2^52 over the channel's whole accumulator
 *    range, so the product and bn are exact in f64, and floor is the arithmetic shift), and its
 *    accumulator range lies within ±2^31, so S + Tx + C summed in i32 lanes (mod 2^32) is exact;
 *  - the golden rules hold (strict boundary, nncase 0.2 rounding) on a non-decreasing table;
 *  - bn lies in the channel's window, a bn interval on which the formula provably gives the
 *    reference's output: a segment's own interval (where t ≥ 0, so nncase 0.2's rounding is RNE),
 *    extended over neighbouring segments whose output is constant there and equal to the
 *    formula's (clamped, monotone: checked at both ends in BigInt), and where
 *    |(bn − x0)·y_mul| < 2^51 so the product, its power-of-two scaling and RNE are exact, and
 *    |y| < 2^30 so the rounded y (read from the low word of y + 1.5·2^52) plus bias fits an i32;
 *    or two such spans that meet (e.g. leaky ReLU's two rising pieces).
 * Where the window misses part of the range, lanes whose bn lies in the table's constant bottom or
 * top (`head`, `tail`: up to / from some bn every segment provably outputs one value, e.g. 255 past
 * ReLU6's last steps) take that value, and the window is sought between the two; lanes whose bn
 * falls elsewhere outside the window are recomputed by `actExact` (the golden rules in branch-free
 * scalar f64, exact on any channel prepare.ts marks `exact`; it also runs exact channels that have
 * no window). Saturating narrows (i32 → i16 → u8) do the final clamp.
 *
 * Max pool 2×2 before the activation (`outputMonotone`): when the reference's output is monotone
 * in the accumulator over the channel's whole range, the max of the activations is the activation
 * of the max (or min, for norm_mul < 0) accumulator, so pool type 1 activates one pixel in four.
 */
import type { ActivationSegment, BatchNormEntry } from '../../kmodel-parser/kpu-layer-argument.js';
import { KpuFault } from '../../errors.js';
import {
  CHAN,
  CHAN_BYTES,
  DESC,
  DESC_BYTES,
  FLAG,
  HEADER_BYTES,
  RULE,
  SEG_BYTES,
  SEG_F64,
  SEG_TABLE_BYTES,
  THREADS,
} from '../wasm/abi.js';
import { kernelFailure, kernelRuntime, type KernelRuntime } from '../wasm/runtime.js';
import { partsOf } from '../parallel/index.js';
import { checkRunBuffers, referenceRoundShift } from './reference.js';
import { GOLDEN_NUMERICS, type KpuNumerics, type PreparedKpuConv } from './prepare.js';

/** Bytes of the S rows of one pixel chunk (all rows of the layer): sized to stay in L2. */
const S_CHUNK_BYTES = 192 * 1024;

interface WasmPlan {
  readonly total: number;
  /** Each thread's descriptor (DESC slots; argXf apart): the layer's fields, the thread's scratch. */
  readonly descs: readonly Int32Array[];
  /** arg_x·2^−shr_x */
  readonly argXf: number;
  readonly inOff: number;
  readonly outOff: number;
  readonly denseOff: number;
  readonly wtOff: number;
  readonly wt: Uint8Array;
  readonly chanOff: number;
  readonly chan: Uint8Array;
  readonly segOff: number;
  readonly seg: Uint8Array;
  /** Regions [offset, bytes] that start every run as zeros. */
  readonly zeroed: readonly [number, number][];
  /** Multiply-accumulates of one batch item (whether two threads pay, src/kpu/parallel). */
  readonly macs: number;
  /** Channels on the SIMD activation path, and pooled before their activation (for tests). */
  readonly simdChannels: number;
  readonly prepoolChannels: number;
  /** Whether one window, found for the hull of the channels' ranges, serves every channel (for tests). */
  readonly layerWindow: boolean;
  /** Views, cached so that a run allocates nothing: per AI SRAM array, per memory buffer, per mainOut. */
  cache: {
    ram?: Uint8Array;
    ramIn?: Uint8Array;
    ramOut?: Uint8Array;
    buffer?: ArrayBuffer;
    memOut?: Uint8Array;
    memDense?: Uint8Array;
  };
}

const align = (n: number, a = 64): number => Math.ceil(n / a) * a;
const roundUp8 = (n: number): number => Math.ceil(n / 8) * 8;
const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const lcm = (a: number, b: number): number => (a / gcd(a, b)) * b;

/** Round half to even of t/2^s (any sign), exactly. */
function rne(t: bigint, s: number): bigint {
  if (s === 0) return t;
  const sb = BigInt(s);
  const q = t >> sb;
  const f = t - (q << sb);
  const h = 1n << (sb - 1n);
  if (f < h) return q;
  if (f > h) return q + 1n;
  return (q & 1n) === 0n ? q : q + 1n;
}

const clamp255 = (v: bigint): number => (v < 0n ? 0 : v > 255n ? 255 : Number(v));

/** A constant end of a table on a channel's range (`windowFinder`'s head and tail). */
interface Constant {
  readonly at: bigint;
  readonly value: number;
}

interface Window {
  readonly x0: bigint;
  readonly ymul: number;
  readonly shift: number;
  readonly bias: number;
  /** bn − x0 ≤ lo or bn − x0 > hi falls back; ±Infinity when the window reaches the range's end. */
  readonly lo: number;
  readonly hi: number;
  /** A second segment's formula (on bn − second.x0) for bn − x0 > split (two rising pieces, e.g. leaky ReLU). */
  readonly second?: {
    readonly x0: bigint;
    readonly ymul: number;
    readonly shift: number;
    readonly bias: number;
    readonly split: number;
  };
}

/**
 * The SIMD window of one channel under the golden rules on a non-decreasing table (see the file
 * comment), or null. bnLo..bnHi is the channel's batch-norm output range over every input.
 */
export function simdWindow(bnLo: bigint, bnHi: bigint, segs: readonly ActivationSegment[]): Window | null {
  return windowFinder(segs).window(bnLo, bnHi);
}

/** Is the reference's output (golden rules, non-decreasing table) non-decreasing in bn on bnLo..bnHi? */
export function outputMonotone(bnLo: bigint, bnHi: bigint, segs: readonly ActivationSegment[]): boolean {
  return windowFinder(segs).monotone(bnLo, bnHi);
}

/** What `windowFinder` answers for one table. */
export interface WindowFinder {
  window(bnLo: bigint, bnHi: bigint): Window | null;
  monotone(bnLo: bigint, bnHi: bigint): boolean;
  head(bnLo: bigint, bnHi: bigint): Constant | null;
  tail(bnLo: bigint, bnHi: bigint): Constant | null;
}

/**
 * `windowFinderBigInt` in doubles, with the same answers: a layer's first run asks it once per
 * output channel, and BigInt arithmetic made that search a large part of the first frame.
 *
 * Exactness. The table's fields are small (x_start signed 36 bits, y_mul signed 16, bias 8 bits),
 * and a range with |bnLo|, |bnHi| ≤ 2^51 (every channel the kernel can take: `exact` channels
 * have |acc·norm_mul| < 2^52, prepare.ts) keeps every point the search looks at (the range's ends,
 * x_start, x_start + 1) within ±(2^51 + 2^35 + 1): each difference of two such points is an
 * integer below 2^53, so exact in a double. A product t = d·y_mul is exact when |t| < 2^53, which
 * the computed product shows (rounding is monotone and 2^53 is a double); a larger product is
 * evaluated in BigInt, as the specification does. Shifts and roundings of an exact t are exact:
 * q = floor(t·2^−s) is a power-of-two scaling and a floor, f = t − q·2^s lies in [0, 2^s), an
 * integer below 2^53 for s ≤ 53; past that |t| < 2^(s−1), which settles both roundings
 * (`roundShiftNumber`). A range beyond ±2^51 is searched in BigInt.
 * test/kpu-window-search.test.ts holds the two to the same answers over random tables and ranges.
 */
export function windowFinder(segs: readonly ActivationSegment[]): WindowFinder & { readonly num: NumberWindowFinder } {
  let big: WindowFinder | undefined;
  const bigFinder = (): WindowFinder => (big ??= windowFinderBigInt(segs));
  const num = windowFinderNumber(segs);
  const fits = (a: bigint, b: bigint): boolean =>
    a >= -NUM_RANGE && a <= NUM_RANGE && b >= -NUM_RANGE && b <= NUM_RANGE;
  return {
    num,
    window: (a, b) => (fits(a, b) ? num.window(Number(a), Number(b)) : bigFinder().window(a, b)),
    monotone: (a, b) => (fits(a, b) ? num.monotone(Number(a), Number(b)) : bigFinder().monotone(a, b)),
    head: (a, b) => (fits(a, b) ? num.head(Number(a), Number(b)) : bigFinder().head(a, b)),
    tail: (a, b) => (fits(a, b) ? num.tail(Number(a), Number(b)) : bigFinder().tail(a, b)),
  };
}

/** The largest |bn| at a range's ends that `windowFinder` searches in doubles. */
const NUM_RANGE = 2n ** 51n;
const TWO53 = 2 ** 53;

// (+ 0 turns a −0 into 0, as the BigInt path has no −0)
const clampNumber = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v + 0);

/** 2^s and 2^−s for s = 0..53 (what `2 ** s` gives, without a call to pow per rounding). */
const POW2 = Float64Array.from({ length: 54 }, (_, s) => 2 ** s);
const POW2_NEG = Float64Array.from({ length: 54 }, (_, s) => 2 ** -s);

/** `rne` for an integer |t| < 2^53 in a double. */
export function rneNumber(t: number, s: number): number {
  if (s === 0) return t;
  if (s > 53) return 0; // |t| < 2^53 ≤ 2^(s−1): below half in magnitude, or (t < 0) f = t + 2^s above half, q + 1 = 0
  const q = Math.floor(t * POW2_NEG[s]);
  const f = t - q * POW2[s];
  const h = POW2[s - 1];
  if (f < h) return q;
  if (f > h) return q + 1;
  return q % 2 === 0 ? q : q + 1;
}

/** `referenceRoundShift(t, s, 'nncase02')` for an integer |t| < 2^53 in a double (no 64-bit wrap can occur). */
export function roundShiftNumber(t: number, s: number): number {
  if (s === 0) return t;
  // |t| < 2^53 ≤ 2^(s−1): q = 0 (f = t < h) for t ≥ 0; q = −1 and f = t + 2^s > h for t < 0, so q − 1
  if (s > 53) return t < 0 ? -2 : 0;
  const q = Math.floor(t * POW2_NEG[s]);
  const f = t - q * POW2[s];
  const h = POW2[s - 1];
  const sgn = t < 0 ? -1 : 1;
  if (f < h) return q;
  if (f > h) return q + sgn;
  return q % 2 !== 0 ? q + sgn : q;
}

/** `WindowFinder` on doubles: ranges within ±2^51 (`windowFinder`'s `num`). */
interface NumberWindowFinder {
  window(bnLo: number, bnHi: number): Window | null;
  monotone(bnLo: number, bnHi: number): boolean;
  head(bnLo: number, bnHi: number): Constant | null;
  tail(bnLo: number, bnHi: number): Constant | null;
}

/**
 * `windowFinderBigInt`'s search on doubles (see `windowFinder` for why each step is exact), with
 * the same answers; ranges within ±2^51. The window search visits only the segments the range
 * reaches (the BigInt search passes over the others).
 */
function windowFinderNumber(segs: readonly ActivationSegment[]): NumberWindowFinder {
  const xs = segs.map((s) => s.x_start);
  const ym = segs.map((s) => s.y_mul);
  const bias = segs.map((s) => s.bias);
  const sh = segs.map((s) => s.shift_number);
  const xsBig = segs.map((s) => BigInt(s.x_start));
  // the reference's output on segment k (bn in k's interval, so k is the chosen segment)
  const outOn = (k: number, bn: number): number => {
    const t = (bn - xs[k]) * ym[k];
    if (!(Math.abs(t) < TWO53))
      return clamp255(
        referenceRoundShift(BigInt.asIntN(64, (BigInt(bn) - xsBig[k]) * BigInt(ym[k])), sh[k], 'nncase02') +
          BigInt(bias[k]),
      );
    return clampNumber(roundShiftNumber(t, sh[k]) + bias[k]);
  };
  // segment j's formula: round half to even, no sign quirk
  const F = (j: number, bn: number): number => {
    const t = (bn - xs[j]) * ym[j];
    if (!(Math.abs(t) < TWO53)) return clamp255(rne((BigInt(bn) - xsBig[j]) * BigInt(ym[j]), sh[j]) + BigInt(bias[j]));
    return clampNumber(rneNumber(t, sh[j]) + bias[j]);
  };
  /** The reference's output if it is constant on [a, b] within segment k, else null. */
  const constantOn = (k: number, a: number, b: number): number | null => {
    if (ym[k] === 0) return clampNumber(bias[k]);
    // t ≥ 0 on [a, b]: the rounding is monotone, so equal ends mean constant
    if (ym[k] > 0 && a >= xs[k]) {
      const va = outOn(k, a);
      return va === outOn(k, b) ? va : null;
    }
    return null;
  };
  /** Formula j equals the reference on [a, b] ⊆ segment k (j's formula is monotone: ends suffice). */
  const agrees = (j: number, k: number, a: number, b: number): boolean => {
    const v = constantOn(k, a, b);
    return v !== null && F(j, a) === v && F(j, b) === v;
  };
  // full intervals of segments 1..14: (xs[k], xs[k+1]], worked out when a search first asks for a
  // pair (most layers ask for a few of the 256: one search for the hull of their channels' ranges)
  const fullKnown = new Int8Array(256).fill(-1);
  const full = (j: number, k: number): boolean => {
    let v = fullKnown[j * 16 + k];
    if (v < 0)
      v = fullKnown[j * 16 + k] =
        k >= 1 && k <= 14 && xs[k] + 1 <= xs[k + 1] && ym[j] >= 0 && agrees(j, k, xs[k] + 1, xs[k + 1]) ? 1 : 0;
    return v === 1;
  };
  // |t| < limit (see windowFinderBigInt), and the largest d with d·y_mul < limit (y_mul > 0)
  const limits = segs.map((s) => 2 ** Math.min(30 + s.shift_number, 51));
  const maxDs = segs.map((s, j) =>
    s.y_mul > 0 ? Number((BigInt(limits[j]) + BigInt(s.y_mul) - 1n) / BigInt(s.y_mul) - 1n) : 0,
  );

  // segment k is chosen (strict rule, sorted table) for bn in (xs[k], xs[k+1]]; segment 0 for bn ≤ xs[1]
  const lowerOf = (k: number, bnLo: number): number => (k === 0 ? bnLo : xs[k] + 1 > bnLo ? xs[k] + 1 : bnLo);
  const upperOf = (k: number, bnHi: number): number => (k === 15 ? bnHi : xs[k + 1] < bnHi ? xs[k + 1] : bnHi);

  const monotone = (bnLo: number, bnHi: number): boolean => {
    let prev: number | null = null;
    for (let k = 0; k < 16; k++) {
      const a = lowerOf(k, bnLo);
      const b = upperOf(k, bnHi);
      if (a > b) continue;
      if (ym[k] < 0 || (ym[k] > 0 && a < xs[k])) return false;
      const va = outOn(k, a);
      if (prev !== null && va < prev) return false;
      prev = outOn(k, b);
    }
    return true;
  };

  // One search's scratch (a search calls nothing that searches): the segments the range reaches,
  // in table order, with their clipped intervals, and each one's span (`has` 0: none). Only these
  // are visited; every segment the range does not reach is one the BigInt search skips.
  const rk = new Int32Array(16);
  const ra = new Float64Array(16);
  const rb = new Float64Array(16);
  const has = new Uint8Array(16);
  const sa = new Float64Array(16);
  const sb = new Float64Array(16);
  // formula j reproduces the reference on [ka, kb] ⊆ segment k, exactly (see windowFinderBigInt)
  const reaches = (j: number, k: number, ka: number, kb: number): boolean => {
    const clipped = ka !== xs[k] + 1 || k === 0 || k === 15 || kb !== xs[k + 1];
    if (!(clipped ? agrees(j, k, ka, kb) : full(j, k))) return false;
    const x0 = xs[j];
    return Math.abs((ka - x0) * ym[j]) < limits[j] && Math.abs((kb - x0) * ym[j]) < limits[j];
  };

  const window = (bnLo: number, bnHi: number): Window | null => {
    let n = 0;
    for (let k = 0; k < 16; k++) {
      const a = lowerOf(k, bnLo);
      const b = upperOf(k, bnHi);
      if (a > b) continue;
      rk[n] = k;
      ra[n] = a;
      rb[n] = b;
      n++;
    }
    for (let i = 0; i < n; i++) {
      has[i] = 0;
      const j = rk[i];
      const a = ra[i];
      const b = rb[i];
      const x0 = xs[j];
      if (ym[j] < 0 || (ym[j] > 0 && a < x0)) continue; // t < 0 somewhere: not RNE there
      // a product past 2^53 is past the limit too (rounding is monotone), so the double compare is exact
      let wb = b;
      if (ym[j] !== 0) {
        if (x0 + maxDs[j] < wb) wb = x0 + maxDs[j];
      }
      if (wb < a) continue;
      const cut = wb < b;
      let wa = a;
      for (let q = i - 1; q >= 0; q--) {
        if (!reaches(j, rk[q], ra[q], rb[q])) break;
        wa = ra[q];
      }
      for (let q = i + 1; q < n && !cut; q++) {
        if (!reaches(j, rk[q], ra[q], rb[q])) break;
        wb = rb[q];
      }
      has[i] = 1;
      sa[i] = wa;
      sb[i] = wb;
    }
    let best: { j: number; k: number; wa: number; wb: number; aEnd: number } | null = null;
    for (let i = 0; i < n; i++) {
      if (has[i] && (!best || sb[i] - sa[i] > best.wb - best.wa))
        best = { j: rk[i], k: -1, wa: sa[i], wb: sb[i], aEnd: sb[i] };
    }
    for (let i = 0; i < n; i++) {
      if (!has[i] || !best) continue;
      const Awa = sa[i];
      const Awb = sb[i];
      for (let q = i + 1; q < n; q++) {
        if (has[q] && sa[q] > Awa && sa[q] <= Awb + 1 && sb[q] > Awb && sb[q] - Awa > best.wb - best.wa)
          best = { j: rk[i], k: rk[q], wa: Awa, wb: sb[q], aEnd: Awb };
      }
    }
    if (!best) return null;
    const x0 = xs[best.j];
    const w: Window = {
      x0: xsBig[best.j],
      ymul: segs[best.j].y_mul,
      shift: segs[best.j].shift_number,
      bias: segs[best.j].bias,
      lo: best.wa === bnLo ? -Infinity : best.wa - 1 - x0,
      hi: best.wb === bnHi ? Infinity : best.wb - x0,
    };
    if (best.k < 0) return w;
    const k = best.k;
    return {
      ...w,
      second: {
        x0: xsBig[k],
        ymul: segs[k].y_mul,
        shift: segs[k].shift_number,
        bias: segs[k].bias,
        split: best.aEnd - x0,
      },
    };
  };
  const end = (bnLo: number, bnHi: number, ks: number[], top: boolean): Constant | null => {
    let at = 0;
    let value: number | null = null;
    for (const k of ks) {
      const a = lowerOf(k, bnLo);
      const b = upperOf(k, bnHi);
      if (a > b) continue;
      const v = constantOn(k, a, b);
      if (v === null || (value !== null && v !== value)) break;
      at = top ? a : b;
      value = v;
    }
    return value === null ? null : { at: BigInt(at), value };
  };
  const up = Array.from({ length: 16 }, (_, k) => k);
  const down = [...up].reverse();
  return {
    window,
    monotone,
    head: (bnLo, bnHi) => end(bnLo, bnHi, up, false),
    tail: (bnLo, bnHi) => end(bnLo, bnHi, down, true),
  };
}

/**
 * `simdWindow` for one table in BigInt (the specification of `windowFinder`, which answers the same
 * in doubles where that is exact), with everything that does not depend on the channel's range
 * worked out once: whether segment j's formula agrees with segment k's constant output on all of
 * k's interval (k = 1..14, finite intervals). Per channel only the two segments that the range
 * clips are evaluated.
 */
export function windowFinderBigInt(segs: readonly ActivationSegment[]): WindowFinder {
  const xs = segs.map((s) => BigInt(s.x_start));
  const ym = segs.map((s) => BigInt(s.y_mul));
  const bias = segs.map((s) => BigInt(s.bias));
  // the reference's output on segment k (bn in k's interval, so k is the chosen segment)
  const outOn = (k: number, bn: bigint): number =>
    clamp255(referenceRoundShift(BigInt.asIntN(64, (bn - xs[k]) * ym[k]), segs[k].shift_number, 'nncase02') + bias[k]);
  // segment j's formula: round half to even, no sign quirk
  const F = (j: number, bn: bigint): number => clamp255(rne((bn - xs[j]) * ym[j], segs[j].shift_number) + bias[j]);
  /** The reference's output if it is constant on [a, b] within segment k, else null. */
  const constantOn = (k: number, a: bigint, b: bigint): number | null => {
    if (ym[k] === 0n) return clamp255(bias[k]);
    // t ≥ 0 on [a, b]: the rounding is monotone, so equal ends mean constant
    if (ym[k] > 0n && a >= xs[k]) {
      const va = outOn(k, a);
      return va === outOn(k, b) ? va : null;
    }
    return null;
  };
  /** Formula j equals the reference on [a, b] ⊆ segment k (j's formula is monotone: ends suffice). */
  const agrees = (j: number, k: number, a: bigint, b: bigint): boolean => {
    const v = constantOn(k, a, b);
    return v !== null && F(j, a) === v && F(j, b) === v;
  };
  // full intervals of segments 1..14: (xs[k], xs[k+1]]
  const full: boolean[][] = [];
  for (let j = 0; j < 16; j++) {
    full.push([]);
    for (let k = 0; k < 16; k++)
      full[j].push(k >= 1 && k <= 14 && xs[k] + 1n <= xs[k + 1] && ym[j] >= 0n && agrees(j, k, xs[k] + 1n, xs[k + 1]));
  }
  const limits = segs.map((s) => {
    // |t| < 2^51: t, y = t·2^−s and its rounding are exact in f64; |y| < 2^30: the rounded y + bias
    // is exact in an i32 lane
    const e = BigInt(30 + s.shift_number);
    return e < 51n ? 1n << e : 1n << 51n;
  });

  // segment k is chosen (strict rule, sorted table) for bn in (xs[k], xs[k+1]]; segment 0 for bn ≤ xs[1]
  const lowerOf = (k: number, bnLo: bigint): bigint => (k === 0 ? bnLo : xs[k] + 1n > bnLo ? xs[k] + 1n : bnLo);
  const upperOf = (k: number, bnHi: bigint): bigint => (k === 15 ? bnHi : xs[k + 1] < bnHi ? xs[k + 1] : bnHi);

  /**
   * Non-decreasing over the range: every reachable segment is (constant, or y_mul > 0 with t ≥ 0,
   * where the rounding is monotone), and no step down where one segment hands over to the next.
   */
  const monotone = (bnLo: bigint, bnHi: bigint): boolean => {
    let prev: number | null = null;
    for (let k = 0; k < 16; k++) {
      const a = lowerOf(k, bnLo);
      const b = upperOf(k, bnHi);
      if (a > b) continue;
      if (ym[k] < 0n || (ym[k] > 0n && a < xs[k])) return false;
      const va = outOn(k, a);
      if (prev !== null && va < prev) return false;
      prev = outOn(k, b);
    }
    return true;
  };

  const window = (bnLo: bigint, bnHi: bigint): Window | null => {
    const lower = (k: number): bigint => lowerOf(k, bnLo);
    const upper = (k: number): bigint => upperOf(k, bnHi);
    // each segment's own window: its interval, cut where its formula stops being exact, extended
    // over neighbours whose (possibly clipped) interval the formula provably reproduces
    const spans: ({ wa: bigint; wb: bigint } | null)[] = [];
    for (let j = 0; j < 16; j++) {
      spans.push(null);
      const a = lower(j);
      const b = upper(j);
      if (a > b) continue;
      const x0 = xs[j];
      if (ym[j] < 0n || (ym[j] > 0n && a < x0)) continue; // t < 0 somewhere: not RNE there
      const exactAt = (bn: bigint): boolean => {
        const t = (bn - x0) * ym[j];
        return (t < 0n ? -t : t) < limits[j];
      };
      // t ≥ 0 on the segment, growing with bn
      let wb = b;
      if (ym[j] !== 0n) {
        const maxD = (limits[j] + ym[j] - 1n) / ym[j] - 1n; // the largest d with d·y_mul < limit
        if (x0 + maxD < wb) wb = x0 + maxD;
      }
      if (wb < a) continue;
      const cut = wb < b;
      let wa = a;
      const reaches = (k: number, ka: bigint, kb: bigint): boolean => {
        const clipped = ka !== xs[k] + 1n || kb !== xs[k + 1] || k === 0 || k === 15;
        return (clipped ? agrees(j, k, ka, kb) : full[j][k]) && exactAt(ka) && exactAt(kb);
      };
      for (let k = j - 1; k >= 0; k--) {
        const ka = lower(k);
        const kb = upper(k);
        if (ka > kb) continue;
        if (!reaches(k, ka, kb)) break;
        wa = ka;
      }
      for (let k = j + 1; k < 16 && !cut; k++) {
        const ka = lower(k);
        const kb = upper(k);
        if (ka > kb) continue;
        if (!reaches(k, ka, kb)) break;
        wb = kb;
      }
      spans[j] = { wa, wb };
    }
    // the widest single span, or pair of spans that meet (j below, k above the split s = j's end)
    // (a single span wins ties: it is the cheaper kernel)
    let best: { j: number; k: number; wa: bigint; wb: bigint } | null = null;
    for (let j = 0; j < 16; j++) {
      const A = spans[j];
      if (A && (!best || A.wb - A.wa > best.wb - best.wa)) best = { j, k: -1, wa: A.wa, wb: A.wb };
    }
    for (let j = 0; j < 16; j++) {
      const A = spans[j];
      if (!A || !best) continue;
      for (let k = j + 1; k < 16; k++) {
        const B = spans[k];
        if (B && B.wa > A.wa && B.wa <= A.wb + 1n && B.wb > A.wb && B.wb - A.wa > best.wb - best.wa)
          best = { j, k, wa: A.wa, wb: B.wb };
      }
    }
    if (!best) return null;
    const x0 = xs[best.j];
    const w: Window = {
      x0,
      ymul: segs[best.j].y_mul,
      shift: segs[best.j].shift_number,
      bias: segs[best.j].bias,
      lo: best.wa === bnLo ? -Infinity : Number(best.wa - 1n - x0),
      hi: best.wb === bnHi ? Infinity : Number(best.wb - x0),
    };
    if (best.k < 0) return w;
    const k = best.k;
    return {
      ...w,
      second: {
        x0: xs[k],
        ymul: segs[k].y_mul,
        shift: segs[k].shift_number,
        bias: segs[k].bias,
        split: Number(spans[best.j]!.wb - x0),
      },
    };
  };
  /**
   * The table's constant ends on bnLo..bnHi: segments from the bottom up (head) or the top down
   * (tail) while each is provably constant with one value. `head`: the reference outputs `value`
   * for every bn in bnLo..at; `tail`: for every bn in at..bnHi (e.g. 255 past the last steps of
   * ReLU6 as CanMV writes it).
   */
  const end = (bnLo: bigint, bnHi: bigint, ks: number[], top: boolean): Constant | null => {
    let c: Constant | null = null;
    for (const k of ks) {
      const a = lowerOf(k, bnLo);
      const b = upperOf(k, bnHi);
      if (a > b) continue;
      const v = constantOn(k, a, b);
      if (v === null || (c && v !== c.value)) break;
      c = { at: top ? a : b, value: v };
    }
    return c;
  };
  const up = Array.from({ length: 16 }, (_, k) => k);
  const down = [...up].reverse();
  return {
    window,
    monotone,
    head: (bnLo, bnHi) => end(bnLo, bnHi, up, false),
    tail: (bnLo, bnHi) => end(bnLo, bnHi, down, true),
  };
}

/**
 * The batch-norm output range ((acc·norm_mul) >> norm_shift) + norm_add over acc in accLo..accHi,
 * for an `exact` channel (prepare.ts: |acc·norm_mul| < 2^52 at both ends), in doubles: each product
 * is exact, scaling by 2^−norm_shift is exact, floor of it is the arithmetic shift, and adding the
 * 32-bit norm_add stays below 2^53. The map is monotone in acc, so its ends are the range's ends.
 */
export function bnRangeNumber(accLo: number, accHi: number, bn: BatchNormEntry): [number, number] {
  const lo = new Float64Array(1);
  const hi = new Float64Array(1);
  bnRangeInto(accLo, accHi, bn, lo, hi, 0);
  return [lo[0], hi[0]];
}

/** `bnRangeNumber`'s ends into lo[o] and hi[o] (no pair made per channel). */
function bnRangeInto(
  accLo: number,
  accHi: number,
  bn: BatchNormEntry,
  lo: Float64Array,
  hi: Float64Array,
  o: number,
): void {
  const s = 2 ** -bn.norm_shift;
  const a = Math.floor(accLo * bn.norm_mul * s) + bn.norm_add;
  const b = Math.floor(accHi * bn.norm_mul * s) + bn.norm_add;
  lo[o] = a < b ? a : b;
  hi[o] = a < b ? b : a;
}

/** The largest |bn| the double search takes (`windowFinder`'s range). */
const NUM_MAX = 2 ** 51;

/** Writes an integer |v| < 2^53 as a little-endian int64 (what setBigInt64(BigInt(v)) writes). */
function setI64(dv: DataView, at: number, v: number): void {
  const hi = Math.floor(v / 2 ** 32);
  dv.setUint32(at, v - hi * 2 ** 32, true);
  dv.setInt32(at + 4, hi, true);
}

/**
 * words[d + p·nO] = bytes[i + p·step] | bytes[i + p·step + hi] << 16 for p < pairs: one weight row's
 * tap pairs, in a small function of its own (V8 optimises it after a few rows; a loop inside
 * planWasm waited for on-stack replacement on a layer's first run).
 */
function packPairs(
  words: Int32Array,
  d: number,
  nO: number,
  bytes: Uint8Array,
  i: number,
  step: number,
  hi: number,
  pairs: number,
): void {
  for (let p = 0; p < pairs; p++, d += nO, i += step) words[d] = bytes[i] | (bytes[i + hi] << 16);
}

function planWasm(c: PreparedKpuConv): WasmPlan {
  const { inChannels: IC, outChannels: OC, inWidth: W, inHeight: H, outWidth: OW, outHeight: OH } = c.geometry;
  const f = c.fast;
  const K2 = c.kernel * c.kernel;
  const wide = c.weightBits === 16;
  const hasSX = c.argX !== 0;
  const dw = c.depthwise;
  // Select pools of stride 2 (5, 6: a strided convolution) keep one pixel in four: a non-depthwise
  // layer computes only those (the packers sample the input), and the pool stage just copies.
  const select = !dw && (c.poolType === 5 || c.poolType === 6);
  const sH = select ? OH : H;
  const sW = select ? OW : W;
  const HW = sH * sW;
  // depthwise rows hold a whole plane, and a 3×3 row's last step may write 8 pixels past it
  const HWp = roundUp8(HW) + (dw ? 8 : 0);
  const T = c.groupChannels * K2; // taps per output channel
  const P = Math.ceil(T / 2);
  const nPlanes = wide ? 2 : 1;
  // weight rows: each byte plane's OC rows from a multiple of 4 (OCr), then SX's row of ones
  const OCr = Math.ceil(OC / 4) * 4;
  const wRows = dw ? 0 : nPlanes * OCr + (hasSX ? 1 : 0);
  // S rows: the weight rows', with one SX row per thread (the SX weights' row is the first's)
  const sRows = dw ? 0 : nPlanes * OCr + (hasSX ? THREADS : 0);
  // Max pool 2×2 before the activation needs chunks of whole row pairs (and of 8-pixel groups).
  const prepoolable = !dw && !wide && c.poolType === 1;
  let CH = HWp;
  if (!dw) {
    const chunks = Math.max(1, Math.ceil((sRows * HWp * 4) / S_CHUNK_BYTES));
    CH = roundUp8(Math.ceil(HWp / chunks));
    if (prepoolable) {
      const unit = lcm(2 * W, 8);
      CH = Math.min(Math.ceil(HWp / unit), Math.max(1, Math.round(CH / unit))) * unit;
    }
  }
  const planeStride = c.kernel === 3 ? (W + 2) * (H + 2) : W * H;
  const actStride = align(HW, 16) + 16;

  // ---- weights ----
  // Weight i of byte plane pl is bytes[i·nPlanes + pl] (16-bit weights: low byte, then high byte).
  const bytes = c.params.weights;
  let wt: Uint8Array;
  if (!dw) {
    // rows in blocks of 4 from each plane's start (a plane's last block may be shorter), each block
    // [pair p][row]: taps 2p | 2p+1 << 16
    const words = new Int32Array(Math.ceil(wRows / 4) * 4 * P);
    for (let pl = 0; pl < nPlanes; pl++) {
      for (let o = 0; o < OC; o++) {
        const row = pl * OCr + o;
        const nO = Math.min(4, OC - (o & ~3));
        const at = (row & ~3) * P + (row & 3);
        const src = o * T * nPlanes + pl;
        // taps 2p and 2p + 1 (of byte plane pl) in one word; an odd T leaves the last high half 0
        const step = 2 * nPlanes;
        const pairs = T >> 1;
        packPairs(words, at, nO, bytes, src, step, nPlanes, pairs);
        if (T & 1) words[at + pairs * nO] = bytes[src + pairs * step];
      }
    }
    if (hasSX) {
      const row = nPlanes * OCr;
      const at = (row & ~3) * P + (row & 3);
      for (let p = 0; p < P; p++) words[at + p] = 1 | (2 * p + 1 < T ? 1 << 16 : 0);
    }
    wt = new Uint8Array(words.buffer);
  } else if (c.kernel === 3) {
    const words = new Int32Array(nPlanes * OC * 5);
    for (let pl = 0; pl < nPlanes; pl++) {
      for (let o = 0; o < OC; o++) {
        const w = (k: number): number => (k < 9 ? bytes[(o * 9 + k) * nPlanes + pl] : 0);
        for (let k = 0; k < 5; k++) words[(pl * OC + o) * 5 + k] = w(2 * k) | (w(2 * k + 1) << 16);
      }
    }
    wt = new Uint8Array(words.buffer);
  } else {
    const words = new Int32Array(nPlanes * OC);
    for (let pl = 0; pl < nPlanes; pl++) for (let o = 0; o < OC; o++) words[pl * OC + o] = bytes[o * nPlanes + pl];
    wt = new Uint8Array(words.buffer);
  }

  // ---- per-channel parameters and the activation table ----
  const I32 = 2 ** 31;
  const chanBuf = new ArrayBuffer(OC * CHAN_BYTES);
  const dv = new DataView(chanBuf);
  let simdChannels = 0;
  const segs = c.params.activation;
  const finder = windowFinder(segs);
  let prepoolChannels = 0;
  // Tx's range (SX from 0 to 255·G·K², times arg_x, floor-shifted), for the S + Tx bound of prepooling
  const txMax = (BigInt(c.argX) * BigInt(255 * c.groupChannels * K2)) >> BigInt(c.shrX);
  const txLoOk = txMax >= -(2n ** 31n);
  // Channels that may take a SIMD window, and their batch-norm ranges (bnRangeNumber).
  const simdOk = (o: number): boolean =>
    !wide && f.exact[o] === 1 && f.actSorted && f.accLo[o] >= -I32 && f.accHi[o] < I32;
  const bnLoA = new Float64Array(OC);
  const bnHiA = new Float64Array(OC);
  let hullLo = Infinity;
  let hullHi = -Infinity;
  for (let o = 0; o < OC; o++) {
    if (!simdOk(o)) continue;
    bnRangeInto(f.accLo[o], f.accHi[o], c.params.batchNorm[o], bnLoA, bnHiA, o);
    if (bnLoA[o] < hullLo) hullLo = bnLoA[o];
    if (bnHiA[o] > hullHi) hullHi = bnHiA[o];
  }
  // One search for the whole layer where it suffices: a window states, for every bn of its range,
  // that its formula gives the reference's output there. So a window that covers the whole hull
  // of the channels' ranges (ends ±Infinity) holds on each channel's range inside it, and serves
  // every channel; otherwise each channel's own range is searched.
  let layerWindow: Window | null = null;
  if (hullLo <= hullHi) {
    const inNum = hullLo >= -NUM_MAX && hullHi <= NUM_MAX;
    const w = inNum ? finder.num.window(hullLo, hullHi) : finder.window(BigInt(hullLo), BigInt(hullHi));
    if (w && w.lo === -Infinity && w.hi === Infinity) layerWindow = w;
  }
  // Likewise for prepooling: output non-decreasing on the hull of the candidates' ranges means
  // non-decreasing on each of them (asked once, when the first candidate comes).
  let monotoneAll: boolean | undefined;
  const layerMonotone = (): boolean => {
    if (monotoneAll === undefined) {
      let lo = Infinity;
      let hi = -Infinity;
      const a = new Float64Array(1);
      const b = new Float64Array(1);
      for (let o = 0; o < OC; o++) {
        if (f.exact[o] !== 1) continue;
        bnRangeInto(f.accLo[o], f.accHi[o], c.params.batchNorm[o], a, b, 0);
        if (a[0] < lo) lo = a[0];
        if (b[0] > hi) hi = b[0];
      }
      const inNum = lo >= -NUM_MAX && hi <= NUM_MAX;
      monotoneAll = lo <= hi && (inNum ? finder.num.monotone(lo, hi) : finder.monotone(BigInt(lo), BigInt(hi)));
    }
    return monotoneAll;
  };
  for (let o = 0; o < OC; o++) {
    const at = o * CHAN_BYTES;
    const bn = c.params.batchNorm[o];
    setI64(dv, at + CHAN.C, f.constTerm[o]);
    setI64(dv, at + CHAN.mul, bn.norm_mul);
    setI64(dv, at + CHAN.shift, bn.norm_shift);
    setI64(dv, at + CHAN.add, bn.norm_add);
    // exact channels: the accumulator range as doubles (|acc| < 2^53) and the bn range (bnRangeNumber)
    const accLo = f.accLo[o];
    const accHi = f.accHi[o];
    // exact channels on a sorted table take actExact under the golden rules (mode 3), or a SIMD window
    let mode = f.exact[o] === 1 && f.actSorted ? 3 : 0;
    if (f.exact[o] === 1) {
      dv.setFloat64(at + CHAN.m, bn.norm_mul * 2 ** -bn.norm_shift, true);
      dv.setFloat64(at + CHAN.Cf, f.constTerm[o], true);
      dv.setFloat64(at + CHAN.addf, bn.norm_add, true);
    }
    const simd = simdOk(o);
    if (simd) {
      const loN = bnLoA[o];
      const hiN = bnHiA[o];
      const inNum = loN >= -NUM_MAX && hiN <= NUM_MAX;
      let w = layerWindow ?? (inNum ? finder.num.window(loN, hiN) : finder.window(BigInt(loN), BigInt(hiN)));
      let ends: { head: Constant | null; top: Constant | null } = { head: null, top: null };
      if (w && (w.lo !== -Infinity || w.hi !== Infinity)) {
        const lo = BigInt(loN);
        const hi = BigInt(hiN);
        // not the whole range: the table's constant bottom and top output their values, and the
        // window is sought between them (lanes there that it misses fall back). The kernel tells
        // the ends by bn − x0, exact as the window's ends are: they are used where that is an
        // integer below 2^52.
        const head = finder.head(lo, hi);
        const top = finder.tail(lo, hi);
        const mLo = head ? head.at + 1n : lo;
        const mHi = top ? top.at - 1n : hi;
        const wm = mLo <= mHi ? finder.window(mLo, mHi) : null;
        const fits = (e: Constant | null, x0: bigint): boolean =>
          !e || (e.at - x0 < 2n ** 52n && e.at - x0 > -(2n ** 52n));
        if (wm && fits(head, wm.x0) && fits(top, wm.x0)) {
          w = wm;
          ends = { head, top };
        }
      }
      if (w) {
        mode = ends.head || ends.top || w.lo !== -Infinity || w.hi !== Infinity ? 2 : 1;
        simdChannels++;
        // the low 32 bits, signed (ToInt32 of an integer below 2^53 is exact modulo 2^32)
        dv.setInt32(at + CHAN.C32, f.constTerm[o] | 0, true);
        dv.setFloat64(at + CHAN.addx, bn.norm_add - Number(w.x0), true);
        dv.setFloat64(at + CHAN.lo, w.lo, true);
        dv.setFloat64(at + CHAN.hi, w.hi, true);
        dv.setFloat64(at + CHAN.ymsc, w.ymul * 2 ** -w.shift, true);
        dv.setInt32(at + CHAN.bias, w.bias, true);
        // one piece: the split is never passed
        const b = w.second ?? { x0: w.x0, ymul: w.ymul, shift: w.shift, bias: w.bias, split: Infinity };
        dv.setInt32(at + CHAN.two, w.second ? 1 : 0, true);
        dv.setFloat64(at + CHAN.split, b.split, true);
        dv.setFloat64(at + CHAN.dxB, Number(b.x0 - w.x0), true);
        dv.setFloat64(at + CHAN.ymscB, b.ymul * 2 ** -b.shift, true);
        dv.setInt32(at + CHAN.biasB, b.bias, true);
        // the constant ends: bn ≤ head.at ⇔ bn − x0 ≤ head.at − x0;
        // bn ≥ top.at ⇔ bn − x0 > top.at − 1 − x0
        dv.setFloat64(at + CHAN.head, ends.head ? Number(ends.head.at - w.x0) : -Infinity, true);
        dv.setInt32(at + CHAN.headVal, ends.head?.value ?? 0, true);
        dv.setFloat64(at + CHAN.sat, ends.top ? Number(ends.top.at - 1n - w.x0) : Infinity, true);
        dv.setInt32(at + CHAN.satVal, ends.top?.value ?? 0, true);
      }
    }
    dv.setInt32(at + CHAN.mode, mode, true);
    // Prepooling (max 2×2 of S + Tx, then one activation): exact when the channel's whole
    // accumulator → output map is monotone (then max commutes with it: the largest accumulator for
    // norm_mul ≥ 0, the smallest for norm_mul < 0) and S + Tx (from Tx's low end to acc − C) fits
    // an i32 lane. Golden rules only (the runs check).
    if (prepoolable && f.exact[o] === 1 && f.actSorted) {
      // accHi − C = 255·Σw + max(Tx, 0) < 2^47: the difference of the two doubles is exact
      // (a SIMD candidate's bn range is in bnLoA, bnHiA already)
      if (!simd) bnRangeInto(accLo, accHi, bn, bnLoA, bnHiA, o);
      const loN = bnLoA[o];
      const hiN = bnHiA[o];
      const inNum = loN >= -NUM_MAX && hiN <= NUM_MAX;
      if (
        txLoOk &&
        accHi - f.constTerm[o] < I32 &&
        (layerMonotone() || (inNum ? finder.num.monotone(loN, hiN) : finder.monotone(BigInt(loN), BigInt(hiN))))
      ) {
        dv.setInt32(at + CHAN.prepool, bn.norm_mul >= 0 ? 1 : 2, true);
        prepoolChannels++;
      }
    }
  }
  const segBuf = new ArrayBuffer(SEG_TABLE_BYTES);
  const sv = new DataView(segBuf);
  segs.forEach((s, k) => {
    sv.setBigInt64(k * SEG_BYTES, BigInt(s.x_start), true);
    sv.setBigInt64(k * SEG_BYTES + 8, BigInt(s.y_mul), true);
    sv.setBigInt64(k * SEG_BYTES + 16, BigInt(s.bias), true);
    sv.setBigInt64(k * SEG_BYTES + 24, BigInt(s.shift_number), true);
    // actExact's copy (exact in f64: x_start and bias are register fields well below 2^53, and
    // y_mul·2^−shift is a power-of-two scaling)
    sv.setFloat64(SEG_F64 + k * 8, s.x_start, true);
    sv.setFloat64(SEG_F64 + 128 + k * 8, s.y_mul * 2 ** -s.shift_number, true);
    sv.setFloat64(SEG_F64 + 256 + k * 8, s.bias, true);
  });

  // ---- memory layout (every region 64-aligned, with slack for vector over-reads) ----
  let at = HEADER_BYTES;
  const region = (bytes: number): number => {
    const r = at;
    at = align(at + bytes + 64);
    return r;
  };
  const inOff = region(c.input.bytes);
  const outOff = region(c.output.bytes);
  const denseOff = region(c.denseOutputBytes);
  const planesOff = region((IC + 1) * planeStride + 64);
  const xpOff = dw ? 0 : region(P * HWp * 4);
  const wtOff = region(wt.length);
  const sShared = dw ? 0 : region(sRows * CH * 4);
  const tLen = Math.max(CH, HWp);
  const actOff = region(OC * actStride);
  const chanOff = region(chanBuf.byteLength);
  const segOff = region(segBuf.byteLength);
  // each thread's scratch: depthwise S rows, Tx, pooled accumulators and zeros standing in for Tx;
  // the regions that must start as zeros (Tx without SX, and the zeros) are listed for the run
  const zeroed: [number, number][] = [];
  const scratch = Array.from({ length: THREADS }, () => {
    const sOff = dw ? region(3 * HWp * 4) : sShared;
    const tfOff = region(tLen * 8);
    const t32Off = region(tLen * 4);
    if (!hasSX) zeroed.push([tfOff, t32Off + tLen * 4 - tfOff]);
    const accpOff = region(prepoolable ? CH * 4 : 0);
    const zerosOff = region(prepoolable ? CH * 8 : 0);
    if (prepoolable) zeroed.push([zerosOff, CH * 8 + 64]);
    return { sOff, tfOff, t32Off, accpOff, zerosOff };
  });

  const { inLayout: li, outLayout: lo } = f;
  const d = new Int32Array(DESC_BYTES / 4);
  const flags = (c.kernel === 3 ? FLAG.K3 : 0) | (dw ? FLAG.DW : 0) | (wide ? FLAG.WIDE : 0) | (hasSX ? FLAG.SX : 0);
  d[DESC.flags] = flags;
  d[DESC.IC] = IC;
  d[DESC.OC] = OC;
  d[DESC.H] = H;
  d[DESC.W] = W;
  d[DESC.HW] = HW;
  d[DESC.HWp] = HWp;
  d[DESC.P] = P;
  d[DESC.CH] = CH;
  d[DESC.OH] = OH;
  d[DESC.OW] = OW;
  d[DESC.pool] = select ? 0 : c.poolType;
  d[DESC.sK] = select ? 2 : 1;
  d[DESC.sDx] = c.poolType === 6 ? 1 : 0;
  d[DESC.sH] = sH;
  d[DESC.sW] = sW;
  d[DESC.inGroups] = li.groups;
  d[DESC.inPitch] = li.rowPitch;
  d[DESC.inLine] = li.rowLen * 64;
  d[DESC.planes] = planesOff;
  d[DESC.planeStride] = planeStride;
  d[DESC.xp] = xpOff;
  d[DESC.wt] = wtOff;
  d[DESC.act] = actOff;
  d[DESC.actStride] = actStride;
  d[DESC.chan] = chanOff;
  d[DESC.seg] = segOff;
  d[DESC.outGroups] = lo.groups;
  d[DESC.outPitch] = lo.rowPitch;
  d[DESC.outLine] = lo.rowLen * 64;
  d[DESC.padValue] = c.padValue;
  d[DESC.shrX] = c.shrX;
  d[DESC.sStride] = CH * 4;
  // one descriptor per thread: the layer's, with the thread's own scratch
  const descs = scratch.map((x, t) => {
    const dt = d.slice();
    dt[DESC.s] = x.sOff;
    dt[DESC.tf] = x.tfOff;
    dt[DESC.t32] = x.t32Off;
    dt[DESC.accp] = x.accpOff;
    dt[DESC.zeros] = x.zerosOff;
    dt[DESC.sxRow] = nPlanes * OCr + t;
    return dt;
  });
  return {
    total: at,
    descs,
    argXf: c.argX * 2 ** -c.shrX,
    inOff,
    outOff,
    denseOff,
    wtOff,
    wt,
    chanOff,
    chan: new Uint8Array(chanBuf),
    segOff,
    seg: new Uint8Array(segBuf),
    zeroed,
    macs: OC * HW * (dw ? K2 : T),
    prepoolChannels,
    simdChannels,
    layerWindow: layerWindow !== null,
    cache: {},
  };
}

/** The layer's plan (packed weights, tables, memory layout), built on first use. */
export function wasmPlan(c: PreparedKpuConv): WasmPlan {
  return (c.fast.wasm as WasmPlan | undefined) ?? ((c.fast.wasm = planWasm(c)) as WasmPlan);
}

function runtimeOrFault(c: PreparedKpuConv): KernelRuntime {
  const rt = kernelRuntime();
  if (!rt)
    throw new KpuFault(
      'UNSUPPORTED',
      `the WebAssembly conv kernel is unavailable here (${kernelFailure()}); use kernel 'js'`,
      { layer: c.where.layer, type: c.where.type },
    );
  return rt;
}

/** The WebAssembly engine: same contract as `runKpuConv`. */
export function runKpuConvWasm(
  c: PreparedKpuConv,
  ram: Uint8Array,
  numerics: KpuNumerics = GOLDEN_NUMERICS,
  mainOut?: Uint8Array,
): void {
  checkRunBuffers(c, ram, mainOut);
  const rt = runtimeOrFault(c);
  const plan = wasmPlan(c);
  rt.ensure(plan.total);
  const k = plan.cache;
  if (k.ram !== ram) {
    k.ram = ram;
    k.ramIn = ram.subarray(c.input.address, c.input.address + c.input.bytes);
    k.ramOut = ram.subarray(c.output.address, c.output.address + c.output.bytes);
  }
  if (k.buffer !== rt.buffer) {
    k.buffer = rt.buffer;
    k.memOut = rt.u8.subarray(plan.outOff, plan.outOff + c.output.bytes);
    k.memDense = rt.u8.subarray(plan.denseOff, plan.denseOff + c.denseOutputBytes);
  }
  const mem = rt.u8;
  // the whole input is read before anything is written, as the reference does
  mem.set(k.ramIn!, plan.inOff);
  mem.set(k.ramOut!, plan.outOff);
  mem.set(plan.wt, plan.wtOff);
  mem.set(plan.chan, plan.chanOff);
  mem.set(plan.seg, plan.segOff);
  for (const [off, n] of plan.zeroed) mem.fill(0, off, off + n);
  const strict = numerics.segmentBoundary === 'strict';
  const banker = numerics.activationRounding === 'nncase02';
  const sorted = c.fast.actSorted;
  const rules =
    (strict ? RULE.STRICT : 0) |
    (banker ? RULE.BANKER : 0) |
    (sorted ? RULE.SORTED : 0) |
    (strict && banker && sorted ? RULE.SIMD : 0);
  const d = rt.i32;
  const perIn = c.input.rowsPerBatch * 64;
  const perOut = c.output.rowsPerBatch * 64;
  const perDense = c.geometry.outChannels * c.geometry.outHeight * c.geometry.outWidth;
  const OC = c.geometry.outChannels;
  const parts = partsOf(OC, plan.macs);
  const pool = parts.count > 1 ? rt.parts() : null;
  for (let t = 0; t < THREADS; t++) {
    const at = (t * DESC_BYTES) / 4;
    d.set(plan.descs[t], at);
    d[at + DESC.rules] = rules;
    if (mainOut) d[at + DESC.flags] |= FLAG.DENSE;
    rt.f64[(at + DESC.argXf) / 2] = plan.argXf;
  }
  for (let b = 0; b < c.batches; b++) {
    for (let t = 0; t < THREADS; t++) {
      const at = (t * DESC_BYTES) / 4;
      d[at + DESC.inBase] = plan.inOff + b * perIn;
      d[at + DESC.outBase] = plan.outOff + b * perOut;
      d[at + DESC.dense] = plan.denseOff + b * perDense;
    }
    rt.exports.prep(0);
    if (pool) pool.run(parts.count, parts.size, OC);
    else rt.exports.part(0, 0, OC);
  }
  k.ramOut!.set(k.memOut!);
  if (mainOut) mainOut.set(k.memDense!);
}

/** Groups of 4 pixels that the last wasm run sent from the SIMD window to the scalar path (for tests). */
export function lastWasmRunFallbacks(): number {
  const rt = kernelRuntime();
  if (!rt) return 0;
  let n = 0;
  for (let t = 0; t < THREADS; t++) n += rt.i32[(t * DESC_BYTES) / 4 + DESC.fallbacks];
  return n;
}
