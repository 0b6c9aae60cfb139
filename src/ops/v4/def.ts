/**
 * What a kmodel v4 (nncase 0.2) op is: one typed definition per `runtime_opcode` holding its body parser,
 * the shapes of the tensors it reads and writes, its MAC count, its executor on the emulated chip and its
 * CPU cost family. The table in `index.ts` is total over `V4OpName`, so an op missing any of these fails
 * the type check. The float counterpart lives in `src/reference/v4.ts`, in a table total over the same
 * names (kept apart so that parsing and running never load TensorFlow.js). See docs/adding-an-op.md.
 */
import { KpuFault } from '../../errors.js';
import type { TensorDesc } from '../../kmodel-parser/model.js';
import { windowOutputHW } from '../../kmodel-parser/v4/bodies.js';
import { elements, V4_DTYPE_BYTES, type BodyContext } from '../../kmodel-parser/v4/read.js';
import type {
  MemoryRange,
  QuantParam,
  Shape4,
  StridedSliceBody,
  V4BodyMap,
  V4NodeOfType,
  V4OpName,
} from '../../kmodel-parser/v4/types.js';
import type { TransferEvent } from '../../kpu/events.js';
import type { MachineState, PrepareContext } from '../../kpu/machine.js';
import type { Window2d } from '../../kpu/ops/common.js';
import { Regions } from '../../kpu/region.js';
import type { CpuCostFamily } from '../../kpu/timing/params.js';
import { notApplicable, type NotApplicable } from '../not-applicable.js';

/** One tensor a node reads or writes. */
export interface IoItem {
  readonly range: MemoryRange;
  /** NCHW (or the op's natural rank) where known. */
  readonly shape?: readonly number[];
  /** True when the shape is stated by the body (it must agree with the range); false when inferred. */
  readonly stated?: boolean;
  readonly quant?: QuantParam;
}
export interface NodeIo {
  readonly inputs: readonly IoItem[];
  readonly outputs: readonly IoItem[];
}
/** Shape last written to exactly this range by an earlier node (or the model input), if known. */
export type ShapeLookup = (range: MemoryRange) => readonly number[] | undefined;

/** What a prepared node does when run, and the data it moves between memories. */
export interface Exec {
  readonly exec: () => void;
  readonly transfers?: TransferEvent[];
}

/** The executor: resolves the node's ranges to checked views once (in prepare) and returns the closure that runs it. */
export type V4Prepare<K extends V4OpName> = (n: V4NodeOfType<K>, m: Mem, ctx: PrepareContext) => Exec;

export interface V4OpDef<K extends V4OpName> {
  /** `runtime_opcode` value. */
  readonly code: number;
  /** nncase 0.2 name (`runtime_op.def` first column). */
  readonly name: K;
  /**
   * The name nncase 0.2's runtime prints (`runtime_op.def` second column), as in the golden traces. The
   * ones that occur in the shared goldens are confirmed; the rest follow the same pattern, unconfirmed.
   */
  readonly traceName: string;
  readonly unit: 'KPU' | 'CPU';
  /** Reads the body from a reader limited to it. */
  readonly parse: (c: BodyContext) => V4BodyMap[K];
  /** The tensors the body reads and writes, with their shapes where the body states or implies them. */
  readonly io: (body: V4BodyMap[K], lookup: ShapeLookup) => NodeIo;
  /** Multiply-accumulates of one run, from the body and the shapes `io` found. */
  readonly macs:
    ((body: V4BodyMap[K], inputs: readonly TensorDesc[], outputs: readonly TensorDesc[]) => number) | NotApplicable;
  /** Weight bytes `kpusim info` lists for the layer. */
  readonly weightBytes: ((body: V4BodyMap[K]) => number) | NotApplicable;
  /** The CPU cost family the timing model prices it by (docs/architecture.md, adding a timing parameter). */
  readonly cost: CpuCostFamily | NotApplicable;
  readonly prepare: V4Prepare<K> | NotApplicable;
}

/** Infers the op name from the definition's `name`. */
export function defineV4Op<K extends V4OpName>(def: V4OpDef<K>): V4OpDef<K> {
  return def;
}

/** Resolves the memory ranges of one node to validated views. */
export class Mem {
  private readonly main: Regions;
  private readonly ai: Regions;
  private readonly consts: Regions;
  constructor(
    readonly s: MachineState,
    constants: Uint8Array,
    where: { layer: number; type: string },
  ) {
    this.main = new Regions(s.main, 'main', where);
    this.ai = new Regions(s.ai, 'AI SRAM', where);
    // The constant blob is a view of the file: copy it so that its float data can be aligned.
    this.consts = new Regions(constants, 'constant', where);
  }
  private of(r: MemoryRange): Regions {
    return r.memory_type === 'main' ? this.main : r.memory_type === 'kpu' ? this.ai : this.consts;
  }
  u8(what: string, r: MemoryRange): Uint8Array {
    return this.of(r).u8(what, r.start, r.size);
  }
  f32(what: string, r: MemoryRange): Float32Array {
    if (r.datatype !== 'float32')
      throw new KpuFault('BAD_LAYER', `${what} must be float32, the range says ${r.datatype}`, {}, 'prepare');
    return this.of(r).f32(what, r.start, r.size / 4);
  }
}

// ---- helpers the definitions share ----

export const NO_WEIGHTS = notApplicable('the op has no weights');
export const NO_MACS = notApplicable('moves or maps values; no multiply-accumulates');
export const CPU_WEIGHTS = notApplicable(
  'a CPU op reads its weights in place from the constant blob; kpusim info lists the weights a KPU layer loads',
);

/** The CPU ops nncase 0.2 emits only for target cpu, which the K210's runtime does not run. */
export const CPU_TARGET_ONLY = notApplicable(
  'the beta4 runtime the K210 firmware ships does not run this opcode (nncase 0.2 emits it only for target cpu); ' +
    'kpusim does not emulate it',
);

export const clampOf = (b: { fused_activation: { min: number; max: number } }) =>
  [b.fused_activation.min, b.fused_activation.max] as const;

export const win = (b: {
  filter_h: number;
  filter_w: number;
  stride_h: number;
  stride_w: number;
  dilation_h: number;
  dilation_w: number;
  padding_h: { before: number; after: number };
  padding_w: { before: number; after: number };
}): Window2d => ({
  filterH: b.filter_h,
  filterW: b.filter_w,
  strideH: b.stride_h,
  strideW: b.stride_w,
  dilationH: b.dilation_h,
  dilationW: b.dilation_w,
  paddingH: b.padding_h,
  paddingW: b.padding_w,
});

export const elemBytes = (r: MemoryRange) => (r.datatype === 'float32' ? 4 : 1);

export const stated = (range: MemoryRange, shape: readonly number[], quant?: QuantParam): IoItem => ({
  range,
  shape,
  stated: true,
  ...(quant ? { quant } : {}),
});

export const inferred = (range: MemoryRange, shape: readonly number[] | undefined, quant?: QuantParam): IoItem => ({
  range,
  ...(shape ? { shape, stated: false } : {}),
  ...(quant ? { quant } : {}),
});

/** Elementwise: the output has the input's shape. */
export function elementwise(
  b: { input: MemoryRange; output: MemoryRange },
  lookup: ShapeLookup,
  qin?: QuantParam,
  qout?: QuantParam,
): NodeIo {
  const s = lookup(b.input);
  return { inputs: [inferred(b.input, s, qin)], outputs: [inferred(b.output, s, qout)] };
}

export function binaryIo(b: V4BodyMap['binary'] | V4BodyMap['quantized_binary']): NodeIo {
  return {
    inputs: [stated(b.input_a, b.in_a_shape), stated(b.input_b, b.in_b_shape)],
    outputs: [stated(b.output, b.out_shape)],
  };
}

export function convIo(
  b: { input: MemoryRange; output: MemoryRange; in_shape: Shape4 } & Parameters<typeof windowOutputHW>[1],
  outC: number,
): NodeIo {
  const [oh, ow] = windowOutputHW(b.in_shape, b);
  return { inputs: [stated(b.input, b.in_shape)], outputs: [stated(b.output, [b.in_shape[0], outC, oh, ow])] };
}

export function matmulIo(b: V4BodyMap['matmul'] | V4BodyMap['quantized_matmul']): NodeIo {
  return {
    inputs: [stated(b.input_a, [b.a_rows, b.a_cols]), stated(b.input_b, [b.a_cols, b.b_cols])],
    outputs: [stated(b.output, [b.a_rows, b.b_cols])],
  };
}

export function reduceWindowIo(b: V4BodyMap['reduce_window2d']): NodeIo {
  const [oh, ow] = windowOutputHW(b.in_shape, b);
  return { inputs: [stated(b.input, b.in_shape)], outputs: [stated(b.output, [b.in_shape[0], b.in_shape[1], oh, ow])] };
}

export function concatIo(b: V4BodyMap['concat'], lookup: ShapeLookup): NodeIo {
  const total = b.dims.reduce((a, d) => a + d, 0);
  const elem = V4_DTYPE_BYTES[b.output.datatype];
  let out: readonly number[] | undefined;
  const first = lookup(b.inputs[0]);
  if (first) {
    // The concat axis is where the dims before multiply to outer_size and the dims after to inner_size bytes.
    for (let a = 0; a < first.length && !out; a++) {
      if (
        first[a] === b.dims[0] &&
        elements(first.slice(0, a)) === b.outer_size &&
        elements(first.slice(a + 1)) * elem === b.inner_size
      ) {
        out = first.map((d, i) => (i === a ? total : d));
      }
    }
  }
  if (!out && b.inner_size % elem === 0) out = [b.outer_size, total, b.inner_size / elem];
  return { inputs: b.inputs.map((r) => inferred(r, lookup(r))), outputs: [inferred(b.output, out)] };
}

/** TensorFlow-style strided-slice extent per axis (shrunk axes kept as 1). */
export function stridedSliceShape(b: StridedSliceBody): Shape4 {
  const out = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    const dim = b.in_shape[i];
    const s = b.strides[i];
    if (b.shrink_axis_mask & (1 << i)) {
      out[i] = 1;
      continue;
    }
    const norm = (v: number): number => (v < 0 ? v + dim : v);
    const lo = s > 0 ? 0 : -1;
    const hi = s > 0 ? dim : dim - 1;
    const clamp = (v: number): number => Math.min(Math.max(v, lo), hi);
    const begin = b.begin_mask & (1 << i) ? (s > 0 ? 0 : dim - 1) : clamp(norm(b.begin[i]));
    const end = b.end_mask & (1 << i) ? (s > 0 ? dim : -1) : clamp(norm(b.end[i]));
    out[i] = Math.max(0, Math.ceil((end - begin) / s));
  }
  return [out[0], out[1], out[2], out[3]];
}

/**
 * MACs of a window op: output elements × input channels per group × filter area (a body without
 * `groups` counts as one group).
 */
export function windowMacs(
  b: { filter_h: number; filter_w: number; groups?: number },
  inputs: readonly TensorDesc[],
  outputs: readonly TensorDesc[],
): number {
  const out = outputs[0]?.shape;
  const inn = inputs[0]?.shape;
  if (!out || !inn) return 0;
  return elements(out) * ((inn[1] ?? 1) / (b.groups ?? 1)) * b.filter_h * b.filter_w;
}

export const matmulMacs = (b: { a_rows: number; a_cols: number; b_cols: number }) => b.a_rows * b.a_cols * b.b_cols;
