import _kpusim as _k
import _kpusim_io as _io

BAYER = 1
RGB565 = 2
YUV422 = 3
GRAYSCALE = 4
JPEG = 5
OV9650 = 0x96
OV2640 = 0x2642
OV7725 = 0x77
OV7740 = 0x77
MT9V034 = 0x13
LEPTON = 0x54
GC0328 = 0x9D
NORMAL = 0
NEGATIVE = 1
QQCIF = 1
QCIF = 2
CIF = 3
QQSIF = 4
QSIF = 5
SIF = 6
QQQQVGA = 7
QQQVGA = 8
QQVGA = 9
QVGA = 10
VGA = 11
HQQQVGA = 12
HQQVGA = 13
HQVGA = 14
B64X32 = 15
B64X64 = 16
B128X64 = 17
B128X128 = 18
B240X240 = 19
LCD = 20
QQVGA2 = 21
WVGA = 22
WVGA2 = 23
SVGA = 24
SXGA = 25
UXGA = 26

_SIZES = {
    1: (88, 72), 2: (176, 144), 3: (352, 288), 4: (88, 60), 5: (176, 120), 6: (352, 240),
    7: (40, 30), 8: (80, 60), 9: (160, 120), 10: (320, 240), 11: (640, 480), 12: (60, 40),
    13: (120, 80), 14: (240, 160), 15: (64, 32), 16: (64, 64), 17: (128, 64), 18: (128, 128),
    19: (240, 240), 20: (128, 160), 21: (128, 160), 22: (720, 480), 23: (752, 480), 24: (800, 600),
    25: (1280, 1024), 26: (1600, 1200),
}

_st = {'fmt': RGB565, 'fs': QVGA, 'win': None, 'hm': False, 'vf': False, 'run': True}
_fb = [None]

__getattr__ = _k.module_getattr('sensor', ["binocular_reset","get_gain_db","get_exposure_us","get_rgb_gain_db","__write_reg","__read_reg","alloc_extra_fb","dealloc_extra_fb"])


# api: approx - frames come from the image files given with --camera (scaled and cropped to the frame size); the sensor's frame timing is modelled (see above)
def reset(freq=None, set_regs=True, dual_buff=False, choice=None):
    _st['fmt'] = RGB565
    _st['fs'] = QVGA
    _st['win'] = None
    _st['hm'] = False
    _st['vf'] = False
    _st['run'] = True
    _k.call('sensor_reset')
    return None


# api: no-op
def deinit():
    return None


# api: no-op
def sleep(enable):
    return None


# api: no-op
def shutdown(enable):
    return None


# api: no-op
def flush():
    return None


# api: exact - the id of the sensor chosen with --sensor
def get_id():
    return _k.call('sensor_id')


# api: partial - RGB565 and GRAYSCALE; BAYER, YUV422 and JPEG raise NotImplementedError
def set_pixformat(fmt, set_regs=True):
    fmt = _k.get_int(fmt)
    if fmt not in (RGB565, GRAYSCALE):
        _k.unsupported('sensor.set_pixformat(%s)' % {BAYER: 'BAYER', YUV422: 'YUV422', JPEG: 'JPEG'}.get(fmt, str(fmt)))
    _st['fmt'] = fmt
    return True


# api: exact - sizes as the firmware's table; the OV2640 driver's wait after a change is charged
def set_framesize(fs, set_regs=True):
    fs = _k.get_int(fs)
    if fs not in _SIZES:
        raise ValueError('Invalid framesize')
    _st['fs'] = fs
    _st['win'] = None
    _k.call('sensor_framesize')
    return True


# api: exact
def set_windowing(roi):
    w, h = _SIZES[_st['fs']]
    if len(roi) == 2:
        ww, wh = _k.get_int(roi[0]), _k.get_int(roi[1])
        x, y = (w - ww) // 2, (h - wh) // 2
    elif len(roi) == 4:
        x, y, ww, wh = [_k.get_int(v) for v in roi]
    else:
        raise ValueError('tuple/list must either be (x, y, w, h) or (w, h)')
    if ww <= 0 or wh <= 0 or x < 0 or y < 0 or x + ww > w or y + wh > h:
        raise ValueError('Invalid windowing')
    _st['win'] = (x, y, ww, wh)
    return True


# api: exact
def set_hmirror(enable):
    _st['hm'] = bool(enable)
    return True


# api: exact
def set_vflip(enable):
    _st['vf'] = bool(enable)
    return True


# api: exact
def run(enable):
    _st['run'] = bool(enable)
    return True


def _frame_size():
    if _st['win'] is not None:
        return _st['win'][2], _st['win'][3]
    return _SIZES[_st['fs']]


# api: exact
def width():
    return _frame_size()[0]


# api: exact
def height():
    return _frame_size()[1]


def _ensure_fb(w, h, bpp):
    fb = _fb[0]
    if fb is None or fb[0] != w or fb[1] != h or fb[2] != bpp:
        ai = ((w * h * (3 if bpp == 2 else 1)) + 63) & ~63
        fb = [w, h, bpp, bytearray(w * h * bpp), bytearray(ai)]
        _fb[0] = fb
    return fb


def _adopt_fb(img):
    if img._ai is None:
        img._ai = bytearray(((img._w * img._h * (3 if img._bpp == 2 else 1)) + 63) & ~63)
    _fb[0] = [img._w, img._h, img._bpp, img._px, img._ai]


# api: exact
def get_fb():
    fb = _fb[0]
    if fb is None:
        return None
    import image
    return image.Image(_raw=(fb[0], fb[1], fb[2], fb[3], fb[4]), _fb=True)


# api: approx - the next camera file; returns when the sensor's next frame is complete (frame periods above are estimates)
def snapshot(**kw):
    if not _st['run']:
        raise RuntimeError('sensor is not running: call sensor.run(1)')
    w, h = _frame_size()
    gray = _st['fmt'] == GRAYSCALE
    fb = _ensure_fb(w, h, 1 if gray else 2)
    fw, fh = _SIZES[_st['fs']]
    r = _k.call('sensor_snapshot', _k.addr(fb[3]), _k.addr(fb[4]), len(fb[4]), w, h, gray, _st['hm'], _st['vf'], fw, fh)
    import image
    img = image.Image(_raw=(w, h, fb[2], fb[3], fb[4]), _fb=True)
    _io.frame_start(r.index, r.key)
    return img


# api: approx - OV7740 only changes its period (30/25/15); the value is returned
def set_framerate(fps):
    return _k.call('sensor_framerate', _k.get_int(fps))


# api: approx - waits n frame periods (or `time` ms) without using up camera files
def skip_frames(n=None, time=None):
    fw, fh = _SIZES[_st['fs']]
    _k.call('sensor_skip', None if n is None else _k.get_int(n), None if time is None else _k.get_int(time), fw, fh)
    return None


def _no_effect(name):
    def f(*args, **kw):
        _k.warn('sensor.%s has no effect on frames read from files' % name)
        return True
    return f


# api-names: no-op - the image settings of the sensor: a warning says they do not change frames read from files
for _n in ('set_contrast', 'set_brightness', 'set_saturation', 'set_gainceiling', 'set_colorbar', 'set_auto_gain',
           'set_auto_exposure', 'set_auto_whitebal', 'set_special_effect', 'set_lens_correction', 'set_jb_quality',
           ):
    globals()[_n] = _no_effect(_n)
