/**
 * Post-training quantisation of a plan.
 *
 * Activations: every u8 tensor is per-tensor affine, real = (q − zp)·scale, from the min/max the
 * calibration run saw (widened to contain 0, so the zero point is exact and padding stays 0);
 * raw pixel tensors keep scale 1, zero point 0. A KPU result read only by a dequantize is
 * quantised per channel (its scale and zero point live in the CHANNELWISE_DEQUANTIZE).
 *
 * Weights: per output channel, symmetric, 8-bit with zero point 128 (the KPU's `arg_x` is one
 * number per layer, so the weight zero point must be shared; the scales need not be, because the
 * per-channel batch-norm multiplier undoes them). Input scales are folded into the weights first,
 * so a layer reading several concatenated tensors with different quantisations is exact too.
 *
 * The KPU then computes, per output channel o (kpu-numerics §6):
 *   acc  = Σ (x − zx)(w − 128)                      (exact; arg_x = −128, arg_w = −zx, arg_add = 128·zx·K²)
 *   bn   = floor(acc·M_o / 2^s_o) + A_o ≈ y_o·2^k / so      (y_o the real pre-activation)
 *   q    = activation table(bn)                      (16 segments, exact for relu / relu6 / linear)
 * with k fraction bits below one output step, chosen per layer as large as the 36-bit
 * batch-norm range allows (at most K_MAX).
 *
 * Determinism: the statistics are min/max over double-precision values of `plan.evalPlan` (plain
 * IEEE-754 arithmetic in a fixed order, identical on every machine), rounded outward to
 * RANGE_BITS significant bits; everything after is integer or exactly-rounded double arithmetic.
 */
import type { ActivationSegment, BatchNormEntry } from '../kmodel-parser/kpu-layer-argument.js';
import { BuildError, refuse } from './errors.js';
import type { Tensor3 } from './float-eval.js';
import { evalPlan, type KpuConvOp, type Plan } from './plan.js';

/** real = (q − zeroPoint)·scale */
export interface QuantParam {
  readonly scale: number;
  readonly zeroPoint: number;
}

export interface QuantizedConv {
  readonly opIndex: number;
  readonly op: KpuConvOp;
  /** Input map (stride 1) and output map (after the pool). */
  readonly inC: number;
  readonly outC: number;
  readonly inH: number;
  readonly inW: number;
  readonly outH: number;
  readonly outW: number;
  /** u8 weights in file order: [oc][ic][k][k] (depthwise [c][k][k]). */
  readonly weights: Uint8Array;
  readonly bn: readonly BatchNormEntry[];
  readonly act: readonly ActivationSegment[];
  readonly argX: number;
  readonly shrX: number;
  readonly argW: number;
  readonly shrW: number;
  readonly argAdd: number;
  readonly padValue: number;
  /** Fraction bits of the batch-norm output below one output step. */
  readonly fracBits: number;
  readonly output: QuantParam | readonly QuantParam[];
}

export interface QuantizedPlan {
  readonly plan: Plan;
  /** Per tensor id: its quantisation (u8 tensors), or per-channel list, or null (f32). */
  readonly quant: readonly (QuantParam | readonly QuantParam[] | null)[];
  readonly convs: ReadonlyMap<number, QuantizedConv>;
  readonly calibrationImages: number;
}

/** Significant bits kept in every calibrated range bound. */
export const RANGE_BITS = 12;
/** Largest number of batch-norm fraction bits. */
export const K_MAX = 16;
/** |bn| must stay below this (the KPU's batch-norm output is 36-bit signed; keep a margin). */
const BN_LIMIT = 2 ** 34;

/** 2^e ≤ x < 2^(e+1) for x > 0, by exact halving/doubling. */
function exponentOf(x: number): number {
  let e = 0;
  let y = x;
  while (y >= 2) {
    y /= 2;
    e++;
  }
  while (y < 1) {
    y *= 2;
    e--;
  }
  return e;
}

/** Rounds x away from zero (direction +1: up, −1: down) to `bits` significant bits. */
export function roundSignificant(x: number, bits: number, direction: 1 | -1): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const q = 2 ** (exponentOf(Math.abs(x)) - bits + 1);
  return (direction > 0 ? Math.ceil(x / q) : Math.floor(x / q)) * q;
}

export interface Ranges {
  readonly min: Float64Array;
  readonly max: Float64Array;
  /** A fixed-stride subsample of every tensor's values over all images (for the clipping search). */
  readonly samples: number[][];
  /** Per-channel ranges of every tensor. */
  readonly channelMin: Map<number, Float64Array>;
  readonly channelMax: Map<number, Float64Array>;
  images: number;
}

/** Tensors quantised per channel with their own zero points: the main copies of `perChannelOutput` convs. */
export function perChannelTensors(plan: Plan): Set<number> {
  const s = new Set<number>();
  for (const op of plan.ops)
    if (op.kind === 'kpu-conv' && op.perChannelOutput && op.mainCopy !== undefined) {
      s.add(op.mainCopy);
      s.add(op.output);
    }
  return s;
}

export function emptyRanges(plan: Plan): Ranges {
  const n = plan.tensors.length;
  return {
    min: new Float64Array(n).fill(Infinity),
    max: new Float64Array(n).fill(-Infinity),
    samples: plan.tensors.map(() => []),
    channelMin: new Map(),
    channelMax: new Map(),
    images: 0,
  };
}

/** Adds one calibration image (raw pixel planes) to the ranges. */
export function observe(plan: Plan, ranges: Ranges, input: Tensor3): Tensor3[] {
  const vals = evalPlan(plan, input, (id, t) => {
    if (plan.tensors[id].dtype !== 'u8' || plan.tensors[id].raw) return;
    let cmin = ranges.channelMin.get(id);
    let cmax = ranges.channelMax.get(id);
    if (!cmin || !cmax) {
      cmin = new Float64Array(t.c).fill(Infinity);
      cmax = new Float64Array(t.c).fill(-Infinity);
      ranges.channelMin.set(id, cmin);
      ranges.channelMax.set(id, cmax);
    }
    const plane = t.h * t.w;
    let lo = ranges.min[id];
    let hi = ranges.max[id];
    for (let c = 0; c < t.c; c++) {
      let a = cmin[c];
      let b = cmax[c];
      for (let i = c * plane; i < (c + 1) * plane; i++) {
        const v = t.data[i];
        if (v < a) a = v;
        if (v > b) b = v;
      }
      cmin[c] = a;
      cmax[c] = b;
      if (a < lo) lo = a;
      if (b > hi) hi = b;
    }
    ranges.min[id] = lo;
    ranges.max[id] = hi;
    const stride = Math.max(1, Math.ceil(t.data.length / SAMPLES_PER_IMAGE));
    const keep = ranges.samples[id];
    for (let i = 0; i < t.data.length; i += stride) keep.push(t.data[i]);
  });
  ranges.images++;
  return vals;
}

/** Values kept per tensor and image for the clipping search. */
export const SAMPLES_PER_IMAGE = 4096;
const CLIP_GRID = Array.from({ length: 29 }, (_, i) => 1 - i / 40);
const HIST_BINS = 2048;

/**
 * The clipping range [lo, hi] ⊆ [min, max] that minimises the expected squared error of 8-bit
 * quantisation over the samples: values inside cost scale²/12 (rounding), values outside their
 * distance to the nearest bound. Searched on a grid of fractions of min and max, coordinate-wise,
 * on a histogram of the samples. `lo` stays 0 when the tensor cannot be negative.
 */
export function clipRange(samples: readonly number[], min: number, max: number): [number, number] {
  if (samples.length === 0 || !(max > min)) return [min, max];
  const lo0 = Math.min(min, 0);
  const hi0 = Math.max(max, 0);
  const width = (hi0 - lo0) / HIST_BINS;
  const count = new Float64Array(HIST_BINS);
  const sum = new Float64Array(HIST_BINS);
  for (const v of samples) {
    let b = Math.floor((v - lo0) / width);
    if (b >= HIST_BINS) b = HIST_BINS - 1;
    if (b < 0) b = 0;
    count[b]++;
    sum[b] += v;
  }
  const cost = (lo: number, hi: number): number => {
    const scale = (hi - lo) / 255;
    const noise = (scale * scale) / 12;
    let e = 0;
    for (let b = 0; b < HIST_BINS; b++) {
      const n = count[b];
      if (n === 0) continue;
      const v = sum[b] / n;
      if (v > hi) e += n * (v - hi) * (v - hi);
      else if (v < lo) e += n * (lo - v) * (lo - v);
      else e += n * noise;
    }
    return e;
  };
  let a = 1;
  let b = 1;
  for (let round = 0; round < 2; round++) {
    let best = cost(lo0 * a, hi0 * b);
    for (const f of CLIP_GRID) {
      const c = cost(lo0 * a, hi0 * f);
      if (c < best) {
        best = c;
        b = f;
      }
    }
    if (lo0 < 0) {
      for (const f of CLIP_GRID) {
        const c = cost(lo0 * f, hi0 * b);
        if (c < best) {
          best = c;
          a = f;
        }
      }
    }
  }
  return [lo0 * a, hi0 * b];
}

/** u8 quantisation of a real range [lo, hi] (widened to contain 0; a degenerate range gets width 1e-3). */
export function rangeQuant(lo0: number, hi0: number): QuantParam {
  let lo = Math.min(roundSignificant(lo0, RANGE_BITS, -1), 0);
  let hi = Math.max(roundSignificant(hi0, RANGE_BITS, 1), 0);
  if (!(hi - lo > 1e-3)) {
    if (lo < 0 && hi === 0) lo = Math.min(lo, -1e-3);
    else hi = lo + 1e-3;
  }
  const scale = (hi - lo) / 255;
  let zp = Math.round(-lo / scale) + 0; // + 0: no negative zero
  if (zp < 0) zp = 0;
  if (zp > 255) zp = 255;
  return { scale, zeroPoint: zp };
}

/**
 * How intermediate tensors are quantised.
 * - `per-tensor`: one scale and zero point per tensor (nncase 0.1's scheme).
 * - `channel-scales`: one zero point per tensor, one scale per channel. The KPU computes it with
 *   no extra work: the producing layer's per-channel batch-norm multiplier sets each channel's
 *   scale, the shared zero point keeps the one activation table and the one pad value valid, and
 *   the reading layer folds the scales into its (per-channel) weights. Equivalently, per-tensor
 *   quantisation of the network after an exact per-channel rescaling between layers (cross-layer
 *   range equalisation); every activation used here (ReLU, leaky ReLU, linear; ReLU6 within
 *   its calibrated range) commutes with a positive per-channel scale.
 */
export type ActivationQuantisation = 'per-tensor' | 'channel-scales';

/** Margin on each channel's calibrated range in `channel-scales` mode. */
export const CHANNEL_HEADROOM = 1.25;

/** Chooses every tensor's quantisation from the calibrated ranges. */
export function chooseQuant(
  plan: Plan,
  r: Ranges,
  mode: ActivationQuantisation = 'per-tensor',
): (QuantParam | readonly QuantParam[] | null)[] {
  if (r.images === 0) throw new BuildError(`${plan.name}: no calibration images`);
  const perChannel = perChannelTensors(plan);
  const kpuResults = new Set<number>();
  for (const op of plan.ops)
    if (op.kind === 'kpu-conv') {
      kpuResults.add(op.output);
      if (op.mainCopy !== undefined) kpuResults.add(op.mainCopy);
    }
  return plan.tensors.map((t) => {
    if (t.dtype === 'f32') return null;
    if (t.raw) return { scale: 1, zeroPoint: 0 };
    const cmin = r.channelMin.get(t.id);
    const cmax = r.channelMax.get(t.id);
    if (!cmin || !cmax) throw new BuildError(`${plan.name}: tensor ${t.name} was never computed during calibration`);
    if (perChannel.has(t.id)) return Array.from(cmin, (l, c) => rangeQuant(l, cmax[c]));
    if (mode === 'per-tensor' || !kpuResults.has(t.id)) {
      const [lo, hi] = clipRange(r.samples[t.id], r.min[t.id], r.max[t.id]);
      return rangeQuant(lo, hi);
    }
    // Channel scales around the tensor's zero point, each from its channel's min/max with
    // CHANNEL_HEADROOM (a single channel's range on a small calibration set is an under-estimate:
    // clipping it, or using it as is, lets unseen faces saturate).
    const whole = rangeQuant(r.min[t.id], r.max[t.id]);
    const z = whole.zeroPoint;
    const floor = whole.scale / 32;
    return Array.from(cmin, (a0, c) => {
      const a = a0 * CHANNEL_HEADROOM;
      const b = cmax[c] * CHANNEL_HEADROOM;
      let scale = Math.max(floor, b > 0 ? b / (255 - z) : 0, z > 0 && a < 0 ? -a / z : 0);
      scale = roundSignificant(scale, RANGE_BITS, 1);
      return { scale, zeroPoint: z };
    });
  });
}

const isIntegerWeights = (w: Float64Array, from: number, n: number): boolean => {
  for (let i = from; i < from + n; i++) if (!Number.isInteger(w[i]) || Math.abs(w[i]) > 127) return false;
  return true;
};

/** The 16 segments for one layer, sentinels first (kpu-numerics §5.4). */
export function activationTable(act: KpuConvOp['act'], k: number, zeroPoint: number): ActivationSegment[] {
  const SENTINEL: ActivationSegment = { shift_number: 0, y_mul: 0, x_start: -(2 ** 35), bias: 0 };
  const segs: ActivationSegment[] = [];
  const scale = 2 ** k;
  switch (act.fn) {
    case 'linear':
      segs.push({ shift_number: k, y_mul: 1, x_start: -zeroPoint * scale, bias: 0 });
      break;
    case 'relu':
    case 'relu6':
      // relu6: the output scale never exceeds 6/255, so the clamp at 255 does the 6.
      segs.push({ shift_number: k, y_mul: 1, x_start: 0, bias: 0 });
      break;
    case 'leaky': {
      if (zeroPoint > 0) {
        // Below zero: q = zp + α·bn/2^k, starting where it reaches 0.
        let m = 0;
        while (Math.round(act.alpha * 2 ** (m + 1)) < 32768) m++;
        const mul = Math.round(act.alpha * 2 ** m);
        segs.push({ shift_number: k + m, y_mul: mul, x_start: Math.floor((-zeroPoint * scale) / act.alpha), bias: 0 });
      }
      segs.push({ shift_number: k, y_mul: 1, x_start: 0, bias: zeroPoint });
      break;
    }
  }
  while (segs.length < 16) segs.unshift(SENTINEL);
  return segs;
}

/** Integer parameters of one KPU conv. */
export function quantizeConv(
  plan: Plan,
  opIndex: number,
  quant: readonly (QuantParam | readonly QuantParam[] | null)[],
): QuantizedConv {
  const op = plan.ops[opIndex] as KpuConvOp;
  const ins = op.inputs.map((i) => plan.tensors[i]);
  const inC = ins.reduce((a, t) => a + t.c, 0);
  const outT = plan.tensors[op.output];
  const outC = outT.c;
  const k = op.kernel;
  const k2 = k * k;
  // Per input channel quantisation.
  const sx = new Float64Array(inC);
  const zx = new Int32Array(inC);
  let c0 = 0;
  for (const t of ins) {
    const q = quant[t.id];
    if (!q) throw new Error(`internal: input ${t.name} of ${op.name} is not quantised`);
    for (let c = 0; c < t.c; c++) {
      const qq = Array.isArray(q) ? (q as readonly QuantParam[])[c] : (q as QuantParam);
      sx[c0 + c] = qq.scale;
      zx[c0 + c] = qq.zeroPoint;
    }
    c0 += t.c;
  }
  const uniform = zx.every((z) => z === zx[0]);
  if (!uniform && k !== 1)
    throw refuse(op.name, 'a 3×3 conv over inputs with different zero points (its padding needs one value)');
  const per = op.depthwise ? k2 : inC * k2;
  // Effective weights on (q − zx) and their per-output-channel scale.
  const weights = new Uint8Array(outC * per);
  const sw = new Float64Array(outC);
  const wsum = new Float64Array(outC); // Σ (w − 128)·zx over the channel's taps (for non-uniform inputs)
  for (let o = 0; o < outC; o++) {
    const eff = new Float64Array(per);
    for (let j = 0; j < per; j++) {
      const c = op.depthwise ? o : Math.floor(j / k2);
      eff[j] = op.weights[o * per + j] * sx[c];
    }
    let maxAbs = 0;
    for (const v of eff) maxAbs = Math.max(maxAbs, Math.abs(v));
    const scale = isIntegerWeights(eff, 0, per) ? 1 : maxAbs > 0 ? maxAbs / 127 : 1;
    sw[o] = scale;
    for (let j = 0; j < per; j++) {
      const q = Math.round(eff[j] / scale);
      weights[o * per + j] = q + 128;
      const c = op.depthwise ? o : Math.floor(j / k2);
      wsum[o] += q * zx[c];
    }
  }
  // Output quantisation.
  const outQ = quant[op.output];
  if (!outQ) throw new Error(`internal: ${op.name} output has no quantisation`);
  const perChannel = Array.isArray(outQ);
  const chanQ = (o: number): QuantParam => (perChannel ? (outQ as readonly QuantParam[])[o] : (outQ as QuantParam));
  // One activation table: the zero point it produces is shared; a linear layer may give each
  // channel its own zero point through the batch-norm offset.
  const zps = Array.from({ length: outC }, (_, o) => chanQ(o).zeroPoint);
  const sameZero = zps.every((z) => z === zps[0]);
  const sharedZero = sameZero ? zps[0] : 0;
  if (!sameZero && op.act.fn !== 'linear')
    throw new Error(`internal: ${op.name}: per-channel zero points need a linear activation`);
  // Bound of |acc| for any input: Σ|w − 128|·max(zx, 255 − zx).
  const accBound = new Float64Array(outC);
  for (let o = 0; o < outC; o++) {
    let b = 0;
    for (let j = 0; j < per; j++) {
      const c = op.depthwise ? o : Math.floor(j / k2);
      b += Math.abs(weights[o * per + j] - 128) * Math.max(zx[c], 255 - zx[c]);
    }
    accBound[o] = b;
  }
  const layout = (kk: number) => {
    const scale = 2 ** kk;
    const bn: BatchNormEntry[] = [];
    for (let o = 0; o < outC; o++) {
      const q = chanQ(o);
      // A channel without weights is its bias alone: multiplier 0 (its scale must not limit the layer's k).
      const r = accBound[o] === 0 ? 0 : (sw[o] * scale) / q.scale;
      let s = 15;
      while (s > 0 && Math.round(r * 2 ** s) > 2 ** 23 - 1) s--;
      const M = Math.round(r * 2 ** s);
      if (M > 2 ** 23 - 1) return undefined;
      // Offset of a per-channel zero point relative to the table's shared zero (linear only).
      const offset = (q.zeroPoint - sharedZero) * scale;
      const K = uniform ? 0 : wsum[o];
      const A = Math.round((op.bias[o] * scale) / q.scale + offset - (K * M) / 2 ** s + 0.5);
      if (Math.abs(A) > 2 ** 31 - 1) return undefined;
      const accMax = accBound[o] + Math.abs(K);
      if (accMax * (M / 2 ** s) + Math.abs(A) >= BN_LIMIT) return undefined;
      bn.push({ norm_mul: M, norm_add: A, norm_shift: s });
    }
    return bn;
  };
  let fracBits = K_MAX;
  let bn = layout(fracBits);
  while (!bn && fracBits > 0) bn = layout(--fracBits);
  if (!bn) throw refuse(op.name, 'no batch-norm scaling keeps its output within the KPU’s 36-bit range');
  const inT = ins[0];
  // Pad value in the input's quantised domain (3×3 only).
  let padValue: number;
  if (k === 3) {
    if (op.padValue !== 0 && sx.some((v) => v !== sx[0]))
      throw refuse(op.name, 'a non-zero padding value over channels with different scales');
    padValue = Math.round(zx[0] + op.padValue / sx[0]);
    if (padValue < 0 || padValue > 255)
      throw refuse(op.name, `its padding value ${op.padValue} is outside its input's range`);
  } else {
    padValue = uniform ? zx[0] : 0;
  }
  const outPool = { h: outT.h, w: outT.w };
  return {
    opIndex,
    op,
    inC,
    outC,
    inH: inT.h,
    inW: inT.w,
    outH: outPool.h,
    outW: outPool.w,
    weights,
    bn,
    act: activationTable(op.act, fracBits, sharedZero),
    argX: -128,
    shrX: 0,
    argW: uniform ? -zx[0] : 0,
    shrW: 0,
    argAdd: uniform ? 128 * zx[0] * k2 : 0,
    padValue,
    fracBits,
    output: outQ as QuantParam | readonly QuantParam[],
  };
}

/** Calibrates on the given inputs and quantises every KPU conv. */
export function quantizePlan(
  plan: Plan,
  calibration: readonly Tensor3[],
  opts: { ranges?: Ranges; activations?: ActivationQuantisation } = {},
): QuantizedPlan {
  const r = opts.ranges ?? emptyRanges(plan);
  if (!opts.ranges) for (const x of calibration) observe(plan, r, x);
  const quant = chooseQuant(plan, r, opts.activations);
  // Copies share the quantisation of what they copy.
  for (const op of plan.ops) {
    if (op.kind === 'kpu-conv' && op.mainCopy !== undefined) quant[op.output] = quant[op.mainCopy];
    if (op.kind === 'pad-vector' || op.kind === 'unpad-vector') quant[op.output] = quant[op.input];
  }
  const convs = new Map<number, QuantizedConv>();
  plan.ops.forEach((op, i) => {
    if (op.kind === 'kpu-conv') convs.set(i, quantizeConv(plan, i, quant));
  });
  return { plan, quant, convs, calibrationImages: r.images };
}
