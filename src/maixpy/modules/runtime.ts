/**
 * `_kpusim`: the Python helpers every kpusim module shares — the call into TypeScript with
 * error translation, buffer hand-over, binary32 rounding, argument parsing in MaixPy's style, and
 * the NotImplementedError for MaixPy APIs kpusim does not provide.
 */
import { PYTHON_SOURCES as PY } from '../python/sources.generated.js';
import type { MaixpyModule } from './types.js';

export const runtimeModule: MaixpyModule = { file: '_kpusim', python: PY._kpusim, backend: {} };
