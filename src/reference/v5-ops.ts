/**
 * Float counterparts of the kmodel v5 ops (nncase 1.x): the stackvm tensor functions and the
 * K210 module's ops. Each takes the values of the op's input views (row-major over each view's
 * shape) and returns the values of each output view. Integer tensors carry unrounded values of
 * their quantised domain, float tensors real values; nothing is rounded to a grid, and only the
 * saturation of an integer result to its type's range is kept (as in the v3/v4 reference).
 *
 * Geometry goes through TensorFlow.js (transpose, broadcasting binaries, resize, conv2d, the
 * KPU conv of kpu-conv.ts); window reductions and slices are the plain loops the v4 reference
 * uses (tfjs backends disagree on padded averages; stored slice bounds are taken literally).
 */
import { BINARY_OPS, IMAGE_RESIZE_MODES, REDUCE_OPS } from '../kmodel-parser/v5/stackvm/isa.js';
import type { Padding } from '../kpu/ops/common.js';
import type { V5OpStep } from '../kpu/v5/hooks.js';
import { V5_PAD_MODES } from '../kpu/ops/v5/pad.js';
import { UNARY_REAL, V5_UNARY_OPS } from '../kpu/ops/v5/unary.js';
import { DT } from '../kpu/v5/tensor.js';
import { tf } from './backend.js';
import type { KpuConvFloat, KpuRoundingRules } from './kpu-conv.js';
import { conv2dFloat, padCrop, reduceWindowFloat, tfRun, type Shape4, type Window } from './ops.js';

export function isFloatType(dt: number): boolean {
  return dt === DT.f16 || dt === DT.f32 || dt === DT.f64 || dt === DT.bf16;
}

/** Range of an integer datatype (undefined for floats). */
export function intRange(dt: number): [number, number] | undefined {
  switch (dt) {
    case DT.i8:
      return [-128, 127];
    case DT.u8:
      return [0, 255];
    case DT.i16:
      return [-32768, 32767];
    case DT.u16:
      return [0, 65535];
    case DT.i32:
      return [-(2 ** 31), 2 ** 31 - 1];
    case DT.u32:
      return [0, 2 ** 32 - 1];
    case DT.i64:
      return [-(2 ** 63), 2 ** 63];
    case DT.u64:
      return [0, 2 ** 64];
    default:
      return undefined;
  }
}

const saturate = (v: Float32Array, dt: number): Float32Array => {
  const r = intRange(dt);
  if (!r) return v;
  const [lo, hi] = r;
  for (let i = 0; i < v.length; i++) v[i] = v[i] < lo ? lo : v[i] > hi ? hi : v[i];
  return v;
};

/** nncase's clamp: max(min(v, high), low) with std::min/max's argument order (NaN bounds keep v). */
function fusedClamp(v: Float32Array, low: number, high: number): Float32Array {
  for (let i = 0; i < v.length; i++) {
    let x = v[i];
    if (high < x) x = high;
    if (x < low) x = low;
    v[i] = x;
  }
  return v;
}

const count = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function take(x: Float32Array, n: number, what: string): Float32Array {
  if (x.length < n) throw new RangeError(`${what}: ${x.length} input values for ${n} outputs`);
  return x.length === n ? x : x.slice(0, n);
}

const pad = (p: unknown): Padding => {
  const q = p as Padding | undefined;
  if (!q || typeof q.before !== 'number') throw new RangeError('paddings missing from the op parameters');
  return q;
};

const numbers = (p: unknown, what: string): readonly number[] => {
  if (!Array.isArray(p)) throw new RangeError(`${what} missing from the op parameters`);
  return p as readonly number[];
};

export interface V5FloatContext {
  /** The float KPU conv of a kpu_conv2d step (prepared once per layer). */
  kpuConv(step: V5OpStep): KpuConvFloat;
  /** The KPU's activation rules the emulator runs with (for the isolated re-quantisation). */
  readonly kpuRules: KpuRoundingRules;
}

/** What a counterpart says about itself (for the report). */
export interface V5FloatOp {
  /** One array per output view. */
  readonly run: (inputs: readonly Float32Array[]) => Float32Array[];
  /**
   * The isolated check's result when it is not `run`'s: output 0 already re-quantised the way
   * the hardware rounds (kpu_conv2d), with a remark on it.
   */
  readonly runIsolated?: (inputs: readonly Float32Array[]) => { readonly value: Float32Array; readonly note?: string };
  /** Outputs keep their inputs' quantisation (data movement on integer maps). */
  readonly sameQuant: boolean;
  readonly note?: string;
}

function identity(step: V5OpStep): V5FloatOp {
  return {
    sameQuant: true,
    run: ([x]) => step.outputs.map((o, k) => take(x, count(o.shape), `${step.type} output ${k}`)),
  };
}

/** Row-major gather of begins + i·strides over the input shape (the runtime's loop, bounds as stored). */
function sliceValues(
  x: Float32Array,
  inShape: readonly number[],
  outShape: readonly number[],
  begins: readonly number[],
  strides: readonly number[],
): Float32Array {
  const n = inShape.length;
  const inStride = new Array<number>(n).fill(1);
  for (let i = n - 2; i >= 0; i--) inStride[i] = inStride[i + 1] * inShape[i + 1];
  const out = new Float32Array(count(outShape));
  const idx = new Array<number>(n).fill(0);
  for (let k = 0; k < out.length; k++) {
    let a = 0;
    let valid = true;
    for (let i = 0; i < n; i++) {
      const j = begins[i] + idx[i] * strides[i];
      if (j < 0 || j >= inShape[i]) valid = false;
      a += j * inStride[i];
    }
    out[k] = valid ? x[a] : 0;
    for (let i = n - 1; i >= 0; i--) {
      if (++idx[i] < outShape[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}

const to4 = (s: readonly number[], what: string): Shape4 => {
  if (s.length !== 4) throw new RangeError(`${what}: a rank-${s.length} tensor where NCHW was expected`);
  return [s[0], s[1], s[2], s[3]];
};

/** The float counterpart of an op, or undefined when the reference has none. */
export function floatOp(step: V5OpStep, ctx: V5FloatContext): V5FloatOp | undefined {
  const a = step.instruction?.args ?? {};
  const p = step.params;
  const in0 = step.inputs[0];
  const out0 = step.outputs[0];
  switch (step.type) {
    case 'k210:kpu_upload':
    case 'k210:kpu_download':
    case 'k210:copy':
    case 'stackvm:COPY':
      return identity(step);
    case 'k210:kpu_conv2d': {
      const conv = ctx.kpuConv(step);
      return {
        sameQuant: false,
        run: ([x]) => {
          const y = conv.run(x);
          return step.outputs.map(() => y);
        },
        runIsolated: ([x]) => {
          const { values, quirk } = conv.runKpuRounded(x, ctx.kpuRules);
          const n = conv.geometry.outChannels * conv.geometry.inHeight * conv.geometry.inWidth * conv.batches;
          return {
            value: values,
            ...(quirk
              ? {
                  note:
                    `${quirk} activation value${quirk === 1 ? '' : 's'} (${((100 * quirk) / n).toFixed(2)}%) ` +
                    "round away from the nearest integer by nncase's rule for negative products " +
                    '(docs/kpu-numerics.md §6.4); the isolated check applies that rule',
                }
              : {}),
          };
        },
      };
    }
    case 'stackvm:DEQUANTIZE': {
      const scale = p.scale as number;
      const bias = p.bias as number;
      return {
        sameQuant: false,
        run: ([x]) => {
          const y = new Float32Array(x.length);
          for (let i = 0; i < x.length; i++) y[i] = x[i] * scale + bias;
          return [y];
        },
      };
    }
    case 'stackvm:QUANTIZE': {
      const scale = p.scale as number;
      const bias = p.bias as number;
      return {
        sameQuant: false,
        run: ([x]) => {
          const y = new Float32Array(x.length);
          for (let i = 0; i < x.length; i++) y[i] = x[i] * scale + bias;
          return [saturate(y, out0.datatype)];
        },
      };
    }
    case 'stackvm:CONVERT': {
      const from = in0.datatype;
      const to = out0.datatype;
      if (isFloatType(to) || !isFloatType(from)) {
        // float → float, int → float, int → int: the value (a float model does not round to f16/bf16)
        return {
          sameQuant: !isFloatType(from) && !isFloatType(to),
          run: ([x]) => [saturate(Float32Array.from(x), to)],
        };
      }
      return {
        sameQuant: false,
        note: 'float → integer convert: truncation toward zero, as the C cast',
        run: ([x]) => [saturate(Float32Array.from(x, Math.trunc), to)],
      };
    }
    case 'stackvm:SLICE': {
      const begins = numbers(p.begins, 'slice begins');
      const strides = numbers(p.strides, 'slice strides');
      return { sameQuant: true, run: ([x]) => [sliceValues(x, in0.shape, out0.shape, begins, strides)] };
    }
    case 'stackvm:TRANSPOSE': {
      const perm = numbers(p.perm, 'transpose perm');
      return { sameQuant: true, run: ([x]) => [tfRun(() => tf.transpose(tf.tensor(x, [...in0.shape]), [...perm]))] };
    }
    case 'stackvm:BINARY': {
      const op = BINARY_OPS[a.binary_op];
      const fn =
        op === 'add'
          ? tf.add
          : op === 'sub'
            ? tf.sub
            : op === 'mul'
              ? tf.mul
              : op === 'div'
                ? tf.div
                : op === 'min'
                  ? tf.minimum
                  : op === 'max'
                    ? tf.maximum
                    : op === 'pow'
                      ? tf.pow
                      : undefined;
      if (!fn) return undefined;
      const b = step.inputs[1];
      return {
        sameQuant: false,
        run: ([x, y]) => {
          const r = tfRun(() =>
            tf.broadcastTo(fn(tf.tensor(x, [...in0.shape]), tf.tensor(y, [...b.shape])), [...out0.shape]),
          );
          return [fusedClamp(r, a.fused_clamp_low, a.fused_clamp_high)];
        },
      };
    }
    case 'stackvm:REDUCE_WINDOW2D': {
      const op = REDUCE_OPS[a.reduce_op];
      if (!op) return undefined;
      const win: Window = {
        filterH: a.filter_h,
        filterW: a.filter_w,
        strideH: a.stride_h,
        strideW: a.stride_w,
        dilationH: a.dilation_h,
        dilationW: a.dilation_w,
        paddingH: pad(p.padH),
        paddingW: pad(p.padW),
      };
      const init = p.init as number;
      return {
        sameQuant: false,
        run: ([x]) => [
          fusedClamp(
            reduceWindowFloat(x, to4(in0.shape, 'reduce_window2d'), op, init, win).values,
            a.fused_clamp_low,
            a.fused_clamp_high,
          ),
        ],
      };
    }
    case 'stackvm:RESIZE_IMAGE': {
      const mode = IMAGE_RESIZE_MODES[a.image_resize_mode];
      if (!mode) return undefined;
      const [N, C, H, W] = to4(in0.shape, 'resize_image');
      const outH = p.outH as number;
      const outW = p.outW as number;
      const align = a.align_corners !== 0;
      const half = a.half_pixel_centers !== 0;
      return {
        sameQuant: !isFloatType(in0.datatype),
        run: ([x]) => [
          tfRun(() => {
            const t = tf.transpose(tf.tensor4d(x, [N, C, H, W]), [0, 2, 3, 1]) as tf.Tensor4D;
            const y =
              mode === 'bilinear'
                ? tf.image.resizeBilinear(t, [outH, outW], align, half)
                : tf.image.resizeNearestNeighbor(t, [outH, outW], align, half);
            return tf.transpose(y, [0, 3, 1, 2]);
          }),
        ],
      };
    }
    case 'stackvm:CONV2D': {
      const wv = step.inputs[1];
      const inShape = to4(in0.shape, 'conv2d');
      const [OC, , FH, FW] = to4(wv.shape, 'conv2d weights');
      const win: Window = {
        filterH: FH,
        filterW: FW,
        strideH: a.stride_h,
        strideW: a.stride_w,
        dilationH: a.dilation_h,
        dilationW: a.dilation_w,
        paddingH: pad(p.padH),
        paddingW: pad(p.padW),
      };
      return {
        sameQuant: false,
        run: ([x, w, b]) => [
          fusedClamp(conv2dFloat(x, inShape, w, b, a.groups, OC, win).values, a.fused_clamp_low, a.fused_clamp_high),
        ],
      };
    }
    case 'stackvm:UNARY': {
      const name = V5_UNARY_OPS[a.unary_op];
      const fn = name === undefined ? undefined : (UNARY_REAL as Partial<Record<string, (v: number) => number>>)[name];
      if (!fn) return undefined;
      return { sameQuant: false, run: ([x]) => [Float32Array.from(x, fn)] };
    }
    case 'stackvm:PAD':
      return padOp(in0.shape, p);
    default:
      return undefined;
  }
}

/**
 * PAD: `constant` pads with the value (negative paddings crop), `reflect` and `symmetric` mirror the input
 * (TensorFlow.js's mirrorPad), `edge` repeats the border element. A mirror or edge pad that also crops, or a mirror
 * wider than the input allows, has no counterpart (compare takes the emulator's result).
 */
function padOp(shape: readonly number[], p: V5OpStep['params']): V5FloatOp | undefined {
  const before = numbers(p.before, 'pad before');
  const after = numbers(p.after, 'pad after');
  const mode = V5_PAD_MODES[p.pad_mode as number];
  const value = p.value;
  if (mode === undefined || typeof value !== 'number') return undefined;
  const paddings = before.map((b, i) => ({ before: b, after: after[i] }));
  const dims = [...shape];
  if (mode !== 'constant') {
    const most = mode === 'reflect' ? (d: number) => d - 1 : (d: number) => d;
    if (paddings.some((q, i) => q.before < 0 || q.after < 0 || q.before > most(dims[i]) || q.after > most(dims[i])))
      return undefined;
    if (mode !== 'edge' && (dims.length < 1 || dims.length > 4)) return undefined;
  }
  return {
    sameQuant: true,
    run: ([x]) => [
      tfRun(() => {
        const t = tf.tensor(x, dims);
        if (mode === 'constant') return padCrop(t, paddings, value);
        if (mode === 'edge') return edgePad(t, paddings);
        return tf.mirrorPad(
          t,
          paddings.map((q) => [q.before, q.after] as [number, number]),
          mode,
        );
      }),
    ],
  };
}

/** Pads every axis by repeating its first and last slices. */
function edgePad(x: tf.Tensor, paddings: readonly Padding[]): tf.Tensor {
  let y = x;
  paddings.forEach((q, axis) => {
    const n = y.shape[axis];
    const edge = (at: number, times: number) => {
      const begin = y.shape.map((_, i) => (i === axis ? at : 0));
      const size = y.shape.map((d, i) => (i === axis ? 1 : d));
      return tf.tile(
        tf.slice(y, begin, size),
        y.shape.map((_, i) => (i === axis ? times : 1)),
      );
    };
    const parts = [...(q.before > 0 ? [edge(0, q.before)] : []), y, ...(q.after > 0 ? [edge(n - 1, q.after)] : [])];
    if (parts.length > 1) y = tf.concat(parts, axis);
  });
  return y;
}
