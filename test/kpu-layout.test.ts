/**
 * AI SRAM feature-map layout (kpu-numerics §6.8) and the two memories. Offsets are worked out by hand
 * from the kpu-numerics §6.8 formula: floor(c/groups)·rowLen·h·64 + (c mod groups)·rowPitch + y·rowLen·64 + x.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KpuFault } from '../src/errors.js';
import { AI_SRAM_BYTES, MAIN_SRAM_BYTES } from '../src/chip.js';
import { Machine, checkRange } from '../src/kpu/memory.js';
import { kpuBytes, kpuDownload, kpuOffset, kpuRowLayout, kpuRows, kpuUpload } from '../src/kpu/layout.js';
import { Lcg } from './lcg.js';

describe('Machine', () => {
  it('has 6 MiB main SRAM and 2 MiB AI SRAM, zero-filled, and reset zeroes them', () => {
    const m = new Machine();
    expect(MAIN_SRAM_BYTES).toBe(6 * 1024 * 1024);
    expect(AI_SRAM_BYTES).toBe(2 * 1024 * 1024);
    expect(m.mainSram.length).toBe(MAIN_SRAM_BYTES);
    expect(m.aiSram.length).toBe(AI_SRAM_BYTES);
    expect(m.aiSram.every((b) => b === 0)).toBe(true);
    m.aiSram[AI_SRAM_BYTES - 1] = 7;
    m.mainSram[123] = 9;
    m.reset();
    expect(m.aiSram[AI_SRAM_BYTES - 1]).toBe(0);
    expect(m.mainSram[123]).toBe(0);
  });
  it('checkRange faults with address and size', () => {
    expect(() => checkRange('x', 0, AI_SRAM_BYTES, AI_SRAM_BYTES)).not.toThrow();
    try {
      checkRange('output map', AI_SRAM_BYTES - 10, 11, AI_SRAM_BYTES, { layer: 2 }, 'prepare');
      throw new Error('no fault');
    } catch (e) {
      expect(e).toBeInstanceOf(KpuFault);
      expect((e as KpuFault).code).toBe('OUT_OF_RANGE');
      expect((e as KpuFault).context).toMatchObject({ layer: 2, address: AI_SRAM_BYTES - 10, size: 11 });
      expect((e as KpuFault).phase).toBe('prepare');
    }
  });
});

describe('kpuRowLayout / kpuRows', () => {
  it('groups 4 up to width 16, 2 up to 32, then one channel with ceil(w/64) lines per row', () => {
    expect(kpuRowLayout(1)).toEqual({ groups: 4, rowPitch: 16, rowLen: 1 });
    expect(kpuRowLayout(16)).toEqual({ groups: 4, rowPitch: 16, rowLen: 1 });
    expect(kpuRowLayout(17)).toEqual({ groups: 2, rowPitch: 32, rowLen: 1 });
    expect(kpuRowLayout(32)).toEqual({ groups: 2, rowPitch: 32, rowLen: 1 });
    expect(kpuRowLayout(33)).toEqual({ groups: 1, rowPitch: 64, rowLen: 1 });
    expect(kpuRowLayout(64)).toEqual({ groups: 1, rowPitch: 64, rowLen: 1 });
    expect(kpuRowLayout(65)).toEqual({ groups: 1, rowPitch: 64, rowLen: 2 });
    expect(kpuRowLayout(320)).toEqual({ groups: 1, rowPitch: 64, rowLen: 5 });
    expect(kpuRowLayout(321)).toEqual({ groups: 1, rowPitch: 64, rowLen: 6 });
  });
  it('rows = rowLen · h · ceil(c / groups)', () => {
    expect(kpuRows(8, 8, 6)).toBe(16); // kpu-numerics §6.8 example: 16 lines = 1024 bytes
    expect(kpuBytes(8, 8, 6)).toBe(1024);
    expect(kpuRows(8, 8, 1)).toBe(8);
    expect(kpuRows(20, 2, 3)).toBe(4);
    expect(kpuRows(100, 3, 2)).toBe(12);
    expect(kpuRows(320, 240, 3)).toBe(3600); // 230 400 bytes: dense, as the v4 yolo input (kpu-numerics §3.5)
    expect(kpuRows(112, 112, 1) * 64).toBe(14336); // kpu-numerics §10 C7
    expect(kpuRows(80, 28, 1) * 64).toBe(3584);
    expect(kpuRows(224, 224, 3) * 64).toBe(172032);
  });
});

describe('kpu-numerics §6.8 offsets by hand', () => {
  it('w = h = 8, C = 6: channels 0–3 share lines 0..7 at 16c, channels 4–5 use lines 8..15', () => {
    expect(kpuOffset(8, 8, 0, 0, 0)).toBe(0);
    expect(kpuOffset(8, 8, 1, 0, 0)).toBe(16);
    expect(kpuOffset(8, 8, 3, 2, 5)).toBe(48 + 2 * 64 + 5);
    expect(kpuOffset(8, 8, 4, 0, 0)).toBe(8 * 64);
    expect(kpuOffset(8, 8, 5, 7, 7)).toBe(8 * 64 + 16 + 7 * 64 + 7);

    // upload a tensor whose bytes name their position, onto a RAM pre-filled with 0xAA
    const src = new Uint8Array(6 * 8 * 8);
    for (let c = 0; c < 6; c++)
      for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) src[(c * 8 + y) * 8 + x] = c * 40 + y * 4 + (x & 3);
    const ram = new Uint8Array(4096).fill(0xaa);
    kpuUpload(src, [1, 6, 8, 8], ram, 1024);
    const line0 = Array.from(ram.subarray(1024, 1024 + 64));
    expect(line0.slice(0, 8)).toEqual([0, 1, 2, 3, 0, 1, 2, 3]); // c0 y0
    expect(line0.slice(8, 16)).toEqual(new Array(8).fill(0xaa)); // padding of c0's 16-byte slot
    expect(line0.slice(16, 24)).toEqual([40, 41, 42, 43, 40, 41, 42, 43]); // c1 y0
    expect(line0.slice(48, 56)).toEqual([120, 121, 122, 123, 120, 121, 122, 123]); // c3 y0
    expect(ram[1024 + 8 * 64 + 16 + 7 * 64 + 7]).toBe(5 * 40 + 7 * 4 + 3); // c5 y7 x7
    // slots 2, 3 of the second block
    expect(Array.from(ram.subarray(1024 + 8 * 64 + 32, 1024 + 9 * 64))).toEqual(new Array(32).fill(0xaa));
    expect(ram[1023]).toBe(0xaa);
    expect(ram[1024 + 1024]).toBe(0xaa);
  });
  it('w = 20 (2 per line, pitch 32) and w = 100 (2 lines per row)', () => {
    expect(kpuOffset(20, 2, 1, 1, 19)).toBe(32 + 64 + 19);
    expect(kpuOffset(20, 2, 2, 0, 0)).toBe(2 * 64);
    expect(kpuOffset(100, 3, 1, 2, 70)).toBe(2 * 3 * 64 + 2 * 2 * 64 + 70);
    expect(kpuOffset(100, 3, 0, 0, 99)).toBe(99);
  });
  it('batch item b starts rows·64 bytes after item b − 1', () => {
    const src = Uint8Array.from({ length: 2 * 1 * 2 * 3 }, (_, i) => i + 1);
    const ram = new Uint8Array(512);
    kpuUpload(src, [2, 1, 2, 3], ram, 64);
    // rows(3, 2, 1) = 2 lines: item 0 rows at 64, 128; item 1 rows at 192, 256
    expect(Array.from(ram.subarray(64, 67))).toEqual([1, 2, 3]);
    expect(Array.from(ram.subarray(128, 131))).toEqual([4, 5, 6]);
    expect(Array.from(ram.subarray(192, 195))).toEqual([7, 8, 9]);
    expect(Array.from(ram.subarray(256, 259))).toEqual([10, 11, 12]);
  });
  it('refuses maps that do not fit', () => {
    expect(() => kpuUpload(new Uint8Array(64), [1, 1, 1, 64], new Uint8Array(100), 64)).toThrow(KpuFault);
    expect(() => kpuDownload(new Uint8Array(100), 0, [1, 1, 2, 64], new Uint8Array(128))).toThrow(KpuFault);
    // source too short
    expect(() => kpuUpload(new Uint8Array(10), [1, 1, 4, 4], new Uint8Array(1024), 0)).toThrow(KpuFault);
  });
});

describe('upload / download properties (fast-check, fixed seed)', () => {
  const shapeArb = fc.record({
    n: fc.integer({ min: 1, max: 3 }),
    c: fc.integer({ min: 1, max: 9 }),
    h: fc.integer({ min: 1, max: 7 }),
    w: fc.oneof(fc.integer({ min: 1, max: 70 }), fc.constantFrom(16, 17, 32, 33, 64, 65, 128, 129, 192)),
    line: fc.integer({ min: 0, max: 40 }),
    seed: fc.integer({ min: 0, max: 1 << 30 }),
  });
  const fillFrom = (n: number, seed: number): Uint8Array => new Lcg(seed).bytes(n);

  it('download ∘ upload = identity, each element at its formula offset, and only layout bytes are written', () => {
    // arrays at byte offsets 0..3 into their buffers: rows copy as 32-bit words only where everything is aligned
    fc.assert(
      fc.property(
        shapeArb,
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        ({ n, c, h, w, line, seed }, srcAt, ramAt, backAt) => {
          const shape = [n, c, h, w] as const;
          const src = new Uint8Array(srcAt + n * c * h * w).subarray(srcAt);
          src.set(fillFrom(n * c * h * w, seed));
          const base = line * 64;
          const ramBytes = base + n * kpuBytes(w, h, c) + 256;
          const ram = new Uint8Array(ramAt + ramBytes).subarray(ramAt).fill(0xaa);
          kpuUpload(src, shape, ram, base);
          const back = new Uint8Array(backAt + src.length).subarray(backAt);
          kpuDownload(ram, base, shape, back);
          expect(Buffer.compare(back, src)).toBe(0);
          // every element where the formula puts it; every byte outside the formula's offsets still holds the fill
          const written = new Uint8Array(ram.length);
          let misplaced = 0;
          for (let b = 0, i = 0; b < n; b++)
            for (let ch = 0; ch < c; ch++)
              for (let y = 0; y < h; y++)
                for (let x = 0; x < w; x++, i++) {
                  const at = base + b * kpuBytes(w, h, c) + kpuOffset(w, h, ch, y, x);
                  written[at] = 1;
                  if (ram[at] !== src[i]) misplaced++;
                }
          expect(misplaced).toBe(0);
          let touched = 0;
          for (let i = 0; i < ram.length; i++) if (!written[i] && ram[i] !== 0xaa) touched++;
          expect(touched).toBe(0);
        },
      ),
      { seed: 6808, numRuns: 400 },
    );
  });

  it('when w % 64 == 0 the layout is the dense NCHW copy', () => {
    fc.assert(
      fc.property(shapeArb, ({ n, c, h, w, seed }) => {
        const ww = 64 * (1 + (w % 3));
        const src = fillFrom(n * c * h * ww, seed);
        const ram = new Uint8Array(n * kpuBytes(ww, h, c) + 128);
        kpuUpload(src, [n, c, h, ww], ram, 64);
        expect(n * kpuBytes(ww, h, c)).toBe(src.length);
        expect(Buffer.compare(ram.subarray(64, 64 + src.length), src)).toBe(0);
        // and the general formula agrees with the plain copy
        for (let i = 0; i < 20; i++) {
          const ch = (seed + i) % c;
          const y = (seed >> 3) % h;
          const x = (seed + 7 * i) % ww;
          expect(kpuOffset(ww, h, ch, y, x)).toBe((ch * h + y) * ww + x);
        }
      }),
      { seed: 64, numRuns: 100 },
    );
  });
});
