/**
 * Lowering: float graph → KPU-legal layers (plan.ts), exact in real numbers except where a note
 * says otherwise.
 *
 * - conv, then any per-channel affine (batch norm, bias) → one KPU conv whose weights and bias
 *   carry the affine; a following activation and max pool join the same layer.
 * - A per-channel affine before a conv (input normalisation) is folded into its weights; the
 *   padding then stands for the raw value that normalises to 0 (one pad value per layer: if the
 *   channels disagree, their mean is used and a note says so).
 * - An explicit 1-pixel constant pad before a VALID 3×3 conv is the KPU's own padding.
 * - Stride 2 runs at stride 1 and keeps one pixel of each 2×2 block with the select pool types
 *   (5: left-top, 6: right-top); a strided depthwise conv hands the selection to the 1×1 conv that
 *   reads it (selection commutes with 1×1 convs and activations). TensorFlow's SAME padding on an
 *   even size centres stride-2 outputs on odd rows and columns. The KPU has no odd-row selection,
 *   so such a network runs upside down: the input rows are reversed once on the CPU and every
 *   3×3 kernel is flipped vertically; odd rows become even ones. Only networks whose output has
 *   no rows (global pooling) may do that.
 * - add(a, b, …) of tensors and of linear 1×1 convs becomes ONE 1×1 KPU conv over the channel
 *   concatenation of their inputs (identity weights for plain tensors), the tensors being placed
 *   side by side in AI SRAM; a following activation joins it.
 * - Global mean → the KPU result to main memory, (channel-wise) dequantize, GLOBAL_AVERAGE_POOL2D;
 *   dense → FULLY_CONNECTED (consecutive denses multiplied out); pairfold → the signs in the
 *   dequantize and an ADD of the two halves; l2norm → L2_NORMALIZATION.
 * - A resize of the input (or the row flip) runs on the CPU: an identity KPU conv copies the input
 *   to main memory, QUANTIZED_RESIZE_NEAREST_NEIGHBOR / CONCAT transform it, K210_UPLOAD returns it.
 *
 * Anything else is refused with a BuildError naming the layer.
 */
import { refuse, BuildError } from './errors.js';
import { hadamardSign } from './float-eval.js';
import {
  type Activation,
  type Graph,
  type GraphNode,
  inferShapes,
  LINEAR,
  nodeInputs,
  type Shape,
  tfOutputSize,
  useCounts,
} from './graph.js';
import type { KpuConvOp, Plan, PlanOp, PlanTensor } from './plan.js';

/** KPU limits the lowering enforces (kpu-numerics §1.4). */
export const KPU_LIMITS = Object.freeze({ maxChannels: 1024, minSize: 4, maxWidth: 512, maxHeight: 256 });

interface ConvDraft {
  name: string;
  /** Graph node names folded into this layer. */
  sources: string[];
  input: Val;
  k: number;
  depthwise: boolean;
  inC: number;
  outC: number;
  /** Input (stride-1) size. */
  h: number;
  w: number;
  /** [oc][ic][k][k] (depthwise [c][k][k]) in the plan's (possibly flipped) orientation. */
  weights: Float64Array;
  bias: Float64Array;
  /** Per input channel: the value the KPU padding must stand for (undefined: 0). */
  padValues?: Float64Array;
  act: Activation | undefined;
  pool: number;
  /** Select pool type (5/6) for a stride-2 conv, applied in this layer (or by the 1×1 reader for depthwise). */
  select: number;
}

type Val =
  | { kind: 'tensor'; id: number; shape: Shape }
  /** Raw pixels: the input after CPU-side transforms (`steps`) not yet emitted. */
  | { kind: 'raw'; steps: { op: 'resize'; h: number; w: number }[]; shape: Shape }
  | { kind: 'pad'; input: Val; value: number; shape: Shape; name: string }
  | { kind: 'affine'; input: Val; mul: Float64Array; add: Float64Array; shape: Shape; name: string }
  | { kind: 'conv'; draft: ConvDraft; shape: Shape; node: number }
  /** A full-resolution depthwise result whose stride-2 selection is still to be done. */
  | { kind: 'unselected'; id: number; select: number; shape: Shape; name: string }
  | {
      kind: 'sum';
      terms: { tensor: number; weights: Float64Array | null; channels: number }[];
      bias: Float64Array;
      act: Activation | undefined;
      shape: Shape;
      name: string;
      sources: string[];
    }
  | { kind: 'gap'; mainTensor: number; shape: Shape; name: string }
  | { kind: 'vec'; id: number; shape: Shape }
  | { kind: 'dense'; input: Val; weights: Float64Array; bias: Float64Array; shape: Shape; name: string };

/** TF conv filter [kh][kw][ic][oc] → plan layout [oc][ic][kh][kw], optionally upside down. */
export function tfConvToPlan(f: ArrayLike<number>, k: number, ic: number, oc: number, flip: boolean): Float64Array {
  const out = new Float64Array(oc * ic * k * k);
  for (let ky = 0; ky < k; ky++) {
    const sy = flip ? k - 1 - ky : ky;
    for (let kx = 0; kx < k; kx++)
      for (let i = 0; i < ic; i++)
        for (let o = 0; o < oc; o++) out[((o * ic + i) * k + ky) * k + kx] = f[((sy * k + kx) * ic + i) * oc + o];
  }
  return out;
}

/** TF depthwise filter [kh][kw][c][1] → plan layout [c][kh][kw]. */
export function tfDepthwiseToPlan(f: ArrayLike<number>, k: number, c: number, flip: boolean): Float64Array {
  const out = new Float64Array(c * k * k);
  for (let ky = 0; ky < k; ky++) {
    const sy = flip ? k - 1 - ky : ky;
    for (let kx = 0; kx < k; kx++) for (let i = 0; i < c; i++) out[(i * k + ky) * k + kx] = f[(sy * k + kx) * c + i];
  }
  return out;
}

/**
 * Where a stride-2 conv's outputs sit: the first centre row/column (0 or 1) as TensorFlow pads,
 * or undefined when no select pool can produce the TensorFlow output size.
 */
export function stridePhase(size: number, k: number, padding: 'same' | 'valid', flipped: boolean): number | undefined {
  const r = tfOutputSize(size, k, 2, padding);
  if (r.out !== Math.floor(size / 2)) return undefined;
  const first = (k - 1) / 2 - r.padBefore;
  const last = first + 2 * (r.out - 1);
  const phase = flipped ? size - 1 - last : first;
  return phase === 0 || phase === 1 ? phase : undefined;
}

export interface LowerOptions {
  /** Force the orientation instead of choosing it from the strided convs. */
  readonly flipped?: boolean;
}

export function lower(g: Graph, opts: LowerOptions = {}): Plan {
  return new Lowering(g, opts).run();
}

type PendingConv = Extract<Val, { kind: 'conv' }>;
type PendingSum = Extract<Val, { kind: 'sum' }>;
type NodeOf<K extends GraphNode['op']> = Extract<GraphNode, { op: K }>;

/** The fields of a KPU conv op that differ between the layers the lowering emits. */
interface KpuConvFields {
  name: string;
  inputs: number[];
  output: number;
  mainCopy?: number;
  kernel: 1 | 3;
  depthwise?: boolean;
  weights: Float64Array;
  bias: Float64Array;
  act?: Activation;
  pool?: number;
  padValue?: number;
  identity?: boolean;
  source: string;
}

/** A KPU conv op: linear, no pool, no padding value, per-tensor output unless the fields say otherwise. */
function kpuConv(f: KpuConvFields): KpuConvOp {
  return {
    kind: 'kpu-conv',
    name: f.name,
    inputs: f.inputs,
    output: f.output,
    ...(f.mainCopy !== undefined ? { mainCopy: f.mainCopy } : {}),
    kernel: f.kernel,
    depthwise: f.depthwise ?? false,
    weights: f.weights,
    bias: f.bias,
    act: f.act ?? LINEAR,
    pool: f.pool ?? 0,
    padValue: f.padValue ?? 0,
    perChannelOutput: false,
    identity: f.identity ?? false,
    source: f.source,
  };
}

/**
 * One lowering of one graph: the plan under construction (tensors, ops, notes) and the value each graph node
 * stands for so far (`vals`, pending convs and sums that later nodes may still fold into). `run` walks the nodes
 * in order, one method per node kind; the `emit*` methods turn a pending value into plan ops, once.
 */
class Lowering {
  private readonly shapes: Shape[];
  private readonly uses: number[];
  private readonly consumers: number[][];
  private readonly notes: string[] = [];
  private readonly tensors: PlanTensor[] = [];
  private readonly ops: PlanOp[] = [];
  /** The value of graph node i. */
  private readonly vals: (Val | undefined)[] = [];
  /** The plan tensor a pending value was emitted as. */
  private readonly materialised = new Map<Val, number>();
  /** For a strided depthwise conv: its full-resolution result, whose selection its 1×1 reader does. */
  private readonly unselectedOf = new Map<Val, Val>();
  /** Main-memory copies whose layer may quantise its output per channel. */
  private readonly perChannelWanted = new Set<number>();
  private readonly flipped: boolean;
  private readonly inputTensor: number;

  constructor(
    private readonly g: Graph,
    opts: LowerOptions,
  ) {
    this.shapes = inferShapes(g);
    this.uses = useCounts(g);
    this.consumers = g.nodes.map(() => []);
    g.nodes.forEach((n, i) => nodeInputs(n).forEach((j) => this.consumers[j].push(i)));
    this.flipped = this.orientation(opts);
    const inputNode = g.nodes.findIndex((n) => n.op === 'input');
    if (inputNode !== 0) throw new BuildError(`graph ${g.name}: the first node must be the input`);
    this.inputTensor = this.newTensor('input', this.shapes[0], 'kpu', 'u8', true);
  }

  /** Which row phase the stride-2 convs need: whether the network runs upside down. */
  private orientation(opts: LowerOptions): boolean {
    const { g, shapes } = this;
    const rowPhases = new Set<number>();
    g.nodes.forEach((n) => {
      if (n.op !== 'conv' || n.stride === 1) return;
      const s = shapes[n.input];
      if (n.stride !== 2) throw refuse(n.name, `stride ${n.stride}: the KPU's select pools give stride 2 only`);
      const p = stridePhase(s.h, n.kernel, n.padding, false);
      if (p === undefined)
        throw refuse(
          n.name,
          `a stride-2 ${n.kernel}×${n.kernel} ${n.padding.toUpperCase()} conv on ${s.h} rows gives ` +
            `${tfOutputSize(s.h, n.kernel, 2, n.padding).out} rows; the KPU's select pools give ${Math.floor(s.h / 2)}`,
        );
      rowPhases.add(p);
    });
    let flipped = opts.flipped ?? false;
    if (opts.flipped === undefined && rowPhases.has(1)) {
      if (rowPhases.has(0))
        throw new BuildError(
          `graph ${g.name}: its stride-2 convs need both even and odd rows; ` +
            'the KPU selects only one per network orientation',
        );
      flipped = true;
    }
    if (flipped) {
      this.notes.push(
        'The network runs upside down: TensorFlow SAME stride-2 outputs sit on odd rows, the KPU selects even ones, ' +
          'so the input rows are reversed once on the CPU and every 3×3 kernel is flipped vertically (exact).',
      );
      const out = shapes[g.output];
      if (out.h !== 1 || out.w !== 1)
        throw new BuildError(
          `graph ${g.name}: an upside-down network must end in a vector (global pooling), ` +
            `its output is ${out.c}×${out.h}×${out.w}`,
        );
    }
    return flipped;
  }

  run(): Plan {
    const { g } = this;
    g.nodes.forEach((n, i) => this.vals.push(this.lowerNode(n, i)));
    const output = this.emitOutput();
    this.perChannelOutputs();
    const { tensors, ops, inputTensor } = this;
    const first = ops[0];
    if (!first || first.kind !== 'kpu-conv' || !first.inputs.includes(inputTensor)) {
      throw new BuildError(
        `graph ${g.name}: the first layer must be a KPU conv reading the input (the SDK runs nothing else first)`,
      );
    }
    if (ops.some((o, k) => k > 0 && o.kind === 'kpu-conv' && o.inputs.includes(inputTensor))) {
      throw new BuildError(`graph ${g.name}: the input is read by more than the first layer`);
    }
    return { name: g.name, tensors, ops, input: inputTensor, output, notes: this.notes, flipped: this.flipped };
  }

  // --- plan construction helpers ---

  private newTensor(name: string, s: Shape, memory: 'kpu' | 'main', dtype: 'u8' | 'f32', raw = false): number {
    const { tensors } = this;
    tensors.push(Object.freeze({ id: tensors.length, name, c: s.c, h: s.h, w: s.w, memory, dtype, raw }));
    return tensors.length - 1;
  }

  private checkKpuMap(layer: string, s: { c: number; h: number; w: number }, what: string): void {
    if (s.c > KPU_LIMITS.maxChannels)
      throw refuse(layer, `${what} has ${s.c} channels; the KPU takes at most ${KPU_LIMITS.maxChannels}`);
    if (s.w < KPU_LIMITS.minSize || s.h < KPU_LIMITS.minSize)
      throw refuse(
        layer,
        `${what} is ${s.w}×${s.h}; KPU maps are at least ${KPU_LIMITS.minSize}×${KPU_LIMITS.minSize}`,
      );
    if (s.w > KPU_LIMITS.maxWidth || s.h > KPU_LIMITS.maxHeight)
      throw refuse(
        layer,
        `${what} is ${s.w}×${s.h}; KPU maps are at most ${KPU_LIMITS.maxWidth} wide and ${KPU_LIMITS.maxHeight} high`,
      );
  }

  /** Emits (once) the KPU layer of a pending conv and returns its output tensor. */
  private emitConv(v: PendingConv): number {
    const done = this.materialised.get(v);
    if (done !== undefined) return done;
    const d = v.draft;
    let input: number;
    let select = d.select;
    if (d.input.kind === 'unselected') {
      if (d.k !== 1 || d.depthwise || select !== 0)
        throw refuse(d.name, `reads a stride-2 depthwise result, which only a 1×1 conv can subsample`);
      select = d.input.select;
      input = d.input.id;
    } else {
      input = this.materialise(d.input, d.name);
    }
    const tin = this.tensors[input];
    if (tin.memory !== 'kpu') throw new Error(`internal: conv ${d.name} reads a main-memory tensor`);
    if (select && d.pool)
      throw refuse(d.name, 'a stride-2 conv followed by a max pool needs two pool stages; the KPU has one');
    this.checkKpuMap(d.name, tin, 'its input');
    if (select && d.depthwise) {
      // Full-resolution depthwise result; the 1×1 reader selects.
      const out = this.newTensor(d.name, { c: d.outC, h: tin.h, w: tin.w }, 'kpu', 'u8');
      this.ops.push(this.convOp(d, [input], out, 0));
      const u: Val = { kind: 'unselected', id: out, select, shape: v.shape, name: d.name };
      this.materialised.set(v, out);
      this.unselectedOf.set(v, u);
      return out;
    }
    const out = this.newTensor(d.name, v.shape, 'kpu', 'u8');
    this.checkKpuMap(d.name, v.shape, 'its output');
    this.ops.push(this.convOp(d, [input], out, select || d.pool));
    this.materialised.set(v, out);
    return out;
  }

  private convOp(d: ConvDraft, inputs: number[], out: number, pool: number): KpuConvOp {
    if (d.pool && d.depthwise)
      throw refuse(
        d.name,
        'a max pool after a depthwise conv (nncase never fuses one, and the hardware behaviour is unverified)',
      );
    let padValue = 0;
    if (d.k === 3 && d.padValues) {
      const pv = d.padValues;
      const mean = pv.reduce((a, b) => a + b, 0) / pv.length;
      if (pv.some((x) => Math.abs(x - pv[0]) > 1e-9)) {
        this.notes.push(
          `${d.name}: its padding stands for ${Array.from(pv, (x) => x.toFixed(3)).join(', ')} per input channel; ` +
            `the KPU pads every channel with one value, ${mean.toFixed(3)}`,
        );
      }
      padValue = mean;
    }
    return kpuConv({
      name: d.name,
      inputs,
      output: out,
      kernel: d.k as 1 | 3,
      depthwise: d.depthwise,
      weights: d.weights,
      bias: d.bias,
      act: d.act,
      pool,
      padValue,
      source: d.sources.join(' + '),
    });
  }

  /** Emits the KPU 1×1 conv of a pending sum. */
  private emitSum(v: PendingSum): number {
    const done = this.materialised.get(v);
    if (done !== undefined) return done;
    const { tensors } = this;
    // Merge terms reading the same tensor; order by tensor id (creation order).
    const byTensor = new Map<number, Float64Array>();
    const oc = v.shape.c;
    for (const t of v.terms) {
      const w = t.weights ?? identityMatrix(oc);
      const prev = byTensor.get(t.tensor);
      if (prev) for (let i = 0; i < prev.length; i++) prev[i] += w[i];
      else byTensor.set(t.tensor, Float64Array.from(w));
    }
    const ids = [...byTensor.keys()].sort((a, b) => a - b);
    const icTotal = ids.reduce((a, id) => a + tensors[id].c, 0);
    const weights = new Float64Array(oc * icTotal);
    let at = 0;
    for (const id of ids) {
      const ic = tensors[id].c;
      const w = byTensor.get(id)!;
      for (let o = 0; o < oc; o++) for (let i = 0; i < ic; i++) weights[o * icTotal + at + i] = w[o * ic + i];
      at += ic;
    }
    this.checkKpuMap(v.name, { c: icTotal, h: v.shape.h, w: v.shape.w }, 'its concatenated input');
    const out = this.newTensor(v.name, v.shape, 'kpu', 'u8');
    this.ops.push(
      kpuConv({
        name: v.name,
        inputs: ids,
        output: out,
        kernel: 1,
        weights,
        bias: v.bias,
        act: v.act,
        source: v.sources.join(' + '),
      }),
    );
    this.materialised.set(v, out);
    return out;
  }

  /** Emits the CPU detour of raw pixels: identity conv to main, resize/flip, upload. */
  private emitRaw(v: Extract<Val, { kind: 'raw' }>): number {
    const done = this.materialised.get(v);
    if (done !== undefined) return done;
    const { ops, flipped, inputTensor } = this;
    if (v.steps.length === 0 && !flipped) {
      this.materialised.set(v, inputTensor);
      return inputTensor;
    }
    const s0 = this.shapes[0];
    this.checkKpuMap('input copy', s0, 'the input');
    const copy = this.newTensor('input copy', s0, 'kpu', 'u8', true);
    let main = this.newTensor('input (main)', s0, 'main', 'u8', true);
    const c = s0.c;
    ops.push(
      kpuConv({
        name: 'input copy',
        inputs: [inputTensor],
        output: copy,
        mainCopy: main,
        kernel: 1,
        weights: identityMatrix(c),
        bias: new Float64Array(c),
        identity: true,
        source: 'copies the input to main memory for the CPU-side transform',
      }),
    );
    for (const st of v.steps) {
      const t = this.newTensor(`resize ${st.w}×${st.h}`, { c, h: st.h, w: st.w }, 'main', 'u8', true);
      ops.push({ kind: 'resize', name: `resize to ${st.w}×${st.h}`, input: main, output: t });
      main = t;
    }
    if (flipped) {
      const t = this.newTensor('flipped', this.tensors[main], 'main', 'u8', true);
      ops.push({ kind: 'flip', name: 'reverse rows', input: main, output: t });
      main = t;
    }
    const up = this.newTensor('uploaded', this.tensors[main], 'kpu', 'u8', true);
    ops.push({ kind: 'upload', name: 'upload', input: main, output: up });
    this.materialised.set(v, up);
    return up;
  }

  /** A KPU tensor for any spatial value. */
  private materialise(v: Val, reader: string): number {
    switch (v.kind) {
      case 'tensor':
        return v.id;
      case 'raw':
        return this.emitRaw(v);
      case 'conv': {
        const id = this.emitConv(v);
        if (this.unselectedOf.has(v))
          throw refuse(
            reader,
            `reads the stride-2 depthwise conv ${v.draft.name}; only a 1×1 conv can finish its subsampling`,
          );
        return id;
      }
      case 'sum':
        return this.emitSum(v);
      case 'pad':
        throw refuse(
          reader,
          `reads the explicit padding ${v.name}, which the KPU can do only as the 1-pixel padding of a VALID 3×3 conv`,
        );
      case 'affine':
        throw refuse(reader, `reads the per-channel scale/offset ${v.name} without a conv to fold it into`);
      case 'unselected':
        throw refuse(reader, `reads the stride-2 depthwise conv ${v.name}; only a 1×1 conv can finish its subsampling`);
      default:
        throw refuse(reader, `needs a feature map but gets a vector`);
    }
  }

  /** The value of a pending conv as its reader sees it (a strided depthwise one stays unselected). */
  private convInput(v: Val): Val {
    if (v.kind === 'conv' && v.draft.depthwise && v.draft.select) {
      this.emitConv(v);
      return this.unselectedOf.get(v)!;
    }
    return v;
  }

  /** Main-memory u8 copy of a KPU value: the conv's main output flag. */
  private toMain(v: Val, reader: string, perChannel: boolean): number {
    const { ops } = this;
    const id = this.materialise(v, reader);
    const op = ops.find((o): o is KpuConvOp => o.kind === 'kpu-conv' && o.output === id);
    if (!op) throw refuse(reader, 'needs a KPU result in main memory, but its input was not computed by a KPU layer');
    if (op.mainCopy !== undefined) return op.mainCopy;
    const t = this.tensors[id];
    const main = this.newTensor(`${t.name} (main)`, t, 'main', 'u8');
    ops[ops.indexOf(op)] = { ...op, mainCopy: main };
    if (perChannel) this.perChannelWanted.add(main);
    return main;
  }

  /** The plan tensor of a vector value. */
  private vecOf(v: Val, reader: string): number {
    switch (v.kind) {
      case 'vec':
        return v.id;
      case 'gap': {
        const done = this.materialised.get(v);
        if (done !== undefined) return done;
        const mt = this.tensors[v.mainTensor];
        const f = this.newTensor(`${v.name} (float)`, mt, 'main', 'f32');
        this.ops.push({ kind: 'dequantize', name: `${v.name}/dequantize`, input: v.mainTensor, output: f });
        const out = this.newTensor(v.name, { c: mt.c, h: 1, w: 1 }, 'main', 'f32');
        this.ops.push({ kind: 'gap', name: v.name, input: f, output: out });
        this.materialised.set(v, out);
        return out;
      }
      case 'dense': {
        const done = this.materialised.get(v);
        if (done !== undefined) return done;
        const x = this.vecOf(v.input, v.name);
        const out = this.newTensor(v.name, v.shape, 'main', 'f32');
        this.ops.push({ kind: 'fc', name: v.name, input: x, output: out, weights: v.weights, bias: v.bias });
        this.materialised.set(v, out);
        return out;
      }
      default:
        throw refuse(reader, 'needs a vector (after global pooling)');
    }
  }

  /** The value a pending conv stands for after `draft` changes, when only this node reads it. */
  private foldable(j: number): PendingConv | undefined {
    const x = this.vals[j]!;
    return x.kind === 'conv' && this.uses[j] === 1 && x.draft.act === undefined && x.draft.pool === 0 ? x : undefined;
  }

  // --- one method per graph node kind ---

  private lowerNode(n: GraphNode, i: number): Val {
    const s = this.shapes[i];
    switch (n.op) {
      case 'input':
        return { kind: 'raw', steps: [], shape: s };
      case 'resize': {
        const x = this.vals[n.input]!;
        if (x.kind !== 'raw')
          throw refuse(n.name, 'a resize is supported only on the model input (before the first conv)');
        return { kind: 'raw', steps: [...x.steps, { op: 'resize', h: n.h, w: n.w }], shape: s };
      }
      case 'pad':
        if (n.top !== n.bottom || n.left !== n.right || n.top !== n.left)
          throw refuse(n.name, 'only a symmetric 1-pixel constant pad (the KPU 3×3 padding) is supported');
        return { kind: 'pad', input: this.vals[n.input]!, value: n.value, shape: s, name: n.name };
      case 'affine':
        return this.lowerAffine(n, s, i);
      case 'conv':
        return this.lowerConv(n, s, i);
      case 'act':
        return this.lowerAct(n, s, i);
      case 'maxpool':
        return this.lowerMaxPool(n, s, i);
      case 'add':
        return this.lowerAdd(n, s);
      case 'mean':
        // Per-tensor: a calibrated range per channel over-fits the few calibration faces, and the
        // pooled vector does not need it.
        return { kind: 'gap', mainTensor: this.toMain(this.vals[n.input]!, n.name, false), shape: s, name: n.name };
      case 'dense':
        return this.lowerDense(n, s);
      case 'pairfold':
        return this.lowerPairFold(n, s);
      case 'hadamard':
        return this.lowerHadamard(n, s);
      case 'l2norm': {
        const x = this.vecOf(this.vals[n.input]!, n.name);
        const out = this.newTensor(n.name, s, 'main', 'f32');
        this.ops.push({ kind: 'l2norm', name: n.name, input: x, output: out });
        return { kind: 'vec', id: out, shape: s };
      }
    }
  }

  private lowerAffine(n: NodeOf<'affine'>, s: Shape, i: number): Val {
    const x = this.vals[n.input]!;
    const conv = this.foldable(n.input);
    if (conv) {
      const d = {
        ...conv.draft,
        weights: Float64Array.from(conv.draft.weights),
        bias: Float64Array.from(conv.draft.bias),
        sources: [...conv.draft.sources, n.name],
      };
      const per = d.depthwise ? d.k * d.k : d.inC * d.k * d.k;
      for (let o = 0; o < d.outC; o++) {
        for (let j = 0; j < per; j++) d.weights[o * per + j] *= n.mul[o];
        d.bias[o] = d.bias[o] * n.mul[o] + n.add[o];
      }
      return { kind: 'conv', draft: d, shape: s, node: i };
    }
    if (x.kind === 'affine' && this.uses[n.input] === 1) {
      const mul = x.mul.map((m, c) => m * n.mul[c]);
      const add = x.add.map((a, c) => a * n.mul[c] + n.add[c]);
      return { kind: 'affine', input: x.input, mul, add, shape: s, name: `${x.name} + ${n.name}` };
    }
    return { kind: 'affine', input: x, mul: n.mul, add: n.add, shape: s, name: n.name };
  }

  private lowerConv(n: NodeOf<'conv'>, s: Shape, i: number): Val {
    const { shapes, uses, flipped } = this;
    if (n.kernel !== 1 && n.kernel !== 3)
      throw refuse(n.name, `a ${n.kernel}×${n.kernel} kernel; the KPU has 1×1 and 3×3`);
    let x = this.vals[n.input]!;
    const inS = shapes[n.input];
    const ic = inS.c;
    const weights = n.depthwise
      ? tfDepthwiseToPlan(n.filters, n.kernel, ic, flipped)
      : tfConvToPlan(n.filters, n.kernel, ic, n.outChannels, flipped);
    const bias = new Float64Array(n.outChannels);
    let padValues: Float64Array | undefined;
    const sources = [n.name];
    let h = inS.h;
    let w = inS.w;
    // Fold a per-channel affine on the input into the weights.
    if (x.kind === 'affine') {
      const a = x;
      if (uses[n.input] !== 1) throw refuse(a.name, 'a per-channel scale/offset read by several layers');
      const k2 = n.kernel * n.kernel;
      for (let o = 0; o < n.outChannels; o++) {
        let extra = 0;
        for (let c = 0; c < ic; c++) {
          if (n.depthwise && c !== o) continue;
          for (let t = 0; t < k2; t++) {
            const idx = n.depthwise ? o * k2 + t : (o * ic + c) * k2 + t;
            extra += weights[idx] * a.add[c];
            weights[idx] *= a.mul[c];
          }
        }
        bias[o] += extra;
      }
      if (n.padding === 'same' && n.kernel === 3) padValues = Float64Array.from(a.mul, (m, c) => -a.add[c] / m);
      sources.unshift(a.name);
      x = a.input;
    }
    let padding = n.padding;
    if (x.kind === 'pad') {
      if (!(n.kernel === 3 && n.stride === 1 && n.padding === 'valid' && x.shape.h === inS.h))
        throw refuse(x.name, 'an explicit pad is supported only as the 1-pixel border of a VALID 3×3 stride-1 conv');
      const pv = x.value;
      if (padValues) throw refuse(n.name, 'padding both explicit and implicit');
      padValues = new Float64Array(ic).fill(pv);
      sources.unshift(x.name);
      padding = 'same';
      h = inS.h - 2;
      w = inS.w - 2;
      x = x.input;
    }
    if (padding === 'valid' && n.kernel === 3)
      throw refuse(
        n.name,
        'a VALID 3×3 conv shrinks the map; the KPU always pads 3×3 convs by one pixel ' +
          '(give it an explicit 1-pixel pad)',
      );
    let select = 0;
    if (n.stride === 2) {
      const rp = stridePhase(inS.h, n.kernel, n.padding, flipped);
      const cp = stridePhase(inS.w, n.kernel, n.padding, false);
      if (rp !== 0 || cp === undefined)
        throw refuse(
          n.name,
          `stride 2 needs row phase ${rp} / column phase ${cp}; the KPU selects row 0 and column 0 or 1`,
        );
      select = cp === 0 ? 5 : 6;
    }
    x = this.convInput(x);
    const draft: ConvDraft = {
      name: n.name,
      sources,
      input: x,
      k: n.kernel,
      depthwise: n.depthwise,
      inC: ic,
      outC: n.outChannels,
      h,
      w,
      weights,
      bias,
      padValues,
      act: undefined,
      pool: 0,
      select,
    };
    return { kind: 'conv', draft, shape: s, node: i };
  }

  private lowerAct(n: NodeOf<'act'>, s: Shape, i: number): Val {
    const x = this.vals[n.input]!;
    const conv = this.foldable(n.input);
    if (conv)
      return {
        kind: 'conv',
        draft: { ...conv.draft, act: n.act, sources: [...conv.draft.sources, n.name] },
        shape: s,
        node: i,
      };
    if (x.kind === 'sum' && this.uses[n.input] === 1 && x.act === undefined)
      return { ...x, act: n.act, name: n.name, sources: [...x.sources, n.name] };
    // A standalone activation: a KPU identity 1×1 conv that applies it.
    const id = this.materialise(x, n.name);
    const c = s.c;
    const draft: ConvDraft = {
      name: n.name,
      sources: [n.name],
      input: { kind: 'tensor', id, shape: s },
      k: 1,
      depthwise: false,
      inC: c,
      outC: c,
      h: s.h,
      w: s.w,
      weights: identityMatrix(c),
      bias: new Float64Array(c),
      act: n.act,
      pool: 0,
      select: 0,
    };
    return { kind: 'conv', draft, shape: s, node: i };
  }

  private lowerMaxPool(n: NodeOf<'maxpool'>, s: Shape, i: number): Val {
    const x = this.vals[n.input]!;
    const inS = this.shapes[n.input];
    let pool = -1;
    if (n.size === 2 && n.stride === 2 && inS.h % 2 === 0 && inS.w % 2 === 0) pool = 1;
    else if (n.size === 2 && n.stride === 1 && n.padding === 'same' && !this.flipped) pool = 9;
    if (pool < 0)
      throw refuse(
        n.name,
        `a ${n.size}×${n.size} stride-${n.stride} ${n.padding.toUpperCase()} max pool on ${inS.w}×${inS.h} ` +
          'matches no KPU pool type',
      );
    if (x.kind !== 'conv' || this.uses[n.input] !== 1 || x.draft.pool !== 0 || x.draft.select !== 0)
      throw refuse(n.name, 'a max pool must directly follow a conv (and its activation) read by nothing else');
    return { kind: 'conv', draft: { ...x.draft, pool, sources: [...x.draft.sources, n.name] }, shape: s, node: i };
  }

  private lowerAdd(n: NodeOf<'add'>, s: Shape): Val {
    const { g } = this;
    const terms: PendingSum['terms'] = [];
    const bias = new Float64Array(s.c);
    const sources: string[] = [n.name];
    for (const j of n.inputs) {
      const x = this.vals[j]!;
      const allAdds = this.consumers[j].every((c) => g.nodes[c].op === 'add') && j !== g.output;
      if (
        x.kind === 'conv' &&
        allAdds &&
        x.draft.k === 1 &&
        !x.draft.depthwise &&
        x.draft.act === undefined &&
        x.draft.pool === 0
      ) {
        const d = x.draft;
        let tin: number;
        let select = d.select;
        if (d.input.kind === 'unselected') {
          select = d.input.select;
          tin = d.input.id;
        } else {
          tin = this.materialise(d.input, d.name);
        }
        if (select) throw refuse(n.name, `adds the stride-2 conv ${d.name}, which would need its own select layer`);
        terms.push({ tensor: tin, weights: d.weights, channels: d.inC });
        for (let o = 0; o < s.c; o++) bias[o] += d.bias[o];
        sources.push(...d.sources);
      } else if (x.kind === 'sum' && allAdds && x.act === undefined) {
        terms.push(...x.terms);
        for (let o = 0; o < s.c; o++) bias[o] += x.bias[o];
        sources.push(...x.sources);
      } else {
        terms.push({ tensor: this.materialise(x, n.name), weights: null, channels: s.c });
      }
    }
    return { kind: 'sum', terms, bias, act: undefined, shape: s, name: n.name, sources };
  }

  private lowerDense(n: NodeOf<'dense'>, s: Shape): Val {
    const x = this.vals[n.input]!;
    const inS = this.shapes[n.input];
    const inLen = inS.c * inS.h * inS.w;
    // SDK layout [out][in] from TensorFlow's [in][out].
    const wT = new Float64Array(n.outChannels * inLen);
    for (let o = 0; o < n.outChannels; o++)
      for (let k = 0; k < inLen; k++) wT[o * inLen + k] = n.weights[k * n.outChannels + o];
    if (x.kind === 'dense' && this.uses[n.input] === 1) {
      // Two linear layers in a row: one FULLY_CONNECTED with W2·W1 and W2·b1 + b2.
      const mid = x.shape.c;
      const inner = x.weights;
      const innerLen = inner.length / mid;
      const w = new Float64Array(n.outChannels * innerLen);
      const b = Float64Array.from(n.bias);
      for (let o = 0; o < n.outChannels; o++) {
        for (let m = 0; m < mid; m++) {
          const f = wT[o * mid + m];
          if (f === 0) continue;
          for (let k = 0; k < innerLen; k++) w[o * innerLen + k] += f * inner[m * innerLen + k];
          b[o] += f * x.bias[m];
        }
      }
      return { kind: 'dense', input: x.input, weights: w, bias: b, shape: s, name: `${x.name} + ${n.name}` };
    }
    if (x.kind !== 'gap' && x.kind !== 'vec' && x.kind !== 'dense')
      throw refuse(n.name, 'a fully connected layer on a feature map (flatten first with global pooling)');
    return { kind: 'dense', input: x, weights: wT, bias: Float64Array.from(n.bias), shape: s, name: n.name };
  }

  private lowerPairFold(n: NodeOf<'pairfold'>, s: Shape): Val {
    const x = this.vals[n.input]!;
    if (x.kind === 'dense' && this.uses[n.input] === 1) {
      // After a linear layer: fold the signed halves into its rows.
      const half = s.c;
      const inLen = x.weights.length / x.shape.c;
      const w = new Float64Array(half * inLen);
      const bsum = new Float64Array(half);
      for (let o = 0; o < half; o++) {
        const a = n.signs[o];
        const c = n.signs[half + o];
        for (let k = 0; k < inLen; k++)
          w[o * inLen + k] = a * x.weights[o * inLen + k] + c * x.weights[(half + o) * inLen + k];
        bsum[o] = a * x.bias[o] + c * x.bias[half + o];
      }
      return { kind: 'dense', input: x.input, weights: w, bias: bsum, shape: s, name: `${x.name} + ${n.name}` };
    }
    if (x.kind !== 'gap')
      throw refuse(n.name, 'a pair fold is supported directly after global pooling or a fully connected layer');
    const { ops } = this;
    const mt = this.tensors[x.mainTensor];
    const f = this.newTensor(`${x.name} (float, signed)`, mt, 'main', 'f32');
    ops.push({ kind: 'dequantize', name: `${x.name}/dequantize`, input: x.mainTensor, output: f, signs: n.signs });
    const pooled = this.newTensor(x.name, { c: mt.c, h: 1, w: 1 }, 'main', 'f32');
    ops.push({ kind: 'gap', name: x.name, input: f, output: pooled });
    const out = this.newTensor(n.name, s, 'main', 'f32');
    ops.push({ kind: 'fold', name: n.name, input: pooled, output: out });
    return { kind: 'vec', id: out, shape: s };
  }

  /**
   * On the KPU: the vector is quantised, put at pixel (0, 0) of 4×4 maps, multiplied by the
   * ±1/√n matrix in a 1×1 conv (weights exact in 8 bits), taken back and dequantised.
   */
  private lowerHadamard(n: NodeOf<'hadamard'>, s: Shape): Val {
    const { ops } = this;
    const x = this.vecOf(this.vals[n.input]!, n.name);
    const len = s.c;
    if (len > KPU_LIMITS.maxChannels)
      throw refuse(n.name, `a ${len}-point transform; the KPU takes at most ${KPU_LIMITS.maxChannels} channels`);
    const q = this.newTensor(`${n.name} (u8)`, { c: len, h: 1, w: 1 }, 'main', 'u8');
    ops.push({ kind: 'quantize', name: `${n.name}/quantize`, input: x, output: q });
    const map = this.newTensor(`${n.name} (4×4 maps)`, { c: len, h: 4, w: 4 }, 'kpu', 'u8');
    ops.push({ kind: 'pad-vector', name: `${n.name}/pad`, input: q, output: map });
    const w = new Float64Array(len * len);
    const r = 1 / Math.sqrt(len);
    for (let o = 0; o < len; o++) for (let i = 0; i < len; i++) w[o * len + i] = hadamardSign(o, i) * r;
    const y = this.newTensor(n.name, { c: len, h: 4, w: 4 }, 'kpu', 'u8');
    const ym = this.newTensor(`${n.name} (main)`, { c: len, h: 4, w: 4 }, 'main', 'u8');
    ops.push(
      kpuConv({
        name: n.name,
        inputs: [map],
        output: y,
        mainCopy: ym,
        kernel: 1,
        weights: w,
        bias: new Float64Array(len),
        source: n.name,
      }),
    );
    const v = this.newTensor(`${n.name} (vector, u8)`, { c: len, h: 1, w: 1 }, 'main', 'u8');
    ops.push({ kind: 'unpad-vector', name: `${n.name}/unpad`, input: ym, output: v });
    const f = this.newTensor(`${n.name} (vector)`, s, 'main', 'f32');
    ops.push({ kind: 'dequantize', name: `${n.name}/dequantize`, input: v, output: f });
    return { kind: 'vec', id: f, shape: s };
  }

  // --- the output ---

  private emitOutput(): number {
    const { g } = this;
    const outVal = this.vals[g.output]!;
    const os = this.shapes[g.output];
    if (os.h === 1 && os.w === 1 && (outVal.kind === 'vec' || outVal.kind === 'dense' || outVal.kind === 'gap'))
      return this.vecOf(outVal, 'output');
    const main = this.toMain(outVal, 'output', true);
    const output = this.newTensor('output', os, 'main', 'f32');
    this.ops.push({ kind: 'dequantize', name: 'output/dequantize', input: main, output });
    return output;
  }

  /** Per-channel output quantisation where only a dequantize reads the result. */
  private perChannelOutputs(): void {
    const { ops } = this;
    ops.forEach((op, k) => {
      if (op.kind !== 'kpu-conv' || op.mainCopy === undefined || !this.perChannelWanted.has(op.mainCopy)) return;
      const kpuReaders = ops.some((o) => o.kind === 'kpu-conv' && o.inputs.includes(op.output));
      const mainReaders = ops.filter((o) => o.kind !== 'kpu-conv' && o.input === op.mainCopy);
      if (!kpuReaders && mainReaders.every((o) => o.kind === 'dequantize')) ops[k] = { ...op, perChannelOutput: true };
    });
  }
}

export function identityMatrix(c: number): Float64Array {
  const m = new Float64Array(c * c);
  for (let i = 0; i < c; i++) m[i * c + i] = 1;
  return m;
}
