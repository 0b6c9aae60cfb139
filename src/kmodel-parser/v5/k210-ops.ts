/**
 * The K210 module's op records (modules/k210 `runtime_types.h`), one table row per opcode.
 * A function's text is a packed sequence of fixed-size records, read unaligned until the
 * text ends; the first byte selects the record.
 */
import { BinaryReader } from '../binary-reader.js';
import {
  decodeActivationBytes,
  decodeBatchNormTable,
  decodeKpuLayerArgument,
  readWords,
} from '../kpu-layer-argument.js';
import type { KpuConvParams } from '../model.js';
import { boundedTensorBytes, MAIN_SRAM } from './limits.js';
import { readMemoryRange } from './memory-range.js';
import {
  MEM_RDATA,
  type K210Conv2dOp,
  type K210CopyOp,
  type K210DataExchangeOp,
  type K210Op,
  type K210OpName,
  type MemoryRangeV5,
} from './types.js';

/** Record sizes: 4-byte header (opcode + 3 reserved), then the fields. */
export const K210_OPS: readonly { readonly opcode: number; readonly name: K210OpName; readonly size: number }[] = [
  { opcode: 0, name: 'kpu_upload', size: 44 },
  { opcode: 1, name: 'kpu_download', size: 44 },
  { opcode: 2, name: 'kpu_conv2d', size: 152 },
  { opcode: 3, name: 'copy', size: 76 },
];

function shape4(r: BinaryReader, what: string): [number, number, number, number] {
  return [r.u32(`${what}[0]`), r.u32(`${what}[1]`), r.u32(`${what}[2]`), r.u32(`${what}[3]`)];
}

/** An op's NCHW shape (u32s from the file) must be a tensor main SRAM can hold: bytes ≥ elements. */
function boundedShape4(r: BinaryReader, what: string, op: string): [number, number, number, number] {
  const at = r.position;
  const s = shape4(r, what);
  if (boundedTensorBytes(s, 1, MAIN_SRAM.bytes) === null)
    r.fail(
      'BAD_VALUE',
      `k210 ${op}: ${what} [${s.join(', ')}] has more elements than ${MAIN_SRAM.memory} holds bytes`,
      at,
    );
  return s;
}

/** The sub-range of `.rdata` a K210 conv table lives in; throws unless it is there. */
function rdataView(
  rdata: Uint8Array,
  rdataOffset: number,
  mr: MemoryRangeV5,
  what: string,
  minSize: number,
): Uint8Array {
  const r = new BinaryReader(rdata, 0, rdata.length, '.rdata');
  if (mr.location !== MEM_RDATA)
    r.fail('BAD_VALUE', `${what} is in memory location ${mr.location}, expected rdata (2)`, mr.fileOffset);
  if (mr.size < minSize) r.fail('BAD_VALUE', `${what} has ${mr.size} bytes, needs at least ${minSize}`, mr.fileOffset);
  if (mr.start + mr.size > rdata.length) {
    r.fail(
      'BAD_OFFSET',
      `${what} [${mr.start}, ${mr.start + mr.size}) lies outside .rdata of ${rdata.length} bytes (file offset ${rdataOffset})`,
      mr.fileOffset,
    );
  }
  return rdata.subarray(mr.start, mr.start + mr.size);
}

function parseConv(r: BinaryReader, offset: number, rdata: Uint8Array, rdataOffset: number): K210Conv2dOp {
  const weights = readMemoryRange(r);
  const batchNorm = readMemoryRange(r);
  const activation = readMemoryRange(r);
  const mainMemOutput = readMemoryRange(r);
  const batchesAt = r.position;
  const batches = r.u32('batches');
  const regOffset = r.position;
  const words = readWords(r.bytesView(96, 'layer argument'), 12);
  const arg = decodeKpuLayerArgument(words);
  const oc = arg.o_ch_num + 1;
  const ic = arg.i_ch_num + 1;
  const k = arg.kernel_type === 1 ? 3 : 1;
  const depthwise = arg.depth_wise_layer === 1;
  const weightCount = depthwise ? oc * k * k : oc * ic * k * k;
  // Every batch's input is in main SRAM before it is uploaded.
  const batchBytes = ic * (arg.i_col_high + 1) * (arg.i_row_wid + 1);
  if (batches === 0 || batches * batchBytes > MAIN_SRAM.bytes)
    r.fail(
      'BAD_VALUE',
      `k210 kpu_conv2d: batches ${batches} of ${batchBytes}-byte inputs; expected 1.. as many as ${MAIN_SRAM.memory} holds`,
      batchesAt,
    );
  const w = rdataView(rdata, rdataOffset, weights, 'weights', weightCount);
  const bnBytes = rdataView(rdata, rdataOffset, batchNorm, 'batch_norm', 8 * oc);
  const actBytes = rdataView(rdata, rdataOffset, activation, 'activation', 144);

  const kpu: KpuConvParams = Object.freeze({
    words: Object.freeze(words),
    arg,
    weights: w.subarray(0, weightCount),
    weightBits: 8,
    batchNorm: Object.freeze(decodeBatchNormTable(bnBytes, oc)),
    activation: Object.freeze(decodeActivationBytes(actBytes)),
    fileOffsets: Object.freeze({
      registers: regOffset,
      weights: rdataOffset + weights.start,
      batchNorm: rdataOffset + batchNorm.start,
      activation: rdataOffset + activation.start,
    }),
  });
  return {
    opcode: 2,
    name: 'kpu_conv2d',
    offset,
    size: 152,
    weights,
    batchNorm,
    activation,
    mainMemOutput,
    batches,
    kpu,
  };
}

/**
 * Parses the op records of one K210 function text. `text` is a reader limited to the text;
 * `rdata` is the module's `.rdata` body (the conv tables must lie inside it).
 */
export function parseK210Text(text: BinaryReader, rdata: Uint8Array, rdataOffset: number): K210Op[] {
  const ops: K210Op[] = [];
  while (text.remaining > 0) {
    const offset = text.position;
    const opcode = text.u8('k210 opcode');
    const spec = K210_OPS.find((o) => o.opcode === opcode);
    if (!spec) text.fail('UNKNOWN_OPCODE', `k210 illegal instruction: unknown opcode ${opcode}`, offset);
    text.seek(offset);
    const r = text.slice(offset, Math.min(spec.size, text.remaining), `k210 ${spec.name} record`);
    r.need(spec.size, `k210 ${spec.name} record`);
    r.skip(4);
    let op: K210Op;
    if (spec.name === 'kpu_conv2d') {
      op = parseConv(r, offset, rdata, rdataOffset);
    } else if (spec.name === 'copy') {
      const input = readMemoryRange(r);
      const output = readMemoryRange(r);
      op = {
        opcode,
        name: 'copy',
        offset,
        size: spec.size,
        input,
        output,
        inShape: boundedShape4(r, 'in_shape', 'copy'),
        inStrides: shape4(r, 'in_strides'),
        outStrides: shape4(r, 'out_strides'),
      } satisfies K210CopyOp;
    } else {
      const input = readMemoryRange(r);
      const output = readMemoryRange(r);
      op = {
        opcode,
        name: spec.name,
        offset,
        size: spec.size,
        input,
        output,
        inShape: boundedShape4(r, 'in_shape', spec.name),
      } satisfies K210DataExchangeOp;
    }
    ops.push(Object.freeze(op));
    text.seek(offset + spec.size);
  }
  return ops;
}
