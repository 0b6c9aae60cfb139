/**
 * Where a layer's tensors live, and moving their values in and out of memory.
 *
 * The reference follows the model's own dataflow through memory: it keeps a *shadow* of the
 * emulated main memory and AI SRAM, one Float32 slot per byte address. A uint8 element at byte
 * address a has its value in shadow[a]: the unrounded, quantised-domain value the float model
 * gives it (so real = (value − zero point) · scale); a float32 element at a has its real value in
 * shadow[a] (slots a+1..a+3 unused). Byte copies between ranges therefore work on the shadow as
 * they do on the bytes, and a layer reads its inputs wherever the model put them.
 *
 * `readBytes` decodes the emulator's memory the same way, so a reference layer can be fed either
 * the shadow (cumulative) or the emulator's own bytes (isolated).
 */
import { kpuDownload, kpuRowLayout, kpuRows } from '../kpu/layout.js';
import type { MapQuant } from './quant.js';

export type MemoryName = 'main' | 'ai' | 'const';
export type RefDType = 'uint8' | 'float32';

/**
 * - `dense`: row-major elements from `address` (uint8: 1 byte each, float32: 4).
 * - `kpu`: an N×C×H×W uint8 map in the AI SRAM layout of kpu-numerics §6.8 at `address`.
 * - `kpu00`: pixel (0,0) of each channel of a 4×4 KPU map (v3 K210_ADD_PADDING): C elements.
 */
export type RefLayout = 'dense' | 'kpu' | 'kpu00';

export interface TensorRef {
  readonly memory: MemoryName;
  readonly dtype: RefDType;
  readonly layout: RefLayout;
  /** Byte address in its memory. */
  readonly address: number;
  /** Logical shape (NCHW for maps). `kpu` refs must be 4-D. */
  readonly shape: readonly number[];
  readonly elements: number;
  /** Quantisation of a uint8 tensor, set by `inferQuant`. */
  quant?: MapQuant;
}

export function tensorRef(
  memory: MemoryName,
  dtype: RefDType,
  address: number,
  shape: readonly number[],
  layout: RefLayout = 'dense',
): TensorRef {
  const elements = shape.reduce((a, b) => a * b, 1);
  return { memory, dtype, layout, address, shape: [...shape], elements };
}

/** Byte span [address, address + span) the ref touches (for dataflow linking). */
export function refSpan(r: TensorRef): number {
  if (r.layout === 'kpu') {
    const [n, c, h, w] = r.shape;
    return n * kpuRows(w, h, c) * 64;
  }
  if (r.layout === 'kpu00') return Math.ceil(r.elements / 4) * 256;
  return r.elements * (r.dtype === 'float32' ? 4 : 1);
}

export interface ByteMemories {
  readonly main: Uint8Array;
  readonly ai: Uint8Array;
  readonly const: Uint8Array;
}

/** The shadow of the two writable memories (constants are always read from the file's bytes). */
export interface ShadowMemories {
  readonly main: Float32Array;
  readonly ai: Float32Array;
}

const EMPTY = new Uint8Array(0);

function checkBounds(r: TensorRef, length: number): void {
  const end = r.address + refSpan(r);
  if (r.address < 0 || end > length)
    throw new RangeError(
      `reference: ${r.memory} tensor at byte ${r.address} (+${refSpan(r)}) lies outside its ${length}-byte memory`,
    );
}

/** Calls visit(element index, byte offset) for every element of a KPU-layout ref. */
function forKpu(r: TensorRef, visit: (i: number, at: number) => void): void {
  if (r.layout === 'kpu00') {
    for (let c = 0; c < r.elements; c++) visit(c, r.address + (c >>> 2) * 256 + (c & 3) * 16);
    return;
  }
  const [n, c, h, w] = r.shape;
  const { groups, rowPitch, rowLen } = kpuRowLayout(w);
  const line = rowLen * 64;
  const item = kpuRows(w, h, c) * 64;
  let i = 0;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      let row = r.address + b * item + Math.floor(ch / groups) * line * h + (ch % groups) * rowPitch;
      for (let y = 0; y < h; y++, row += line) for (let x = 0; x < w; x++) visit(i++, row + x);
    }
  }
}

/** Values of a ref from the emulator's bytes (uint8 as 0..255, float32 decoded). */
export function readBytes(r: TensorRef, mem: ByteMemories): Float32Array {
  const bytes = mem[r.memory];
  checkBounds(r, bytes.length);
  if (r.layout === 'kpu') {
    const [n, c, h, w] = r.shape;
    const dense = new Uint8Array(r.elements);
    kpuDownload(bytes, r.address, [n, c, h, w], dense);
    return Float32Array.from(dense);
  }
  if (r.layout === 'kpu00') {
    const out = new Float32Array(r.elements);
    forKpu(r, (i, at) => (out[i] = bytes[at]));
    return out;
  }
  if (r.dtype === 'uint8') return Float32Array.from(bytes.subarray(r.address, r.address + r.elements));
  return new Float32Array(bytes.slice(r.address, r.address + 4 * r.elements).buffer);
}

/** Values of a ref from the shadow. */
export function readShadow(r: TensorRef, sh: ShadowMemories, constants: Uint8Array): Float32Array {
  if (r.memory === 'const') return readBytes(r, { main: EMPTY, ai: EMPTY, const: constants });
  const s = sh[r.memory];
  checkBounds(r, s.length);
  if (r.layout !== 'dense') {
    const out = new Float32Array(r.elements);
    forKpu(r, (i, at) => (out[i] = s[at]));
    return out;
  }
  if (r.dtype === 'uint8') return s.slice(r.address, r.address + r.elements);
  const out = new Float32Array(r.elements);
  for (let i = 0, a = r.address; i < r.elements; i++, a += 4) out[i] = s[a];
  return out;
}

/** Stores values into the shadow. */
export function writeShadow(r: TensorRef, sh: ShadowMemories, values: ArrayLike<number>): void {
  if (r.memory === 'const') throw new RangeError('reference: a layer cannot write the constant blob');
  const s = sh[r.memory];
  checkBounds(r, s.length);
  if (values.length < r.elements)
    throw new RangeError(`reference: ${values.length} values for a tensor of ${r.elements}`);
  if (r.layout !== 'dense') {
    forKpu(r, (i, at) => (s[at] = values[i]));
    return;
  }
  if (r.dtype === 'uint8') {
    for (let i = 0; i < r.elements; i++) s[r.address + i] = values[i];
    return;
  }
  for (let i = 0, a = r.address; i < r.elements; i++, a += 4) s[a] = values[i];
}
