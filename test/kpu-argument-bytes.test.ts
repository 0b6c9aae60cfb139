/**
 * The batch-norm and activation tables decoded from their bytes in Number arithmetic
 * (`decodeBatchNormTable`, `decodeActivationBytes`) against the BigInt decoders they replace in the
 * parsers (`readWords` then `decodeBatchNorm` / `decodeActivationTable`) and against the register
 * fields taken with BigInt shifts and masks (`getBits`, kpu-numerics §5.3, §5.4).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeActivationBytes,
  decodeActivationTable,
  decodeBatchNorm,
  decodeBatchNormTable,
  getBits,
  readWords,
} from '../src/kmodel-parser/kpu-layer-argument.js';

/** Bytes with every bit pattern likely at the fields' edges (sign bits, all ones, zeros). */
const byte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 0x7f, 0x80, 0xff, 0x08, 0xf7));

describe('decodeBatchNormTable', () => {
  it('gives what readWords then decodeBatchNorm give, and the BigInt fields', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 7 }),
        fc.array(byte, { minLength: 8 * 40 + 7, maxLength: 8 * 40 + 7 }),
        (n, off, raw) => {
          // a view at any byte offset into a larger buffer, as the parsers' views are
          const bytes = new Uint8Array(raw).subarray(off, off + 8 * n);
          const got = decodeBatchNormTable(bytes, n);
          const words = readWords(bytes, n);
          expect(got).toEqual(words.map(decodeBatchNorm));
          got.forEach((e, i) =>
            expect(e).toEqual({
              norm_mul: getBits(words[i], 0, 24, true),
              norm_add: getBits(words[i], 24, 32, true),
              norm_shift: getBits(words[i], 56, 4),
            }),
          );
        },
      ),
      { seed: 42, numRuns: 500 },
    );
  });

  it('throws as readWords does on a view too short for n words', () => {
    const bytes = new Uint8Array(23);
    expect(() => readWords(bytes, 3)).toThrow(RangeError);
    expect(() => decodeBatchNormTable(bytes, 3)).toThrow(RangeError);
  });
});

describe('decodeActivationBytes', () => {
  it('gives what readWords then decodeActivationTable give, and the BigInt fields', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7 }), fc.array(byte, { minLength: 151, maxLength: 151 }), (off, raw) => {
        const bytes = new Uint8Array(raw).subarray(off, off + 144);
        const got = decodeActivationBytes(bytes);
        const words = readWords(bytes, 18);
        const want = decodeActivationTable(words);
        expect(got).toEqual(want);
        // the same keys in the same order (summaries and JSON print them in that order)
        got.forEach((s, i) => expect(Object.keys(s)).toEqual(Object.keys(want[i])));
        got.forEach((s, i) =>
          expect(s).toEqual({
            shift_number: getBits(words[i], 0, 8),
            y_mul: getBits(words[i], 8, 16, true),
            x_start: getBits(words[i], 24, 36, true),
            bias: getBits(words[16 + (i >> 3)], (i & 7) * 8, 8),
          }),
        );
        got.forEach((s) => expect(Object.isFrozen(s)).toBe(true));
      }),
      { seed: 42, numRuns: 1000 },
    );
  });

  it('throws as readWords does on a view shorter than 18 words', () => {
    const bytes = new Uint8Array(143);
    expect(() => readWords(bytes, 18)).toThrow(RangeError);
    expect(() => decodeActivationBytes(bytes)).toThrow(RangeError);
  });
});
