/**
 * A script that fills MicroPython's heap and ends in an exception: the interpreter builds its report on
 * the heap, so kpusim keeps some back while the script runs (`reserve` in _kpusim.py), and when even
 * that is not enough the port's endless loop for an exception it cannot report traps instead
 * (`trapEndlessLoops` in src/maixpy/wasm.ts). Either way the run ends with MemoryError, exit 1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SCRIPT_RESERVE } from '../src/maixpy/host.js';
import { trapEndlessLoops } from '../src/maixpy/wasm.js';
import { runScript } from './fixtures/maixpy/helpers.js';

/** Fills the heap down to its last block (a chain of ever smaller objects: no large allocation fails first). */
const FILL = [
  'hog = None',
  'for n in (4096, 256, 16, 1):',
  '    try:',
  '        while True:',
  '            hog = [hog, bytearray(n)]',
  '    except MemoryError:',
  '        pass',
].join('\n');

/** A module of two functions `() -> ()`: `spin` (an empty endless loop) and `ok` (returns). */
function twoFunctions(spinBody = [0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b]): Uint8Array {
  const exportEntry = (name: string, index: number) => [name.length, ...Buffer.from(name), 0x00, index];
  const exports = [0x02, ...exportEntry('spin', 0), ...exportEntry('ok', 1)];
  const code = [0x02, spinBody.length, ...spinBody, 0x02, 0x00, 0x0b];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...[0x01, 0x04, 0x01, 0x60, 0x00, 0x00], // type section: () -> ()
    ...[0x03, 0x03, 0x02, 0x00, 0x00], // function section: two of type 0
    ...[0x07, exports.length, ...exports],
    ...[0x0a, code.length, ...code],
  ]);
}

type Exported = { spin(): void; ok(): void };
const WA = (
  globalThis as unknown as {
    WebAssembly: {
      Module: new (b: Uint8Array) => object;
      Instance: new (m: object) => { exports: Exported };
      RuntimeError: new () => Error;
    };
  }
).WebAssembly;
const instantiate = (b: Uint8Array) => new WA.Instance(new WA.Module(b)).exports;

describe('an endless loop in the interpreter traps instead', () => {
  it('trapEndlessLoops: the loop traps, the other function and the length are unchanged', () => {
    const bytes = twoFunctions();
    const { bytes: patched, patched: n } = trapEndlessLoops(bytes);
    expect(n).toBe(1);
    expect(patched.length).toBe(bytes.length);
    expect([...patched].filter((b, i) => b !== bytes[i]).length).toBeGreaterThan(0);
    const e = instantiate(patched);
    expect(() => e.spin()).toThrow(WA.RuntimeError);
    expect(() => e.spin()).toThrow('unreachable');
    expect(e.ok()).toBeUndefined();
    // the input is left as it was
    expect(bytes).toEqual(twoFunctions());
  });

  it('a module without such a loop, or bytes that are not a module, come back as they are', () => {
    const busy = twoFunctions([0x00, 0x03, 0x40, 0x01, 0x0b, 0x0b]); // loop nop end: falls through
    expect(trapEndlessLoops(busy)).toEqual({ bytes: busy, patched: 0 });
    for (const junk of [new Uint8Array(0), Uint8Array.from([1, 2, 3]), twoFunctions().subarray(0, 30)])
      expect(trapEndlessLoops(junk)).toEqual({ bytes: junk, patched: 0 });
  });
});

describe('a script that fills the heap', () => {
  afterEach(() => {
    SCRIPT_RESERVE.bytes = 4096;
  });

  it('ending in an exception with the heap full: MemoryError, exit 1', async () => {
    const r = await runScript(
      { source: `${FILL}\nint('not a number')\n`, name: 'full.py' },
      { heapMb: 1, timeoutS: 30 },
    );
    expect(r.exitCode).toBe(1);
    expect(r.error?.type).toBe('MemoryError');
    expect(r.error?.message).not.toMatch(/too full to report/);
  });

  it('small objects until the heap is full, uncaught: MemoryError, exit 1', async () => {
    for (const size of [1, 16, 100]) {
      const source = `hog = []\nwhile True:\n    hog.append(bytearray(${size}))\n`;
      const r = await runScript({ source, name: 'small.py' }, { heapMb: 1, timeoutS: 30 });
      expect(r.exitCode, `bytearray(${size})`).toBe(1);
      expect(r.error?.type).toBe('MemoryError');
    }
  });

  it('with nothing kept back the report cannot be built: the trap ends the run with MemoryError, exit 1', async () => {
    SCRIPT_RESERVE.bytes = 0;
    const r = await runScript(
      { source: `${FILL}\nint('not a number')\n`, name: 'full.py' },
      { heapMb: 1, timeoutS: 30 },
    );
    expect(r.exitCode).toBe(1);
    expect(r.error?.type).toBe('MemoryError');
    expect(r.error?.message).toMatch(/too full to report the exception that ended the script/);
    expect(r.stderr).toMatch(/MemoryError: the heap was too full/);
  });
});
