/**
 * The interpreter's `invoke_*` glue (src/maixpy/wasm.ts `fastInvokes`) against the port's own: the
 * same scripts give the same output, errors, tracebacks, exit codes and board time, through every way
 * MicroPython unwinds (exceptions caught and uncaught, in nested calls, generators and `finally`,
 * the recursion limit, a full heap, `sys.exit`), and through kpusim's modules.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { invokeGlue } from '../src/maixpy/wasm.js';
import { runScript } from './fixtures/maixpy/helpers.js';

const UNWINDING = `
import sys, time
def f(n):
    if n == 0:
        raise ValueError('deep')
    try:
        return f(n - 1)
    finally:
        log.append(n)
log = []
for k in range(3):
    try:
        f(5 + k)
    except ValueError as e:
        print('caught', e, log[-3:])
def gen():
    try:
        yield 1
        yield 2
        raise KeyError('g')
    finally:
        print('gen finally')
try:
    for v in gen():
        print('v', v)
except KeyError as e:
    print('key', e)
def rec(n):
    return rec(n + 1) + 1
try:
    rec(0)
except RuntimeError as e:
    print('recursion', e)
class C:
    def __getattr__(self, name):
        raise AttributeError(name)
print(hasattr(C(), 'x'), getattr(C(), 'y', 'default'))
try:
    b = bytearray(64 * 1024 * 1024)
except MemoryError:
    print('memory')
print(sum(i * i for i in range(1000)), [x for x in range(20) if x % 3][:5])
print(time.ticks_ms())
try:
    int('x')
except ValueError as e:
    print(repr(e))
import image
img = image.Image(size=(8, 8))
try:
    img.get_pixel(100, 100, 7)
except Exception as e:
    print(type(e).__name__)
`;

async function both(source: string, opts: Parameters<typeof runScript>[1] = {}) {
  invokeGlue.fast = false;
  const port = await runScript({ source, name: 'unwind.py' }, opts);
  invokeGlue.fast = true;
  const fast = await runScript({ source, name: 'unwind.py' }, opts);
  // Each run writes the script into its own temporary folder: its name is left out.
  const dir = (t: string | undefined) => t?.replace(/[^\s"]*kpusim-maixpy-script-[^/]+\//g, '');
  const strip = (r: typeof port) => ({
    stdout: r.stdout,
    stderr: dir(r.stderr)!.replace(/emulator [\d.]+ s/, 'emulator'),
    exitCode: r.exitCode,
    reason: r.reason,
    error: r.error && { ...r.error, file: dir(r.error.file), traceback: dir(r.error.traceback) },
    boardMs: r.boardMs,
  });
  return { port: strip(port), fast: strip(fast) };
}

afterEach(() => {
  invokeGlue.fast = true;
});

describe("the interpreter's invoke glue", () => {
  it('unwinds as the port does: caught exceptions, generators, finally, recursion, a full heap', async () => {
    const { port, fast } = await both(UNWINDING, { heapMb: 2 });
    expect(port.stdout).toMatch(/caught deep/);
    expect(port.stdout).toMatch(/recursion/);
    expect(port.stdout).toMatch(/memory/);
    expect(fast).toEqual(port);
  });

  it("many exceptions raised by the interpreter's C functions, each unwinding the C stack", async () => {
    const src =
      "n = 0\nfor i in range(20000):\n    try:\n        int('x%d' % i)\n    except ValueError as e:\n        n += len(str(e)) > 0\nprint(n)\n";
    const { port, fast } = await both(src);
    expect(port.stdout).toBe('20000\n');
    expect(fast).toEqual(port);
  });

  it('an uncaught exception: the same traceback, line and exit code', async () => {
    const { port, fast } = await both('def a():\n    b()\ndef b():\n    raise OSError(5)\nprint(1)\na()\n');
    expect(port.exitCode).toBe(1);
    expect(port.error?.line).toBe(4);
    expect(fast).toEqual(port);
  });

  it('a run the host ends from inside a module call (the camera runs out)', async () => {
    const src =
      'import sensor\nsensor.reset()\nn = 0\nwhile True:\n    try:\n        img = sensor.snapshot()\n    finally:\n        n += 1\n    print(n)\n';
    const { port, fast } = await both(src);
    expect(port.reason).toBe('camera-exhausted');
    expect(fast).toEqual(port);
  });

  it('sys.exit', async () => {
    const { port, fast } = await both('import sys\nprint("bye")\nsys.exit(3)\n');
    expect(port.exitCode).toBe(3);
    expect(fast).toEqual(port);
  });
});
