# MaixPy's `fpioa_manager`: `fm` registers pins' functions through Maix.FPIOA (only the BOOT key
# pin has an effect in kpusim).
# api-default: exact
import _kpusim as _k
import _kpusim_io as _io
try:
    from Maix import FPIOA
except ImportError:
    from maix import FPIOA


class fm:
    fpioa = FPIOA()

    @staticmethod
    def help():
        return fm.fpioa.help()

    @staticmethod
    def get_pin_by_function(function):
        return fm.fpioa.get_Pin_num(function)

    @staticmethod
    def register(pin, function, force=True):
        used = fm.get_pin_by_function(function)
        if used == pin:
            return None
        if used is not None:
            info = '[Warning] function is used by %s(pin:%d)' % (fm.str_function(function), used)
            if not force:
                raise Exception(info)
            print(info)
        fm.fpioa.set_function(pin, function)
        return None

    @staticmethod
    def unregister(pin):
        _io._pin_func.pop(_k.get_int(pin), None)
        return None

    @staticmethod
    def str_function(function):
        if 24 <= function <= 55:
            return 'fm.fpioa.GPIOHS%d' % (function - 24)
        if 56 <= function <= 63:
            return 'fm.fpioa.GPIO%d' % (function - 56)
        return 'unknown'

    @staticmethod
    def get_gpio_used():
        return [(fm.str_function(f), fm.get_pin_by_function(f)) for f in range(24, 64)]
