/**
 * Readers for the small structs every v4 body shares (`memory_range`, `runtime_shape_t`,
 * `padding`, …). Each takes a BodyContext so that every error names the node, the absolute
 * byte offset and what was expected.
 */
import { AI_SRAM_BYTES } from '../../chip.js';
import type { BinaryReader } from '../binary-reader.js';
import type { KmodelErrorCode } from '../../errors.js';
import { kpuBytes } from '../kpu-layout.js';
import type { MemoryRange, MemoryType, Padding, QuantParam, Scalar, Shape4, V4DataType, ValueRange } from './types.js';

/** AI SRAM size: memory_range starts and sizes of type k210_kpu must fit in it. */

const MEMORY_TYPES: readonly MemoryType[] = ['const', 'main', 'kpu'];
const DATATYPES: readonly V4DataType[] = ['float32', 'uint8'];
export const V4_DTYPE_BYTES: Readonly<Record<V4DataType, number>> = { float32: 4, uint8: 1 };

/** Sizes of the memories a memory_range can point into. */
export interface MemorySizes {
  readonly constants: number;
  readonly main_mem: number;
}

/** A reader limited to one body, plus who owns it (for error messages). */
export class BodyContext {
  constructor(
    readonly r: BinaryReader,
    /** "node 3 (kpu_conv2d)" or "input 0". */
    readonly who: string,
    readonly mem: MemorySizes,
  ) {}

  fail(code: KmodelErrorCode, detail: string, offset = this.r.position): never {
    this.r.fail(code, `${this.who}: ${detail}`, offset);
  }

  /** Reads an i32 that must be ≥ min. */
  atLeast(min: number, what: string): number {
    const at = this.r.position;
    const v = this.r.i32(what);
    if (v < min) this.fail('BAD_VALUE', `${what} = ${v} must be at least ${min}`, at);
    return v;
  }

  range(what: string): MemoryRange {
    return readMemoryRange(this, what);
  }

  shape(what: string): Shape4 {
    const at = this.r.position;
    const s: Shape4 = [
      this.r.i32(`${what}[0]`),
      this.r.i32(`${what}[1]`),
      this.r.i32(`${what}[2]`),
      this.r.i32(`${what}[3]`),
    ];
    for (const d of s) if (d < 1) this.fail('BAD_VALUE', `${what} = [${s.join(', ')}] has a dimension below 1`, at);
    if (s[0] * s[1] * s[2] * s[3] > 2 ** 31)
      this.fail('BAD_VALUE', `${what} = [${s.join(', ')}] has more than 2^31 elements`, at);
    return s;
  }

  /** Four raw i32 values (begin/end/strides/perm), no validation. */
  ints4(what: string): Shape4 {
    return [this.r.i32(`${what}[0]`), this.r.i32(`${what}[1]`), this.r.i32(`${what}[2]`), this.r.i32(`${what}[3]`)];
  }

  padding(what: string): Padding {
    return { before: this.r.i32(`${what}.before`), after: this.r.i32(`${what}.after`) };
  }

  valueRange(what: string): ValueRange {
    return { min: this.r.f32(`${what}.min`), max: this.r.f32(`${what}.max`) };
  }

  quantParam(what: string): QuantParam {
    return { zero_point: this.r.i32(`${what}.zero_point`), scale: this.r.f32(`${what}.scale`) };
  }

  scalar(what: string): Scalar {
    return { type: this.r.u32(`${what}.type`), storage: this.r.bytesView(4, `${what}.storage`) };
  }

  /** A u32 enum value mapped to its name. */
  enumOf<T extends string>(names: readonly T[], what: string): T {
    const at = this.r.position;
    const v = this.r.u32(what);
    if (v >= names.length)
      this.fail('BAD_VALUE', `${what} = ${v} is not one of 0..${names.length - 1} (${names.join(', ')})`, at);
    return names[v];
  }

  /** `count` little-endian f32 values, copied (after checking they fit). */
  f32Array(count: number, what: string): Float32Array {
    this.r.checkCount(count, 4, what);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = this.r.f32(what);
    return out;
  }

  i32Array(count: number, what: string): Int32Array {
    this.r.checkCount(count, 4, what);
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) out[i] = this.r.i32(what);
    return out;
  }

  u8View(count: number, what: string): Uint8Array {
    this.r.checkCount(count, 1, what);
    return this.r.bytesView(count, what);
  }

  /**
   * The struct is read; what is left of the body may only be the generator's alignment padding
   * (each body ends on an 8-aligned file offset, so at most 7 bytes).
   */
  end(): void {
    if (this.r.remaining >= 8) {
      this.fail(
        'BAD_VALUE',
        `the body has ${this.r.remaining} bytes after its last field; expected at most 7 bytes of alignment padding`,
      );
    }
  }
}

/** Reads and validates one 16-byte memory_range: the range must lie inside its memory. */
export function readMemoryRange(c: BodyContext, what: string): MemoryRange {
  const at = c.r.position;
  const mt = c.r.u32(`${what}.memory_type`);
  const dt = c.r.u32(`${what}.datatype`);
  const start = c.r.u32(`${what}.start`);
  const size = c.r.u32(`${what}.size`);
  if (mt >= MEMORY_TYPES.length)
    c.fail('BAD_VALUE', `${what}: memory_type ${mt} is not 0 (const), 1 (main) or 2 (k210_kpu)`, at);
  if (dt >= DATATYPES.length) c.fail('BAD_VALUE', `${what}: datatype ${dt} is not 0 (float32) or 1 (uint8)`, at + 4);
  const range: MemoryRange = { memory_type: MEMORY_TYPES[mt], datatype: DATATYPES[dt], start, size };
  checkRangeInside(c, range, what, at);
  return range;
}

export function memoryLimit(mem: MemorySizes, t: MemoryType): number {
  return t === 'const' ? mem.constants : t === 'main' ? mem.main_mem : AI_SRAM_BYTES;
}

const LIMIT_NAME: Readonly<Record<MemoryType, string>> = {
  const: 'the constant blob',
  main: 'main_mem',
  kpu: 'the 2 MiB AI SRAM',
};

export function checkRangeInside(c: BodyContext, range: MemoryRange, what: string, at: number): void {
  const limit = memoryLimit(c.mem, range.memory_type);
  if (range.start + range.size > limit) {
    c.fail(
      'BAD_OFFSET',
      `${what}: ${range.memory_type} range [${range.start}, ${range.start + range.size}) does not fit in ${LIMIT_NAME[range.memory_type]} of ${limit} bytes`,
      at,
    );
  }
  if (range.size % V4_DTYPE_BYTES[range.datatype] !== 0) {
    c.fail('BAD_VALUE', `${what}: size ${range.size} is not a whole number of ${range.datatype} elements`, at + 12);
  }
}

/** Elements of a shape (1 for the empty shape). */
export function elements(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Bytes of an N×C×H×W map in the AI SRAM layout. */
export function kpuLayoutBytes(shape: Shape4): number {
  return shape[0] * kpuBytes(shape[3], shape[2], shape[1]);
}
