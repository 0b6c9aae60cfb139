/**
 * The HSE FaceRes embedder (`@vladmandic/human/models/faceres.json`: a MobileNetV1, α = 1, with
 * batch norm as Mul/Add and ReLU6 as Relu/Minimum/Maximum, trained by A. V. Savchenko for face
 * identification, github.com/HSE-asavchenko/HSE_FaceRec_tf, Apache-2.0), read from its TensorFlow
 * graph topology: every node from the input to `global_pooling/Mean` (1024 values) is mapped to
 * one float-graph op; anything else on that path is refused by name.
 *
 * Our feature model wraps it: size×size aligned face → (optional nearest resize to netSize) → the
 * network on raw 0..255 pixels → global mean (1024) → a fixed sign pair-fold to 512 → L2 norm.
 */
import { readFileSync } from 'node:fs';
import { BuildError } from '../errors.js';
import { type Activation, type Graph, GraphBuilder } from '../graph.js';
import { decodeWeights, type WeightMap } from '../tfjs-weights.js';
import { dirname, join } from 'node:path';

interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, { s?: string; list?: { i?: string[] }; b?: boolean; f?: number }>;
}

interface GraphModelJson {
  modelTopology: { node: TfNode[] };
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[];
}

export interface TfGraphModel {
  readonly nodes: ReadonlyMap<string, TfNode>;
  readonly weights: WeightMap;
  readonly file: string;
}

export function loadGraphModel(file: string): TfGraphModel {
  let json: GraphModelJson;
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as GraphModelJson;
  } catch (e) {
    throw new BuildError(
      `${file}: cannot read the graph model (${(e as Error).message}); are the devDependencies installed (npm ci)?`,
    );
  }
  if (!json.modelTopology?.node || !json.weightsManifest)
    throw new BuildError(`${file}: not a TensorFlow.js graph model`);
  const dir = dirname(file);
  const weights = decodeWeights(json.weightsManifest, (p) => new Uint8Array(readFileSync(join(dir, p))), file);
  return { nodes: new Map(json.modelTopology.node.map((n) => [n.name, n])), weights, file };
}

const attrString = (n: TfNode, key: string): string | undefined => {
  const s = n.attr?.[key]?.s;
  return s === undefined ? undefined : Buffer.from(s, 'base64').toString('latin1');
};
const attrInts = (n: TfNode, key: string): number[] => (n.attr?.[key]?.list?.i ?? []).map(Number);

function constValue(m: TfGraphModel, name: string, what: string): Float32Array {
  const w = m.weights.get(name);
  if (!w) throw new BuildError(`${m.file}: node ${what} reads ${name}, which is not a weight`);
  return w.data;
}

export interface FaceresGraphOptions {
  readonly size: number;
  /** Network input size; the graph was trained at 224. */
  readonly netSize: number;
  /** Output node (the 1024-d pooled descriptor). */
  readonly outputNode: string;
  /** ±1 per element of the pooled vector, or null to keep all 1024 values. */
  readonly signs: Int8Array | null;
  /** Spread the (normalised) descriptor over all components with an orthonormal Walsh–Hadamard transform. */
  readonly spread?: boolean;
}

/**
 * Walks the TF graph backwards from `outputNode` to the placeholder and rebuilds it forwards as
 * float-graph ops. Recognised: Conv2D / DepthwiseConv2dNative (NHWC, dilation 1, SAME or VALID),
 * Mul / Add with a per-channel constant, Relu followed by Minimum(6) and Maximum(0) (ReLU6), and
 * Mean over H, W.
 */
export function faceresGraph(m: TfGraphModel, o: FaceresGraphOptions): Graph {
  const b = new GraphBuilder('faceres');
  const index = new Map<string, number>();
  const visit = (name: string): number => {
    const base = name.split(':')[0];
    const done = index.get(base);
    if (done !== undefined) return done;
    const n = m.nodes.get(base);
    if (!n) throw new BuildError(`${m.file}: node ${base} is missing`);
    const ins = n.input ?? [];
    let id: number;
    switch (n.op) {
      case 'Placeholder': {
        id = b.add({ op: 'input', name: 'face', c: 3, h: o.size, w: o.size });
        if (o.netSize !== o.size) id = b.add({ op: 'resize', name: 'resize', input: id, h: o.netSize, w: o.netSize });
        break;
      }
      case 'Conv2D':
      case 'DepthwiseConv2dNative': {
        const x = visit(ins[0]);
        const f = m.weights.get(ins[1]);
        if (!f) throw new BuildError(`${m.file}: ${n.name}: filter ${ins[1]} is not a weight`);
        const strides = attrInts(n, 'strides');
        const dil = attrInts(n, 'dilations');
        const padding = attrString(n, 'padding');
        const format = attrString(n, 'data_format') ?? 'NHWC';
        if (format !== 'NHWC') throw new BuildError(`${m.file}: ${n.name}: data format ${format} is not supported`);
        if (dil.some((d) => d !== 1))
          throw new BuildError(`${m.file}: ${n.name}: dilated convolutions cannot run on the KPU`);
        if (strides[1] !== strides[2]) throw new BuildError(`${m.file}: ${n.name}: unequal strides`);
        if (padding !== 'SAME' && padding !== 'VALID')
          throw new BuildError(`${m.file}: ${n.name}: padding ${padding} is not supported`);
        const [kh, kw, ic, oc] = f.shape;
        if (kh !== kw) throw new BuildError(`${m.file}: ${n.name}: non-square ${kh}×${kw} kernel`);
        const depthwise = n.op === 'DepthwiseConv2dNative';
        if (depthwise && oc !== 1)
          throw new BuildError(`${m.file}: ${n.name}: depth multiplier ${oc} is not supported`);
        id = b.add({
          op: 'conv',
          name: n.name,
          input: x,
          kernel: kh,
          stride: strides[1],
          padding: padding === 'SAME' ? 'same' : 'valid',
          depthwise,
          outChannels: depthwise ? ic : oc,
          filters: f.data,
        });
        break;
      }
      case 'Mul':
      case 'Add': {
        const x = visit(ins[0]);
        const c = constValue(m, ins[1], n.name);
        const one = new Float64Array(c.length).fill(1);
        id = b.add(
          n.op === 'Mul'
            ? { op: 'affine', name: n.name, input: x, mul: Float64Array.from(c), add: new Float64Array(c.length) }
            : { op: 'affine', name: n.name, input: x, mul: one, add: Float64Array.from(c) },
        );
        break;
      }
      case 'Maximum': {
        // Keras ReLU6 is Relu → Minimum(6) → Maximum(0): the pair becomes one relu6 node.
        const min = m.nodes.get(ins[0]);
        const relu = min && m.nodes.get((min.input ?? [])[0]);
        const lo = constValue(m, ins[1], n.name);
        const hi = min?.op === 'Minimum' ? constValue(m, min.input![1], min.name) : undefined;
        if (
          !min ||
          min.op !== 'Minimum' ||
          !relu ||
          relu.op !== 'Relu' ||
          lo.length !== 1 ||
          lo[0] !== 0 ||
          !hi ||
          hi.length !== 1 ||
          hi[0] !== 6
        ) {
          throw new BuildError(`${m.file}: ${n.name}: only ReLU6 (Relu, Minimum 6, Maximum 0) is supported`);
        }
        const x = visit(relu.input![0]);
        const act: Activation = { fn: 'relu6' };
        id = b.add({ op: 'act', name: n.name.replace(/\/clip_by_value$/, ''), input: x, act });
        break;
      }
      case 'Mean': {
        const x = visit(ins[0]);
        const axes = constValue(m, ins[1], n.name);
        if (axes.length !== 2 || axes[0] !== 1 || axes[1] !== 2)
          throw new BuildError(`${m.file}: ${n.name}: only the mean over H and W is supported`);
        id = b.add({ op: 'mean', name: n.name, input: x });
        break;
      }
      default:
        throw new BuildError(
          `${m.file}: node ${n.name}: TensorFlow op ${n.op} has no KPU or CPU lowering in kpusim's builder`,
        );
    }
    index.set(base, id);
    return id;
  };
  let out = visit(o.outputNode);
  if (o.signs) {
    out = b.add({ op: 'pairfold', name: 'pairfold', input: out, signs: o.signs });
  }
  out = b.add({ op: 'l2norm', name: 'l2norm', input: out });
  if (o.spread) {
    // Orthonormal, so cosines are unchanged; the second norm absorbs the 8-bit rounding.
    out = b.add({ op: 'hadamard', name: 'spread', input: out });
    out = b.add({ op: 'l2norm', name: 'l2norm-spread', input: out });
  }
  return b.done(out);
}

/**
 * The fixed signs of the 1024 → 512 fold: bit i of a 32-bit xorshift sequence from a stated
 * seed (xorshift32, seed 0x4b505553 = "KPUS"). Integer arithmetic only, so the same everywhere.
 */
export function foldSigns(n: number, seed = 0x4b505553): Int8Array {
  const s = new Int8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    s[i] = x & 1 ? 1 : -1;
  }
  return s;
}
