/**
 * kmodel v3 reader (nncase 0.1.x). Layout (kpu-numerics §2, corrected by §10):
 *   28-byte header · output_count × {address, size} · layers_length × {type, body_size} · bodies.
 * Body i starts at 28 + 8·output_count + 8·layers_length + Σ_{j<i} body_size_j and is parsed by a
 * reader limited to that body ("seek, don't drift"). Every count is checked against the file
 * length before anything is allocated from it, and every failure is a KmodelError.
 */
import { KmodelError } from '../../errors.js';
import type { BinaryReader } from '../binary-reader.js';
import type { TensorDesc } from '../model.js';
import { elementCount, KPU_RAM_LINES, tensor, type BodyContext, type BodyResult } from './body.js';
import type { V3BodyReader } from '../../ops/v3/def.js';
import { v3LayerType } from '../../ops/v3/index.js';
import type { KmodelV3, KmodelV3Header, KmodelV3Input, KmodelV3Output, V3Layer, V3LayerTypeName } from './types.js';

export type * from './types.js';
export { V3_LAYER_TYPES } from '../../ops/v3/index.js';

const HEADER_BYTES = 28;
/** Bodies are padded to 8-byte file positions; the last body's padding may be missing (kpu-numerics §10 C3). */
const MAX_MISSING_PADDING = 7;

const fail = (code: KmodelError['code'], offset: number, detail: string): never => {
  throw new KmodelError(code, offset, detail);
};

interface LayerHeader {
  readonly name: V3LayerTypeName;
  readonly read: V3BodyReader;
  readonly code: number;
  readonly offset: number;
  readonly bodySize: number;
}

function readHeader(r: BinaryReader): KmodelV3Header {
  const base = r.start;
  r.seek(base);
  r.need(HEADER_BYTES, 'the 28-byte kmodel v3 header');
  const version = r.u32('version');
  if (version !== 3) fail('UNSUPPORTED_VERSION', base, `version = ${version}; a kmodel v3 starts with 3`);
  const flags = r.u32('flags');
  if (flags > 1)
    fail('BAD_VALUE', base + 4, `header flags = 0x${flags.toString(16)}; only bit0 (8-bit weights) is defined`);
  const arch = r.u32('arch');
  if (arch !== 0) fail('BAD_VALUE', base + 8, `arch = ${arch}; the SDK accepts only 0`);
  const layers_length = r.u32('layers_length');
  const max_start_address = r.u32('max_start_address');
  if (max_start_address > KPU_RAM_LINES) {
    fail(
      'BAD_VALUE',
      base + 16,
      `max_start_address = ${max_start_address} lines is past the end of the 2 MiB AI SRAM (${KPU_RAM_LINES} lines)`,
    );
  }
  const main_mem_usage = r.u32('main_mem_usage');
  const output_count = r.u32('output_count');
  return Object.freeze({ flags, arch, layers_length, max_start_address, main_mem_usage, output_count });
}

function readOutputs(r: BinaryReader, h: KmodelV3Header): { address: number; size: number }[] {
  const countAt = r.start + 24;
  if (h.output_count === 0) fail('BAD_COUNT', countAt, 'output_count = 0; a model needs at least one output');
  r.checkCount(h.output_count, 8, 'output_count', countAt);
  const outs: { address: number; size: number }[] = [];
  for (let i = 0; i < h.output_count; i++) {
    const at = r.position;
    const address = r.u32(`output ${i} address`);
    const size = r.u32(`output ${i} size`);
    if (address + size > h.main_mem_usage) {
      fail(
        'BAD_VALUE',
        at,
        `output ${i} [${address}, ${address + size}) lies outside the main buffer of ${h.main_mem_usage} bytes (main_mem_usage)`,
      );
    }
    outs.push({ address, size });
  }
  return outs;
}

/** Reads the layer headers, resolves every type and places every body, before parsing any body. */
function readLayerHeaders(r: BinaryReader, h: KmodelV3Header): { headers: LayerHeader[]; trailingBytes: number } {
  const countAt = r.start + 12;
  if (h.layers_length === 0) fail('BAD_COUNT', countAt, 'layers_length = 0; a model needs at least one layer');
  r.checkCount(h.layers_length, 8, 'layers_length', countAt);
  const raw: { code: number; bodySize: number; at: number }[] = [];
  for (let i = 0; i < h.layers_length; i++) {
    const at = r.position;
    raw.push({ code: r.u32(`layer ${i} type`), bodySize: r.u32(`layer ${i} body_size`), at });
  }
  const fileEnd = r.end;
  let offset = r.position;
  const headers: LayerHeader[] = [];
  raw.forEach(({ code, bodySize, at }, i) => {
    const row = v3LayerType(code);
    if (!row) {
      return fail(
        'UNKNOWN_OPCODE',
        at,
        `layer ${i} has unknown type ${code} (0x${code.toString(16)}); kmodel v3 types are 0..25, 1000..1003 and 10240..10243`,
      );
    }
    if (!row.parse) {
      return fail(
        'UNKNOWN_OPCODE',
        at,
        `layer ${i} has type ${code} (${row.name}), a known v3 type whose body layout is undefined: ${row.note}`,
      );
    }
    const end = offset + bodySize;
    const last = i === raw.length - 1;
    if (!last && end > fileEnd) {
      fail(
        'TRUNCATED',
        at + 4,
        `layer ${i} (${row.name}) body [${offset}, ${end}) ends past the end of the file (${fileEnd} bytes)`,
      );
    }
    if (last && (offset > fileEnd || end - fileEnd > MAX_MISSING_PADDING)) {
      fail(
        'TRUNCATED',
        at + 4,
        `the last body, layer ${i} (${row.name}) [${offset}, ${end}), ends ${end - fileEnd} bytes past the end of the file (${fileEnd} bytes); only its alignment padding (< 8 bytes) may be missing`,
      );
    }
    headers.push({ name: row.name, read: row.parse, code, offset, bodySize });
    offset = end;
  });
  return { headers, trailingBytes: fileEnd - offset };
}

/**
 * Shapes of CPU layers that only know an element count (quantize, softmax, …) are taken from
 * the layer that last wrote their input address, when the element counts agree. The result
 * is what `outputs` report (e.g. a DEQUANTIZE after a conv of OC×OH×OW gives [1, OC, OH, OW]).
 */
function propagateShapes(results: BodyResult[]): { inputs: TensorDesc[]; outputs: TensorDesc[] }[] {
  const writers = new Map<number, TensorDesc>();
  return results.map((res) => {
    const inputs = [...res.inputs];
    const outputs = [...res.outputs];
    if (res.follow && res.mainIn.length > 0) {
      const src = writers.get(res.mainIn[0].address);
      if (src && elementCount(src) === elementCount(inputs[0])) {
        for (let k = 0; k < inputs.length; k++) inputs[k] = tensor(src.shape, inputs[k].dtype);
        if (res.follow === 'elementwise' && elementCount(outputs[0]) === elementCount(src))
          outputs[0] = tensor(src.shape, outputs[0].dtype);
      }
    }
    if (res.mainOut) writers.set(res.mainOut.address, res.follow === 'elementwise' ? outputs[0] : res.mainOut.desc);
    return { inputs, outputs };
  });
}

function modelOutputs(
  outs: { address: number; size: number }[],
  results: BodyResult[],
  shaped: { outputs: TensorDesc[] }[],
): KmodelV3Output[] {
  const last = new Map<number, TensorDesc>();
  results.forEach((res, i) => {
    if (res.mainOut)
      last.set(res.mainOut.address, res.follow === 'elementwise' ? shaped[i].outputs[0] : res.mainOut.desc);
  });
  return outs.map(({ address, size }) => {
    const w = last.get(address);
    // The 0.1 generator sizes outputs as element_count·4 (float32 after a final dequantize).
    const t = w && w.bytes === size ? w : size % 4 === 0 ? tensor([size / 4], 'float32') : tensor([size], 'uint8');
    return Object.freeze({ shape: t.shape, dtype: t.dtype, bytes: size, address, size });
  });
}

/** The SDK feeds the input to a first K210_CONV (AI SRAM) or FULLY_CONNECTED (main buffer) only. */
function modelInput(first: V3Layer, headerAt: number): KmodelV3Input {
  const t = first.inputs[0];
  if (first.type === 'K210_CONV') {
    return Object.freeze({
      shape: t.shape,
      dtype: t.dtype,
      bytes: t.bytes,
      memory: 'kpu' as const,
      address: first.kpu.arg.image_src_addr * 64,
    });
  }
  if (first.type === 'FULLY_CONNECTED') {
    return Object.freeze({
      shape: t.shape,
      dtype: t.dtype,
      bytes: t.bytes,
      memory: 'main' as const,
      address: first.main_mem_in_address,
    });
  }
  return fail(
    'BAD_VALUE',
    headerAt,
    `the first layer is ${first.type}; the SDK runtime can feed the model input only to a first K210_CONV or FULLY_CONNECTED layer`,
  );
}

export function parseV3(r: BinaryReader): KmodelV3 {
  const header = readHeader(r);
  const weightBits: 8 | 16 = header.flags & 1 ? 8 : 16;
  const outs = readOutputs(r, header);
  const firstHeaderAt = r.position;
  const { headers, trailingBytes } = readLayerHeaders(r, header);

  const parsed = headers.map((lh, index) => {
    const ctx: BodyContext = {
      index,
      name: lh.name,
      weightBits,
      mainMemBytes: header.main_mem_usage,
      base: r.start,
    };
    const size = Math.min(lh.bodySize, r.end - lh.offset);
    return lh.read(r.slice(lh.offset, size, `layer ${index} (${lh.name}) body`), ctx);
  });
  const results = parsed.map((p) => p.result);
  const shaped = propagateShapes(results);

  const layers: readonly V3Layer[] = Object.freeze(
    headers.map((lh, index) =>
      Object.freeze(
        parsed[index].layer(
          { index, code: lh.code, offset: lh.offset, bodySize: lh.bodySize },
          Object.freeze(shaped[index].inputs),
          Object.freeze(shaped[index].outputs),
        ),
      ),
    ),
  );

  return Object.freeze({
    version: 3 as const,
    generation: 'nncase 0.1' as const,
    header,
    weightBits,
    mainMemBytes: header.main_mem_usage,
    inputs: Object.freeze([modelInput(layers[0], firstHeaderAt)]),
    outputs: Object.freeze(modelOutputs(outs, results, shaped)),
    layers,
    trailingBytes,
  });
}
