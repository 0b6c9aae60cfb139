/**
 * `os` / `uos`: the interpreter's file functions with the board's errno values and mount points
 * (src/maixpy/python/_kpusim_os.py); the boot (../boot.ts) also makes `open` raise the board's
 * errno values.
 */
import { PYTHON_SOURCES as PY } from '../python/sources.generated.js';
import type { MaixpyModule } from './types.js';

export const osModule: MaixpyModule = {
  file: '_kpusim_os',
  aliases: ['os', 'uos'],
  python: PY._kpusim_os,
  backend: {},
};
