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
