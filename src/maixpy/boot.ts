/**
 * Booting the emulated board's interpreter as the firmware does: kpusim's modules are installed
 * in /lib and the ones that replace built-in modules (time, gc, os) are bound in `sys.modules`;
 * then kpusim's `_boot.py` (src/maixpy/python/_boot.py) runs in `__main__` as the firmware's
 * frozen `_boot.py` does: working directory /sd (or /flash without a card), `sys.path`, and `os`,
 * `sys` and `time` left imported for the script. Used by `kpusim maixpy` and by the virtual
 * board's REPL, so both see the same board.
 */
import { PYTHON_SOURCES } from './python/sources.generated.js';
import type { MaixpyModule } from './modules/types.js';

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
  for (const m of modules) mp.FS.writeFile(`/lib/${m.file}.py`, utf8.encode(m.python));
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
