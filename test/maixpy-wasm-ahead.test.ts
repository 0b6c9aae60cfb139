/**
 * MicroPython's WebAssembly module compiled ahead (src/maixpy/wasm-ahead.ts, started by the command
 * line for `kpusim maixpy`): the load instantiates the compiled module only when it was compiled
 * from exactly the bytes the port hands over, and the interpreter it gives runs Python as the one
 * compiled from the bytes does; any other case (other bytes, a failed compile) takes the port's path.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { compileMicroPythonAhead } from '../src/cli/micropython-ahead.js';
import { createBoard, bootMaixpyBoard } from '../src/maixpy/host.js';
import { sameBytes, setCompiledAhead, type CompiledAhead } from '../src/maixpy/wasm-ahead.js';
import { REPO_ROOT } from './shared.js';

const WASM = join(
  dirname(createRequire(import.meta.url).resolve('@micropython/micropython-webassembly-pyscript')),
  'micropython.wasm',
);
const WA = (
  globalThis as unknown as {
    WebAssembly: { compile(b: Uint8Array): Promise<object>; instantiate(...a: unknown[]): Promise<unknown> };
  }
).WebAssembly;
const ModuleClass = (globalThis as unknown as { WebAssembly: { Module: abstract new (...a: never[]) => object } })
  .WebAssembly.Module;

/** Boots a board and runs a little Python; returns what it printed and what `WebAssembly.instantiate` was given. */
async function bootAndRun(): Promise<{ out: string; given: string[] }> {
  const given: string[] = [];
  const original = WA.instantiate;
  WA.instantiate = function (this: unknown, ...a: unknown[]) {
    given.push(a[0] instanceof ModuleClass ? 'module' : a[0] instanceof Uint8Array ? 'bytes' : typeof a[0]);
    return original.apply(this, a);
  };
  let out = '';
  try {
    const dec = new TextDecoder();
    const board = await createBoard({
      cameraFiles: [],
      flash: [],
      stdout: (b) => (out += typeof b === 'string' ? b : dec.decode(b)),
      warn: () => undefined,
      heapMb: 1,
    });
    bootMaixpyBoard(board);
    board.mp.runPython('import sys, gc\nprint(sum(range(10)), sys.path, [k for k in sorted(sys.modules)][:4])');
  } finally {
    WA.instantiate = original;
  }
  return { out, given };
}

afterEach(() => setCompiledAhead(Promise.resolve(undefined)));

describe('MicroPython compiled ahead', () => {
  it('is instantiated when compiled from the bytes the port reads, and runs Python as the port-compiled one', async () => {
    setCompiledAhead(Promise.resolve(undefined));
    const plain = await bootAndRun();
    expect(plain.given).toEqual(['bytes']);

    const bytes = new Uint8Array(readFileSync(WASM));
    setCompiledAhead(WA.compile(bytes).then((module) => ({ bytes, module })));
    const ahead = await bootAndRun();
    expect(ahead.given).toEqual(['module']);
    expect(ahead.out).toBe(plain.out);
    expect(ahead.out).toMatch(/^45 /);
  });

  it("is what the command line's compileMicroPythonAhead starts", async () => {
    compileMicroPythonAhead();
    expect((await bootAndRun()).given).toEqual(['module']);
  });

  it('is not used for other bytes, nor after a failed compile', async () => {
    const bytes = new Uint8Array(readFileSync(WASM));
    const module = await WA.compile(bytes);
    const other = bytes.slice();
    other[other.length - 1] ^= 1;
    setCompiledAhead(Promise.resolve({ bytes: other, module }));
    expect((await bootAndRun()).given).toEqual(['bytes']);

    setCompiledAhead(Promise.reject(new Error('no compile')));
    const failed = await bootAndRun();
    expect(failed.given).toEqual(['bytes']);
    expect(failed.out).toMatch(/^45 /);
  });
});

describe.skipIf(!existsSync(join(REPO_ROOT, 'dist/bin/main.js')))('the built binary (needs npm run build)', () => {
  it('kpusim maixpy instantiates the module compiled ahead', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kpusim-ahead-'));
    try {
      writeFileSync(
        join(dir, 'hook.mjs'),
        [
          'const o = WebAssembly.instantiate;',
          'WebAssembly.instantiate = function (s, i) {',
          "  if (i && i.env && i.env.mp_js_ticks_ms) process.stderr.write('GIVEN ' + (s instanceof WebAssembly.Module ? 'module' : 'bytes') + '\\n');",
          '  return o.call(this, s, i);',
          '};',
        ].join('\n'),
      );
      writeFileSync(join(dir, 'hello.py'), "print('hello')\n");
      const r = spawnSync(
        process.execPath,
        [
          '--import',
          pathToFileURL(join(dir, 'hook.mjs')).href,
          join(REPO_ROOT, 'bin/kpusim.js'),
          'maixpy',
          join(dir, 'hello.py'),
        ],
        { encoding: 'utf8' },
      );
      expect(r.status).toBe(0);
      expect(r.stdout).toBe('hello\n');
      expect(r.stderr.split('\n').filter((l) => l.startsWith('GIVEN '))).toEqual(['GIVEN module']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sameBytes', () => {
  it('agrees with a byte-by-byte comparison, at any offsets and lengths', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 70 }),
        fc.nat(7),
        fc.nat(7),
        fc.option(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { nil: undefined }),
        fc.boolean(),
        (data, offA, offB, flip, shorter) => {
          const place = (off: number): Uint8Array => {
            const buf = new Uint8Array(data.length + off);
            buf.set(data, off);
            return buf.subarray(off);
          };
          const a = place(offA);
          let b = place(offB);
          if (flip && data.length > 0) b[flip[0] % data.length] ^= flip[1];
          if (shorter && b.length > 0) b = b.subarray(0, b.length - 1);
          const reference = a.length === b.length && a.every((x, i) => x === b[i]);
          const c: CompiledAhead = { bytes: b, module: {} };
          expect(sameBytes(a, c)).toBe(reference);
        },
      ),
      { numRuns: 2000 },
    );
    expect(sameBytes(new Uint8Array(4).buffer, { bytes: new Uint8Array(4), module: {} })).toBe(false);
  });
});
