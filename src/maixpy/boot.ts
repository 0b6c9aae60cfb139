/**
 * Booting the emulated board's interpreter as the firmware does: kpusim's modules are installed
 * in /lib and the ones that replace built-in modules (time, gc, os) are bound in `sys.modules`;
 * then kpusim's `_boot.py` (src/maixpy/python/_boot.py) runs in `__main__` as the firmware's
 * frozen `_boot.py` does: working directory /sd (or /flash without a card), `sys.path`, and `os`,
 * `sys` and `time` left imported for the script. Used by `kpusim maixpy` and by the virtual
 * board's REPL, so both see the same board.
 */
import { PYTHON_MPY, PYTHON_SOURCES } from './python/sources.generated.js';
import type { MaixpyModule } from './modules/types.js';
import { fromBase64 } from '../io/base64.js';

/** The part of the MicroPython instance the boot uses. */
export interface BootableInterpreter {
  readonly FS: { mkdirTree(path: string): void; writeFile(path: string, data: string | Uint8Array): void };
  runPython(code: string): unknown;
}

/**
 * Installs `modules` and runs the boot in `__main__`. Call after the SD card (if any) is mounted
 * at /sd and before the script or the REPL runs.
 */
export function bootBoard(mp: BootableInterpreter, modules: readonly MaixpyModule[]): void {
  mp.FS.mkdirTree('/lib');
  // As UTF-8 bytes: the port turns a string into an array of numbers first, a large part of the boot.
  const utf8 = new TextEncoder();
  for (const m of modules) {
    const mpy = precompiled(m);
    if (mpy) mp.FS.writeFile(`/lib/${m.file}.mpy`, mpy);
    else mp.FS.writeFile(`/lib/${m.file}.py`, utf8.encode(m.python));
  }
  mp.FS.mkdirTree('/flash');
  const aliased = modules.filter((m) => m.aliases?.length);
  mp.runPython(
    [
      'import sys',
      ...aliased.map((m) => `import ${m.file}`),
      ...aliased.flatMap((m) => (m.aliases ?? []).map((a) => `sys.modules[${JSON.stringify(a)}] = ${m.file}`)),
      ...aliased.map((m) => `del ${m.file}`),
      'del sys',
    ].join('\n'),
  );
  mp.runPython(PYTHON_SOURCES._boot);
}

/** Whether `bootBoard` installs kpusim's modules compiled (tests compare with their sources). */
export const moduleFiles = { compiled: true };

/**
 * The module's .mpy file made by the build (scripts/gen-python-sources.mjs) when it is one of kpusim's
 * own modules under its own name: MicroPython then loads its bytecode at import instead of compiling
 * the source, about 1 µs of the boot's time per byte of source. Compiled under /lib/NAME.py, it names
 * that file in tracebacks, at the source's line numbers, as the source would.
 */
function precompiled(m: MaixpyModule): Uint8Array | undefined {
  if (!moduleFiles.compiled || !Object.prototype.hasOwnProperty.call(PYTHON_MPY, m.file)) return undefined;
  if ((PYTHON_SOURCES as Readonly<Record<string, string>>)[m.file] !== m.python) return undefined;
  return fromBase64(PYTHON_MPY[m.file]);
}
