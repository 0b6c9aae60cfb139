/**
 * The file system's errors (src/maixpy/wasm.ts `cheapErrnoErrors`) against the port's own
 * `FS.ErrnoError`: every errno gives an error of the same class with the same name, errno, code and
 * message, and scripts that fail file operations in every way (missing modules and files, existing
 * folders, files where folders are expected) print the same output, errors and tracebacks.
 */
import { loadMicroPython } from '@micropython/micropython-webassembly-pyscript';
import { afterEach, describe, expect, it } from 'vitest';
import { cheapErrnoErrors, fsErrors } from '../src/maixpy/wasm.js';
import { runScript } from './fixtures/maixpy/helpers.js';

type ErrnoErrorClass = new (errno: number) => Error & { errno: number; code?: string };

afterEach(() => {
  fsErrors.cheap = true;
});

/** What a reader of the error can see, stack trace aside. */
function seen(e: Error & { errno: number; code?: string }, cls: ErrnoErrorClass) {
  const names = Object.getOwnPropertyNames(e).filter((n) => n !== 'stack');
  return {
    isError: e instanceof Error,
    isErrno: e instanceof cls,
    proto: Object.getPrototypeOf(e) as unknown,
    keys: Object.keys(e),
    names: names.sort(),
    name: e.name,
    errno: e.errno,
    code: e.code,
    message: e.message,
    string: String(e),
    descriptors: names.map((n) => {
      const d = Object.getOwnPropertyDescriptor(e, n)!;
      return [n, d.enumerable, d.writable, d.configurable];
    }),
  };
}

describe("the file system's errors", () => {
  it("are the port's errors, stack trace aside, for every errno", async () => {
    const mp = await loadMicroPython({ stdout: () => {} });
    const fs = mp.FS as unknown as { ErrnoError: ErrnoErrorClass };
    const Port = fs.ErrnoError;
    const cheap = { ErrnoError: Port };
    cheapErrnoErrors(cheap);
    expect(cheap.ErrnoError).not.toBe(Port);
    for (let errno = 0; errno < 160; errno++) {
      const a = new Port(errno);
      const b = new cheap.ErrnoError(errno);
      expect(seen(b, Port), `errno ${errno}`).toEqual(seen(a, Port));
      // The second one of an errno comes from the cache: the same again.
      expect(seen(new cheap.ErrnoError(errno), Port)).toEqual(seen(a, Port));
      expect(b.stack).toBe(`ErrnoError: ${a.message}`);
    }
    expect(new Port(44).code).toBe('ENOENT');
  });

  it('scripts failing file operations see the same errors, tracebacks and exit codes', async () => {
    const source = [
      'import os, sys',
      'for name in ("no_such_module", "sd.nothing", "lib"):',
      '    try:',
      '        __import__(name)',
      '    except ImportError as e:',
      '        print("import", name, e)',
      'def attempt(what, f, *a):',
      '    try:',
      '        r = f(*a)',
      '        print(what, "ok", r if not hasattr(r, "read") else "file")',
      '    except OSError as e:',
      '        print(what, type(e).__name__, e.args)',
      'attempt("open missing", open, "/flash/missing.txt")',
      'attempt("open folder", open, "/flash")',
      'attempt("open under a file", open, "/lib/image.py/x")',
      'attempt("stat missing", os.stat, "/nowhere")',
      'attempt("listdir missing", os.listdir, "/nowhere")',
      'attempt("mkdir existing", os.mkdir, "/lib")',
      'attempt("remove missing", os.remove, "/flash/none")',
      'attempt("rmdir not empty", os.rmdir, "/lib")',
      'attempt("chdir missing", os.chdir, "/nowhere")',
      'attempt("rename missing", os.rename, "/flash/a", "/flash/b")',
      'with open("/flash/made.txt", "w") as f:',
      '    f.write("x")',
      'attempt("open made", open, "/flash/made.txt")',
      'attempt("mkdir under a file", os.mkdir, "/flash/made.txt/sub")',
      'print(sorted(os.listdir("/flash")))',
      'import image, KPU, sensor, lcd',
      'from Maix import GPIO',
      'open("/flash/last_missing")',
    ].join('\n');
    fsErrors.cheap = false;
    const port = await runScript({ source, name: 'fs.py' });
    fsErrors.cheap = true;
    const cheap = await runScript({ source, name: 'fs.py' });
    expect(port.stdout).toMatch(/import no_such_module/);
    expect(port.stdout).toMatch(/open missing OSError/);
    expect(port.exitCode).toBe(1);
    const strip = (t: string | undefined) => t?.replace(/[^\s"]*kpusim-maixpy-script-[^/]+\//g, '');
    const view = (r: typeof port) => ({
      stdout: r.stdout,
      stderr: strip(r.stderr)!.replace(/emulator [\d.]+ s/, 'emulator'),
      exitCode: r.exitCode,
      reason: r.reason,
      traceback: strip(r.error?.traceback),
      line: r.error?.line,
      boardMs: r.boardMs,
    });
    expect(view(cheap)).toEqual(view(port));
  });
});
