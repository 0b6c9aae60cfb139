/**
 * Double-precision evaluation of a float graph: the project's own float reference and the source
 * of the calibration statistics. Plain loops in a fixed order over Float64Arrays: ECMAScript fixes
 * every +, −, ×, ÷ and Math.sqrt to IEEE-754 double with round-to-nearest and forbids contraction,
 * so the results are the same bits on every machine (which is what makes the build reproducible).
 */
import { type Activation, type Graph, type GraphNode, inferShapes, type Shape, tfOutputSize } from './graph.js';

export interface Tensor3 {
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly data: Float64Array;
}

export function tensor3(c: number, h: number, w: number, data?: Float64Array): Tensor3 {
  return { c, h, w, data: data ?? new Float64Array(c * h * w) };
}

export function applyActivation(v: number, act: Activation): number {
  switch (act.fn) {
    case 'linear':
      return v;
    case 'relu':
      return v > 0 ? v : 0;
    case 'relu6':
      return v > 0 ? (v < 6 ? v : 6) : 0;
    case 'leaky':
      return v > 0 ? v : v * act.alpha;
  }
}

/** The K210 SDK's nearest-neighbour source index (float32 scale, floorf, clamp). */
export function nearestIndex(o: number, inSize: number, outSize: number): number {
  const s = Math.fround(inSize / outSize);
  const f = Math.floor(Math.fround(o * s));
  return f < inSize - 1 ? f : inSize - 1;
}

export function resizeNearest(t: Tensor3, h: number, w: number): Tensor3 {
  const out = tensor3(t.c, h, w);
  for (let c = 0; c < t.c; c++) {
    for (let y = 0; y < h; y++) {
      const iy = nearestIndex(y, t.h, h);
      for (let x = 0; x < w; x++)
        out.data[(c * h + y) * w + x] = t.data[(c * t.h + iy) * t.w + nearestIndex(x, t.w, w)];
    }
  }
  return out;
}

export function padConstant(
  t: Tensor3,
  top: number,
  bottom: number,
  left: number,
  right: number,
  value: number,
): Tensor3 {
  const h = t.h + top + bottom;
  const w = t.w + left + right;
  const out = tensor3(t.c, h, w);
  out.data.fill(value);
  for (let c = 0; c < t.c; c++) {
    for (let y = 0; y < t.h; y++) {
      const src = (c * t.h + y) * t.w;
      out.data.set(t.data.subarray(src, src + t.w), (c * h + y + top) * w + left);
    }
  }
  return out;
}

/**
 * Convolution with TensorFlow semantics (zero padding split as TF does) and TF filter layouts.
 * `padBefore` overrides let the lowered plan run the same code at stride 1 with symmetric pads.
 */
export function conv2d(
  t: Tensor3,
  filters: ArrayLike<number>,
  k: number,
  stride: number,
  padding: 'same' | 'valid',
  depthwise: boolean,
  outChannels: number,
): Tensor3 {
  if (k === 1 && stride === 1 && !depthwise) {
    const wt = new Float64Array(outChannels * t.c);
    for (let i = 0; i < t.c; i++) for (let o = 0; o < outChannels; o++) wt[o * t.c + i] = filters[i * outChannels + o];
    return pointwise(t, wt, outChannels);
  }
  const ry = tfOutputSize(t.h, k, stride, padding);
  const rx = tfOutputSize(t.w, k, stride, padding);
  const oh = ry.out;
  const ow = rx.out;
  const out = tensor3(outChannels, oh, ow);
  const ic = t.c;
  const H = t.h;
  const W = t.w;
  const src = t.data;
  const dst = out.data;
  const planeIn = H * W;
  const planeOut = oh * ow;
  // For every tap, the output rows/columns whose input pixel is inside the map.
  const ylo = new Int32Array(k),
    yhi = new Int32Array(k),
    xlo = new Int32Array(k),
    xhi = new Int32Array(k);
  for (let d = 0; d < k; d++) {
    ylo[d] = Math.max(0, Math.ceil((ry.padBefore - d) / stride));
    yhi[d] = Math.min(oh, Math.floor((H - 1 + ry.padBefore - d) / stride) + 1);
    xlo[d] = Math.max(0, Math.ceil((rx.padBefore - d) / stride));
    xhi[d] = Math.min(ow, Math.floor((W - 1 + rx.padBefore - d) / stride) + 1);
  }
  for (let o = 0; o < outChannels; o++) {
    const ob = o * planeOut;
    for (let i = depthwise ? o : 0; i < (depthwise ? o + 1 : ic); i++) {
      const ib = i * planeIn;
      for (let ky = 0; ky < k; ky++) {
        for (let kx = 0; kx < k; kx++) {
          const wv = depthwise ? filters[(ky * k + kx) * ic + o] : filters[((ky * k + kx) * ic + i) * outChannels + o];
          if (wv === 0) continue;
          const x0 = xlo[kx];
          const x1 = xhi[kx];
          for (let y = ylo[ky]; y < yhi[ky]; y++) {
            const rowIn = ib + (y * stride + ky - ry.padBefore) * W + kx - rx.padBefore;
            const rowOut = ob + y * ow;
            if (stride === 1) {
              for (let x = x0; x < x1; x++) dst[rowOut + x] += src[rowIn + x] * wv;
            } else {
              for (let x = x0; x < x1; x++) dst[rowOut + x] += src[rowIn + x * stride] * wv;
            }
          }
        }
      }
    }
  }
  return out;
}

/**
 * 1×1 convolution as per-pixel dot products (weights [oc][ic]): out[o][p] = Σ_i w[o][i]·x[i][p],
 * summed over i in order.
 */
export function pointwise(t: Tensor3, w: Float64Array, outChannels: number): Tensor3 {
  const ic = t.c;
  const plane = t.h * t.w;
  const xt = new Float64Array(plane * ic);
  for (let i = 0; i < ic; i++) for (let p = 0; p < plane; p++) xt[p * ic + i] = t.data[i * plane + p];
  const out = tensor3(outChannels, t.h, t.w);
  const dst = out.data;
  for (let p = 0; p < plane; p++) {
    const xb = p * ic;
    for (let o = 0; o < outChannels; o++) {
      const wb = o * ic;
      let s = 0;
      for (let i = 0; i < ic; i++) s += w[wb + i] * xt[xb + i];
      dst[o * plane + p] = s;
    }
  }
  return out;
}

export function maxPool(t: Tensor3, size: number, stride: number, padding: 'same' | 'valid'): Tensor3 {
  const ry = tfOutputSize(t.h, size, stride, padding);
  const rx = tfOutputSize(t.w, size, stride, padding);
  const out = tensor3(t.c, ry.out, rx.out);
  for (let c = 0; c < t.c; c++) {
    for (let y = 0; y < ry.out; y++) {
      for (let x = 0; x < rx.out; x++) {
        let m = -Infinity;
        for (let dy = 0; dy < size; dy++) {
          const iy = y * stride + dy - ry.padBefore;
          if (iy < 0 || iy >= t.h) continue;
          for (let dx = 0; dx < size; dx++) {
            const ix = x * stride + dx - rx.padBefore;
            if (ix < 0 || ix >= t.w) continue;
            const v = t.data[(c * t.h + iy) * t.w + ix];
            if (v > m) m = v;
          }
        }
        out.data[(c * ry.out + y) * rx.out + x] = m;
      }
    }
  }
  return out;
}

export function evalNode(n: GraphNode, ins: readonly Tensor3[], shape: Shape): Tensor3 {
  const t = ins[0];
  switch (n.op) {
    case 'input':
      throw new Error('the input node has no evaluation');
    case 'resize':
      return resizeNearest(t, n.h, n.w);
    case 'pad':
      return padConstant(t, n.top, n.bottom, n.left, n.right, n.value);
    case 'affine': {
      const out = tensor3(t.c, t.h, t.w);
      const plane = t.h * t.w;
      for (let c = 0; c < t.c; c++)
        for (let i = 0; i < plane; i++) out.data[c * plane + i] = t.data[c * plane + i] * n.mul[c] + n.add[c];
      return out;
    }
    case 'conv':
      return conv2d(t, n.filters, n.kernel, n.stride, n.padding, n.depthwise, n.outChannels);
    case 'act': {
      const out = tensor3(t.c, t.h, t.w);
      for (let i = 0; i < out.data.length; i++) out.data[i] = applyActivation(t.data[i], n.act);
      return out;
    }
    case 'maxpool':
      return maxPool(t, n.size, n.stride, n.padding);
    case 'add': {
      const out = tensor3(shape.c, shape.h, shape.w);
      for (const x of ins) for (let i = 0; i < out.data.length; i++) out.data[i] += x.data[i];
      return out;
    }
    case 'mean': {
      const out = tensor3(t.c, 1, 1);
      const plane = t.h * t.w;
      for (let c = 0; c < t.c; c++) {
        let s = 0;
        for (let i = 0; i < plane; i++) s += t.data[c * plane + i];
        out.data[c] = s / plane;
      }
      return out;
    }
    case 'dense': {
      const len = t.data.length;
      const out = tensor3(n.outChannels, 1, 1);
      for (let o = 0; o < n.outChannels; o++) {
        let s = 0;
        for (let i = 0; i < len; i++) s += t.data[i] * n.weights[i * n.outChannels + o];
        out.data[o] = s + n.bias[o];
      }
      return out;
    }
    case 'pairfold': {
      const half = t.data.length / 2;
      const out = tensor3(half, 1, 1);
      for (let i = 0; i < half; i++) out.data[i] = n.signs[i] * t.data[i] + n.signs[half + i] * t.data[half + i];
      return out;
    }
    case 'hadamard':
      return tensor3(t.data.length, 1, 1, walshHadamard(t.data));
    case 'l2norm': {
      let s = 0;
      for (const v of t.data) s += v * v;
      const r = 1 / Math.sqrt(Math.max(s, 1e-10));
      const out = tensor3(t.c, t.h, t.w);
      for (let i = 0; i < out.data.length; i++) out.data[i] = t.data[i] * r;
      return out;
    }
  }
}

/** Sylvester-ordered Walsh–Hadamard matrix entry H[i][j] = (−1)^popcount(i & j). */
export function hadamardSign(i: number, j: number): 1 | -1 {
  let v = i & j;
  let parity = 0;
  while (v) {
    parity ^= v & 1;
    v >>>= 1;
  }
  return parity ? -1 : 1;
}

/** y = H·x/√n in the Sylvester order, as a plain matrix-vector product (fixed summation order). */
export function walshHadamard(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const r = 1 / Math.sqrt(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += hadamardSign(i, j) * x[j];
    y[i] = s * r;
  }
  return y;
}

/** Runs the graph on one input (raw pixel planes, CHW) and returns every node's value. */
export function evalGraph(g: Graph, input: Tensor3, keep: 'all' | 'output' = 'output'): Tensor3[] {
  const shapes = inferShapes(g);
  const vals: (Tensor3 | undefined)[] = [];
  const lastUse = new Array<number>(g.nodes.length).fill(-1);
  g.nodes.forEach((n, i) => {
    if (n.op === 'add') n.inputs.forEach((j) => (lastUse[j] = i));
    else if (n.op !== 'input') lastUse[n.input] = i;
  });
  g.nodes.forEach((n, i) => {
    if (n.op === 'input') {
      if (input.c !== n.c || input.h !== n.h || input.w !== n.w)
        throw new Error(`input is ${input.c}×${input.h}×${input.w}, the graph wants ${n.c}×${n.h}×${n.w}`);
      vals.push(input);
    } else {
      const ins = (n.op === 'add' ? n.inputs : [n.input]).map((j) => vals[j]!);
      vals.push(evalNode(n, ins, shapes[i]));
    }
    if (keep === 'output') {
      for (const j of n.op === 'add' ? n.inputs : n.op === 'input' ? [] : [n.input])
        if (lastUse[j] === i && j !== g.output) vals[j] = undefined;
    }
  });
  return vals as Tensor3[];
}
