/**
 * A writer for kmodel v5 containers, the inverse of parse.ts for the structures it reads:
 * model header, modules, mempools, functions (ranges and shapes), sections (own bodies
 * aligned like nncase's module builder, or merged into .rdata). Used to build synthetic
 * models for tests and round trips; it writes what nncase writes, not arbitrary garbage.
 */

export interface MemoryRangeSpec {
  readonly location: number;
  readonly datatype: number;
  readonly sharedModule?: number;
  readonly start: number;
  readonly size: number;
}

export interface FunctionSpec {
  readonly inputs: readonly { readonly range: MemoryRangeSpec; readonly shape: readonly number[] }[];
  readonly outputs: readonly { readonly range: MemoryRangeSpec; readonly shape: readonly number[] }[];
  /** The function's code; functions' texts are concatenated into the module's `.text`. */
  readonly text: Uint8Array;
  readonly inputPoolSize?: number;
  readonly outputPoolSize?: number;
}

export interface SectionSpec {
  readonly name: string;
  readonly body: Uint8Array;
  /** Merged sections are placed at `mergedStart` inside `.rdata` (which must hold the bytes). */
  readonly mergedStart?: number;
}

export interface ModuleSpec {
  readonly type: string;
  readonly version?: number;
  readonly mempools: readonly { readonly location: number; readonly size: number }[];
  readonly sharedMempools?: readonly { readonly module: number; readonly size: number }[];
  readonly functions: readonly FunctionSpec[];
  /** Extra sections besides `.text` (built from the functions); usually `.rdata`. */
  readonly sections?: readonly SectionSpec[];
}

export interface ModelSpec {
  readonly alignment?: number;
  readonly entryModule?: number;
  readonly entryFunction?: number;
  readonly modules: readonly ModuleSpec[];
}

class Out {
  private buf = new Uint8Array(1024);
  length = 0;
  private grow(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length;
    while (cap < this.length + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.length));
    this.buf = b;
  }
  u8(v: number): void {
    this.grow(1);
    this.buf[this.length++] = v & 0xff;
  }
  u16(v: number): void {
    this.u8(v);
    this.u8(v >>> 8);
  }
  u32(v: number): void {
    this.grow(4);
    new DataView(this.buf.buffer).setUint32(this.length, v >>> 0, true);
    this.length += 4;
  }
  bytes(b: Uint8Array): void {
    this.grow(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  str(s: string, n: number): void {
    for (let i = 0; i < n; i++) this.u8(i < s.length ? s.charCodeAt(i) : 0);
  }
  pad(to: number): void {
    while (this.length % to !== 0) this.u8(0);
  }
  patchU32(at: number, v: number): void {
    new DataView(this.buf.buffer).setUint32(at, v >>> 0, true);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function range(o: Out, r: MemoryRangeSpec): void {
  o.u8(r.location);
  o.u8(r.datatype);
  o.u16(r.sharedModule ?? 0);
  o.u32(r.start);
  o.u32(r.size);
}

function shape(o: Out, s: readonly number[]): void {
  o.u32(s.length);
  for (const d of s) o.u32(d);
}

/** Builds a kmodel v5 file. Section bodies are aligned to `alignment` in absolute file terms. */
export function buildV5(spec: ModelSpec): Uint8Array {
  const alignment = spec.alignment ?? 8;
  const o = new Out();
  o.u32(0x4b4d444c);
  o.u32(5);
  o.u32(32);
  o.u32(0);
  o.u32(alignment);
  o.u32(spec.modules.length);
  o.u32(spec.entryModule ?? 0);
  o.u32(spec.entryFunction ?? 0);
  for (const m of spec.modules) {
    const start = o.length;
    const text = new Out();
    const entry: number[] = [];
    for (const f of m.functions) {
      entry.push(text.length);
      text.bytes(f.text);
    }
    const sections: SectionSpec[] = [...(m.sections ?? []), { name: '.text', body: text.result() }];
    o.str(m.type, 16);
    o.u32(m.version ?? 1);
    o.u32(48);
    const sizeAt = o.length;
    o.u32(0);
    o.u32(m.mempools.length);
    o.u32(m.sharedMempools?.length ?? 0);
    o.u32(sections.length);
    o.u32(m.functions.length);
    o.u32(0);
    for (const p of m.mempools) {
      o.u8(p.location);
      o.u8(0);
      o.u16(0);
      o.u32(p.size);
    }
    for (const p of m.sharedMempools ?? []) {
      o.u32(p.module);
      o.u32(p.size);
    }
    m.functions.forEach((f, i) => {
      const fStart = o.length;
      o.u32(32);
      o.u32(0);
      // Like nncase: a pool spans its tensors' ranges unless the spec says otherwise.
      const span = (ts: FunctionSpec['inputs']) => ts.reduce((n, t) => Math.max(n, t.range.start + t.range.size), 0);
      o.u32(f.inputPoolSize ?? span(f.inputs));
      o.u32(f.outputPoolSize ?? span(f.outputs));
      o.u32(f.inputs.length);
      o.u32(f.outputs.length);
      o.u32(entry[i]);
      o.u32(f.text.length);
      for (const t of f.inputs) range(o, t.range);
      for (const t of f.inputs) shape(o, t.shape);
      for (const t of f.outputs) range(o, t.range);
      for (const t of f.outputs) shape(o, t.shape);
      o.pad(8);
      o.patchU32(fStart + 4, o.length - fStart);
    });
    for (const s of sections) {
      o.str(s.name, 16);
      if (s.mergedStart !== undefined) {
        o.u32(1);
        o.u32(s.mergedStart);
        o.u32(s.body.length);
        o.u32(0);
        continue;
      }
      o.u32(0);
      const bodyStartAt = o.length;
      o.u32(0);
      o.u32(s.body.length);
      o.u32(0);
      const before = o.length;
      o.pad(alignment);
      o.patchU32(bodyStartAt, o.length - before);
      o.bytes(s.body);
    }
    o.pad(8);
    o.patchU32(sizeAt, o.length - start);
  }
  return o.result();
}

const DATATYPE_BYTES = [1, 2, 4, 8, 1, 2, 4, 8, 2, 4, 8, 2];

export interface TensorSpec {
  readonly datatype: number;
  readonly shape: readonly number[];
}

/**
 * A stackvm module with one function: inputs at location 0 and outputs at location 1, laid out
 * back to back from start 0 (so `LEA_BUFFER input, start` addresses input i), a data pool and
 * an optional `.rdata`.
 */
export function stackvmModuleSpec(
  text: Uint8Array,
  opts: { inputs?: readonly TensorSpec[]; outputs?: readonly TensorSpec[]; dataPool?: number; rdata?: Uint8Array } = {},
): ModuleSpec {
  const lay = (ts: readonly TensorSpec[], location: number) => {
    let start = 0;
    return ts.map((t) => {
      const size = t.shape.reduce((a, b) => a * b, 1) * DATATYPE_BYTES[t.datatype];
      const r = { range: { location, datatype: t.datatype, start, size }, shape: t.shape };
      start += size;
      return r;
    });
  };
  return {
    type: 'stackvm',
    mempools: [
      { location: 2, size: opts.rdata?.length ?? 0 },
      { location: 3, size: opts.dataPool ?? 0 },
    ],
    functions: [{ inputs: lay(opts.inputs ?? [], 0), outputs: lay(opts.outputs ?? [], 1), text }],
    sections: [{ name: '.rdata', body: opts.rdata ?? new Uint8Array(0) }],
  };
}
