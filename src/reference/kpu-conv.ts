/**
 * Float reconstruction of one KPU conv layer from its registers and tables, with TensorFlow.js
 * doing the geometry (padding, convolution, depthwise, pooling, channel order) — a second
 * implementation of everything the emulator's engine does, by a different library.
 *
 * Values are in the layers' quantised domains but never rounded:
 *
 *   conv   The accumulator the KPU computes (kpu-numerics §6.2),
 *            acc = Σx·w + (arg_x·Σx >> shr_x) + (arg_w·Σw >> shr_w) + arg_add·G,
 *          is, without the floors, the bilinear form
 *            acc = Σ (x + a)(w + b) + (arg_add − a·b·K²)·G,   a = arg_w/2^shr_w, b = arg_x/2^shr_x.
 *          So the input map is centred by a (nncase 0.2: a = −zx exactly, the input zero point;
 *          nncase 0.1: a ≈ its v3 bias in quanta, to a 24-bit mantissa), the weights by b
 *          (−zw, the weights' zero point): the dequantised weights (w − zw)·sw up to the weight
 *          scale sw, which the file does not store on its own — nncase folds it, with the input
 *          scale and any per-channel weight scaling, into the batch-norm multiplier. The border
 *          is pad_value + a (0 in nncase 0.2: the padding is real zero). The last term is 0 for
 *          nncase 0.2 and a rounding residue for 0.1. tfjs: pad, then a 'valid' conv2d or
 *          depthwiseConv2d, NHWC, float32.
 *   BN     bn = acc·norm_mul·2^−norm_shift + norm_add (no floor), float64.
 *   act    The 16-segment table as the piecewise-linear function it is: the segment with the
 *          largest index whose start_x < bn, (bn − start_x)·y_mul·2^−shift + bias, no rounding.
 *          The result is kept in the output's representable range [0, 255] (saturation is part
 *          of what the compiler encoded; the file cannot say what the original network did
 *          beyond its calibrated range), so what the reference removes is rounding only.
 *   pool   tfjs maxPool / avgPool / strided slices on the unrounded map (kpu-numerics §6.6 geometry).
 */
import type { KpuConvGeometry, KpuConvParams } from '../kmodel-parser/model.js';
import { kpuConvGeometry } from '../kmodel-parser/model.js';
import { tf } from './backend.js';
import { quantFact, type RefLayer } from './graph.js';
import { tensorRef, type TensorRef } from './tensors.js';

export interface KpuConvFloat {
  readonly geometry: KpuConvGeometry;
  readonly batches: number;
  /** a = arg_w·2^−shr_w: the input value v stands for v + a quanta from real zero. */
  readonly inputOffset: number;
  /** b = arg_x·2^−shr_x: weight w stands for w + b weight quanta. */
  readonly weightOffset: number;
  /** arg_add − a·b·K² (per input channel of the group). */
  readonly residual: number;
  /** Input N×IC×H×W (dense NCHW) → output N×OC×OH×OW, both in their quantised domains. */
  run(input: Float32Array): Float32Array;
  /**
   * The same layer re-quantised the way the KPU rounds: the activation of the (unfloored)
   * batch-norm value is rounded by the kpu-numerics §6.4 rule `rules` names — including nncase's rounding of
   * a negative product (a decreasing segment below its start), which moves away from the nearest
   * integer when the fraction exceeds one half — then saturated and pooled. This is what the
   * isolated check compares with for nncase 1.x models, whose SiLU-like tables have decreasing
   * segments. `quirk` counts the activation elements whose rounding differs from round half to
   * even (before pooling).
   */
  runKpuRounded(input: Float32Array, rules: KpuRoundingRules): { values: Float32Array; quirk: number };
  /** Frees the weight tensor. */
  dispose(): void;
}

/** The activation rules of kpu/conv's KpuNumerics (docs/kpu-numerics.md §6.4). */
export interface KpuRoundingRules {
  readonly activationRounding: 'nncase02' | 'nncase01';
  readonly segmentBoundary: 'strict' | 'inclusive';
}

const clamp8 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

const halfEven = (r: number): number => {
  const q = Math.floor(r);
  const f = r - q;
  return f < 0.5 ? q : f > 0.5 ? q + 1 : q % 2 === 0 ? q : q + 1;
};

/** kpu-numerics §6.4 step 3 on the real quotient r = t/2^s (s > 0) of a product t. */
function kpuRound(r: number, negative: boolean, rule: KpuRoundingRules['activationRounding']): number {
  if (rule === 'nncase02') {
    const q = Math.floor(r);
    const f = r - q;
    const sgn = negative ? -1 : 1;
    if (f < 0.5) return q;
    if (f > 0.5) return q + sgn;
    return Math.abs(q % 2) === 1 ? q + sgn : q;
  }
  // SDK kpu_carry_shift: v = t >> (s − 1); odd v → (v >> 1) ± 1 by the sign of v, even → v >> 1.
  const v = Math.floor(2 * r);
  const h = Math.floor(v / 2);
  if (Math.abs(v % 2) === 1) return v < 0 ? h - 1 : h + 1;
  return h;
}

export interface KpuConvFloatOptions {
  /** Keep the activation output in [0, 255] (default true). */
  readonly saturate?: boolean;
}

/** Float weights (w + b) in the tfjs filter layout: [K, K, IC, OC], or [K, K, C, 1] when depthwise. */
function filterValues(p: KpuConvParams, g: KpuConvGeometry, b: number): Float32Array {
  const K = g.kernel;
  const K2 = K * K;
  const IC = g.inChannels;
  const OC = g.outChannels;
  const weight = (i: number): number =>
    (p.weightBits === 16 ? p.weights[2 * i] + 256 * p.weights[2 * i + 1] : p.weights[i]) + b;
  if (g.depthwise) {
    const f = new Float32Array(K2 * OC);
    for (let o = 0; o < OC; o++) for (let t = 0; t < K2; t++) f[t * OC + o] = weight(o * K2 + t);
    return f;
  }
  const f = new Float32Array(K2 * IC * OC);
  for (let o = 0; o < OC; o++) {
    for (let c = 0; c < IC; c++) {
      for (let t = 0; t < K2; t++) f[(t * IC + c) * OC + o] = weight((o * IC + c) * K2 + t);
    }
  }
  return f;
}

/** The kpu-numerics §6.6 pool types on an NHWC map. */
export function poolNhwc(x: tf.Tensor4D, poolType: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  switch (poolType) {
    case 0:
      return x;
    case 1:
      return tf.maxPool(x, 2, 2, 'valid');
    case 2:
      return tf.avgPool(x, 2, 2, 'valid');
    case 3:
      return tf.maxPool(x, 4, 4, 'valid');
    case 4:
      return tf.avgPool(x, 4, 4, 'valid');
    case 5: // left_top_2_s2: even rows, even columns
      return tf.stridedSlice(
        x,
        [0, 0, 0, 0],
        [n, 2 * Math.floor(h / 2), 2 * Math.floor(w / 2), c],
        [1, 2, 2, 1],
      ) as tf.Tensor4D;
    case 6: // right_top_2_s2: even rows, odd columns
      return tf.stridedSlice(
        x,
        [0, 0, 1, 0],
        [n, 2 * Math.floor(h / 2), 2 * Math.floor(w / 2), c],
        [1, 2, 2, 1],
      ) as tf.Tensor4D;
    case 7: // left_top_4_s4
      return tf.stridedSlice(
        x,
        [0, 0, 0, 0],
        [n, 4 * Math.floor(h / 4), 4 * Math.floor(w / 4), c],
        [1, 4, 4, 1],
      ) as tf.Tensor4D;
    case 8: // mean_2_s1: the window runs past the bottom/right edge onto a replicated edge
      return tf.avgPool(
        tf.mirrorPad(
          x,
          [
            [0, 0],
            [0, 1],
            [0, 1],
            [0, 0],
          ],
          'symmetric',
        ),
        2,
        1,
        'valid',
      );
    case 9: // max_2_s1: the window runs past the edge; out-of-range taps are ignored ('same' pads after)
      return tf.maxPool(x, 2, 1, 'same');
    default:
      throw new RangeError(`pool_type ${poolType} is not defined`);
  }
}

export function prepareKpuConvFloat(p: KpuConvParams, batches: number, opts: KpuConvFloatOptions = {}): KpuConvFloat {
  const saturate = opts.saturate ?? true;
  const g = kpuConvGeometry(p.arg);
  const a = p.arg.arg_w * 2 ** -p.arg.shr_w;
  const b = p.arg.arg_x * 2 ** -p.arg.shr_x;
  const K = g.kernel;
  const G = g.depthwise ? 1 : g.inChannels;
  const residual = p.arg.arg_add - a * b * K * K;
  const padValue = p.arg.pad_value + a;
  const OC = g.outChannels;
  const filterShape: [number, number, number, number] = g.depthwise ? [K, K, OC, 1] : [K, K, g.inChannels, OC];
  let filter: tf.Tensor4D | undefined = tf.tensor4d(filterValues(p, g, b), filterShape);

  const mul = new Float64Array(OC);
  const add = new Float64Array(OC);
  for (let o = 0; o < OC; o++) {
    const e = p.batchNorm[o];
    mul[o] = e.norm_mul * 2 ** -e.norm_shift;
    add[o] = e.norm_add;
  }
  const segs = p.activation;
  const xs = Float64Array.from(segs, (s) => s.x_start);
  const slope = Float64Array.from(segs, (s) => s.y_mul * 2 ** -s.shift_number);
  const bias = Float64Array.from(segs, (s) => s.bias);
  const accConst = residual * G;

  /** The accumulator map (NHWC, flattened) of an input. */
  const accumulate = (input: Float32Array): Float32Array => {
    if (!filter) throw new Error('reference KPU layer used after dispose()');
    const f = filter;
    const N = batches;
    const { inChannels: IC, inHeight: H, inWidth: W } = g;
    if (input.length < N * IC * H * W)
      throw new RangeError(`reference KPU layer: input has ${input.length} values, ${N}×${IC}×${H}×${W} needed`);
    const accT = tf.tidy(() => {
      let x: tf.Tensor4D = tf.add(
        tf.transpose(tf.tensor4d(input.subarray(0, N * IC * H * W), [N, IC, H, W]), [0, 2, 3, 1]),
        tf.scalar(a),
      );
      if (K === 3)
        x = tf.pad(
          x,
          [
            [0, 0],
            [1, 1],
            [1, 1],
            [0, 0],
          ],
          padValue,
        );
      return g.depthwise ? tf.depthwiseConv2d(x, f, 1, 'valid') : tf.conv2d(x, f, 1, 'valid');
    });
    const acc = Float32Array.from(accT.dataSync() as Float32Array);
    accT.dispose();
    return acc;
  };

  const pool = (act: Float32Array): Float32Array => {
    const { inHeight: H, inWidth: W } = g;
    const outT = tf.tidy(() => tf.transpose(poolNhwc(tf.tensor4d(act, [batches, H, W, OC]), g.poolType), [0, 3, 1, 2]));
    const out = Float32Array.from(outT.dataSync() as Float32Array);
    outT.dispose();
    return out;
  };

  const run = (input: Float32Array): Float32Array => {
    const acc = accumulate(input);
    const n = acc.length;
    const act = new Float32Array(n);
    for (let i = 0, o = 0; i < n; i++) {
      const bn = (acc[i] + accConst) * mul[o] + add[o];
      let k = 15;
      while (k > 0 && !(bn > xs[k])) k--;
      let v = (bn - xs[k]) * slope[k] + bias[k];
      if (saturate) v = v < 0 ? 0 : v > 255 ? 255 : v;
      act[i] = v;
      if (++o === OC) o = 0;
    }
    return pool(act);
  };

  const shifts = Int32Array.from(segs, (s) => s.shift_number);
  const yMul = Float64Array.from(segs, (s) => s.y_mul);
  const unit = Float64Array.from(segs, (s) => 2 ** -s.shift_number);
  const runKpuRounded = (input: Float32Array, rules: KpuRoundingRules): { values: Float32Array; quirk: number } => {
    const acc = accumulate(input);
    const n = acc.length;
    const act = new Float32Array(n);
    const strict = rules.segmentBoundary === 'strict';
    let quirk = 0;
    for (let i = 0, o = 0; i < n; i++) {
      const bn = (acc[i] + accConst) * mul[o] + add[o];
      let k = 15;
      while (k > 0 && !(strict ? bn > xs[k] : bn >= xs[k])) k--;
      const t = (bn - xs[k]) * yMul[k];
      const r = t * unit[k];
      const rounded = shifts[k] === 0 ? r : kpuRound(r, t < 0, rules.activationRounding);
      const v = clamp8(rounded + bias[k]);
      if (v !== clamp8(halfEven(r) + bias[k])) quirk++;
      act[i] = v;
      if (++o === OC) o = 0;
    }
    return { values: pool(act), quirk };
  };

  return {
    geometry: g,
    batches,
    inputOffset: a,
    weightOffset: b,
    residual,
    run,
    runKpuRounded,
    dispose() {
      filter?.dispose();
      filter = undefined;
    },
  };
}

/**
 * The reference layer of a KPU conv (v3 K210_CONV, v4 kpu_conv2d): its input and output maps in AI SRAM at the
 * registers' addresses, plus the main-memory copy `copyOf` gives for the output map (kpu-numerics §10 C6), all one
 * quantisation; the input's zero point comes from arg_w (`factSource`, `exactZp`).
 */
export function kpuConvLayer(
  p: KpuConvParams,
  batches: number,
  copyOf: (output: TensorRef) => TensorRef | undefined,
  factSource: string,
  exactZp: boolean,
): Omit<RefLayer, 'index' | 'type' | 'unit'> {
  const g = kpuConvGeometry(p.arg);
  const N = batches;
  const input = tensorRef('ai', 'uint8', p.arg.image_src_addr * 64, [N, g.inChannels, g.inHeight, g.inWidth], 'kpu');
  const output = tensorRef(
    'ai',
    'uint8',
    p.arg.image_dst_addr * 64,
    [N, g.outChannels, g.outHeight, g.outWidth],
    'kpu',
  );
  const copy = copyOf(output);
  const outputs = copy ? [output, copy] : [output];
  const conv = prepareKpuConvFloat(p, N);
  return {
    inputs: [input],
    outputs,
    sameQuant: [outputs],
    quantFacts: [quantFact(input, factSource, -conv.inputOffset, undefined, exactZp)],
    run: ([x]) => {
      const y = conv.run(x);
      return outputs.map(() => y);
    },
    dispose: () => conv.dispose(),
  };
}
