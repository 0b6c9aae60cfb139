/**
 * What a v3 body parser gets and returns. Each parser sees a reader limited to its own body and
 * returns the upstream fields, the tensors the body lets us know, and (for the shape pass in
 * parse.ts) which main-buffer addresses it reads and writes.
 */
import type { BinaryReader } from '../binary-reader.js';
import { KmodelError } from '../../errors.js';
import { kpuRows } from '../kpu-layout.js';
import { DTYPE_BYTES, type DType, type TensorDesc } from '../model.js';
import type { V3Activation, V3FieldsMap, V3LayerType, V3Shape } from './types.js';

/** AI SRAM is 2 MiB = 32768 lines of 64 bytes; `image_addr` fields are 15-bit line indices. */
export const KPU_RAM_LINES = 32768;

export interface BodyContext {
  readonly index: number;
  readonly name: string;
  readonly weightBits: 8 | 16;
  readonly mainMemBytes: number;
  /** File offset of the model's first byte; K210_CONV table offsets are relative to it. */
  readonly base: number;
}

/** A main-buffer region a layer reads or writes, with the tensor it holds. */
export interface MainAccess {
  readonly address: number;
  readonly desc: TensorDesc;
}

export interface BodyResult<F = V3FieldsMap[V3LayerType]> {
  /** Upstream fields of the body (flags first), as `V3FieldsMap` types them. */
  readonly fields: F;
  readonly inputs: readonly TensorDesc[];
  readonly outputs: readonly TensorDesc[];
  /** Main-buffer reads and the write, for shape propagation. */
  readonly mainIn: readonly MainAccess[];
  readonly mainOut?: MainAccess;
  /**
   * 'elementwise': the output has the input's shape (quantize, softmax, …), so both take the
   * shape of whatever wrote the input. 'input': only the input does (global average pool).
   */
  readonly follow?: 'elementwise' | 'input';
}

/** A body parser returning fields F (one parser may serve types whose bodies are the same). */
export type BodyParser<F> = (r: BinaryReader, ctx: BodyContext) => BodyResult<F>;

/** A frozen TensorDesc; `bytes` = elements · element size. */
export function tensor(shape: readonly number[], dtype: DType): TensorDesc {
  let n = 1;
  for (const d of shape) n *= d;
  return Object.freeze({ shape: Object.freeze([...shape]), dtype, bytes: n * DTYPE_BYTES[dtype] });
}

export function elementCount(t: TensorDesc): number {
  let n = 1;
  for (const d of t.shape) n *= d;
  return n;
}

export function layerError(ctx: BodyContext, code: KmodelError['code'], offset: number, detail: string): KmodelError {
  return new KmodelError(code, offset, `layer ${ctx.index} (${ctx.name}): ${detail}`);
}

/** Throws unless [address, address + bytes) lies inside the main buffer. */
export function checkMain(ctx: BodyContext, offset: number, what: string, address: number, bytes: number): void {
  if (address + bytes > ctx.mainMemBytes) {
    throw layerError(
      ctx,
      'BAD_VALUE',
      offset,
      `${what} [${address}, ${address + bytes}) lies outside the main buffer of ${ctx.mainMemBytes} bytes (main_mem_usage)`,
    );
  }
}

/** Throws unless a W×H×C map at line `line` fits in the 2 MiB AI SRAM. */
export function checkKpu(
  ctx: BodyContext,
  offset: number,
  what: string,
  line: number,
  w: number,
  h: number,
  c: number,
): void {
  const lines = kpuRows(w, h, c);
  if (line + lines > KPU_RAM_LINES) {
    throw layerError(
      ctx,
      'BAD_VALUE',
      offset,
      `${what}: a ${c}×${h}×${w} map at line ${line} needs ${lines} lines and ends past the 2 MiB AI SRAM (${KPU_RAM_LINES} lines)`,
    );
  }
}

export function readShape(r: BinaryReader, what: string): V3Shape {
  const width = r.u32(`${what}.width`);
  const height = r.u32(`${what}.height`);
  const channels = r.u32(`${what}.channels`);
  return Object.freeze({ width, height, channels });
}

export function readActivation(r: BinaryReader, ctx: BodyContext, what = 'act'): V3Activation {
  const at = r.position;
  const v = r.u32(what);
  if (v > 2)
    throw layerError(
      ctx,
      'BAD_VALUE',
      at,
      `${what} = ${v}; kpu_model_activation_t is 0 (linear), 1 (relu) or 2 (relu6)`,
    );
  return v as V3Activation;
}
