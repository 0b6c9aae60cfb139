/**
 * The geometry of a feature map in AI SRAM (kpu-numerics §6.8): how many channels share a 64-byte
 * line, the pitch between them, and how many lines a row takes. It is a fact of the format (the
 * files' KPU ranges are sized by it), so it lives here; the machine's upload and download in
 * `src/kpu/layout.ts` use the same functions.
 */
import { KPU_LINE_BYTES } from '../chip.js';

export interface RowLayout {
  /** Channels packed per 64-byte line. */
  readonly groups: 1 | 2 | 4;
  /** Bytes between the starts of two channels packed in the same line. */
  readonly rowPitch: 16 | 32 | 64;
  /** 64-byte lines per row of one channel block. */
  readonly rowLen: number;
}

const L4: RowLayout = Object.freeze({ groups: 4, rowPitch: 16, rowLen: 1 });
const L2: RowLayout = Object.freeze({ groups: 2, rowPitch: 32, rowLen: 1 });

/** Widths ≤ 16 pack 4 channels per line, ≤ 32 pack 2, wider maps take ceil(w/64) lines per row. */
export function kpuRowLayout(width: number): RowLayout {
  if (width <= 16) return L4;
  if (width <= 32) return L2;
  return { groups: 1, rowPitch: 64, rowLen: Math.ceil(width / 64) };
}

/** 64-byte lines of one batch item of a W×H×C map: rowLen · h · ceil(c / groups). */
export function kpuRows(width: number, height: number, channels: number): number {
  const l = kpuRowLayout(width);
  return l.rowLen * height * Math.ceil(channels / l.groups);
}

/** Bytes of one batch item (64 · rows). */
export function kpuBytes(width: number, height: number, channels: number): number {
  return KPU_LINE_BYTES * kpuRows(width, height, channels);
}
