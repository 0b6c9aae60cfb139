/**
 * The builder's float graph: the network as TensorFlow.js computes it, in a dozen plain ops.
 * Nodes are kept in topological order and refer to earlier nodes by index. Tensors are CHW
 * (one image, no batch); a vector is C×1×1. Weights keep TensorFlow's layouts:
 * conv [kh][kw][in][out], depthwise [kh][kw][c] (multiplier 1), dense [in][out].
 *
 * The graph is what `lower.ts` turns into KPU and CPU layers and what `float-eval.ts` runs in
 * double precision as the project's own float reference.
 */
import { BuildError } from './errors.js';

export type Activation =
  | { readonly fn: 'linear' }
  | { readonly fn: 'relu' }
  | { readonly fn: 'relu6' }
  | { readonly fn: 'leaky'; readonly alpha: number };

export const LINEAR: Activation = Object.freeze({ fn: 'linear' });

export type GraphNode =
  /** The model input: `c` planes of raw 0..255 pixel values (R, G, B). */
  | { readonly op: 'input'; readonly name: string; readonly c: number; readonly h: number; readonly w: number }
  /** Nearest-neighbour resize with the K210 SDK's rule (scale = (float)in/out, floor, clamp). */
  | { readonly op: 'resize'; readonly name: string; readonly input: number; readonly h: number; readonly w: number }
  /** Constant padding (value in the input's own units). */
  | {
      readonly op: 'pad';
      readonly name: string;
      readonly input: number;
      readonly top: number;
      readonly bottom: number;
      readonly left: number;
      readonly right: number;
      readonly value: number;
    }
  /** Per-channel y = x·mul + add: batch norm (folded), bias, input normalisation. */
  | {
      readonly op: 'affine';
      readonly name: string;
      readonly input: number;
      readonly mul: Float64Array;
      readonly add: Float64Array;
    }
  | {
      readonly op: 'conv';
      readonly name: string;
      readonly input: number;
      readonly kernel: number;
      readonly stride: number;
      readonly padding: 'same' | 'valid';
      readonly depthwise: boolean;
      readonly outChannels: number;
      readonly filters: Float32Array;
    }
  | { readonly op: 'act'; readonly name: string; readonly input: number; readonly act: Activation }
  | {
      readonly op: 'maxpool';
      readonly name: string;
      readonly input: number;
      readonly size: number;
      readonly stride: number;
      readonly padding: 'same' | 'valid';
    }
  | { readonly op: 'add'; readonly name: string; readonly inputs: readonly number[] }
  /** Global average pooling over H and W: C×H×W → C×1×1. */
  | { readonly op: 'mean'; readonly name: string; readonly input: number }
  /** Fully connected on a vector: weights [in][out] (TensorFlow's matMul layout). */
  | {
      readonly op: 'dense';
      readonly name: string;
      readonly input: number;
      readonly weights: Float64Array;
      readonly bias: Float64Array;
      readonly outChannels: number;
    }
  /**
   * A fixed linear reduction of a 2n-vector to n: out[i] = s[i]·x[i] + s[n+i]·x[n+i] with signs
   * s = ±1 (a sparse sign projection, the kind that keeps inner products on average).
   */
  | { readonly op: 'pairfold'; readonly name: string; readonly input: number; readonly signs: Int8Array }
  | { readonly op: 'l2norm'; readonly name: string; readonly input: number }
  /**
   * The orthonormal Walsh–Hadamard transform of a 2^k-vector (y = H·x/√n): it keeps every inner
   * product and spreads a vector's energy evenly over its components.
   */
  | { readonly op: 'hadamard'; readonly name: string; readonly input: number };

export interface Shape {
  readonly c: number;
  readonly h: number;
  readonly w: number;
}

export interface Graph {
  readonly name: string;
  readonly nodes: readonly GraphNode[];
  /** Index of the output node. */
  readonly output: number;
}

export function nodeInputs(n: GraphNode): readonly number[] {
  switch (n.op) {
    case 'input':
      return [];
    case 'add':
      return n.inputs;
    default:
      return [n.input];
  }
}

/** TensorFlow's output size and leading padding for one axis. */
export function tfOutputSize(
  inSize: number,
  k: number,
  s: number,
  padding: 'same' | 'valid',
): { out: number; padBefore: number; padAfter: number } {
  if (padding === 'valid') return { out: Math.floor((inSize - k) / s) + 1, padBefore: 0, padAfter: 0 };
  const out = Math.ceil(inSize / s);
  const total = Math.max((out - 1) * s + k - inSize, 0);
  return { out, padBefore: Math.floor(total / 2), padAfter: total - Math.floor(total / 2) };
}

/** Shapes of every node; throws a BuildError naming the first inconsistent node. */
export function inferShapes(g: Graph): Shape[] {
  const shapes: Shape[] = [];
  g.nodes.forEach((n, i) => {
    for (const j of nodeInputs(n))
      if (!(j >= 0 && j < i))
        throw new BuildError(`graph ${g.name}: node ${n.name} uses node ${j}, which does not come before it`);
    const inp = n.op === 'input' || n.op === 'add' ? undefined : shapes[n.input];
    let s: Shape;
    switch (n.op) {
      case 'input':
        s = { c: n.c, h: n.h, w: n.w };
        break;
      case 'resize':
        s = { c: inp!.c, h: n.h, w: n.w };
        break;
      case 'pad':
        s = { c: inp!.c, h: inp!.h + n.top + n.bottom, w: inp!.w + n.left + n.right };
        break;
      case 'affine':
        if (n.mul.length !== inp!.c || n.add.length !== inp!.c)
          throw new BuildError(
            `node ${n.name}: ${n.mul.length} scale / ${n.add.length} offset values for ${inp!.c} channels`,
          );
        s = inp!;
        break;
      case 'conv': {
        const expect = n.depthwise ? n.kernel * n.kernel * inp!.c : n.kernel * n.kernel * inp!.c * n.outChannels;
        if (n.filters.length !== expect)
          throw new BuildError(`node ${n.name}: ${n.filters.length} filter values, expected ${expect}`);
        if (n.depthwise && n.outChannels !== inp!.c)
          throw new BuildError(`node ${n.name}: a depthwise conv keeps the channel count`);
        const oh = tfOutputSize(inp!.h, n.kernel, n.stride, n.padding).out;
        const ow = tfOutputSize(inp!.w, n.kernel, n.stride, n.padding).out;
        s = { c: n.outChannels, h: oh, w: ow };
        break;
      }
      case 'act':
        s = inp!;
        break;
      case 'maxpool':
        s = {
          c: inp!.c,
          h: tfOutputSize(inp!.h, n.size, n.stride, n.padding).out,
          w: tfOutputSize(inp!.w, n.size, n.stride, n.padding).out,
        };
        break;
      case 'add': {
        const ss = n.inputs.map((j) => shapes[j]);
        if (ss.some((x) => x.c !== ss[0].c || x.h !== ss[0].h || x.w !== ss[0].w))
          throw new BuildError(`node ${n.name}: adds tensors of different shapes`);
        s = ss[0];
        break;
      }
      case 'mean':
        s = { c: inp!.c, h: 1, w: 1 };
        break;
      case 'dense': {
        const len = inp!.c * inp!.h * inp!.w;
        if (n.weights.length !== len * n.outChannels)
          throw new BuildError(
            `node ${n.name}: ${n.weights.length} weights for ${len} inputs × ${n.outChannels} outputs`,
          );
        s = { c: n.outChannels, h: 1, w: 1 };
        break;
      }
      case 'pairfold': {
        const len = inp!.c * inp!.h * inp!.w;
        if (len % 2 !== 0 || n.signs.length !== len)
          throw new BuildError(`node ${n.name}: a pair fold needs an even-length vector and one sign per element`);
        s = { c: len / 2, h: 1, w: 1 };
        break;
      }
      case 'l2norm':
        s = inp!;
        break;
      case 'hadamard': {
        const len = inp!.c * inp!.h * inp!.w;
        if (len < 2 || (len & (len - 1)) !== 0)
          throw new BuildError(`node ${n.name}: a Walsh–Hadamard transform needs a power-of-two length, not ${len}`);
        s = { c: len, h: 1, w: 1 };
        break;
      }
    }
    shapes.push(Object.freeze(s));
  });
  return shapes;
}

/** Number of uses of each node (the output counts as one use). */
export function useCounts(g: Graph): number[] {
  const uses = new Array<number>(g.nodes.length).fill(0);
  for (const n of g.nodes) for (const j of nodeInputs(n)) uses[j]++;
  uses[g.output]++;
  return uses;
}

/** A small helper to build graphs node by node. */
export class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  constructor(readonly name: string) {}
  add(n: GraphNode): number {
    this.nodes.push(n);
    return this.nodes.length - 1;
  }
  done(output: number): Graph {
    const g: Graph = { name: this.name, nodes: this.nodes.slice(), output };
    inferShapes(g);
    return g;
  }
}
