/**
 * Running a kmodel v5: one state per module (zeroed data pools, the K210 module's KPU RAM),
 * the entry function on its module, TENSOR CALLs into other modules, and the golden trace
 * lines of shared/golden-nncase (README "kmodel v5 set"):
 *
 *   <index> stackvm:<TENSOR_FUNCTION>(0x<funct>) m0.data=<hash> … [kpu=<hash>]
 *   <index> k210:<op>(0x<opcode>) m0.data=<hash> … kpu=<hash>
 *
 * written after each stackvm TENSOR instruction and each K210 op (a CALL's line follows the
 * lines of the ops it ran). Hashes are FNV-1a 64 with the goldens' basis over each module's
 * whole data pool and the whole 2 MiB KPU RAM.
 */
import { KpuFault } from '../../errors.js';
import type { K210Op, KmodelV5, LayerV5, ModuleV5 } from '../../kmodel-parser/v5/types.js';
import type { StackvmInstruction } from '../../kmodel-parser/v5/stackvm/isa.js';
import { GOLDEN_NUMERICS, type KpuNumerics, type PreparedKpuConv } from '../conv/index.js';
import type { LayerEvent, TransferEvent } from '../events.js';
import { fnv1a64 } from '../hash.js';
import { K210ModuleState, runK210Function, type K210Hook, type K210OpViews, type K210Output } from './k210.js';
import type { RecordedViews, V5Memories, V5OpHook, V5OpStep, V5View } from './hooks.js';
import { kpuBytes } from '../../kmodel-parser/kpu-layout.js';
import { copy } from '../ops/v5/copy.js';
import { defaultStrides, elementCount, elemSize, isContiguous } from './tensor.js';
import { memBlock, touch, type MemBlock } from './memory.js';
import {
  StackvmModuleState,
  StackvmRun,
  denseCopy,
  type CallTensor,
  type StackvmHost,
  type TensorOpInfo,
} from './stackvm.js';

export interface RunV5Options {
  /** Receives the golden-format trace lines. */
  readonly trace?: (line: string) => void;
  /** Receives one event per executed op, for the timing model. */
  readonly onEvent?: (e: LayerEvent) => void;
  /** KPU arithmetic variant; nncase 1.x's simulator uses the 0.2 rules (the default). */
  readonly numerics?: KpuNumerics;
  /** Inputs after the first, when the entry function takes several. */
  readonly moreInputs?: readonly Uint8Array[];
  /** Instruction budget of each stackvm function call (runaway bytecode becomes a KpuFault). */
  readonly maxSteps?: number;
  /**
   * Called before and after every K210 op and stackvm TENSOR instruction with the tensors it
   * reads and writes (hooks.ts). Installing it makes the run record operand views; the results
   * are the same.
   */
  readonly onOp?: V5OpHook;
}

export interface RunV5Result {
  /** The entry function's outputs, raw bytes (float32 little-endian for the real models). */
  readonly outputs: Uint8Array[];
}

type ModuleState =
  StackvmModuleState | K210ModuleState | { readonly kind: 'other'; readonly data: MemBlock; readonly module: ModuleV5 };

/** Layer index (in `model.layers`) of each K210 op and stackvm TENSOR instruction. */
function layerIndexes(model: KmodelV5): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of model.layers) m.set(`${l.module}/${l.function}/${l.opIndex}`, l.index);
  return m;
}

/** The layer of each stackvm TENSOR instruction, by the decoded instruction object. */
function instructionLayers(model: KmodelV5): Map<StackvmInstruction, LayerV5> {
  const m = new Map<StackvmInstruction, LayerV5>();
  for (const l of model.layers) if (l.instruction) m.set(l.instruction, l);
  return m;
}

/** Prepared per model (K210 conv layers validated once); states are rebuilt per run. */
const PREPARED = new WeakMap<
  KmodelV5,
  {
    layers: Map<string, number>;
    k210: Map<number, K210ModuleState['prepared']>;
    instructions?: Map<StackvmInstruction, LayerV5>;
  }
>();

class V5Machine implements StackvmHost {
  readonly states: ModuleState[];
  private index = 0;
  private readonly hashes = new Map<MemBlock, { version: number; hash: string }>();
  private readonly layers: Map<string, number>;
  readonly maxSteps?: number;
  readonly recordViews: boolean;
  private readonly instructions?: Map<StackvmInstruction, LayerV5>;
  private readonly memories?: V5Memories;

  constructor(
    readonly model: KmodelV5,
    readonly opts: RunV5Options,
  ) {
    let prep = PREPARED.get(model);
    const layers = prep?.layers ?? layerIndexes(model);
    this.layers = layers;
    this.maxSteps = opts.maxSteps;
    this.states = model.modules.map((m, mi): ModuleState => {
      if (m.type === 'stackvm' && m.stackvm) return new StackvmModuleState(mi, m);
      if (m.type === 'k210' && m.k210) {
        const st = new K210ModuleState(mi, m, (fi, oi) => layers.get(`${mi}/${fi}/${oi}`) ?? -1, prep?.k210.get(mi));
        return st;
      }
      return { kind: 'other', data: memBlock(`module ${mi} data pool`, new Uint8Array(m.dataPoolSize)), module: m };
    });
    if (!prep) {
      prep = { layers, k210: new Map() };
      this.states.forEach((s, i) => {
        if (s instanceof K210ModuleState) prep!.k210.set(i, s.prepared);
      });
      PREPARED.set(model, prep);
    }
    this.recordViews = opts.onOp !== undefined;
    if (this.recordViews) {
      prep.instructions ??= instructionLayers(model);
      this.instructions = prep.instructions;
      const kpu = this.states.find((s): s is K210ModuleState => s instanceof K210ModuleState)?.kpu.bytes;
      this.memories = { dataPools: this.states.map((s) => s.data.bytes), ...(kpu ? { kpu } : {}) };
    }
  }

  private stackvmStep(ins: StackvmInstruction, views: RecordedViews): V5OpStep {
    const l = this.instructions?.get(ins);
    return {
      index: l?.index ?? -1,
      type: `stackvm:${ins.tensorName}`,
      unit: 'CPU',
      module: l?.module ?? -1,
      function: l?.function ?? -1,
      inputs: views.inputs,
      outputs: views.outputs,
      params: views.params,
      instruction: ins,
    };
  }

  private k210Step(st: K210ModuleState, fi: number, op: K210Op, oi: number, views: K210OpViews): V5OpStep {
    return {
      index: this.layers.get(`${st.index}/${fi}/${oi}`) ?? -1,
      type: `k210:${op.name}`,
      unit: op.name === 'kpu_conv2d' ? 'KPU' : 'CPU',
      module: st.index,
      function: fi,
      inputs: views.inputs,
      outputs: views.outputs,
      params: {},
      k210Op: op,
    };
  }

  beforeTensorOp(ins: StackvmInstruction, views: RecordedViews): void {
    this.opts.onOp?.('before', this.stackvmStep(ins, views), this.memories!);
  }

  private hash(b: MemBlock): string {
    const c = this.hashes.get(b);
    if (c && c.version === b.version) return c.hash;
    const hash = fnv1a64(b.bytes);
    this.hashes.set(b, { version: b.version, hash });
    return hash;
  }

  private hashSuffix(): string {
    const parts = this.states.map((s, i) => `m${i}.data=${this.hash(s.data)}`);
    for (const s of this.states) if (s instanceof K210ModuleState) parts.push(`kpu=${this.hash(s.kpu)}`);
    return parts.join(' ');
  }

  private emit(type: string, code: string, event: Omit<LayerEvent, 'index' | 'type'>): void {
    const index = this.index++;
    if (this.opts.trace) this.opts.trace(`${index} ${type}(0x${code}) ${this.hashSuffix()}`);
    this.opts.onEvent?.({ index, type, ...event });
  }

  afterTensorOp(ins: StackvmInstruction, info: TensorOpInfo, views?: RecordedViews): void {
    this.emitTensorOp(ins, info);
    if (views && this.opts.onOp) this.opts.onOp('after', this.stackvmStep(ins, views), this.memories!);
  }

  private emitTensorOp(ins: StackvmInstruction, info: TensorOpInfo): void {
    this.emit(`stackvm:${ins.tensorName}`, ins.funct!.toString(16).padStart(4, '0'), {
      unit: 'CPU',
      inputShapes: info.inputShapes,
      outputShapes: info.outputShapes,
      bytesIn: info.bytesIn,
      bytesOut: info.bytesOut,
      macs: info.macs,
      elements: info.outputShapes.reduce((s, sh) => s + elementCount(sh), 0),
      transfers: [],
    });
  }

  private afterK210Op(st: K210ModuleState, fi: number, op: K210Op, oi: number, views?: K210OpViews): void {
    this.emitK210Op(st, fi, op, oi);
    if (views && this.opts.onOp) this.opts.onOp('after', this.k210Step(st, fi, op, oi, views), this.memories!);
  }

  private emitK210Op(st: K210ModuleState, fi: number, op: K210Op, oi: number): void {
    this.emit(`k210:${op.name}`, op.opcode.toString(16).padStart(2, '0'), k210OpEvent(op, st.prepared[fi][oi]));
  }

  /** `runtime_function::input_tensor/output_tensor` checks, then the callee runs. */
  call(moduleId: number, functionId: number, inputs: readonly CallTensor[], outputs: readonly CallTensor[]): void {
    const st = this.states[moduleId];
    const fn = st?.module.functions[functionId];
    if (!st || !fn)
      throw new KpuFault('OUT_OF_RANGE', `CALL of module ${moduleId} function ${functionId}, which does not exist`);
    const check = (ts: readonly CallTensor[], want: ModuleV5['functions'][number]['inputs'], what: string): void => {
      if (ts.length !== want.length)
        throw new KpuFault(
          'BAD_LAYER',
          `CALL passes ${ts.length} ${what}s, module ${moduleId} function ${functionId} takes ${want.length}`,
        );
      ts.forEach((t, i) => {
        if (t.datatype !== want[i].range.datatype)
          throw new KpuFault(
            'BAD_LAYER',
            `CALL ${what} ${i}: datatype ${t.datatype}, the callee expects ${want[i].range.datatype}`,
          );
        if (t.shape.length !== want[i].shape.length || t.shape.some((d, k) => d !== want[i].shape[k])) {
          throw new KpuFault(
            'BAD_LAYER',
            `CALL ${what} ${i}: shape [${t.shape.join(', ')}], the callee expects [${want[i].shape.join(', ')}]`,
          );
        }
      });
    };
    check(inputs, fn.inputs, 'input');
    check(outputs, fn.outputs, 'output');
    if (st instanceof K210ModuleState) {
      const outs: K210Output[] = outputs.map((t) => ({ block: t.block, offset: t.offset }));
      const staged = inputs.map(denseCopy);
      let hook: K210Hook | undefined;
      if (this.recordViews) {
        const onOp = this.opts.onOp!;
        hook = {
          inputs: inputs.map((t): V5View => ({
            block: t.block,
            offset: t.offset,
            datatype: t.datatype,
            shape: t.shape,
            strides: t.strides,
            layout: 'strided',
          })),
          staged: staged.map((b, i) =>
            memBlock(`module ${moduleId} function ${functionId} input ${i} (staged copy)`, b, false),
          ),
          before: (op, oi, views) => onOp('before', this.k210Step(st, functionId, op, oi, views), this.memories!),
        };
      }
      runK210Function(
        st,
        functionId,
        hook ? hook.staged.map((b) => b.bytes) : staged,
        outs,
        (op, oi, views) => this.afterK210Op(st, functionId, op, oi, views),
        this.opts.numerics ?? GOLDEN_NUMERICS,
        (oi) => this.layers.get(`${moduleId}/${functionId}/${oi}`) ?? -1,
        hook,
      );
      return;
    }
    if (st instanceof StackvmModuleState) {
      // Contiguous host tensors are bound directly; others go through a dense copy.
      const ins = inputs.map((t, i) =>
        isContiguous(t.shape, t.strides) ? window(t, `input ${i}`) : memBlock(`input ${i}`, denseCopy(t)),
      );
      const outs = outputs.map((t, i) =>
        isContiguous(t.shape, t.strides)
          ? window(t, `output ${i}`)
          : memBlock(`output ${i}`, new Uint8Array(elementCount(t.shape) * elemSize(t.datatype))),
      );
      this.runStackvm(st, functionId, ins, outs);
      outputs.forEach((t, i) => {
        if (outs[i].parent) return;
        copy(
          { bytes: outs[i].bytes, offset: 0, datatype: t.datatype, shape: t.shape, strides: defaultStrides(t.shape) },
          { bytes: t.block.bytes, offset: t.offset, datatype: t.datatype, shape: t.shape, strides: t.strides },
        );
        touch(t.block);
      });
      return;
    }
    throw new KpuFault('UNSUPPORTED', `CALL into a "${st.module.type}" module, which kpusim does not run`);
  }

  runStackvm(st: StackvmModuleState, functionId: number, inputs: MemBlock[], outputs: MemBlock[]): void {
    const fn = st.module.functions[functionId];
    new StackvmRun(st, fn, st.module.stackvm!.functions[functionId], inputs, outputs, this).run();
  }
}

function window(t: CallTensor, name: string): MemBlock {
  const bytes = elementCount(t.shape) * elemSize(t.datatype);
  return memBlock(name, t.block.bytes.subarray(t.offset, t.offset + bytes), t.block.writable, t.block);
}

/**
 * Runs the entry function of a v5 model on `input` (entry input 0, raw bytes exactly as the
 * runtime exchanges it: uint8 NCHW for yolox, float32 LE for mnist). Data pools and the KPU
 * RAM start zeroed, as in the golden driver.
 */
export function runV5(model: KmodelV5, input: Uint8Array, opts: RunV5Options = {}): RunV5Result {
  const vm = new V5Machine(model, opts);
  const mi = model.header.entryModule;
  const st = vm.states[mi];
  const fn = st.module.functions[model.header.entryFunction];
  const given =
    fn.inputs.length === 0 && input.length === 0 && !opts.moreInputs ? [] : [input, ...(opts.moreInputs ?? [])];
  if (given.length !== fn.inputs.length)
    throw new KpuFault('BAD_INPUT', `the model takes ${fn.inputs.length} inputs, ${given.length} given`, {}, 'prepare');
  const inBlocks = fn.inputs.map((t, i) => {
    const want = model.inputs[i].bytes;
    if (given[i].length !== want) {
      throw new KpuFault(
        'BAD_INPUT',
        `input ${i} has ${given[i].length} bytes; ` +
          `shape [${t.shape.join(', ')}] of ${model.inputs[i].dtype} needs ${want}`,
        {},
        'prepare',
      );
    }
    return memBlock(`input ${i}`, given[i].slice());
  });
  const outBlocks = model.outputs.map((t, i) => memBlock(`output ${i}`, new Uint8Array(t.bytes)));
  if (st instanceof StackvmModuleState) {
    vm.runStackvm(st, model.header.entryFunction, inBlocks, outBlocks);
  } else if (st instanceof K210ModuleState) {
    vm.call(
      mi,
      model.header.entryFunction,
      inBlocks.map((b, i) => ({
        block: b,
        offset: 0,
        datatype: fn.inputs[i].range.datatype,
        shape: fn.inputs[i].shape,
        strides: defaultStrides(fn.inputs[i].shape),
      })),
      outBlocks.map((b, i) => ({
        block: b,
        offset: 0,
        datatype: fn.outputs[i].range.datatype,
        shape: fn.outputs[i].shape,
        strides: defaultStrides(fn.outputs[i].shape),
      })),
    );
  } else {
    throw new KpuFault(
      'UNSUPPORTED',
      `the entry function is in a "${st.module.type}" module, which kpusim does not run`,
      {},
      'prepare',
    );
  }
  return { outputs: outBlocks.map((b) => b.bytes) };
}

/** The event of one K210 op (a run emits it after the op; prepare builds the same from the decoded op). */
export function k210OpEvent(op: K210Op, prepared: PreparedKpuConv | undefined): Omit<LayerEvent, 'index' | 'type'> {
  let event: Omit<LayerEvent, 'index' | 'type'>;
  if (op.name === 'kpu_conv2d') {
    const p = prepared!;
    const g = p.geometry;
    const transfers: TransferEvent[] = op.mainMemOutput.size
      ? [{ kind: 'download-cpu', bytes: p.denseOutputBytes }]
      : [];
    event = {
      unit: 'KPU',
      inputShapes: [[op.batches, g.inChannels, g.inHeight, g.inWidth]],
      outputShapes: [[op.batches, g.outChannels, g.outHeight, g.outWidth]],
      bytesIn: op.batches * g.inChannels * g.inHeight * g.inWidth,
      bytesOut: p.denseOutputBytes,
      macs: p.macs,
      elements: p.denseOutputBytes,
      kpu: {
        geometry: g,
        weightBits: p.weightBits,
        batches: p.batches,
        weightBytes: p.weightBytes,
        input: { address: p.input.address, bytes: p.input.bytes },
        output: { address: p.output.address, bytes: p.output.bytes },
      },
      transfers,
    };
  } else {
    const shape = [...op.inShape];
    const bytes = elementCount(shape) * (op.name === 'copy' ? elemSize(op.input.datatype) : 1);
    const transfers: TransferEvent[] =
      op.name === 'kpu_upload'
        ? [
            {
              kind: op.inShape[3] % 64 === 0 ? 'upload-dma' : 'upload-cpu',
              bytes,
              aiSram: {
                address: op.output.start,
                bytes: op.inShape[0] * kpuBytes(op.inShape[3], op.inShape[2], op.inShape[1]),
              },
            },
          ]
        : op.name === 'kpu_download'
          ? [{ kind: 'download-cpu', bytes }]
          : [];
    event = {
      unit: 'CPU',
      inputShapes: [shape],
      outputShapes: [shape],
      bytesIn: bytes,
      bytesOut: bytes,
      macs: 0,
      elements: elementCount(shape),
      transfers,
    };
  }
  return event;
}
