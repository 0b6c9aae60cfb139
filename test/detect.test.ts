/** Format sniffing: what kpusim refuses, it refuses by name. */
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { KmodelError } from '../src/errors.js';
import { detectFormat } from '../src/kmodel-parser/detect.js';
import { parseKmodel } from '../src/kmodel-parser/parse.js';

const u32 = (...xs: number[]) => new Uint8Array(new Uint32Array(xs).buffer);

describe('detectFormat', () => {
  test('v3, v4, v5 by their first bytes', () => {
    expect(detectFormat(u32(3, 1, 0))).toEqual({ kind: 'kmodel', version: 3 });
    expect(detectFormat(new Uint8Array([0x4c, 0x44, 0x4d, 0x4b, 4, 0, 0, 0]))).toEqual({ kind: 'kmodel', version: 4 });
    expect(detectFormat(new Uint8Array([0x4c, 0x44, 0x4d, 0x4b, 5, 0, 0, 0]))).toEqual({ kind: 'kmodel', version: 5 });
  });
  test('refused formats are named', () => {
    expect(detectFormat(u32(1, 0, 0))).toEqual({ kind: 'old-kmodel', version: 1 });
    expect(detectFormat(new Uint8Array([0x4c, 0x44, 0x4d, 0x4b, 6, 0, 0, 0]))).toEqual({
      kind: 'future-kmodel',
      version: 6,
    });
    expect(detectFormat(new Uint8Array([0, 0, 0, 3, 0, 0, 0, 1]))).toEqual({ kind: 'big-endian', version: 3 });
    expect(detectFormat(new Uint8Array([0x4b, 0x4d, 0x44, 0x4c, 0, 0, 0, 4]))).toEqual({
      kind: 'big-endian',
      version: 4,
    });
    expect(detectFormat(new Uint8Array([0x50, 0x4b, 3, 4, 0, 0]))).toEqual({ kind: 'zip' });
    expect(detectFormat(new Uint8Array([9, 9, 9, 9, 9]), 'face.smodel')).toEqual({ kind: 'encrypted' });
    // High-entropy bytes with no known header look encrypted, whatever the name.
    expect(detectFormat(new Uint8Array(randomBytes(8192)), 'x.kmodel').kind).toBe('encrypted');
    expect(detectFormat(new TextEncoder().encode('plain text, not a model'))).toEqual({
      kind: 'other-format',
      what: 'a text file',
    });
  });
  test('parseKmodel turns each refusal into a KmodelError with a reason', () => {
    const cases: [Uint8Array, string, RegExp][] = [
      [u32(1, 0, 0, 0), 'a.kmodel', /version 1/],
      [new Uint8Array([0, 0, 0, 3, 0, 0, 0, 1]), 'b.kmodel', /byte-swapped/],
      [new Uint8Array([9, 9, 9, 9]), 'c.smodel', /encrypted/],
      [new Uint8Array([0x50, 0x4b, 3, 4, 0, 0]), 'd.kfpkg', /kfpkg#name\.kmodel/],
    ];
    for (const [bytes, file, re] of cases) {
      let err: unknown;
      try {
        parseKmodel(bytes, file);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(KmodelError);
      expect((err as KmodelError).message).toMatch(re);
      expect((err as KmodelError).message).toContain(file);
    }
  });
});
