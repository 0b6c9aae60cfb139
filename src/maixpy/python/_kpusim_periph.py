import _kpusim as _k
import _kpusim_io as _io

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

    # api: exact - records the pin's function (only the BOOT key pin has an effect)
    def set_function(self, pin, func, **kw):
        pin = _k.get_int(pin)
        func = _k.get_int(func)
        if pin < 0 or pin > 47:
            raise ValueError('pin must be 0..47')
        _io.set_function(pin, func)
        return True

    # api: exact
    def get_Pin_num(self, func):
        return _io.get_pin(_k.get_int(func))

    # api: exact
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

    # api: exact (id, mode=GPIO.IN, pull=GPIO.PULL_NONE, value=None)
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

    # api: exact
    def init(self, mode=None, pull=None, value=None, **kw):
        if mode is not None:
            self._mode = _k.get_int(mode)
        if pull is not None:
            self._pull = _k.get_int(pull)
        if value is not None:
            self._value = 1 if value else 0
        return None

    # api: approx - the BOOT key pin (16) reads the emulated key (--key-press, --key-press-ms); other inputs read their pull level; outputs keep the value written
    def value(self, *args):
        if args:
            self._value = 1 if args[0] else 0
            return None
        if self._mode == 3:
            return self._value
        if _io.on_boot_key(self._id):
            return 0 if _io.key_down() else 1
        return 1 if self._pull == 2 else 0

    # api: exact
    def mode(self, *args):
        if args:
            self._mode = _k.get_int(args[0])
            return None
        return self._mode

    # api: exact
    def pull(self, *args):
        if args:
            self._pull = _k.get_int(args[0])
            return None
        return self._pull

    # api: approx (handler=None, trigger=GPIO.IRQ_RISING, wake=0, priority=7) - handlers run for the BOOT key's edges at board times
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

    # api: exact
    def disirq(self):
        self._handler = None
        _io.unregister_irq(self)
        return None


for _i in range(32):
    setattr(GPIO, 'GPIOHS%d' % _i, _i)
for _i in range(8):
    setattr(GPIO, 'GPIO%d' % _i, 32 + _i)



class utils:
    # api: approx - reports the interpreter's heap; setting it has no effect
    @staticmethod
    def gc_heap_size(*args):
        import gc
        return gc.mem_free() + gc.mem_alloc()

    # api: approx - a fixed 4 MiB
    @staticmethod
    def heap_free():
        return 4 * 1024 * 1024


class config:
    # api: approx - only `board_info` (the Maix Bit's pins) is known; other keys return the default
    @staticmethod
    def get_value(key, default=None):
        if key == 'board_info':
            return {'BOOT_KEY': 16, 'LED_R': 13, 'LED_G': 12, 'LED_B': 14}
        return default

    # api: unsupported
    @staticmethod
    def set_value(key, value):
        _k.unsupported('config.set_value')


class freq:
    # api: exact - (400, 400) MHz, the clocks kpusim models
    @staticmethod
    def get():
        return (400, 400)

    # api: exact
    @staticmethod
    def get_cpu():
        return 400

    # api: exact
    @staticmethod
    def get_kpu():
        return 400

    # api: unsupported - kpusim models the board at 400 MHz (use --cpu-mhz/--kpu-mhz)
    @staticmethod
    def set(*args, **kw):
        _k.unsupported('freq.set (kpusim models the board at 400 MHz)')
