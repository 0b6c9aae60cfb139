/**
 * `Maix` (MaixPy: FPIOA, GPIO, utils, config, freq) and `maix` (CanMV: the same plus the `KPU`
 * class). Peripherals kpusim does not emulate (I2S, Audio, FFT, microphone array, …) raise
 * NotImplementedError naming the API. The Python halves are src/maixpy/python/Maix.py, maix.py
 * and the shared _kpusim_periph.py and _kpusim_canmv_kpu.py.
 */
import { PYTHON_SOURCES as PY } from '../python/sources.generated.js';
import type { MaixpyModule } from './types.js';

export const periphModule: MaixpyModule = { file: '_kpusim_periph', python: PY._kpusim_periph, backend: {} };
export const canmvKpuModule: MaixpyModule = { file: '_kpusim_canmv_kpu', python: PY._kpusim_canmv_kpu, backend: {} };
export const MaixModule: MaixpyModule = { file: 'Maix', python: PY.Maix, backend: {} };
export const maixModule: MaixpyModule = { file: 'maix', python: PY.maix, backend: {} };
