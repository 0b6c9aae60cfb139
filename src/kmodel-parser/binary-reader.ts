import { KmodelError, type KmodelErrorCode } from '../errors.js';

/**
 * The only place kmodel bytes are read. Every read is bounds-checked against the reader's
 * window [start, end) of the underlying file; offsets reported in errors are absolute file
 * offsets. A reader made by `slice` cannot read outside its slice, so one wrong body parser
 * cannot wander into the next body ("seek, don't drift").
 */
export class BinaryReader {
  private readonly view: DataView;
  private pos: number;

  constructor(
    readonly bytes: Uint8Array,
    readonly start = 0,
    readonly end = bytes.length,
    /** What this window is, for error messages ("layer 3 body"). */
    readonly what = 'file',
  ) {
    if (start < 0 || end > bytes.length || start > end) {
      throw new KmodelError(
        'TRUNCATED',
        start,
        `${what} [${start}, ${end}) lies outside the file of ${bytes.length} bytes`,
      );
    }
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }

  /** Absolute file offset of the next read. */
  get position(): number {
    return this.pos;
  }
  /** Bytes left in this window. */
  get remaining(): number {
    return this.end - this.pos;
  }
  get length(): number {
    return this.end - this.start;
  }

  fail(code: KmodelErrorCode, detail: string, offset = this.pos): never {
    throw new KmodelError(code, offset, detail);
  }

  /** Moves to an absolute file offset inside the window. */
  seek(offset: number): void {
    if (!Number.isInteger(offset) || offset < this.start || offset > this.end) {
      this.fail('BAD_OFFSET', `offset ${offset} is outside ${this.what} [${this.start}, ${this.end})`);
    }
    this.pos = offset;
  }

  skip(n: number): void {
    this.need(n, 'padding');
    this.pos += n;
  }

  /** Throws unless `n` more bytes can be read; `what` names them in the message. */
  need(n: number, what: string): void {
    if (!Number.isInteger(n) || n < 0 || this.pos + n > this.end) {
      this.fail('TRUNCATED', `${this.what} ends at byte ${this.end}; expected ${n} bytes of ${what}`);
    }
  }

  u8(what = 'u8'): number {
    this.need(1, what);
    return this.view.getUint8(this.pos++);
  }
  i8(what = 'i8'): number {
    this.need(1, what);
    return this.view.getInt8(this.pos++);
  }
  u16(what = 'u16'): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  i16(what = 'i16'): number {
    this.need(2, what);
    const v = this.view.getInt16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(what = 'u32'): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  i32(what = 'i32'): number {
    this.need(4, what);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  f32(what = 'f32'): number {
    this.need(4, what);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(what = 'u64'): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A zero-copy view of the next `n` bytes. */
  bytesView(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A fixed-size NUL-padded ASCII field. */
  fixedString(n: number, what = 'string'): string {
    const b = this.bytesView(n, what);
    let s = '';
    for (const c of b) {
      if (c === 0) break;
      s += String.fromCharCode(c);
    }
    return s;
  }

  /**
   * Validates a count read from the file before anything is allocated from it: `count`
   * items of `itemSize` bytes must fit in what is left of the window.
   */
  checkCount(count: number, itemSize: number, what: string, offset = this.pos): number {
    if (!Number.isInteger(count) || count < 0 || count * itemSize > this.end - this.pos) {
      this.fail(
        'BAD_COUNT',
        `${what} = ${count} needs ${count * itemSize} bytes but only ${this.end - this.pos} remain in ${this.what}`,
        offset,
      );
    }
    return count;
  }

  /** A reader limited to [offset, offset + size) of the same file. */
  slice(offset: number, size: number, what: string): BinaryReader {
    if (
      !Number.isInteger(offset) ||
      !Number.isInteger(size) ||
      size < 0 ||
      offset < this.start ||
      offset + size > this.end
    ) {
      this.fail(
        'TRUNCATED',
        `${what} [${offset}, ${offset + size}) does not fit in ${this.what} [${this.start}, ${this.end})`,
        offset,
      );
    }
    return new BinaryReader(this.bytes, offset, offset + size, what);
  }
}
