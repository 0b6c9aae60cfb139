/**
 * kmodel v4 (nncase 0.2.x) reader (kpu-numerics §3, corrected by §10).
 *
 * Layout: 40-byte header · inputs × memory_range · inputs × NCHW shape · outputs × memory_range ·
 * constant blob · nodes × {opcode, body_size} · bodies back to back. Body offsets come from the
 * header sizes and every body is parsed by a reader limited to it ("seek, don't drift").
 */
import type { BinaryReader } from '../binary-reader.js';
import type { TensorDesc } from '../model.js';
import { isNotApplicable } from '../../ops/not-applicable.js';
import type { IoItem, V4OpDef } from '../../ops/v4/def.js';
import { V4_OP_BY_CODE } from '../../ops/v4/index.js';
import { BodyContext, elements, kpuLayoutBytes, V4_DTYPE_BYTES, type MemorySizes } from './read.js';
import type { KmodelV4, MemoryRange, Shape4, V4Header, V4Node, V4OpName, V4Tensor } from './types.js';

/** 'KMDL' as the little-endian multi-char constant: bytes 4C 44 4D 4B ("LDMK"). */
export const V4_IDENTIFIER = 0x4b4d444c;
export const V4_HEADER_BYTES = 40;
/**
 * The last body may lack its trailing alignment padding (kpu-numerics §10 C3: 3 of 13 real files are 4 bytes
 * short). Padding is at most 7 bytes; allow up to 8 as the reference states.
 */
export const MAX_LAST_BODY_SHORTFALL = 8;

export function parseV4(r: BinaryReader): KmodelV4 {
  const base = r.start;
  r.seek(base);
  const header = readHeader(r);
  const mem: MemorySizes = { constants: header.constants, main_mem: header.main_mem };

  // Inputs: all ranges, then all shapes.
  r.checkCount(header.inputs, 32, 'inputs (16-byte memory_range + 16-byte shape each)', base + 28);
  const inRanges: { range: MemoryRange; at: number }[] = [];
  for (let i = 0; i < header.inputs; i++) {
    const at = r.position;
    inRanges.push({ range: new BodyContext(r, `input ${i}`, mem).range('memory_range'), at });
  }
  const inputs: V4Tensor[] = [];
  for (let i = 0; i < header.inputs; i++) {
    const c = new BodyContext(r, `input ${i}`, mem);
    const shape = c.shape('shape');
    inputs.push(inputTensor(c, inRanges[i].range, shape, inRanges[i].at));
  }

  r.checkCount(header.outputs, 16, 'outputs (16-byte memory_range each)', base + 32);
  const outRanges: MemoryRange[] = [];
  for (let i = 0; i < header.outputs; i++) outRanges.push(new BodyContext(r, `output ${i}`, mem).range('memory_range'));

  const constants = r.bytesView(header.constants, `the constant blob of ${header.constants} bytes`);

  const headersAt = r.position;
  r.checkCount(header.nodes, 8, 'nodes (8-byte node header each)', base + 24);
  const nodeHeaders: { opcode: number; body_size: number; at: number }[] = [];
  for (let i = 0; i < header.nodes; i++) {
    const at = r.position;
    nodeHeaders.push({ opcode: r.u32(`node ${i} opcode`), body_size: r.u32(`node ${i} body_size`), at });
  }
  const bodiesOffset = headersAt + 8 * header.nodes;

  // Shapes known per range, seeded with the inputs and updated by every node's writes.
  const known = new Map<string, readonly number[]>();
  for (const t of inputs) known.set(rangeKey(t.range), t.shape);
  const lookup = (range: MemoryRange): readonly number[] | undefined => known.get(rangeKey(range));

  const layers: V4Node[] = [];
  let offset = bodiesOffset;
  let lastBodyShortfall = 0;
  for (let i = 0; i < nodeHeaders.length; i++) {
    const { opcode, body_size, at } = nodeHeaders[i];
    const op = V4_OP_BY_CODE.get(opcode) as V4OpDef<V4OpName> | undefined;
    if (!op) {
      r.fail(
        'UNKNOWN_OPCODE',
        `node ${i}: opcode ${opcode} (0x${opcode.toString(16)}) is not a nncase 0.2 runtime opcode`,
        at,
      );
    }
    const who = `node ${i} (${op.name})`;
    const available = r.end - offset;
    let size = body_size;
    if (body_size > available) {
      const short = body_size - available;
      if (i !== nodeHeaders.length - 1 || short > MAX_LAST_BODY_SHORTFALL) {
        r.fail(
          'TRUNCATED',
          `${who}: body of ${body_size} bytes at ${offset} runs ${short} bytes past the end of the file (${r.end} bytes)`,
          at + 4,
        );
      }
      lastBodyShortfall = short;
      size = available;
    }
    const c = new BodyContext(r.slice(offset, size, `${who} body`), who, mem);
    const body = op.parse(c);
    const io = op.io(body, lookup);
    const ins = io.inputs.map((it, k) => tensorOf(c, it, `input ${k}`, offset));
    const outs = io.outputs.map((it, k) => tensorOf(c, it, `output ${k}`, offset));
    io.outputs.forEach((it, k) => {
      const key = rangeKey(it.range);
      if (outs[k].shapeKnown) known.set(key, outs[k].desc.shape);
      else known.delete(key);
    });
    const inDescs = ins.map((t) => t.desc);
    const outDescs = outs.map((t) => t.desc);
    const node = {
      index: i,
      type: op.name,
      code: opcode,
      traceName: op.traceName,
      offset,
      bodySize: body_size,
      unit: op.unit,
      body,
      inputRanges: io.inputs.map((it) => it.range),
      outputRanges: io.outputs.map((it) => it.range),
      inputs: inDescs,
      outputs: outDescs,
      macs: isNotApplicable(op.macs) ? 0 : op.macs(body, inDescs, outDescs),
      weightBytes: isNotApplicable(op.weightBytes) ? 0 : op.weightBytes(body),
      ...(op.name === 'kpu_conv2d' ? kpuExtras(body as V4Node['body'] & { kpu: unknown }) : {}),
    };
    layers.push(node as unknown as V4Node);
    offset += body_size;
  }

  const outputs: V4Tensor[] = outRanges.map((range) => {
    const shape = known.get(rangeKey(range));
    const elem = V4_DTYPE_BYTES[range.datatype];
    const fits =
      shape !== undefined &&
      (range.memory_type === 'kpu'
        ? shape.length === 4 && kpuLayoutBytes(shape as Shape4) === range.size
        : elements(shape) * elem === range.size);
    const s = fits ? shape : [range.size / elem];
    // A KPU-memory output is in the AI SRAM layout; `bytes` is its dense size when the shape is known.
    const bytes = fits && range.memory_type === 'kpu' ? elements(shape) * elem : range.size;
    return { shape: s, dtype: range.datatype, bytes, range };
  });

  const model: KmodelV4 = {
    version: 4,
    generation: 'nncase 0.2',
    header,
    target: header.target === 1 ? 'k210' : 'cpu',
    mainMemBytes: header.main_mem,
    constants,
    inputs,
    outputs,
    layers,
    bodiesOffset,
    lastBodyShortfall,
    trailingBytes: Math.max(0, r.end - offset),
  };
  return deepFreeze(model);
}

function readHeader(r: BinaryReader): V4Header {
  const base = r.position;
  r.need(V4_HEADER_BYTES, 'the 40-byte kmodel v4 header');
  const identifier = r.u32('identifier');
  if (identifier !== V4_IDENTIFIER) {
    r.fail(
      'BAD_MAGIC',
      `identifier 0x${identifier.toString(16).padStart(8, '0')} is not 'KMDL' (bytes 4C 44 4D 4B)`,
      base,
    );
  }
  const version = r.u32('version');
  if (version !== 4) r.fail('UNSUPPORTED_VERSION', `version ${version}; the v4 reader reads version 4 only`, base + 4);
  const flags = r.u32('flags');
  const target = r.u32('target');
  if (target > 1) r.fail('BAD_VALUE', `target ${target} is not 0 (CPU) or 1 (K210)`, base + 12);
  return {
    identifier,
    version: 4,
    flags,
    target,
    constants: r.u32('constants'),
    main_mem: r.u32('main_mem'),
    nodes: r.u32('nodes'),
    inputs: r.u32('inputs'),
    outputs: r.u32('outputs'),
    // Uninitialised in the generator (0, 0x10, 0xCCCCCCCC, …): kept, never checked (kpu-numerics §10 C14).
    reserved0: r.u32('reserved0'),
  };
}

function inputTensor(c: BodyContext, range: MemoryRange, shape: Shape4, at: number): V4Tensor {
  const elem = V4_DTYPE_BYTES[range.datatype];
  const dense = elements(shape) * elem;
  if (range.memory_type === 'const') c.fail('BAD_VALUE', 'memory_range: an input cannot live in the constant blob', at);
  if (range.memory_type === 'kpu') {
    // kpu-numerics §10 C7: a KPU-memory input is stored in the padded AI SRAM layout.
    if (range.datatype !== 'uint8')
      c.fail('BAD_VALUE', `memory_range: a KPU-memory input must be uint8, got ${range.datatype}`, at + 4);
    const layout = kpuLayoutBytes(shape);
    if (range.size !== layout) {
      c.fail(
        'BAD_VALUE',
        `memory_range: size ${range.size} of a KPU-memory input of shape [${shape.join(', ')}] should be its AI SRAM layout size ${layout}`,
        at + 12,
      );
    }
  } else if (range.size !== dense) {
    c.fail(
      'BAD_VALUE',
      `memory_range: size ${range.size} does not match shape [${shape.join(', ')}] of ${range.datatype} (${dense} bytes)`,
      at + 12,
    );
  }
  return { shape, dtype: range.datatype, bytes: dense, range };
}

function rangeKey(r: MemoryRange): string {
  return `${r.memory_type}:${r.start}:${r.size}`;
}

/**
 * A node's tensor. A shape stated by the body must agree with the range's size (dense size in
 * main/const memory, AI SRAM layout size in KPU memory); an inferred shape that does not is
 * dropped for a flat one.
 */
function tensorOf(c: BodyContext, it: IoItem, what: string, bodyAt: number): { desc: TensorDesc; shapeKnown: boolean } {
  const { range } = it;
  const elem = V4_DTYPE_BYTES[range.datatype];
  let shape = it.shape;
  if (shape) {
    const dense = elements(shape) * elem;
    const fits =
      range.memory_type === 'kpu'
        ? shape.length === 4 && range.size === kpuLayoutBytes(shape as Shape4)
        : range.size === dense;
    if (!fits) {
      if (it.stated) {
        const expected =
          range.memory_type === 'kpu' && shape.length === 4
            ? `${kpuLayoutBytes(shape as Shape4)} (AI SRAM layout)`
            : `${dense}`;
        c.fail(
          'BAD_VALUE',
          `${what}: ${range.memory_type} range of ${range.size} bytes does not hold shape [${shape.join(', ')}] of ${range.datatype}; expected ${expected} bytes`,
          bodyAt,
        );
      }
      shape = undefined;
    }
  }
  const quant = it.quant ? { quant: { scale: 1 / it.quant.scale, zeroPoint: it.quant.zero_point } } : {};
  if (shape)
    return { desc: { shape, dtype: range.datatype, bytes: elements(shape) * elem, ...quant }, shapeKnown: true };
  if (range.memory_type === 'kpu')
    return { desc: { shape: [], dtype: range.datatype, bytes: range.size, ...quant }, shapeKnown: false };
  return {
    desc: { shape: [range.size / elem], dtype: range.datatype, bytes: range.size, ...quant },
    shapeKnown: false,
  };
}

function kpuExtras(body: { kpu: unknown; batches?: unknown; main_mem_output?: unknown }): Record<string, unknown> {
  return { kpu: body.kpu, batches: body.batches, main_mem_output: body.main_mem_output };
}

/** Freezes plain objects and arrays recursively; typed arrays (views of the file) are left as they are. */
function deepFreeze<T>(o: T, seen = new Set<unknown>()): T {
  if (o === null || typeof o !== 'object' || ArrayBuffer.isView(o) || seen.has(o)) return o;
  seen.add(o);
  for (const v of Object.values(o as object)) deepFreeze(v, seen);
  return Object.freeze(o);
}
