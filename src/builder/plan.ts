/**
 * The lowered model: KPU conv layers and CPU layers over named tensors, still in real (float)
 * numbers. `lower.ts` produces it from a float graph; `quantize.ts` turns it into integer layer
 * parameters; `plan-eval` (below) runs it in double precision, which is both the calibration run
 * and a check of the lowering (it must agree with the float graph).
 *
 * A KPU conv reads the channel-wise concatenation of its input tensors (they are placed next to
 * each other in AI SRAM), convolves at stride 1 with the KPU's padding (3×3: one pixel on every
 * side standing for `padValue`), adds the bias, applies the activation, then the pool type.
 */
import type { Activation } from './graph.js';
import { applyActivation, nearestIndex, pointwise, tensor3, type Tensor3 } from './float-eval.js';

export interface PlanTensor {
  readonly id: number;
  readonly name: string;
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly memory: 'kpu' | 'main';
  readonly dtype: 'u8' | 'f32';
  /** u8 tensors holding raw pixel values (the model input and its copies): scale 1, zero point 0. */
  readonly raw: boolean;
}

export interface KpuConvOp {
  readonly kind: 'kpu-conv';
  readonly name: string;
  readonly inputs: readonly number[];
  readonly output: number;
  /** A main-memory u8 tensor that receives the same result (the v3 "main memory output" flag). */
  readonly mainCopy?: number;
  readonly kernel: 1 | 3;
  readonly depthwise: boolean;
  /** [oc][icTotal][k][k] (depthwise: [c][k][k]), applied to real input values. */
  readonly weights: Float64Array;
  readonly bias: Float64Array;
  readonly act: Activation;
  /** KPU pool_type (kpu-numerics §6.6). */
  readonly pool: number;
  /** The real value the 3×3 padding represents, in the input's units. */
  readonly padValue: number;
  /** Quantise the output per channel (allowed only when a dequantize is its sole reader). */
  readonly perChannelOutput: boolean;
  /** Copies its input exactly (the first layer of a model with a CPU-side input transform). */
  readonly identity: boolean;
  /** Graph nodes this layer computes (for messages and reports). */
  readonly source: string;
}

export type PlanOp =
  | KpuConvOp
  /** u8 main → main: QUANTIZED_RESIZE_NEAREST_NEIGHBOR. */
  | { readonly kind: 'resize'; readonly name: string; readonly input: number; readonly output: number }
  /** u8 main → main: the rows of every plane in reverse order (a CONCAT of row ranges). */
  | { readonly kind: 'flip'; readonly name: string; readonly input: number; readonly output: number }
  /** u8 main → AI SRAM: K210_UPLOAD. */
  | { readonly kind: 'upload'; readonly name: string; readonly input: number; readonly output: number }
  /** u8 main → f32 main; `signs` multiplies channel c by ±1 (folded into a channel-wise dequantize). */
  | {
      readonly kind: 'dequantize';
      readonly name: string;
      readonly input: number;
      readonly output: number;
      readonly signs?: Int8Array;
    }
  | { readonly kind: 'gap'; readonly name: string; readonly input: number; readonly output: number }
  /** weights [out][in] (the SDK's storage order). */
  | {
      readonly kind: 'fc';
      readonly name: string;
      readonly input: number;
      readonly output: number;
      readonly weights: Float64Array;
      readonly bias: Float64Array;
    }
  /** f32: out[i] = in[i] + in[n + i] (an ADD of the two halves). */
  | { readonly kind: 'fold'; readonly name: string; readonly input: number; readonly output: number }
  | { readonly kind: 'l2norm'; readonly name: string; readonly input: number; readonly output: number }
  /** f32 main → u8 main: QUANTIZE. */
  | { readonly kind: 'quantize'; readonly name: string; readonly input: number; readonly output: number }
  /**
   * u8 main vector → pixel (0, 0) of a 4×4 KPU map per channel: K210_ADD_PADDING (the other pixels are left as they
   * are).
   */
  | { readonly kind: 'pad-vector'; readonly name: string; readonly input: number; readonly output: number }
  /** u8 main 4×4 maps → their pixel (0, 0): K210_REMOVE_PADDING. */
  | { readonly kind: 'unpad-vector'; readonly name: string; readonly input: number; readonly output: number };

export interface Plan {
  readonly name: string;
  readonly tensors: readonly PlanTensor[];
  readonly ops: readonly PlanOp[];
  /** The model input (raw u8 pixels in AI SRAM, read by the first KPU conv). */
  readonly input: number;
  readonly output: number;
  /** Sentences about approximations the lowering made (e.g. a per-channel pad value). */
  readonly notes: readonly string[];
  /** The network runs upside down (stride-2 SAME convs need the odd row; see lower.ts). */
  readonly flipped: boolean;
}

export function opInputs(op: PlanOp): readonly number[] {
  return op.kind === 'kpu-conv' ? op.inputs : [op.input];
}

export function opOutputs(op: PlanOp): readonly number[] {
  return op.kind === 'kpu-conv' && op.mainCopy !== undefined ? [op.output, op.mainCopy] : [op.output];
}

/** Output size of a pool type on an H×W map, or undefined for types the builder never emits. */
export function poolOutput(pool: number, h: number, w: number): { h: number; w: number } {
  const s = [1, 2, 2, 4, 4, 2, 2, 4, 1, 1][pool];
  return { h: Math.floor(h / s), w: Math.floor(w / s) };
}

/** Float semantics of one KPU conv on the concatenated input: conv, bias, activation, pool. */
export function evalKpuConv(op: KpuConvOp, x: Tensor3): Tensor3 {
  const k = op.kernel;
  const p = (k - 1) / 2;
  const H = x.h;
  const W = x.w;
  const ic = x.c;
  const oc = op.bias.length;
  const plane = H * W;
  if (k === 1 && !op.depthwise) {
    const pre = pointwise(x, op.weights, oc);
    const d = pre.data;
    for (let o = 0; o < oc; o++) {
      const b = op.bias[o];
      for (let i = o * plane; i < (o + 1) * plane; i++) d[i] = applyActivation(d[i] + b, op.act);
    }
    return poolReal(pre, op.pool);
  }
  const pre = tensor3(oc, H, W);
  // Padded input planes (3×3: one pixel of padValue around every plane).
  const PW = W + 2 * p;
  const PH = H + 2 * p;
  const padded = new Float64Array(ic * PH * PW);
  if (p) padded.fill(op.padValue);
  for (let c = 0; c < ic; c++)
    for (let y = 0; y < H; y++)
      padded.set(x.data.subarray((c * H + y) * W, (c * H + y + 1) * W), (c * PH + y + p) * PW + p);
  const dst = pre.data;
  const w = op.weights;
  for (let o = 0; o < oc; o++) {
    const ob = o * plane;
    for (let c = op.depthwise ? o : 0; c < (op.depthwise ? o + 1 : ic); c++) {
      for (let ky = 0; ky < k; ky++) {
        for (let kx = 0; kx < k; kx++) {
          const wv = op.depthwise ? w[(o * k + ky) * k + kx] : w[((o * ic + c) * k + ky) * k + kx];
          if (wv === 0) continue;
          for (let y = 0; y < H; y++) {
            const src = (c * PH + y + ky) * PW + kx;
            const d = ob + y * W;
            for (let xx = 0; xx < W; xx++) dst[d + xx] += padded[src + xx] * wv;
          }
        }
      }
    }
    const b = op.bias[o];
    for (let i = ob; i < ob + plane; i++) dst[i] = applyActivation(dst[i] + b, op.act);
  }
  return poolReal(pre, op.pool);
}

/** The pool types on real values (max and select commute with the monotone quantisation). */
export function poolReal(t: Tensor3, pool: number): Tensor3 {
  if (pool === 0) return t;
  const { h, w } = poolOutput(pool, t.h, t.w);
  const out = tensor3(t.c, h, w);
  const at = (c: number, y: number, x: number) => t.data[(c * t.h + y) * t.w + x];
  for (let c = 0; c < t.c; c++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let v: number;
        switch (pool) {
          case 1:
            v = Math.max(
              at(c, 2 * y, 2 * x),
              at(c, 2 * y, 2 * x + 1),
              at(c, 2 * y + 1, 2 * x),
              at(c, 2 * y + 1, 2 * x + 1),
            );
            break;
          case 5:
            v = at(c, 2 * y, 2 * x);
            break;
          case 6:
            v = at(c, 2 * y, 2 * x + 1);
            break;
          case 9: {
            v = at(c, y, x);
            if (x + 1 < t.w) v = Math.max(v, at(c, y, x + 1));
            if (y + 1 < t.h) v = Math.max(v, at(c, y + 1, x));
            if (x + 1 < t.w && y + 1 < t.h) v = Math.max(v, at(c, y + 1, x + 1));
            break;
          }
          default:
            throw new Error(`pool type ${pool} has no float semantics in the builder`);
        }
        out.data[(c * h + y) * w + x] = v;
      }
    }
  }
  return out;
}

function concatChannels(ts: readonly Tensor3[]): Tensor3 {
  if (ts.length === 1) return ts[0];
  const c = ts.reduce((a, t) => a + t.c, 0);
  const out = tensor3(c, ts[0].h, ts[0].w);
  let o = 0;
  for (const t of ts) {
    out.data.set(t.data, o);
    o += t.data.length;
  }
  return out;
}

/** Runs the plan in double precision; returns the value of every tensor (by id). */
export function evalPlan(plan: Plan, input: Tensor3, onTensor?: (id: number, t: Tensor3) => void): Tensor3[] {
  const vals: Tensor3[] = [];
  const set = (id: number, t: Tensor3) => {
    vals[id] = t;
    onTensor?.(id, t);
  };
  set(plan.input, input);
  for (const op of plan.ops) {
    switch (op.kind) {
      case 'kpu-conv': {
        const y = evalKpuConv(op, concatChannels(op.inputs.map((i) => vals[i])));
        set(op.output, y);
        if (op.mainCopy !== undefined) set(op.mainCopy, y);
        break;
      }
      case 'resize': {
        const t = plan.tensors[op.output];
        const x = vals[op.input];
        const out = tensor3(x.c, t.h, t.w);
        for (let c = 0; c < x.c; c++) {
          for (let y = 0; y < t.h; y++) {
            const iy = nearestIndex(y, x.h, t.h);
            for (let xx = 0; xx < t.w; xx++)
              out.data[(c * t.h + y) * t.w + xx] = x.data[(c * x.h + iy) * x.w + nearestIndex(xx, x.w, t.w)];
          }
        }
        set(op.output, out);
        break;
      }
      case 'flip': {
        const x = vals[op.input];
        const out = tensor3(x.c, x.h, x.w);
        for (let c = 0; c < x.c; c++)
          for (let y = 0; y < x.h; y++)
            out.data.set(x.data.subarray((c * x.h + y) * x.w, (c * x.h + y + 1) * x.w), (c * x.h + x.h - 1 - y) * x.w);
        set(op.output, out);
        break;
      }
      case 'upload':
        set(op.output, vals[op.input]);
        break;
      case 'dequantize': {
        const x = vals[op.input];
        if (!op.signs) {
          set(op.output, x);
          break;
        }
        const out = tensor3(x.c, x.h, x.w);
        const plane = x.h * x.w;
        for (let c = 0; c < x.c; c++)
          for (let i = 0; i < plane; i++) out.data[c * plane + i] = op.signs[c] * x.data[c * plane + i];
        set(op.output, out);
        break;
      }
      case 'gap': {
        const x = vals[op.input];
        const out = tensor3(x.c, 1, 1);
        const plane = x.h * x.w;
        for (let c = 0; c < x.c; c++) {
          let s = 0;
          for (let i = 0; i < plane; i++) s += x.data[c * plane + i];
          out.data[c] = s / plane;
        }
        set(op.output, out);
        break;
      }
      case 'fc': {
        const x = vals[op.input];
        const n = x.data.length;
        const m = op.bias.length;
        const out = tensor3(m, 1, 1);
        for (let o = 0; o < m; o++) {
          let s = 0;
          for (let i = 0; i < n; i++) s += x.data[i] * op.weights[o * n + i];
          out.data[o] = s + op.bias[o];
        }
        set(op.output, out);
        break;
      }
      case 'fold': {
        const x = vals[op.input];
        const half = x.data.length / 2;
        const out = tensor3(half, 1, 1);
        for (let i = 0; i < half; i++) out.data[i] = x.data[i] + x.data[half + i];
        set(op.output, out);
        break;
      }
      case 'quantize':
        set(op.output, vals[op.input]);
        break;
      case 'pad-vector': {
        const x = vals[op.input];
        const out = tensor3(x.data.length, 4, 4);
        for (let c = 0; c < x.data.length; c++) out.data[c * 16] = x.data[c];
        set(op.output, out);
        break;
      }
      case 'unpad-vector': {
        const x = vals[op.input];
        set(
          op.output,
          tensor3(
            x.c,
            1,
            1,
            Float64Array.from({ length: x.c }, (_, c) => x.data[c * x.h * x.w]),
          ),
        );
        break;
      }
      case 'l2norm': {
        const x = vals[op.input];
        let s = 0;
        for (const v of x.data) s += v * v;
        const r = 1 / Math.sqrt(Math.max(s, 1e-10));
        const out = tensor3(x.c, x.h, x.w);
        for (let i = 0; i < out.data.length; i++) out.data[i] = x.data[i] * r;
        set(op.output, out);
        break;
      }
    }
  }
  return vals;
}
