/**
 * The feature-map layout of AI SRAM (kpu-numerics §6.8). A map of width w is stored in 64-byte
 * lines: narrow maps pack 4 (w ≤ 16) or 2 (w ≤ 32) channels side by side in one line, wider
 * maps give each row ceil(w/64) lines of its own; every row starts a new line. Channel block
 * k = floor(c / groups) occupies rowLen·h lines, and batch item b of an N-batch tensor starts
 * kpuRows(w, h, c) lines after item b−1.
 *
 *   offset(c, y, x) = floor(c/groups)·rowLen·h·64 + (c mod groups)·rowPitch + y·rowLen·64 + x
 *
 * Bytes between the end of a row and the next pitch boundary are padding: upload never writes
 * them (the golden `kpu=` hashes depend on that), download never reads them.
 */
import { KpuFault } from '../errors.js';
import { kpuBytes, kpuRowLayout } from '../kmodel-parser/kpu-layout.js';

export { kpuBytes, kpuRowLayout, kpuRows, type RowLayout } from '../kmodel-parser/kpu-layout.js';

/** Byte offset of element (c, y, x) from the start of its batch item (the formula above). */
export function kpuOffset(width: number, height: number, c: number, y: number, x: number): number {
  const l = kpuRowLayout(width);
  return Math.floor(c / l.groups) * l.rowLen * height * 64 + (c % l.groups) * l.rowPitch + y * l.rowLen * 64 + x;
}

type Shape4 = readonly [n: number, c: number, h: number, w: number];

function checkShape(shape: Shape4, dense: Uint8Array, what: string, ram: Uint8Array, byteAddress: number): number {
  const [n, c, h, w] = shape;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 1) throw new KpuFault('BAD_INPUT', `${what}: bad shape [${shape.join(', ')}]`);
  }
  const elements = n * c * h * w;
  if (dense.length < elements) {
    throw new KpuFault(
      'BAD_INPUT',
      `${what}: dense buffer has ${dense.length} bytes, shape [${shape.join(', ')}] needs ${elements}`,
    );
  }
  const bytes = n * kpuBytes(w, h, c);
  if (!Number.isSafeInteger(byteAddress) || byteAddress < 0 || byteAddress + bytes > ram.length) {
    throw new KpuFault(
      'OUT_OF_RANGE',
      `${what}: KPU map at byte ${byteAddress} (+${bytes} bytes) does not fit in ${ram.length} bytes`,
      {
        address: byteAddress,
        size: bytes,
      },
    );
  }
  return elements;
}

/**
 * Dense NCHW bytes → KPU layout at `byteAddress` (nncase `kpu_upload`, SDK
 * `kpu_upload_core`). When w is a multiple of 64 the layout is exactly dense CHW and this is
 * one copy.
 */
export function kpuUpload(src: Uint8Array, shape: Shape4, ram: Uint8Array, byteAddress: number): void {
  const elements = checkShape(shape, src, 'kpu upload', ram, byteAddress);
  const [n, c, h, w] = shape;
  if (w % 64 === 0) {
    ram.set(src.subarray(0, elements), byteAddress);
    return;
  }
  const { groups, rowPitch, rowLen } = kpuRowLayout(w);
  const line = rowLen * 64;
  const block = line * h;
  const item = kpuBytes(w, h, c);
  const rows = new RowCopier(src, ram, w, w, line);
  let s = 0;
  for (let b = 0; b < n; b++) {
    const base = byteAddress + b * item;
    for (let ch = 0; ch < c; ch++, s += w * h)
      rows.copy(s, base + Math.floor(ch / groups) * block + (ch % groups) * rowPitch, h);
  }
}

/** KPU layout at `byteAddress` → dense NCHW (nncase `kpu_download`). Padding bytes are not read. */
export function kpuDownload(ram: Uint8Array, byteAddress: number, shape: Shape4, dst: Uint8Array): void {
  const elements = checkShape(shape, dst, 'kpu download', ram, byteAddress);
  const [n, c, h, w] = shape;
  if (w % 64 === 0) {
    dst.set(ram.subarray(byteAddress, byteAddress + elements));
    return;
  }
  const { groups, rowPitch, rowLen } = kpuRowLayout(w);
  const line = rowLen * 64;
  const block = line * h;
  const item = kpuBytes(w, h, c);
  const rows = new RowCopier(ram, dst, w, line, w);
  let d = 0;
  for (let b = 0; b < n; b++) {
    const base = byteAddress + b * item;
    for (let ch = 0; ch < c; ch++, d += w * h)
      rows.copy(base + Math.floor(ch / groups) * block + (ch % groups) * rowPitch, d, h);
  }
}

/**
 * Rows of `w` bytes from `from` (rows `fromStep` apart) to `to` (rows `toStep` apart). Wide rows are one
 * copy each; narrower ones go a 32-bit word at a time where both arrays' rows are 4-byte aligned (a KPU
 * map starts on a 64-byte line and its rows and channel slots on 16-byte boundaries), else a byte at a time.
 */
class RowCopier {
  private readonly words: { from: Int32Array; to: Int32Array; f: number; t: number } | null;
  constructor(
    private readonly from: Uint8Array,
    private readonly to: Uint8Array,
    private readonly w: number,
    private readonly fromStep: number,
    private readonly toStep: number,
  ) {
    const aligned = ((from.byteOffset | to.byteOffset | w | fromStep | toStep) & 3) === 0;
    this.words =
      aligned && w < WIDE_ROW
        ? {
            from: new Int32Array(from.buffer, from.byteOffset, from.length >> 2),
            to: new Int32Array(to.buffer, to.byteOffset, to.length >> 2),
            f: fromStep >> 2,
            t: toStep >> 2,
          }
        : null;
  }

  /** `count` rows, the first at byte `f` of `from` and byte `t` of `to`. */
  copy(f: number, t: number, count: number): void {
    const { from, to, w, fromStep, toStep, words } = this;
    if (words && ((f | t) & 3) === 0) {
      const n = w >> 2;
      const A = words.from;
      const B = words.to;
      for (let r = 0, a = f >> 2, b = t >> 2; r < count; r++, a += words.f, b += words.t)
        for (let x = 0; x < n; x++) B[b + x] = A[a + x];
      return;
    }
    for (let r = 0; r < count; r++, f += fromStep, t += toStep) {
      if (w >= WIDE_ROW) to.set(from.subarray(f, f + w), t);
      else for (let x = 0; x < w; x++) to[t + x] = from[f + x];
    }
  }
}

/** Rows at least this wide are copied with `set` (cheaper than a loop from about here). */
const WIDE_ROW = 96;
