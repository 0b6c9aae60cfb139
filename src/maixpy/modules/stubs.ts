/**
 * MaixPy modules kpusim does not emulate. `machine` exists (scripts import it for a UART or a
 * timer) and raises NotImplementedError naming the class or function when one is used; the
 * others raise NotImplementedError at import, naming the module (one source,
 * src/maixpy/python/_kpusim_unsupported.py, installed under each name).
 */
import { PYTHON_SOURCES as PY } from '../python/sources.generated.js';
import type { MaixpyModule } from './types.js';

export const UNSUPPORTED_MODULES = [
  'video',
  'audio',
  'nes',
  'network',
  'modules',
  'speech_recognizer',
  'lvgl',
  'touchscreen',
  'sipeed',
] as const;

export const stubModules: readonly MaixpyModule[] = [
  { file: 'machine', python: PY.machine, backend: {} },
  ...UNSUPPORTED_MODULES.map((name) => ({ file: name, python: PY._kpusim_unsupported, backend: {} })),
];
