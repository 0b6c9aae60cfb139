/**
 * Float counterparts of the CPU layers, shared by the v3 and v4 builders. Geometry-heavy ops
 * (convolution, pooling, padding, transposes, concatenation, resizing, matmul, softmax) go
 * through TensorFlow.js; element-wise maps are plain float64 loops. Nothing here rounds to a
 * quantised grid: quantised layers are evaluated as the real-valued functions their integer
 * parameters encode (a multiplier m with shift s is the real factor m·2^−s), keeping only the
 * saturation of a uint8 result to [0, 255].
 */
import { tf } from './backend.js';

/** The emulator's window geometry types: the float reference reads the same bodies. */
export type { Padding as Padding1, Window2d as Window } from '../kpu/ops/common.js';
import { windowedOutputSize, type Padding as Padding1, type Window2d as Window } from '../kpu/ops/common.js';

export type Shape4 = readonly [number, number, number, number];

export const sat8 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

/** Runs fn inside tf.tidy and returns the data of its result as a fresh Float32Array. */
export function tfRun(fn: () => tf.Tensor): Float32Array {
  const t = tf.tidy(fn);
  const out = Float32Array.from(t.dataSync() as Float32Array);
  t.dispose();
  return out;
}

/** NCHW values → NHWC tensor. */
export function nhwc(values: Float32Array, shape: Shape4): tf.Tensor4D {
  return tf.transpose(
    tf.tensor4d(values.subarray(0, shape[0] * shape[1] * shape[2] * shape[3]), [...shape]),
    [0, 2, 3, 1],
  );
}

export function toNchw(x: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(x, [0, 3, 1, 2]);
}

/** Pads (positive) and crops (negative) H and W of an NHWC tensor with a constant. */
export function padCropHW(x: tf.Tensor4D, ph: Padding1, pw: Padding1, value = 0): tf.Tensor4D {
  return padCrop(x, [{ before: 0, after: 0 }, ph, pw, { before: 0, after: 0 }], value) as tf.Tensor4D;
}

/** nncase pad semantics on any rank: negative paddings crop, positive ones pad with `value`. */
export function padCrop(x: tf.Tensor, paddings: readonly Padding1[], value = 0): tf.Tensor {
  const shape = x.shape;
  const begin = paddings.map((p) => Math.max(0, -p.before));
  const size = paddings.map((p, i) => shape[i] - Math.max(0, -p.before) - Math.max(0, -p.after));
  if (size.some((s) => s <= 0)) throw new RangeError('reference pad: the crop removes the whole tensor');
  let y = paddings.some((p) => p.before < 0 || p.after < 0) ? tf.slice(x, begin, size) : x;
  if (paddings.some((p) => p.before > 0 || p.after > 0)) {
    y = tf.pad(
      y,
      paddings.map((p) => [Math.max(0, p.before), Math.max(0, p.after)] as [number, number]),
      value,
    );
  }
  return y;
}

/** Output size of a window op (nncase get_windowed_output_size). */
export const windowedSize = windowedOutputSize;

/**
 * Float NCHW grouped convolution with nncase's explicit paddings (negative crops), strides and
 * dilations. Weights OIHW with I = C/groups. Padding is real zero (the `value` argument lets
 * a quantised conv pad with its centred zero, also 0). Returns NCHW values and shape.
 */
export function conv2dFloat(
  input: Float32Array,
  inShape: Shape4,
  weights: ArrayLike<number>,
  bias: ArrayLike<number>,
  groups: number,
  outChannels: number,
  win: Window,
): { values: Float32Array; shape: Shape4 } {
  const [N, C, H, W] = inShape;
  const gIc = C / groups;
  const gOc = outChannels / groups;
  const { filterH: fh, filterW: fw } = win;
  if (!Number.isInteger(gIc) || !Number.isInteger(gOc))
    throw new RangeError(
      `reference conv2d: ${C} input and ${outChannels} output channels do not split into ${groups} groups`,
    );
  const OH = windowedSize(H, fh, win.strideH, win.dilationH, win.paddingH);
  const OW = windowedSize(W, fw, win.strideW, win.dilationW, win.paddingW);
  const bothStrideAndDilation = (win.strideH > 1 || win.strideW > 1) && (win.dilationH > 1 || win.dilationW > 1);
  const strides: [number, number] = bothStrideAndDilation ? [1, 1] : [win.strideH, win.strideW];
  const dil: [number, number] = [win.dilationH, win.dilationW];
  const values = tfRun(() => {
    const x = padCropHW(nhwc(input, inShape), win.paddingH, win.paddingW);
    let y: tf.Tensor4D;
    if (groups === 1) {
      const f = new Float32Array(fh * fw * C * outChannels);
      for (let o = 0; o < outChannels; o++)
        for (let c = 0; c < C; c++)
          for (let t = 0; t < fh * fw; t++) f[(t * C + c) * outChannels + o] = weights[(o * C + c) * fh * fw + t];
      y = tf.conv2d(x, tf.tensor4d(f, [fh, fw, C, outChannels]), strides, 'valid', 'NHWC', dil);
    } else if (gIc === 1) {
      // depthwise with multiplier gOc: output channel c·gOc + j, exactly the grouped order
      const f = new Float32Array(fh * fw * C * gOc);
      for (let o = 0; o < outChannels; o++)
        for (let t = 0; t < fh * fw; t++) f[t * outChannels + o] = weights[o * fh * fw + t];
      y = tf.depthwiseConv2d(x, tf.tensor4d(f, [fh, fw, C, gOc]), strides, 'valid', 'NHWC', dil);
    } else {
      const parts: tf.Tensor4D[] = [];
      for (let g = 0; g < groups; g++) {
        const xg = tf.slice(x, [0, 0, 0, g * gIc], [-1, -1, -1, gIc]);
        const f = new Float32Array(fh * fw * gIc * gOc);
        for (let o = 0; o < gOc; o++) {
          for (let c = 0; c < gIc; c++)
            for (let t = 0; t < fh * fw; t++)
              f[(t * gIc + c) * gOc + o] = weights[((g * gOc + o) * gIc + c) * fh * fw + t];
        }
        parts.push(tf.conv2d(xg, tf.tensor4d(f, [fh, fw, gIc, gOc]), strides, 'valid', 'NHWC', dil));
      }
      y = tf.concat(parts, 3);
    }
    if (bothStrideAndDilation)
      y = tf.stridedSlice(
        y,
        [0, 0, 0, 0],
        [N, OH * win.strideH, OW * win.strideW, outChannels],
        [1, win.strideH, win.strideW, 1],
      ) as tf.Tensor4D;
    y = tf.add(y, tf.tensor1d(Float32Array.from(bias, Number)));
    return toNchw(y);
  });
  return { values, shape: [N, outChannels, OH, OW] };
}

/**
 * Window reduction over NCHW floats with nncase's semantics: in-range taps only, mean divided
 * by the number of in-range taps. Plain loops (tfjs backends differ on whether an average
 * counts padding).
 */
export function reduceWindowFloat(
  input: Float32Array,
  inShape: Shape4,
  op: 'mean' | 'min' | 'max' | 'sum',
  init: number,
  win: Window,
): { values: Float32Array; shape: Shape4 } {
  const [N, C, H, W] = inShape;
  const OH = windowedSize(H, win.filterH, win.strideH, win.dilationH, win.paddingH);
  const OW = windowedSize(W, win.filterW, win.strideW, win.dilationW, win.paddingW);
  const out = new Float32Array(N * C * OH * OW);
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * H * W;
      for (let oy = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++) {
          let v = init;
          let count = 0;
          for (let ky = 0; ky < win.filterH; ky++) {
            const y = oy * win.strideH - win.paddingH.before + ky * win.dilationH;
            if (y < 0 || y >= H) continue;
            for (let kx = 0; kx < win.filterW; kx++) {
              const x = ox * win.strideW - win.paddingW.before + kx * win.dilationW;
              if (x < 0 || x >= W) continue;
              const s = input[base + y * W + x];
              v = op === 'min' ? Math.min(v, s) : op === 'max' ? Math.max(v, s) : v + s;
              count++;
            }
          }
          out[o++] = op === 'mean' ? v / count : v;
        }
      }
    }
  }
  return { values: out, shape: [N, C, OH, OW] };
}

/** tfjs element-wise binary op with NCHW broadcasting (size-1 dims broadcast). */
export function binaryFloat(
  a: Float32Array,
  aShape: Shape4,
  b: Float32Array,
  bShape: Shape4,
  op: 'add' | 'sub' | 'mul' | 'div' | 'min' | 'max',
  outShape: Shape4,
): Float32Array {
  return tfRun(() => {
    const ta = tf.tensor4d(a.subarray(0, aShape[0] * aShape[1] * aShape[2] * aShape[3]), [...aShape]);
    const tb = tf.tensor4d(b.subarray(0, bShape[0] * bShape[1] * bShape[2] * bShape[3]), [...bShape]);
    const fn = { add: tf.add, sub: tf.sub, mul: tf.mul, div: tf.div, min: tf.minimum, max: tf.maximum }[op];
    return tf.broadcastTo(fn(ta, tb), [...outShape]);
  });
}

/** Bilinear / nearest resize of NCHW floats as nncase computes the sample positions. */
export function resizeFloat(
  input: Float32Array,
  inShape: Shape4,
  outH: number,
  outW: number,
  mode: 'bilinear' | 'nearest',
  alignCorners: boolean,
): Float32Array {
  return tfRun(() => {
    const x = nhwc(input, inShape);
    const y =
      mode === 'bilinear'
        ? tf.image.resizeBilinear(x, [outH, outW], alignCorners, false)
        : tf.image.resizeNearestNeighbor(x, [outH, outW], false, false);
    return toNchw(y);
  });
}

/** Linear interpolation of a 256-entry lookup table at a real-valued index (clamped to 0..255). */
export function interpolateTable(table: ArrayLike<number>, x: number): number {
  const t = x <= 0 ? 0 : x >= 255 ? 255 : x;
  const i = Math.min(254, Math.floor(t));
  const f = t - i;
  return table[i] + (table[i + 1] - table[i]) * f;
}
