BOOT_PIN = 16
FUNC_GPIOHS0 = 24
FUNC_GPIO0 = 56
IRQ_NONE = 0
IRQ_FALLING = 1
IRQ_RISING = 2
IRQ_BOTH = 3

_pin_func = {}
_irq_gpios = []


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
    # the key's level at the board's current time (frame presses and timed presses)
    import _kpusim
    return _kpusim.call('key_down')


def register_irq(g):
    if g not in _irq_gpios:
        _irq_gpios.append(g)


def unregister_irq(g):
    if g in _irq_gpios:
        _irq_gpios.remove(g)


def _fire(edge):
    for g in list(_irq_gpios):
        if not on_boot_key(g._id) or g._handler is None:
            continue
        if g._trigger in (edge, IRQ_BOTH):
            g._handler(g)


def frame_start(frame, pressed):
    # a --key-press frame: the key goes down and up around the frame's capture
    if pressed:
        _fire(IRQ_FALLING)
        _fire(IRQ_RISING)


def key_edges(edges):
    for e in edges:
        _fire(IRQ_FALLING if e == 'falling' else IRQ_RISING)
