import type { Backend } from '../context.js';

/**
 * One MaixPy/CanMV module: its Python half (installed as `/lib/<file>.py` in the interpreter's file
 * system) and its TypeScript half (functions the Python half calls through `_kpusim.call`).
 */
export interface MaixpyModule {
  /** File name in /lib, without `.py`. */
  readonly file: string;
  /** Module names the script may import it under, set in `sys.modules` before the script runs
   *  (needed to replace built-in modules such as `time`). Default: none (found in /lib). */
  readonly aliases?: readonly string[];
  readonly python: string;
  readonly backend: Backend;
}
