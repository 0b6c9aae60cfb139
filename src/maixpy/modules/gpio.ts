/**
 * `_kpusim_io` (pin mux and GPIO state shared by MaixPy's `Maix` and CanMV's `maix`),
 * `fpioa_manager` and `board`.
 *
 * The BOOT key is pin 16 (`board_info.BOOT_KEY`, active low with a pull-up). A GPIO object
 * sees the key when its function (GPIOHSn = 24 + n, GPIOn = 56 + n, the K210's FPIOA numbers) is
 * mapped to pin 16 (`fm.register(board_info.BOOT_KEY, fm.fpioa.GPIOHS0)`). For a frame listed
 * in `--key-press`, the key is pressed and released before the frame: inside `snapshot()` the
 * falling-edge handlers run, then the rising-edge ones (`IRQ_BOTH` gets both), and `value()`
 * reads 0 until the next snapshot (for scripts that poll the key instead).
 */
import type { MaixpyModule } from './types.js';

const ioPython = String.raw`
BOOT_PIN = 16
FUNC_GPIOHS0 = 24
FUNC_GPIO0 = 56
IRQ_NONE = 0
IRQ_FALLING = 1
IRQ_RISING = 2
IRQ_BOTH = 3

_pin_func = {}
_irq_gpios = []
_key = [False]


def set_function(pin, func):
    for p in list(_pin_func):
        if _pin_func[p] == func and p != pin:
            del _pin_func[p]
    _pin_func[pin] = func


def get_pin(func):
    for p in _pin_func:
        if _pin_func[p] == func:
            return p
    return None


def gpio_function(gid):
    return FUNC_GPIOHS0 + gid if gid < 32 else FUNC_GPIO0 + gid - 32


def on_boot_key(gid):
    return get_pin(gpio_function(gid)) == BOOT_PIN


def key_down():
    return _key[0]


def register_irq(g):
    if g not in _irq_gpios:
        _irq_gpios.append(g)


def unregister_irq(g):
    if g in _irq_gpios:
        _irq_gpios.remove(g)


def frame_start(frame, pressed):
    _key[0] = pressed
    if not pressed:
        return
    for g in list(_irq_gpios):
        if not on_boot_key(g._id) or g._handler is None:
            continue
        if g._trigger in (IRQ_FALLING, IRQ_BOTH):
            g._handler(g)
        if g._trigger in (IRQ_RISING, IRQ_BOTH):
            g._handler(g)
`;

/** The GPIO and FPIOA classes, shared source for `Maix` and `maix`. */
export const GPIO_FPIOA_PYTHON = String.raw`
_FPIOA_FUNCS = {'JTAG_TCLK': 0, 'JTAG_TDI': 1, 'JTAG_TMS': 2, 'JTAG_TDO': 3, 'SPI0_ARB': 16, 'SPI0_SCLK': 17,
                'UARTHS_RX': 18, 'UARTHS_TX': 19, 'CLK_SPI1': 22, 'CLK_I2C1': 23,
                'UART1_RX': 64, 'UART1_TX': 65, 'UART2_RX': 66, 'UART2_TX': 67, 'UART3_RX': 68, 'UART3_TX': 69}
for _i in range(8):
    _FPIOA_FUNCS['SPI0_D%d' % _i] = 4 + _i
for _i in range(4):
    _FPIOA_FUNCS['SPI0_SS%d' % _i] = 12 + _i
for _i in range(32):
    _FPIOA_FUNCS['GPIOHS%d' % _i] = 24 + _i
for _i in range(8):
    _FPIOA_FUNCS['GPIO%d' % _i] = 56 + _i


class FPIOA:
    def __init__(self):
        pass

    def __getattr__(self, name):
        if name in _FPIOA_FUNCS:
            return _FPIOA_FUNCS[name]
        if name.isupper() or '_' in name:
            _k.unsupported('FPIOA.' + name)
        raise AttributeError("'FPIOA' object has no attribute '%s'" % name)

    def set_function(self, pin, func, **kw):
        pin = _k.get_int(pin)
        func = _k.get_int(func)
        if pin < 0 or pin > 47:
            raise ValueError('pin must be 0..47')
        _io.set_function(pin, func)
        return True

    def get_Pin_num(self, func):
        return _io.get_pin(_k.get_int(func))

    def help(self, func=None, **kw):
        names = sorted(_FPIOA_FUNCS, key=lambda n: _FPIOA_FUNCS[n])
        if func is None:
            for n in names:
                print('| %-10s | %3d |' % (n, _FPIOA_FUNCS[n]))
        else:
            f = _k.get_int(func)
            for n in names:
                if _FPIOA_FUNCS[n] == f:
                    print('| %-10s | %3d |' % (n, f))
        return None


class GPIO:
    IN = 0
    PULL_NONE = 0
    PULL_DOWN = 1
    PULL_UP = 2
    OUT = 3
    IRQ_NONE = 0
    IRQ_FALLING = 1
    IRQ_RISING = 2
    IRQ_BOTH = 3
    WAKEUP_NOT_SUPPORT = 0

    def __init__(self, id, mode=0, pull=0, value=None, **kw):
        id = _k.get_int(id)
        if id < 0 or id > 39:
            raise ValueError('GPIO id must be GPIOHS0..31 or GPIO0..7')
        self._id = id
        self._mode = _k.get_int(mode)
        self._pull = _k.get_int(pull) if pull is not None else 0
        self._value = 0 if value is None else (1 if value else 0)
        self._handler = None
        self._trigger = 0

    __getattr__ = _k.class_getattr('GPIO', ('Pin', 'wake'))

    def __repr__(self):
        return 'Pin(%d, mode=%s)' % (self._id, 'OUT' if self._mode == 3 else 'IN')

    def init(self, mode=None, pull=None, value=None, **kw):
        if mode is not None:
            self._mode = _k.get_int(mode)
        if pull is not None:
            self._pull = _k.get_int(pull)
        if value is not None:
            self._value = 1 if value else 0
        return None

    def value(self, *args):
        if args:
            self._value = 1 if args[0] else 0
            return None
        if self._mode == 3:
            return self._value
        if _io.on_boot_key(self._id):
            return 0 if _io.key_down() else 1
        return 1 if self._pull == 2 else 0

    def mode(self, *args):
        if args:
            self._mode = _k.get_int(args[0])
            return None
        return self._mode

    def pull(self, *args):
        if args:
            self._pull = _k.get_int(args[0])
            return None
        return self._pull

    def irq(self, handler=None, trigger=2, wake=0, priority=7, **kw):
        if self._id >= 32:
            raise ValueError('only GPIOHS pins have interrupts')
        self._handler = handler
        self._trigger = _k.get_int(trigger)
        if handler is None or self._trigger == 0:
            _io.unregister_irq(self)
        else:
            _io.register_irq(self)
        return None

    def disirq(self):
        self._handler = None
        _io.unregister_irq(self)
        return None


for _i in range(32):
    setattr(GPIO, 'GPIOHS%d' % _i, _i)
for _i in range(8):
    setattr(GPIO, 'GPIO%d' % _i, 32 + _i)
`;

const fmPython = String.raw`
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
`;

const boardPython = String.raw`
class board_info:
    BOOT_KEY = 16
    LED_R = 13
    LED_G = 12
    LED_B = 14

    @staticmethod
    def set(key, value=None):
        setattr(board_info, key, value)

    @staticmethod
    def all():
        return [k for k in dir(board_info) if not k.startswith('_')]

    @staticmethod
    def get(key):
        return getattr(board_info, key)

    @staticmethod
    def load(m={}):
        for k in m:
            setattr(board_info, k, m[k])
`;

export const ioModule: MaixpyModule = { file: '_kpusim_io', python: ioPython, backend: {} };
export const fpioaManagerModule: MaixpyModule = { file: 'fpioa_manager', python: fmPython, backend: {} };
export const boardModule: MaixpyModule = { file: 'board', python: boardPython, backend: {} };
