/**
 * `Maix` (MaixPy: FPIOA, GPIO, utils, config, freq) and `maix` (CanMV: the same plus the `KPU`
 * class). Peripherals kpusim does not emulate (I2S, Audio, FFT, microphone array, …) raise
 * NotImplementedError naming the API.
 */
import { CANMV_KPU_PYTHON } from './kpu.js';
import { GPIO_FPIOA_PYTHON } from './gpio.js';
import type { MaixpyModule } from './types.js';

const COMMON = String.raw`
import _kpusim as _k
import _kpusim_io as _io
${GPIO_FPIOA_PYTHON}


class utils:
    @staticmethod
    def gc_heap_size(*args):
        import gc
        return gc.mem_free() + gc.mem_alloc()

    @staticmethod
    def heap_free():
        return 4 * 1024 * 1024


class config:
    @staticmethod
    def get_value(key, default=None):
        if key == 'board_info':
            return {'BOOT_KEY': 16, 'LED_R': 13, 'LED_G': 12, 'LED_B': 14}
        return default

    @staticmethod
    def set_value(key, value):
        _k.unsupported('config.set_value')


class freq:
    @staticmethod
    def get():
        return (400, 400)

    @staticmethod
    def get_cpu():
        return 400

    @staticmethod
    def get_kpu():
        return 400

    @staticmethod
    def set(*args, **kw):
        _k.unsupported('freq.set (kpusim models the board at 400 MHz)')
`;

const upper = `${COMMON}
__getattr__ = _k.module_getattr('Maix', ('I2S', 'Audio', 'FFT', 'MIC_ARRAY', 'mic_array', 'cpufreq'))
`;

const lower = `${COMMON}
${CANMV_KPU_PYTHON}
__getattr__ = _k.module_getattr('maix', ('I2S', 'Audio', 'FFT', 'MIC_ARRAY', 'mic_array', 'cpufreq', 'camera'))
`;

export const MaixModule: MaixpyModule = { file: 'Maix', python: upper, backend: {} };
export const maixModule: MaixpyModule = { file: 'maix', python: lower, backend: {} };
