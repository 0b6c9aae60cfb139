import _kpusim as _k

BLACK = 0x0000
NAVY = 0x000F
DARKGREEN = 0x03E0
DARKCYAN = 0x03EF
MAROON = 0x7800
PURPLE = 0x780F
OLIVE = 0x7BE0
LIGHTGREY = 0xC618
DARKGREY = 0x7BEF
BLUE = 0x001F
GREEN = 0x07E0
CYAN = 0x07FF
RED = 0xF800
MAGENTA = 0xF81F
YELLOW = 0xFFE0
WHITE = 0xFFFF
ORANGE = 0xFD20
GREENYELLOW = 0xAFE5
PINK = 0xF81F
XY_RLUD = 0x00
YX_RLUD = 0x20
XY_LRUD = 0x40
YX_LRUD = 0x60
XY_RLDU = 0x80
YX_RLDU = 0xA0
XY_LRDU = 0xC0
YX_LRDU = 0xE0

_st = {'w': 320, 'h': 240, 'rot': 0, 'init': False, 'backlight': 100, 'freq': 15000000, 'invert': False, 'mirror': False}

# MADCTL per rotation (get_dir_by_rotation) and with mirror (lcd_set_mirror_helper)
_ROT_DIR = (0xA0, 0x00, 0x60, 0xC0)
_MIRROR_DIR = (0x20, 0x40, 0xE0, 0x80)

__getattr__ = _k.module_getattr('lcd', ('register', 'bgr_to_rgb'))


def _color(c):
    if isinstance(c, (tuple, list)):
        r, g, b = [_k.get_int(v) & 0xFF for v in c]
        return ((r * 62 + 255) // 510 << 11) | ((g * 126 + 255) // 510 << 5) | ((b * 62 + 255) // 510)
    return _k.get_int(c) & 0xFFFF


# api: exact (type=1, freq=15000000, color=BLACK, invert=0, lcd_type=0) - clears the panel to `color`
def init(type=1, freq=15000000, color=BLACK, invert=0, lcd_type=0, **kw):
    _st['init'] = True
    _st['freq'] = _k.get_int(freq)
    _st['rot'] = 0
    _st['w'], _st['h'] = 320, 240
    _k.call('lcd_init', _color(color))
    return None


# api: no-op
def deinit():
    _st['init'] = False
    return None


# api: exact
def width():
    return _st['w']


# api: exact
def height():
    return _st['h']


# api: exact
def freq(f=None):
    if f is not None:
        _st['freq'] = _k.get_int(f)
    return _st['freq']


# api: no-op - the value is kept and returned by get_backlight
def set_backlight(v):
    _st['backlight'] = _k.get_int(v)
    return None


# api: exact
def get_backlight():
    return _st['backlight']


# api: exact - only the controller's address mode changes: the pixels stay
def rotation(r=None):
    if r is None:
        return _st['rot']
    r = _k.get_int(r)
    if r < 0 or r > 3:
        raise ValueError('value:[0,3]')
    _st['rot'] = r
    _st['w'], _st['h'] = (320, 240) if r in (0, 2) else (240, 320)
    # only the controller's address mode changes: the pixels on the panel stay
    _k.call('lcd_set_dir', (_MIRROR_DIR if _st['mirror'] else _ROT_DIR)[r])
    return r


# api: exact
def mirror(m=None):
    if m is None:
        return _st['mirror']
    _st['mirror'] = bool(m)
    if _st['mirror']:
        # as the firmware: mirror(False) keeps the mirrored mode until the next rotation()
        _k.call('lcd_set_dir', _MIRROR_DIR[_st['rot']])
    return _st['mirror']


# api: no-op - the value is kept; the PNGs are not inverted
def invert(i=None):
    if i is None:
        return _st['invert']
    _st['invert'] = bool(i)
    return _st['invert']


# api: exact
def direction(d):
    # the address mode as given; width() and height() stay (as in the firmware)
    _k.call('lcd_set_dir', _k.get_int(d))
    return None


# api: exact (image, roi=None, oft=None) - centred or at `oft`, as the firmware
def display(img, roi=None, oft=None, **kw):
    import image
    if not isinstance(img, image.Image):
        raise TypeError("can't convert %s to Image" % type(img).__name__)
    if roi is None:
        x, y, w, h = 0, 0, img._w, img._h
    else:
        x, y, w, h = [_k.get_int(v) for v in roi]
    ox, oy = (-1, -1) if oft is None else (_k.get_int(oft[0]), _k.get_int(oft[1]))
    _k.call('lcd_display', _k.addr(img._px), img._w, img._h, img._bpp, x, y, w, h, ox, oy, _st['w'], _st['h'])
    return None


# api: exact
def clear(color=BLACK):
    _k.call('lcd_clear', _color(color))
    return None


# api: exact
def fill_rectangle(x, y, w, h, color):
    _k.call('lcd_fill', _k.get_int(x), _k.get_int(y), _k.get_int(w), _k.get_int(h), _color(color))
    return None


# api: approx - kpusim's own 5×7 font (glyph pixels differ from the firmware's)
def draw_string(x, y, s, color=WHITE, bg_color=BLACK):
    _k.call('lcd_draw_string', _k.get_int(x), _k.get_int(y), str(s), _color(color), _color(bg_color))
    return None
