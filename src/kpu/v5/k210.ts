/**
 * The K210 module of nncase 1.x as its simulator build runs it (modules/k210/src/runtime):
 * a private 2 MiB KPU RAM, the module's `.rdata` and data pool, and four ops — kpu_upload,
 * kpu_download, kpu_conv2d (on kpusim's KPU conv engine) and a strided copy. A function's
 * inputs arrive as dense copies (nncase stages them into its own buffers); its outputs are
 * written straight into the caller's memory.
 */
import { KpuFault } from '../../errors.js';
import {
  MEM_DATA,
  MEM_INPUT,
  MEM_KPU,
  MEM_OUTPUT,
  MEM_RDATA,
  type K210Op,
  type MemoryRangeV5,
  type ModuleV5,
} from '../../kmodel-parser/v5/types.js';
import { GOLDEN_NUMERICS, prepareKpuConv, runKpuConv, type KpuNumerics, type PreparedKpuConv } from '../conv/index.js';
import { kpuDownload, kpuUpload } from '../layout.js';
import { AI_SRAM_BYTES } from '../../chip.js';
import { copy } from '../ops/v5/copy.js';
import { defaultStrides, elementCount, extentBytes, isContiguous, type StridedTensor } from './tensor.js';
import { memBlock, touch, type MemBlock } from './memory.js';
import type { V5View } from './hooks.js';

/** Tensors a K210 op reads and writes, as views of the machine's buffers (see hooks.ts). */
export interface K210OpViews {
  readonly inputs: V5View[];
  readonly outputs: V5View[];
}

/** Describing each op to a hook (only when one is installed). */
export interface K210Hook {
  /** The caller's tensor behind each function input (what the staged dense copy was made of). */
  readonly inputs: readonly V5View[];
  /** The staged dense copies the ops read, as blocks (for inputs that cannot be mapped back). */
  readonly staged: readonly MemBlock[];
  before(op: K210Op, opIndex: number, views: K210OpViews): void;
}

/** Where a called K210 function's output lives in its caller's memory. */
export interface K210Output {
  readonly block: MemBlock;
  readonly offset: number;
}

export class K210ModuleState {
  readonly data: MemBlock;
  /** The simulated KPU RAM, zero at start (nncase's simulator `kpu_ram_`). */
  readonly kpu: MemBlock;
  readonly rdata: Uint8Array;
  /** `.rdata` as a read-only block (for op views). */
  readonly rdataBlock: MemBlock;
  /** Prepared conv layers, per function and op (undefined for non-conv ops). */
  readonly prepared: readonly (readonly (PreparedKpuConv | undefined)[])[];

  constructor(
    readonly index: number,
    readonly module: ModuleV5,
    layerOf: (fn: number, op: number) => number,
    prepared?: K210ModuleState['prepared'],
  ) {
    this.data = memBlock(`module ${index} data pool`, new Uint8Array(module.dataPoolSize));
    this.kpu = memBlock(`module ${index} KPU RAM`, new Uint8Array(AI_SRAM_BYTES));
    this.rdata = module.rdata;
    this.rdataBlock = memBlock(`module ${index} .rdata`, module.rdata, false);
    const fns = module.k210?.functions ?? [];
    this.prepared =
      prepared ??
      fns.map((ops, fi) =>
        ops.map((op, oi) =>
          op.name === 'kpu_conv2d'
            ? prepareKpuConv(op.kpu, op.batches, { layer: layerOf(fi, oi), type: 'k210:kpu_conv2d' })
            : undefined,
        ),
      );
  }
}

interface Place {
  readonly bytes: Uint8Array;
  readonly offset: number;
  readonly block?: MemBlock;
}

/**
 * Runs function `fnIndex`: `inputs` are dense copies of the caller's tensors, `outputs` where
 * the results go. `after(op, i)` is called after every op (the trace hook).
 */
export function runK210Function(
  state: K210ModuleState,
  fnIndex: number,
  inputs: readonly Uint8Array[],
  outputs: readonly K210Output[],
  after: (op: K210Op, opIndex: number, views?: K210OpViews) => void,
  numerics: KpuNumerics = GOLDEN_NUMERICS,
  layerOf: (op: number) => number = (op) => op,
  hook?: K210Hook,
): void {
  const fn = state.module.functions[fnIndex];
  const ops = state.module.k210?.functions[fnIndex];
  if (!fn || !ops) throw new KpuFault('OUT_OF_RANGE', `module ${state.index} has no K210 function ${fnIndex}`);

  ops.forEach((op, oi) => {
    const ctx = { layer: layerOf(oi), type: `k210:${op.name}` };
    /** `memory_at`: inputs and outputs are found by their range start, pools by offset. */
    const at = (mr: MemoryRangeV5): Place => {
      switch (mr.location) {
        case MEM_INPUT: {
          const i = fn.inputs.findIndex((t) => t.range.start === mr.start);
          if (i < 0)
            throw new KpuFault('OUT_OF_RANGE', `input range at ${mr.start} is no input of function ${fnIndex}`, ctx);
          return { bytes: inputs[i], offset: 0 };
        }
        case MEM_OUTPUT: {
          const i = fn.outputs.findIndex((t) => t.range.start === mr.start);
          if (i < 0)
            throw new KpuFault('OUT_OF_RANGE', `output range at ${mr.start} is no output of function ${fnIndex}`, ctx);
          return { bytes: outputs[i].block.bytes, offset: outputs[i].offset, block: outputs[i].block };
        }
        case MEM_RDATA:
          return { bytes: state.rdata, offset: mr.start };
        case MEM_DATA:
          return { bytes: state.data.bytes, offset: mr.start, block: state.data };
        case MEM_KPU:
          return { bytes: state.kpu.bytes, offset: mr.start, block: state.kpu };
        default:
          throw new KpuFault(
            'OUT_OF_RANGE',
            `memory location ${mr.location} is not addressable by the K210 module`,
            ctx,
          );
      }
    };
    const written = (p: Place): void => {
      if (!p.block) throw new KpuFault('OUT_OF_RANGE', 'the K210 op writes to read-only memory (.rdata)', ctx);
      touch(p.block);
    };
    const within = (p: Place, bytes: number, what: string): Uint8Array => {
      if (p.offset + bytes > p.bytes.length)
        throw new KpuFault(
          'OUT_OF_RANGE',
          `${what}: ${bytes} bytes at ${p.offset} run past the end of a ${p.bytes.length}-byte buffer`,
          { ...ctx, size: bytes },
        );
      return p.bytes.subarray(p.offset, p.offset + bytes);
    };
    const views = hook ? describeOp(state, fnIndex, oi, op, outputs, hook) : undefined;
    if (hook) hook.before(op, oi, views!);
    switch (op.name) {
      case 'kpu_upload': {
        const src = at(op.input);
        const dst = at(op.output);
        written(dst);
        kpuUpload(within(src, elementCount(op.inShape), 'kpu_upload input'), op.inShape, dst.bytes, dst.offset);
        break;
      }
      case 'kpu_download': {
        const src = at(op.input);
        const dst = at(op.output);
        written(dst);
        kpuDownload(src.bytes, src.offset, op.inShape, within(dst, elementCount(op.inShape), 'kpu_download output'));
        break;
      }
      case 'kpu_conv2d': {
        const prepared = state.prepared[fnIndex][oi]!;
        let mainOut: Uint8Array | undefined;
        if (op.mainMemOutput.size) {
          const p = at(op.mainMemOutput);
          written(p);
          mainOut = within(p, prepared.denseOutputBytes, 'kpu_conv2d main-memory output');
        }
        touch(state.kpu);
        runKpuConv(prepared, state.kpu.bytes, numerics, mainOut);
        break;
      }
      case 'copy': {
        const src = at(op.input);
        const dst = at(op.output);
        written(dst);
        const dt = op.input.datatype;
        const shape = [...op.inShape];
        const i: StridedTensor = {
          bytes: src.bytes,
          offset: src.offset,
          datatype: dt,
          shape,
          strides: [...op.inStrides],
        };
        const o: StridedTensor = {
          bytes: dst.bytes,
          offset: dst.offset,
          datatype: dt,
          shape,
          strides: [...op.outStrides],
        };
        within(src, extentBytes(shape, i.strides, dt), 'copy input');
        within(dst, extentBytes(shape, o.strides, dt), 'copy output');
        copy(i, o);
        break;
      }
    }
    after(op, oi, views);
  });
}

const U8 = 4;

function denseStrides(shape: readonly number[]): number[] {
  return defaultStrides(shape);
}

/** The op's tensors as views (see hooks.ts); inputs of the function map back to the caller's tensors. */
function describeOp(
  state: K210ModuleState,
  fnIndex: number,
  oi: number,
  op: K210Op,
  outputs: readonly K210Output[],
  hook: K210Hook,
): K210OpViews {
  const fn = state.module.functions[fnIndex];
  const place = (
    mr: MemoryRangeV5,
    datatype: number,
    shape: readonly number[],
    strides: readonly number[],
    layout: 'strided' | 'kpu',
  ): V5View => {
    switch (mr.location) {
      case MEM_INPUT: {
        const i = fn.inputs.findIndex((t) => t.range.start === mr.start);
        const caller = hook.inputs[i];
        const staged = hook.staged[i];
        if (!caller || !staged) break;
        if (layout === 'strided' && isContiguous(caller.shape, caller.strides))
          return { block: caller.block, offset: caller.offset, datatype, shape, strides, layout };
        const dense =
          layout === 'strided' && isContiguous(shape, strides) && elementCount(shape) === elementCount(caller.shape);
        if (dense) return caller;
        return { block: staged, offset: 0, datatype, shape, strides, layout };
      }
      case MEM_OUTPUT: {
        const i = fn.outputs.findIndex((t) => t.range.start === mr.start);
        const o = outputs[i];
        if (!o) break;
        return { block: o.block, offset: o.offset, datatype, shape, strides, layout };
      }
      case MEM_RDATA:
        return { block: state.rdataBlock, offset: mr.start, datatype, shape, strides, layout };
      case MEM_DATA:
        return { block: state.data, offset: mr.start, datatype, shape, strides, layout };
      case MEM_KPU:
        return { block: state.kpu, offset: mr.start, datatype, shape, strides, layout };
    }
    throw new KpuFault(
      'OUT_OF_RANGE',
      `memory location ${mr.location} at ${mr.start} is not addressable by function ${fnIndex}`,
      { type: `k210:${op.name}` },
    );
  };
  switch (op.name) {
    case 'kpu_upload': {
      const s = [...op.inShape];
      return {
        inputs: [place(op.input, U8, s, denseStrides(s), 'strided')],
        outputs: [place(op.output, U8, s, [], 'kpu')],
      };
    }
    case 'kpu_download': {
      const s = [...op.inShape];
      return {
        inputs: [place(op.input, U8, s, [], 'kpu')],
        outputs: [place(op.output, U8, s, denseStrides(s), 'strided')],
      };
    }
    case 'kpu_conv2d': {
      const p = state.prepared[fnIndex][oi]!;
      const kpuView = (address: number, shape: readonly number[]): V5View => ({
        block: state.kpu,
        offset: address,
        datatype: U8,
        shape,
        strides: [],
        layout: 'kpu',
      });
      const outs = [kpuView(p.output.address, p.output.shape)];
      if (op.mainMemOutput.size)
        outs.push(place(op.mainMemOutput, U8, p.output.shape, denseStrides(p.output.shape), 'strided'));
      return { inputs: [kpuView(p.input.address, p.input.shape)], outputs: outs };
    }
    case 'copy': {
      const s = [...op.inShape];
      const dt = op.input.datatype;
      return {
        inputs: [place(op.input, dt, s, [...op.inStrides], 'strided')],
        outputs: [place(op.output, dt, s, [...op.outStrides], 'strided')],
      };
    }
  }
}
