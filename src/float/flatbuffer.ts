/**
 * A bounds-checked reader of FlatBuffers tables (the container of `.tflite` files), for the few
 * tables kpusim reads. Every offset comes from an untrusted file: each is checked against the
 * buffer before use, vector lengths are checked against the bytes left before anything is
 * allocated, and every failure is a `KmodelError` naming the byte offset.
 *
 * Layout (FlatBuffers' binary format): a table starts with an int32 back-offset to its vtable;
 * the vtable holds uint16 vtable size, uint16 table size, then one uint16 per field giving the
 * field's offset inside the table (0: absent, default value). References to tables, vectors and
 * strings are uint32 offsets relative to where they are stored; a vector is a uint32 length
 * followed by its elements.
 */
import { KmodelError } from '../errors.js';

export class FbBuffer {
  readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly file?: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(offset: number, detail: string): never {
    throw new KmodelError('BAD_OFFSET', offset, detail, this.file);
  }

  need(offset: number, size: number, what: string): void {
    if (!(offset >= 0 && size >= 0 && offset + size <= this.bytes.length))
      this.fail(offset, `${what} (${size} bytes) runs past the end of the ${this.bytes.length}-byte file`);
  }

  u8(o: number, what = 'byte'): number {
    this.need(o, 1, what);
    return this.view.getUint8(o);
  }
  u16(o: number, what = 'uint16'): number {
    this.need(o, 2, what);
    return this.view.getUint16(o, true);
  }
  i32(o: number, what = 'int32'): number {
    this.need(o, 4, what);
    return this.view.getInt32(o, true);
  }
  u32(o: number, what = 'uint32'): number {
    this.need(o, 4, what);
    return this.view.getUint32(o, true);
  }
  f32(o: number, what = 'float32'): number {
    this.need(o, 4, what);
    return this.view.getFloat32(o, true);
  }

  /** The root table (the uint32 at byte 0). */
  root(): FbTable {
    return this.tableAt(this.u32(0, 'root table offset'), 'root table');
  }

  tableAt(pos: number, what: string): FbTable {
    const vt = pos - this.i32(pos, `${what} vtable offset`);
    const vtSize = this.u16(vt, `${what} vtable size`);
    if (vtSize < 4 || vtSize % 2 !== 0) this.fail(vt, `${what}: vtable size ${vtSize} is not an even number ≥ 4`);
    this.need(vt, vtSize, `${what} vtable`);
    return new FbTable(this, pos, vt, (vtSize - 4) / 2, what);
  }
}

export class FbTable {
  constructor(
    readonly buf: FbBuffer,
    readonly pos: number,
    private readonly vtable: number,
    private readonly fields: number,
    readonly what: string,
  ) {}

  /** Absolute position of field `id`, or undefined when absent. */
  field(id: number): number | undefined {
    if (id >= this.fields) return undefined;
    const rel = this.buf.u16(this.vtable + 4 + 2 * id);
    return rel === 0 ? undefined : this.pos + rel;
  }

  u8(id: number, def = 0): number {
    const p = this.field(id);
    return p === undefined ? def : this.buf.u8(p, `${this.what} field ${id}`);
  }
  bool(id: number, def = false): boolean {
    const p = this.field(id);
    return p === undefined ? def : this.buf.u8(p, `${this.what} field ${id}`) !== 0;
  }
  i32(id: number, def = 0): number {
    const p = this.field(id);
    return p === undefined ? def : this.buf.i32(p, `${this.what} field ${id}`);
  }
  u32(id: number, def = 0): number {
    const p = this.field(id);
    return p === undefined ? def : this.buf.u32(p, `${this.what} field ${id}`);
  }
  f32(id: number, def = 0): number {
    const p = this.field(id);
    return p === undefined ? def : this.buf.f32(p, `${this.what} field ${id}`);
  }

  private indirect(id: number): number | undefined {
    const p = this.field(id);
    return p === undefined ? undefined : p + this.buf.u32(p, `${this.what} field ${id} offset`);
  }

  table(id: number, what: string): FbTable | undefined {
    const p = this.indirect(id);
    return p === undefined ? undefined : this.buf.tableAt(p, what);
  }

  /** A vector's start and length, checked to fit the file with `elem` bytes per element. */
  vector(id: number, elem: number, what: string): { start: number; length: number } | undefined {
    const p = this.indirect(id);
    if (p === undefined) return undefined;
    const length = this.buf.u32(p, `${what} length`);
    if (length > (this.buf.bytes.length - p - 4) / elem)
      this.buf.fail(p, `${what}: ${length} elements of ${elem} bytes do not fit in the file`);
    return { start: p + 4, length };
  }

  string(id: number, what: string): string | undefined {
    const v = this.vector(id, 1, what);
    return v === undefined ? undefined : new TextDecoder().decode(this.buf.bytes.subarray(v.start, v.start + v.length));
  }

  i32s(id: number, what: string): number[] | undefined {
    const v = this.vector(id, 4, what);
    if (v === undefined) return undefined;
    const out: number[] = [];
    for (let i = 0; i < v.length; i++) out.push(this.buf.i32(v.start + 4 * i));
    return out;
  }

  bytes(id: number, what: string): Uint8Array | undefined {
    const v = this.vector(id, 1, what);
    return v === undefined ? undefined : this.buf.bytes.subarray(v.start, v.start + v.length);
  }

  tables(id: number, what: string): FbTable[] {
    const v = this.vector(id, 4, what);
    if (v === undefined) return [];
    const out: FbTable[] = [];
    for (let i = 0; i < v.length; i++) {
      const at = v.start + 4 * i;
      out.push(this.buf.tableAt(at + this.buf.u32(at), `${what}[${i}]`));
    }
    return out;
  }
}
