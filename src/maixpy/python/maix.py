# CanMV's `maix` module: the peripherals of MaixPy's `Maix` and the `KPU` class.
import _kpusim as _k
from _kpusim_periph import FPIOA, GPIO, utils, config, freq
from _kpusim_canmv_kpu import KPU

__getattr__ = _k.module_getattr('maix', ('I2S', 'Audio', 'FFT', 'MIC_ARRAY', 'mic_array', 'cpufreq', 'camera'))
