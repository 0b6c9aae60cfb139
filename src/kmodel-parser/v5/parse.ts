/**
 * kmodel v5 (nncase 1.x) reader: the container of `include/nncase/runtime/model.h`, the K210
 * module's op records and the stackvm module's bytecode. Every module, function and section
 * is read through a reader limited to its own bytes; every count is checked against the
 * bytes left before anything is allocated. kpu-numerics §4.
 */
import { BinaryReader } from '../binary-reader.js';
import { KmodelError } from '../../errors.js';
import { DTYPE_BYTES, kpuConvGeometry, type TensorDesc } from '../model.js';
import { parseK210Text } from './k210-ops.js';
import { boundedTensorBytes, locationLimit, MAIN_SRAM } from './limits.js';
import { readMemoryRange } from './memory-range.js';
import { chooseNumbering, type StackvmFunctionText, type StaticTensor, type TensorOpShapes } from './stackvm/decode.js';
import type { StackvmInstruction } from './stackvm/isa.js';
import {
  MEM_DATA,
  MEM_INPUT,
  MEM_OUTPUT,
  V5_DATATYPES,
  type FunctionTensorV5,
  type FunctionV5,
  type K210Op,
  type KmodelV5,
  type LayerV5,
  type MemoryRangeV5,
  type MempoolDescV5,
  type ModelHeaderV5,
  type ModuleV5,
  type SectionV5,
  type SharedMempoolDescV5,
} from './types.js';

/** The C multi-character constant 'KMDL' (0x4B4D444C), stored little-endian: file bytes "LDMK". */
export const MODEL_IDENTIFIER_V5 = 0x4b4d444c;
const MODEL_HEADER_SIZE = 32;
const MODULE_HEADER_SIZE = 48;
const FUNCTION_HEADER_SIZE = 32;
const SECTION_HEADER_SIZE = 32;
const SECTION_MERGED_INTO_RDATA = 1;
/** Largest tensor rank accepted in a function's shape table (nncase uses ≤ 8). */
const MAX_RANK = 16;

export interface ParseV5Options {
  /** Force a stackvm numbering (id or alias from stackvm/isa.ts NUMBERINGS), as `--nncase-version` does. */
  readonly stackvmNumbering?: string;
}

function readShape(r: BinaryReader, what: string): number[] {
  const at = r.position;
  const rank = r.u32(`${what} rank`);
  if (rank > MAX_RANK) r.fail('BAD_VALUE', `${what} has rank ${rank} (at most ${MAX_RANK} accepted)`, at);
  r.checkCount(rank, 4, `${what} rank`, at);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(r.u32(`${what} dim ${i}`));
  return dims;
}

/**
 * A function's input or output: its range must lie in its pool, and its shape (every dim a
 * u32 from the file) must fit that range and the chip's memory.
 */
function checkTensor(
  f: BinaryReader,
  what: string,
  range: MemoryRangeV5,
  shape: readonly number[],
  shapeOffset: number,
  pool: { pool: number; poolName: string },
): void {
  const limit = locationLimit(range.location);
  if (range.start > limit.bytes || range.size > limit.bytes - range.start)
    f.fail(
      'BAD_VALUE',
      `${what}: memory range [${range.start}, ${range.start + range.size}) is beyond ${limit.memory}`,
      range.fileOffset,
    );
  if ((range.location === MEM_INPUT || range.location === MEM_OUTPUT) && range.start + range.size > pool.pool)
    f.fail(
      'BAD_VALUE',
      `${what}: memory range [${range.start}, ${range.start + range.size}) lies outside the function's ${pool.poolName} of ${pool.pool} bytes`,
      range.fileOffset,
    );
  const elem = range.dtype ? DTYPE_BYTES[range.dtype] : 1;
  const bytes = boundedTensorBytes(shape, elem, limit.bytes);
  if (bytes === null)
    f.fail(
      'BAD_VALUE',
      `${what}: shape [${shape.join(', ')}] of ${elem}-byte elements is more than ${limit.memory}`,
      shapeOffset,
    );
  if (bytes > range.size)
    f.fail(
      'BAD_VALUE',
      `${what}: shape [${shape.join(', ')}] needs ${bytes} bytes but its memory range holds ${range.size}`,
      shapeOffset,
    );
}

interface RawFunction {
  readonly index: number;
  readonly offset: number;
  readonly size: number;
  readonly headerSize: number;
  readonly inputPoolSize: number;
  readonly outputPoolSize: number;
  readonly inputs: FunctionTensorV5[];
  readonly outputs: FunctionTensorV5[];
  readonly entrypoint: number;
  readonly textSize: number;
}

function readFunction(m: BinaryReader, index: number): RawFunction {
  const offset = m.position;
  m.need(FUNCTION_HEADER_SIZE, `function ${index} header`);
  const headerSize = m.u32('function header_size');
  const size = m.u32('function size');
  if (headerSize < FUNCTION_HEADER_SIZE || size < headerSize) {
    m.fail(
      'BAD_CONTAINER',
      `function ${index}: header_size ${headerSize} and size ${size} are inconsistent (header is ${FUNCTION_HEADER_SIZE} bytes)`,
      offset,
    );
  }
  const f = m.slice(offset, size, `function ${index}`);
  f.seek(offset + 8);
  const inputPoolSize = f.u32('input_pool_size');
  const outputPoolSize = f.u32('output_pool_size');
  for (const [size, what, at] of [
    [inputPoolSize, 'input_pool_size', offset + 8],
    [outputPoolSize, 'output_pool_size', offset + 12],
  ] as const) {
    if (size > MAIN_SRAM.bytes)
      f.fail('BAD_VALUE', `function ${index}: ${what} ${size} is more than ${MAIN_SRAM.memory}`, at);
  }
  const nIn = f.u32('inputs');
  const nOut = f.u32('outputs');
  const entrypoint = f.u32('entrypoint');
  const textSize = f.u32('text_size');
  f.seek(offset + headerSize);
  // Each tensor needs a 12-byte range and at least a 4-byte rank.
  f.checkCount(nIn + nOut, 16, `function ${index} inputs + outputs`, offset + 16);
  const tensors = (n: number, kind: 'input' | 'output', pool: number): FunctionTensorV5[] => {
    const ranges = Array.from({ length: n }, () => readMemoryRange(f));
    return ranges.map((range, i) => {
      const what = `function ${index} ${kind} ${i}`;
      const at = f.position;
      const shape = Object.freeze(readShape(f, `${what} shape`));
      checkTensor(f, what, range, shape, at, { pool, poolName: `${kind}_pool_size` });
      return { range, shape };
    });
  };
  const inputs = tensors(nIn, 'input', inputPoolSize);
  const outputs = tensors(nOut, 'output', outputPoolSize);
  m.seek(offset + size);
  return { index, offset, size, headerSize, inputPoolSize, outputPoolSize, inputs, outputs, entrypoint, textSize };
}

function readSection(m: BinaryReader): {
  header: Omit<SectionV5, 'body' | 'bodyOffset'>;
  ownBody?: { offset: number; size: number };
} {
  const headerOffset = m.position;
  m.need(SECTION_HEADER_SIZE, 'section header');
  const name = m.fixedString(16, 'section name');
  const flags = m.u32('section flags');
  const bodyStart = m.u32('section body_start');
  const bodySize = m.u32('section body_size');
  m.u32('section reserved0');
  const mergedIntoRdata = (flags & SECTION_MERGED_INTO_RDATA) !== 0;
  const header = { name, flags, bodyStart, bodySize, mergedIntoRdata, headerOffset };
  if (mergedIntoRdata) return { header };
  const bodyOffset = m.position + bodyStart;
  if (bodyStart > m.remaining || bodySize > m.remaining - bodyStart) {
    m.fail(
      'TRUNCATED',
      `section "${name}": body_start ${bodyStart} + body_size ${bodySize} runs past the module end (${m.remaining} bytes left)`,
      headerOffset,
    );
  }
  m.seek(bodyOffset + bodySize);
  return { header, ownBody: { offset: bodyOffset, size: bodySize } };
}

function parseModule(r: BinaryReader, index: number): { module: Omit<ModuleV5, 'stackvm'>; raw: RawFunction[] } {
  const offset = r.position;
  r.need(MODULE_HEADER_SIZE, `module ${index} header`);
  const type = r.fixedString(16, 'module type');
  const version = r.u32('module version');
  const headerSize = r.u32('module header_size');
  const size = r.u32('module size');
  if (headerSize < MODULE_HEADER_SIZE || size < headerSize) {
    r.fail(
      'BAD_CONTAINER',
      `module ${index} ("${type}"): header_size ${headerSize} and size ${size} are inconsistent`,
      offset,
    );
  }
  if (size > r.end - offset)
    r.fail(
      'TRUNCATED',
      `module ${index} ("${type}") claims ${size} bytes but only ${r.end - offset} remain in the file`,
      offset,
    );
  const m = r.slice(offset, size, `module ${index} ("${type}")`);
  m.seek(offset + 28);
  const nPools = m.u32('mempools');
  const nShared = m.u32('shared_mempools');
  const nSections = m.u32('sections');
  const nFunctions = m.u32('functions');
  m.seek(offset + headerSize);
  m.checkCount(nPools, 8, `module ${index} mempools`, offset + 28);
  const mempools: MempoolDescV5[] = [];
  for (let i = 0; i < nPools; i++) {
    const location = m.u8('mempool location');
    m.skip(3);
    const at = m.position;
    const size = m.u32('mempool size');
    const limit = locationLimit(location);
    if (size > limit.bytes)
      m.fail(
        'BAD_VALUE',
        `module ${index} mempool ${i} (location ${location}) is ${size} bytes, more than ${limit.memory}`,
        at,
      );
    mempools.push(Object.freeze({ location, size }));
  }
  m.checkCount(nShared, 8, `module ${index} shared_mempools`, offset + 32);
  const sharedMempools: SharedMempoolDescV5[] = [];
  for (let i = 0; i < nShared; i++) {
    const module = m.u32('shared mempool module');
    const at = m.position;
    const size = m.u32('shared mempool size');
    if (size > MAIN_SRAM.bytes)
      m.fail('BAD_VALUE', `module ${index} shared mempool ${i} is ${size} bytes, more than ${MAIN_SRAM.memory}`, at);
    sharedMempools.push(Object.freeze({ module, size }));
  }
  m.checkCount(nFunctions, FUNCTION_HEADER_SIZE, `module ${index} functions`, offset + 40);
  const raw: RawFunction[] = [];
  for (let i = 0; i < nFunctions; i++) raw.push(readFunction(m, i));
  m.checkCount(nSections, SECTION_HEADER_SIZE, `module ${index} sections`, offset + 36);
  const secs = [];
  for (let i = 0; i < nSections; i++) secs.push(readSection(m));
  // Bodies: own bodies are views of the file; merged ones are sub-ranges of this module's .rdata.
  const rdataSec = secs.find((s) => s.header.name === '.rdata' && s.ownBody);
  const rdataBody = rdataSec?.ownBody
    ? r.bytes.subarray(rdataSec.ownBody.offset, rdataSec.ownBody.offset + rdataSec.ownBody.size)
    : new Uint8Array(0);
  const rdataOffset = rdataSec?.ownBody?.offset ?? 0;
  const sections: SectionV5[] = secs.map(({ header, ownBody }) => {
    if (ownBody)
      return Object.freeze({
        ...header,
        body: r.bytes.subarray(ownBody.offset, ownBody.offset + ownBody.size),
        bodyOffset: ownBody.offset,
      });
    if (!rdataSec)
      m.fail(
        'BAD_CONTAINER',
        `section "${header.name}" is merged into .rdata but the module has no .rdata body`,
        header.headerOffset,
      );
    if (header.bodyStart + header.bodySize > rdataBody.length) {
      m.fail(
        'BAD_OFFSET',
        `section "${header.name}" [${header.bodyStart}, ${header.bodyStart + header.bodySize}) lies outside .rdata (${rdataBody.length} bytes)`,
        header.headerOffset,
      );
    }
    return Object.freeze({
      ...header,
      body: rdataBody.subarray(header.bodyStart, header.bodyStart + header.bodySize),
      bodyOffset: rdataOffset + header.bodyStart,
    });
  });
  const textSec = sections.find((s) => s.name === '.text');
  const textSection = textSec?.body ?? new Uint8Array(0);
  const textOffset = textSec?.bodyOffset ?? 0;
  const functions: FunctionV5[] = raw.map((f) => {
    if (f.entrypoint > textSection.length || f.textSize > textSection.length - f.entrypoint) {
      m.fail(
        'BAD_OFFSET',
        `function ${f.index}: code [${f.entrypoint}, ${f.entrypoint + f.textSize}) lies outside .text (${textSection.length} bytes)`,
        f.offset + 24,
      );
    }
    return Object.freeze({
      ...f,
      inputs: Object.freeze(f.inputs.map((t) => Object.freeze(t))),
      outputs: Object.freeze(f.outputs.map((t) => Object.freeze(t))),
      text: textSection.subarray(f.entrypoint, f.entrypoint + f.textSize),
      textOffset: textOffset + f.entrypoint,
    });
  });
  let k210: ModuleV5['k210'];
  if (type === 'k210') {
    k210 = Object.freeze({
      functions: Object.freeze(
        functions.map((f) =>
          Object.freeze(
            parseK210Text(r.slice(f.textOffset, f.textSize, `k210 function ${f.index} text`), rdataBody, rdataOffset),
          ),
        ),
      ),
    });
  }
  r.seek(offset + size);
  const module = {
    index,
    type,
    version,
    headerSize,
    size,
    offset,
    mempools: Object.freeze(mempools),
    sharedMempools: Object.freeze(sharedMempools),
    sections: Object.freeze(sections),
    functions: Object.freeze(functions),
    dataPoolSize: mempools.find((p) => p.location === MEM_DATA)?.size ?? 0,
    rdata: rdataBody,
    rdataOffset,
    textSection,
    k210,
  };
  return { module, raw };
}

function tensorDesc(t: FunctionTensorV5, what: string): TensorDesc {
  if (!t.range.dtype)
    throw new KmodelError('BAD_VALUE', t.range.fileOffset, `${what} has unknown datatype code ${t.range.datatype}`);
  const elems = t.shape.reduce((a, b) => a * b, 1);
  return Object.freeze({ shape: t.shape, dtype: t.range.dtype, bytes: elems * DTYPE_BYTES[t.range.dtype] });
}

function k210Layer(op: K210Op, module: number, fn: number, opIndex: number): Omit<LayerV5, 'index'> {
  const base = {
    type: `k210:${op.name}`,
    code: op.opcode,
    offset: op.offset,
    bodySize: op.size,
    module,
    function: fn,
    opIndex,
    k210Op: op,
  };
  if (op.name === 'kpu_conv2d') {
    const g = kpuConvGeometry(op.kpu.arg);
    const d = (c: number, h: number, w: number): TensorDesc => ({
      shape: [op.batches, c, h, w],
      dtype: 'uint8',
      bytes: op.batches * c * h * w,
    });
    return {
      ...base,
      unit: 'KPU',
      kpu: op.kpu,
      inputs: [d(g.inChannels, g.inHeight, g.inWidth)],
      outputs: [d(g.outChannels, g.outHeight, g.outWidth)],
    };
  }
  const [n, c, h, w] = op.inShape;
  const desc: TensorDesc = {
    shape: [...op.inShape],
    dtype: op.input.dtype ?? 'uint8',
    bytes: n * c * h * w * DTYPE_BYTES[op.input.dtype ?? 'uint8'],
  };
  return { ...base, unit: 'CPU', inputs: [desc], outputs: [desc] };
}

function staticDesc(t: StaticTensor): TensorDesc | undefined {
  const dtype = V5_DATATYPES[t.datatype];
  if (!dtype || !t.shape) return undefined;
  return Object.freeze({
    shape: Object.freeze([...t.shape]),
    dtype,
    bytes: t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype],
  });
}

function stackvmLayer(
  ins: StackvmInstruction,
  module: number,
  fn: number,
  opIndex: number,
  shapes?: TensorOpShapes,
): Omit<LayerV5, 'index'> {
  const descs = (ts: readonly StaticTensor[]): TensorDesc[] | undefined => {
    const d = ts.map(staticDesc);
    return d.every((x) => x !== undefined) ? (d as TensorDesc[]) : undefined;
  };
  const inputs = shapes && descs(shapes.inputs);
  const outputs = shapes && descs(shapes.outputs);
  // A CPU convolution counts output elements × input channels: the instruction does not carry the filter size.
  const conv = ins.tensorName === 'CONV2D' || ins.tensorName === 'CONV2D_TRANSPOSE';
  const macs =
    conv && inputs?.[0] && outputs?.[0] ? outputs[0].shape.reduce((a, d) => a * d, 1) * (inputs[0].shape[1] ?? 1) : 0;
  return {
    type: `stackvm:${ins.tensorName}`,
    macs,
    code: ins.funct ?? 0,
    offset: ins.fileOffset,
    bodySize: ins.size,
    unit: 'CPU',
    module,
    function: fn,
    opIndex,
    instruction: ins,
    ...(inputs ? { inputs } : {}),
    ...(outputs ? { outputs } : {}),
  };
}

/**
 * Orders the layers as a run would meet them: walk the entry function; a `stackvm:CALL`
 * first expands the ops of the function it calls (each function at most once), then the
 * CALL itself. Functions never reached follow in module and function order.
 */
function orderLayers(
  modules: readonly ModuleV5[],
  entry: { module: number; fn: number },
  shapes?: ReadonlyMap<StackvmInstruction, TensorOpShapes>,
): LayerV5[] {
  const out: Omit<LayerV5, 'index'>[] = [];
  const done = new Set<string>();
  const emit = (mi: number, fi: number): void => {
    const key = `${mi}/${fi}`;
    if (done.has(key)) return;
    done.add(key);
    const m = modules[mi];
    if (m.k210) m.k210.functions[fi].forEach((op, i) => out.push(k210Layer(op, mi, fi, i)));
    if (m.stackvm) {
      let ti = 0;
      for (const ins of m.stackvm.functions[fi]) {
        if (ins.name !== 'TENSOR') continue;
        if (ins.tensorName === 'CALL') {
          const cm = modules[ins.args.module_id];
          if (cm && ins.args.function_id < cm.functions.length) emit(ins.args.module_id, ins.args.function_id);
        }
        out.push(stackvmLayer(ins, mi, fi, ti++, shapes?.get(ins)));
      }
    }
  };
  emit(entry.module, entry.fn);
  modules.forEach((m, mi) => m.functions.forEach((_, fi) => emit(mi, fi)));
  return out.map((l, index) => Object.freeze({ ...l, index }));
}

/** Parses a kmodel v5 file. `r` spans the whole file; the header is read at `r.start`. */
export function parseV5(r: BinaryReader, opts: ParseV5Options = {}): KmodelV5 {
  r.seek(r.start);
  r.need(MODEL_HEADER_SIZE, 'kmodel v5 header');
  const identifier = r.u32('identifier');
  if (identifier !== MODEL_IDENTIFIER_V5)
    r.fail('BAD_MAGIC', `expected the kmodel identifier "KMDL", found 0x${identifier.toString(16)}`, r.start);
  const version = r.u32('version');
  if (version !== 5)
    r.fail('UNSUPPORTED_VERSION', `kmodel version ${version}; this reader handles version 5`, r.start + 4);
  const headerSize = r.u32('header_size');
  const flags = r.u32('flags');
  const alignment = r.u32('alignment');
  const nModules = r.u32('modules');
  const entryModule = r.u32('entry_module');
  const entryFunction = r.u32('entry_function');
  if (headerSize < MODEL_HEADER_SIZE || headerSize > r.length)
    r.fail('BAD_CONTAINER', `header_size ${headerSize} (expected ${MODEL_HEADER_SIZE})`, r.start + 8);
  r.seek(r.start + headerSize);
  r.checkCount(nModules, MODULE_HEADER_SIZE, 'modules', r.start + 20);
  if (entryModule >= nModules)
    r.fail('BAD_VALUE', `entry_module ${entryModule} but the model has ${nModules} modules`, r.start + 24);
  const header: ModelHeaderV5 = Object.freeze({
    identifier,
    version: 5,
    headerSize,
    flags,
    alignment,
    modules: nModules,
    entryModule,
    entryFunction,
  });

  const parsed = [];
  let dataPools = 0;
  for (let i = 0; i < nModules; i++) {
    const p = parseModule(r, i);
    dataPools += p.module.dataPoolSize;
    if (dataPools > MAIN_SRAM.bytes)
      r.fail(
        'BAD_VALUE',
        `the data pools of modules 0..${i} need ${dataPools} bytes, more than ${MAIN_SRAM.memory}`,
        p.module.offset,
      );
    parsed.push(p);
  }
  const modules0 = parsed.map((p) => p.module);
  const entryMod = modules0[entryModule];
  if (entryFunction >= entryMod.functions.length) {
    r.fail(
      'BAD_VALUE',
      `entry_function ${entryFunction} but module ${entryModule} has ${entryMod.functions.length} functions`,
      r.start + 28,
    );
  }

  // Stackvm bytecode: decoded under the numbering chosen for the whole file.
  const texts: StackvmFunctionText[] = [];
  modules0.forEach((m, mi) => {
    if (m.type === 'stackvm')
      m.functions.forEach((f, fi) => texts.push({ module: mi, function: fi, text: f.text, textOffset: f.textOffset }));
  });
  const ctx = {
    modules: modules0.map((m) => ({
      type: m.type,
      functions: m.functions.map((f) => ({
        inputs: f.inputs.length,
        outputs: f.outputs.length,
        tensors: {
          inputs: f.inputs.map((t) => ({ datatype: t.range.datatype, shape: t.shape })),
          outputs: f.outputs.map((t) => ({ datatype: t.range.datatype, shape: t.shape })),
        },
      })),
    })),
  };
  const decoded =
    texts.length > 0 || modules0.some((m) => m.type === 'stackvm')
      ? chooseNumbering(
          texts,
          (mi) => ({ ...ctx, dataPoolSize: modules0[mi].dataPoolSize, rdataSize: modules0[mi].rdata.length }),
          opts.stackvmNumbering,
        )
      : undefined;
  const modules: ModuleV5[] = modules0.map((m, mi) => {
    if (m.type !== 'stackvm' || !decoded) return Object.freeze(m);
    const fns = m.functions.map((_, fi) =>
      Object.freeze(decoded.functions[texts.findIndex((t) => t.module === mi && t.function === fi)]),
    );
    return Object.freeze({ ...m, stackvm: Object.freeze({ functions: Object.freeze(fns) }) });
  });

  const entry = modules[entryModule].functions[entryFunction];
  return Object.freeze({
    version: 5,
    generation: 'nncase 1.x',
    header,
    modules: Object.freeze(modules),
    inputs: Object.freeze(entry.inputs.map((t, i) => tensorDesc(t, `entry input ${i}`))),
    outputs: Object.freeze(entry.outputs.map((t, i) => tensorDesc(t, `entry output ${i}`))),
    mainMemBytes: modules.reduce((s, m) => s + m.dataPoolSize, 0),
    layers: Object.freeze(orderLayers(modules, { module: entryModule, fn: entryFunction }, decoded?.shapes)),
    stackvmNumbering: decoded?.choice,
  });
}
