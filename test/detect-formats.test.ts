/**
 * A file that is not a kmodel is named for what it is: a PNG renamed `.kmodel` is "a PNG image",
 * not "an encrypted model". Each sample is its format's real signature followed by
 * high-entropy bytes, as compressed formats are.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { KmodelError } from '../src/errors.js';
import { parseKmodel } from '../src/kmodel-parser/parse.js';
import { encodePng } from '../src/pipeline/image-io.js';
import { thrown } from './fixtures/thrown.js';

const noise = (n: number) => new Uint8Array(randomBytes(n));
const withHead = (head: number[] | string, n = 4096) => {
  const h = typeof head === 'string' ? new TextEncoder().encode(head) : Uint8Array.from(head);
  const b = noise(n);
  b.set(h);
  return b;
};

const message = (bytes: Uint8Array, file = 'thing.kmodel'): string =>
  thrown(() => parseKmodel(bytes, file), KmodelError).message;

describe('files that are not kmodels are named', () => {
  test('a real PNG renamed .kmodel (noise pixels, so the entropy is high)', () => {
    const png = encodePng({ width: 64, height: 64, data: noise(64 * 64 * 3) });
    const m = message(png, 'photo.kmodel');
    expect(m).toMatch(/^photo\.kmodel: at byte 0: this is a PNG image, not a kmodel/);
    expect(m).not.toMatch(/encrypted/);
  });

  const cases: [string, Uint8Array, RegExp][] = [
    ['JPEG', withHead([0xff, 0xd8, 0xff, 0xe0]), /this is a JPEG image, not a kmodel/],
    ['BMP', withHead('BM'), /this is a BMP image, not a kmodel/],
    ['GIF', withHead('GIF89a'), /this is a GIF image, not a kmodel/],
    ['gzip', withHead([0x1f, 0x8b, 8, 0]), /this is a gzip-compressed file, not a kmodel/],
    ['ELF', withHead([0x7f, 0x45, 0x4c, 0x46, 1, 1]), /this is an ELF executable or library, not a kmodel/],
    ['TFLite', withHead([0x1c, 0, 0, 0, 0x54, 0x46, 0x4c, 0x33]), /this is a TensorFlow Lite model, not a kmodel/],
    ['ONNX', withHead([0x08, 0x07, 0x12, 0x07, ...new TextEncoder().encode('pytorch')]), /an ONNX model/],
    ['JSON', new TextEncoder().encode('{"files": []}\n'), /this is a JSON document, not a kmodel/],
    ['text', new TextEncoder().encode('import sensor\nsensor.reset()\n'), /this is a text file, not a kmodel/],
    ['PDF', withHead('%PDF-1.7'), /this is a PDF document, not a kmodel/],
    ['WebAssembly', withHead([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]), /this is a WebAssembly module, not a kmodel/],
  ];
  for (const [name, bytes, re] of cases) {
    test(name, () => {
      const m = message(bytes);
      expect(m).toMatch(re);
      expect(m).not.toMatch(/encrypted/);
    });
  }

  test('random bytes with no known header still read as encrypted, a .smodel too', () => {
    expect(message(noise(8192))).toMatch(/encrypted/);
    expect(message(new Uint8Array([9, 9, 9, 9]), 'a.smodel')).toMatch(/encrypted/);
  });
});
