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
  let s = 0;
  for (let b = 0; b < n; b++) {
    const base = byteAddress + b * item;
    for (let ch = 0; ch < c; ch++) {
      let row = base + Math.floor(ch / groups) * block + (ch % groups) * rowPitch;
      for (let y = 0; y < h; y++, row += line, s += w) {
        if (w >= 32) ram.set(src.subarray(s, s + w), row);
        else for (let x = 0; x < w; x++) ram[row + x] = src[s + x];
      }
    }
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
  let d = 0;
  for (let b = 0; b < n; b++) {
    const base = byteAddress + b * item;
    for (let ch = 0; ch < c; ch++) {
      let row = base + Math.floor(ch / groups) * block + (ch % groups) * rowPitch;
      for (let y = 0; y < h; y++, row += line, d += w) {
        if (w >= 32) dst.set(ram.subarray(row, row + w), d);
        else for (let x = 0; x < w; x++) dst[d + x] = ram[row + x];
      }
    }
  }
}
