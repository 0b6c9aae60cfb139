# MaixPy's `Maix` module: FPIOA, GPIO, utils, config, freq (shared with CanMV's `maix`, see
# _kpusim_periph.py). Peripherals kpusim does not emulate raise NotImplementedError naming the API.
import _kpusim as _k
from _kpusim_periph import FPIOA, GPIO, utils, config, freq

__getattr__ = _k.module_getattr('Maix', ('I2S', 'Audio', 'FFT', 'MIC_ARRAY', 'mic_array', 'cpufreq'))
