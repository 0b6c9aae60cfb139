/** Base64 decoding of embedded binaries (src/io/base64.ts): the JavaScript decoder against Node's encoder. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base64Js, fromBase64 } from '../src/io/base64.js';
import { PYTHON_MPY } from '../src/maixpy/python/sources.generated.js';

describe('base64', () => {
  it('the JavaScript decoder gives back any bytes Node encoded (every padding)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const text = Buffer.from(bytes).toString('base64');
        expect([...base64Js(text)]).toEqual([...bytes]);
        expect([...fromBase64(text)]).toEqual([...bytes]);
      }),
    );
  });

  it('both decoders agree on the embedded .mpy files', () => {
    for (const text of Object.values(PYTHON_MPY)) expect(base64Js(text)).toEqual(new Uint8Array(fromBase64(text)));
  });
});
