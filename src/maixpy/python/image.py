import _kpusim as _k

ASCII = 0
UTF8 = 1
_RGB565 = 2
_GRAYSCALE = 4
_LCD_W = 320
_LCD_H = 240


def _pack(r, g, b):
    # COLOR_R8_G8_B8_TO_RGB565 with MaixPy's rounding tables, in its byte-swapped layout
    r5 = (r * 62 + 255) // 510
    g6 = (g * 126 + 255) // 510
    b5 = (b * 62 + 255) // 510
    return ((r5 << 3) | (g6 >> 3) | ((g6 & 7) << 13) | (b5 << 8)) & 0xFFFF


def _color(img, c, default=-1):
    if c is None:
        c = default
    if isinstance(c, (tuple, list)):
        if len(c) != 3:
            raise ValueError('colour tuple needs 3 values')
        r, g, b = [_k.get_int(v) & 0xFF for v in c]
        if img._bpp == 2:
            return _pack(r, g, b)
        return (38 * r + 75 * g + 15 * b) >> 7
    return _k.get_int(c)


def _thresholds(arg):
    # py_helper_arg_to_thresholds: (Lmin, Lmax, Amin, Amax, Bmin, Bmax), missing values open,
    # clamped (L to 0..255 so grayscale levels fit) and each pair put in order; flattened
    out = []
    for t in arg:
        t = list(t)
        if not t:
            continue

        def at(i, lo, hi, d):
            return max(min(_k.get_int(t[i]), hi), lo) if len(t) > i else d
        v = (at(0, 0, 255, 0), at(1, 0, 255, 255), at(2, -128, 127, -128), at(3, -128, 127, 127),
             at(4, -128, 127, -128), at(5, -128, 127, 127))
        out += [min(v[0], v[1]), max(v[0], v[1]), min(v[2], v[3]), max(v[2], v[3]), min(v[4], v[5]), max(v[4], v[5])]
    return out


def _ksize(k):
    k = _k.get_int(k)
    if k < 0:
        raise ValueError('KernelSize must be >= 0!')
    return k


def _no_mask(mask, api):
    if mask is not None:
        _k.unsupported(api + '(mask=...)')


def _roi(img, roi):
    # py_helper_keyword_rectangle_roi: the roi clipped to the image
    if roi is None:
        return [0, 0, img._w, img._h]
    x, y, w, h = [_k.get_int(v) for v in roi]
    if w < 1 or h < 1:
        raise ValueError('Invalid ROI dimensions!')
    if not (x < img._w and y < img._h and 0 < x + w and 0 < y + h):
        raise ValueError('ROI does not overlap on the image!')
    x0, y0 = max(x, 0), max(y, 0)
    return [x0, y0, min(x + w, img._w) - x0, min(y + h, img._h) - y0]


# api: exact - what find_blobs returns; also indexable [0..9] as the firmware's
class blob:
    def __init__(self, v):
        self._v = v

    def __repr__(self):
        v = self._v
        return '{"x":%d, "y":%d, "w":%d, "h":%d, "pixels":%d, "cx":%d, "cy":%d, "rotation":%f, "code":%d, "count":%d}' % tuple(v)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return tuple(self._v[i])
        return self._v[i]

    def __len__(self):
        return 10

    def rect(self):
        return tuple(self._v[0:4])

    def x(self):
        return self._v[0]

    def y(self):
        return self._v[1]

    def w(self):
        return self._v[2]

    def h(self):
        return self._v[3]

    def pixels(self):
        return self._v[4]

    def cx(self):
        return self._v[5]

    def cy(self):
        return self._v[6]

    def rotation(self):
        return self._v[7]

    def code(self):
        return self._v[8]

    def count(self):
        return self._v[9]

    def area(self):
        return self._v[2] * self._v[3]

    def density(self):
        a = self._v[2] * self._v[3]
        return _k.f32(self._v[4] / _k.f32(float(a))) if a else 0.0


# api: approx - what find_qrcodes returns (from jsQR's decoding)
class qrcode:
    def __init__(self, corners, payload, version, data_type, eci):
        self._corners = corners
        xs = [c[0] for c in corners]
        ys = [c[1] for c in corners]
        self._rect = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
        self._payload = payload
        self._version = version
        self._type = data_type
        self._eci = eci

    def __repr__(self):
        return '{"x":%d, "y":%d, "w":%d, "h":%d, "payload":"%s", "version":%d, "data_type":%d, "eci":%d}' % (
            self._rect + (self._payload, self._version, self._type, self._eci))

    __getattr__ = _k.class_getattr('qrcode', ('ecc_level', 'mask'))

    def corners(self):
        return self._corners

    def rect(self):
        return self._rect

    def x(self):
        return self._rect[0]

    def y(self):
        return self._rect[1]

    def w(self):
        return self._rect[2]

    def h(self):
        return self._rect[3]

    def payload(self):
        return self._payload

    def version(self):
        return self._version

    def data_type(self):
        return self._type

    def eci(self):
        return self._eci

    def is_numeric(self):
        return self._type == 1

    def is_alphanumeric(self):
        return self._type == 2

    def is_binary(self):
        return self._type == 4

    def is_kanji(self):
        return self._type == 8



IMAGE_MISSING = ["midpoint_pool","midpoint_pooled","to_bitmap","to_rgb565","to_rainbow","compress","compress_for_ide","compressed","compressed_for_ide","crop","draw_ellipse","draw_font","draw_keypoints","flood_fill","and","b_and","nand","b_nand","or","b_or","nor","b_nor","xor","b_xor","xnor","b_xnor","erode","dilate","open","close","top_hat","black_hat","gamma_corr","assign","replace","set","add","sub","mul","div","min","max","blend","mode","midpoint","blur","gaussian_blur","cartoon","remove_shadows","chrominvar","illuminvar","linpolar","logpolar","get_similarity","get_hist","get_histogram","histogram","get_stats","get_statistics","statistics","get_regression","find_lines","find_line_segments","find_circles","find_rects","find_apriltags","find_datamatrices","find_barcodes","find_displacement","find_template","find_features","find_eye","find_lbp","find_keypoints","find_domain","find_edges","find_hog","selective_search","dump_roi","conv3","stretch"]


class Image:
    # api: partial (path=None, copy_to_fb=False, size=(320, 240)) - a path reads a JPEG, PNG or BMP file (decoded by kpusim's decoders); `from_bytes` and an object source raise NotImplementedError
    def __init__(self, *args, **kw):
        raw = kw.pop('_raw', None)
        if raw is not None:
            self._w, self._h, self._bpp, self._px, self._ai = raw
            self._fb = kw.pop('_fb', False)
            return
        _k.check_kw(kw, ('copy_to_fb', 'from_bytes', 'size'), 'image.Image')
        copy_to_fb = _k.opt(args, 1, kw, 'copy_to_fb', False)
        from_bytes = kw.get('from_bytes', False)
        size = kw.get('size', None)
        self._ai = None
        self._fb = bool(copy_to_fb)
        if len(args) >= 1 and args[0] is not None:
            src = args[0]
            if from_bytes:
                _k.unsupported('image.Image(from_bytes=True)')
            if not isinstance(src, str):
                _k.unsupported('image.Image(<object>)')
            wh = _k.call('image_load', src)
            self._w = wh >> 16
            self._h = wh & 0xFFFF
            self._bpp = 2
            self._px = _k.take(self._w * self._h * 2)
        else:
            w, h = _LCD_W, _LCD_H
            if size is not None:
                w, h = _k.get_int(size[0]), _k.get_int(size[1])
                if w <= 0 or h <= 0:
                    w, h = _LCD_W, _LCD_H
            self._w, self._h, self._bpp = w, h, 2
            self._px = bytearray(w * h * 2)
        if self._fb:
            import sensor
            sensor._adopt_fb(self)

    __getattr__ = _k.class_getattr('Image', IMAGE_MISSING)

    def __repr__(self):
        t = 'rgb565' if self._bpp == 2 else 'grayscale'
        return '{"w":%d, "h":%d, "type"="%s", "size":%d}' % (self._w, self._h, t, self._w * self._h * self._bpp)

    def _args(self):
        return (_k.addr(self._px), self._w, self._h, self._bpp)

    # api: exact
    def width(self):
        return self._w

    # api: exact
    def height(self):
        return self._h

    # api: exact
    def format(self):
        return _RGB565 if self._bpp == 2 else _GRAYSCALE

    # api: exact
    def size(self):
        return self._w * self._h * self._bpp

    def _get(self, i):
        if self._bpp == 2:
            return self._px[2 * i] | (self._px[2 * i + 1] << 8)
        return self._px[i]

    def _put(self, i, p):
        if self._bpp == 2:
            self._px[2 * i] = p & 0xFF
            self._px[2 * i + 1] = (p >> 8) & 0xFF
        else:
            self._px[i] = p & 0xFF

    def __len__(self):
        return self._w * self._h

    def __getitem__(self, i):
        n = self._w * self._h
        if i < 0:
            i += n
        if i < 0 or i >= n:
            raise IndexError('image index out of range')
        return self._get(i)

    def __setitem__(self, i, v):
        n = self._w * self._h
        if i < 0:
            i += n
        if i < 0 or i >= n:
            raise IndexError('image index out of range')
        self._put(i, _k.get_int(v))

    # api: exact (x, y, rgbtuple) - or an (x, y) tuple
    def get_pixel(self, *args, **kw):
        (x, y), off = _k.consume(args, 0, 2)
        x, y = _k.get_int(x), _k.get_int(y)
        rgbtuple = _k.opt(args, off, kw, 'rgbtuple', self._bpp == 2)
        if x < 0 or x >= self._w or y < 0 or y >= self._h:
            return None
        p = self._get(y * self._w + x)
        if not rgbtuple:
            return p
        if self._bpp == 2:
            r5 = (p >> 3) & 31
            g6 = ((p & 7) << 3) | (p >> 13)
            b5 = (p >> 8) & 31
            return ((r5 * 510 + 31) // 62, (g6 * 510 + 63) // 126, (b5 * 510 + 31) // 62)
        return (p, p, p)

    # api: exact (x, y, color) - or an (x, y) tuple; colour tuples through MaixPy's rounding tables
    def set_pixel(self, *args, **kw):
        (x, y), off = _k.consume(args, 0, 2)
        x, y = _k.get_int(x), _k.get_int(y)
        c = _color(self, _k.opt(args, off, kw, 'color', None))
        if 0 <= x < self._w and 0 <= y < self._h:
            self._put(y * self._w + x, c)
        return self

    # api: exact
    def clear(self):
        self._px[:] = bytes(len(self._px))
        return self

    # api: exact
    def to_bytes(self):
        # the firmware's to_bytes is a bytearray over the pixels, by reference: writes change the image
        return self._px

    # api: partial - `copy_to_fb=True` raises NotImplementedError
    def copy(self, roi=None, copy_to_fb=False, **kw):
        _k.check_kw(kw, (), 'Image.copy')
        if copy_to_fb:
            _k.unsupported('Image.copy(copy_to_fb=True)')
        x, y, w, h = 0, 0, self._w, self._h
        if roi is not None:
            x, y, w, h = [_k.get_int(v) for v in roi]
            x0, y0 = max(x, 0), max(y, 0)
            x1, y1 = min(x + w, self._w), min(y + h, self._h)
            if x1 <= x0 or y1 <= y0:
                raise ValueError('Arg roi is not valid!')
            x, y, w, h = x0, y0, x1 - x0, y1 - y0
        return self.cut(x, y, w, h)

    # api: exact
    def cut(self, x, y, w, h):
        x, y, w, h = _k.get_int(x), _k.get_int(y), _k.get_int(w), _k.get_int(h)
        if w <= 0 or h <= 0:
            raise ValueError('cut: width and height must be > 0')
        out = bytearray(w * h * self._bpp)
        _k.call('image_cut', _k.addr(self._px), self._w, self._h, self._bpp, _k.addr(out), x, y, w, h)
        return Image(_raw=(w, h, self._bpp, out, None))

    # api: exact - MaixPy's nearest/bilinear branches (docs/maixpy-face-pipeline.md)
    def resize(self, w, h):
        w, h = _k.get_int(w), _k.get_int(h)
        if w <= 0 or h <= 0:
            raise ValueError('resize: width and height must be > 0')
        out = bytearray(w * h * self._bpp)
        _k.call('image_resize', _k.addr(self._px), self._w, self._h, self._bpp, _k.addr(out), w, h)
        return Image(_raw=(w, h, self._bpp, out, None))

    def _ai_size(self):
        if self._bpp == 2:
            return ((self._w + 63) & ~63) * self._h * 3
        return self._w * self._h

    # api: exact
    def pix_to_ai(self):
        if self._ai is None:
            self._ai = bytearray(self._ai_size())
        _k.call('image_pix_to_ai', _k.addr(self._px), self._w, self._h, self._bpp, _k.addr(self._ai), len(self._ai))
        return None

    # api: exact
    def ai_to_pix(self):
        if self._ai is None:
            return None
        _k.call('image_ai_to_pix', _k.addr(self._px), self._w, self._h, self._bpp, _k.addr(self._ai), len(self._ai))
        return None

    # api: exact (x, y, w, h, color, thickness=1, fill=False) - or an (x, y, w, h) tuple
    def draw_rectangle(self, *args, **kw):
        (x, y, w, h), off = _k.consume(args, 0, 4)
        c = _color(self, _k.opt(args, off, kw, 'color', None))
        t = _k.get_int(_k.opt(args, off + 1, kw, 'thickness', 1))
        fill = bool(_k.opt(args, off + 2, kw, 'fill', False))
        _k.call('image_draw_rectangle', *(self._args() + (_k.get_int(x), _k.get_int(y), _k.get_int(w), _k.get_int(h), c, t, fill)))
        return self

    # api: exact (x0, y0, x1, y1, color, thickness=1) - or a tuple
    def draw_line(self, *args, **kw):
        (x0, y0, x1, y1), off = _k.consume(args, 0, 4)
        c = _color(self, _k.opt(args, off, kw, 'color', None))
        t = _k.get_int(_k.opt(args, off + 1, kw, 'thickness', 1))
        _k.call('image_draw_line', *(self._args() + (_k.get_int(x0), _k.get_int(y0), _k.get_int(x1), _k.get_int(y1), c, t)))
        return self

    # api: exact (x, y, radius, color, thickness=1, fill=False) - or a tuple
    def draw_circle(self, *args, **kw):
        (x, y, r), off = _k.consume(args, 0, 3)
        c = _color(self, _k.opt(args, off, kw, 'color', None))
        t = _k.get_int(_k.opt(args, off + 1, kw, 'thickness', 1))
        fill = bool(_k.opt(args, off + 2, kw, 'fill', False))
        _k.call('image_draw_circle', *(self._args() + (_k.get_int(x), _k.get_int(y), _k.get_int(r), c, t, fill)))
        return self

    # api: exact (x, y, color, size=5, thickness=1) - or an (x, y) tuple
    def draw_cross(self, *args, **kw):
        (x, y), off = _k.consume(args, 0, 2)
        c = _color(self, _k.opt(args, off, kw, 'color', None))
        s = _k.get_int(_k.opt(args, off + 1, kw, 'size', 5))
        t = _k.get_int(_k.opt(args, off + 2, kw, 'thickness', 1))
        _k.call('image_draw_cross', *(self._args() + (_k.get_int(x), _k.get_int(y), c, s, t)))
        return self

    # api: approx (x, y, text, color, scale=1.0, x_spacing=0, y_spacing=2) - kpusim's own 5×7 font in 8×10 cells: glyph pixels differ from the firmware's font
    def draw_string(self, *args, **kw):
        (x, y, text), off = _k.consume(args, 0, 3)
        c = _color(self, _k.opt(args, off, kw, 'color', None))
        scale = _k.get_float(_k.opt(args, off + 1, kw, 'scale', 1.0))
        if not scale > 0:
            raise ValueError('Error: 0 < scale!')
        xs = _k.get_int(_k.opt(args, off + 2, kw, 'x_spacing', 0))
        ys = _k.get_int(_k.opt(args, off + 3, kw, 'y_spacing', 2))
        _k.call('image_draw_string', *(self._args() + (_k.get_int(x), _k.get_int(y), str(text), c, scale, xs, ys)))
        return self
    # api: partial (image, x, y, x_scale=1.0, y_scale=1.0, alpha=256, mask=None) - scaling, alpha and mask raise NotImplementedError
    def draw_image(self, img, *args, **kw):
        (x, y), off = _k.consume(args, 0, 2)
        xs = _k.opt(args, off, kw, 'x_scale', 1.0)
        ys = _k.opt(args, off + 1, kw, 'y_scale', 1.0)
        alpha = _k.opt(args, off + 2, kw, 'alpha', 256)
        mask = _k.opt(args, off + 3, kw, 'mask', None)
        if xs != 1 or ys != 1 or alpha != 256 or mask is not None:
            _k.unsupported('Image.draw_image with x_scale, y_scale, alpha or mask')
        _k.call('image_draw_image', *(self._args() + img._args() + (_k.get_int(x), _k.get_int(y))))
        return self

    # api: exact (copy=False) - in place (the image becomes grayscale) unless copy; the full firmware build's table (see above)
    def to_grayscale(self, *args, **kw):
        _k.check_kw(kw, ('copy',), 'Image.to_grayscale')
        copy = bool(_k.opt(args, 0, kw, 'copy', False))
        if self._bpp == 1:
            return Image(_raw=(self._w, self._h, 1, bytearray(self._px), None)) if copy else self
        out = bytearray(self._w * self._h)
        _k.call('image_to_grayscale', _k.addr(self._px), self._w, self._h, _k.addr(out))
        if copy:
            return Image(_raw=(self._w, self._h, 1, out, None))
        self._px = out
        self._bpp = 1
        return self

    # api: exact - every bit of every pixel flipped
    def invert(self):
        _k.call('image_invert', *self._args())
        return self

    # api: exact - imlib_negate: 255 - p (grayscale), 31 - r5, 63 - g6, 31 - b5 (RGB565), which flips every bit as invert
    def negate(self):
        _k.call('image_invert', *self._args())
        return self

    # api: exact (de_dark) - grayscale only (others print the firmware's message and stay)
    def strech_char(self, de_dark):
        de_dark = _k.get_int(de_dark)
        if self._bpp != 1:
            print('only support grayscale now\r\n', end='')
            return None
        _k.call('image_strech_char', _k.addr(self._px), self._w, self._h, de_dark)
        return None

    # api: partial (thresholds, invert=False, zero=False, mask=None, to_bitmap=False, copy=False) - a mask or
    #   to_bitmap=True raises NotImplementedError (kpusim has no bitmap images); RGB565 thresholds in L*a*b* as the firmware's tables
    def binary(self, thresholds, *args, **kw):
        _k.check_kw(kw, ('invert', 'zero', 'mask', 'to_bitmap', 'copy'), 'Image.binary')
        inv = bool(_k.opt(args, 0, kw, 'invert', False))
        zero = bool(_k.opt(args, 1, kw, 'zero', False))
        _no_mask(_k.opt(args, 2, kw, 'mask', None), 'Image.binary')
        if _k.opt(args, 3, kw, 'to_bitmap', False):
            _k.unsupported('Image.binary(to_bitmap=True)')
        copy = bool(_k.opt(args, 4, kw, 'copy', False))
        th = _thresholds(thresholds)
        out = Image(_raw=(self._w, self._h, self._bpp, bytearray(len(self._px)), None)) if copy else self
        _k.call('image_binary', *(self._args() + (_k.addr(out._px), th, inv, zero)))
        return out

    # api: partial (adaptive=False, clip_limit=-1, mask=None) - adaptive (CLAHE) and a mask raise NotImplementedError
    def histeq(self, *args, **kw):
        _k.check_kw(kw, ('adaptive', 'clip_limit', 'mask'), 'Image.histeq')
        if _k.opt(args, 0, kw, 'adaptive', False):
            _k.unsupported('Image.histeq(adaptive=True)')
        _no_mask(_k.opt(args, 2, kw, 'mask', None), 'Image.histeq')
        _k.call('image_histeq', *self._args())
        return self

    def _filter_tail(self, args, kw, start, api):
        # threshold, offset, invert, mask at positions start..start+3
        t = bool(_k.opt(args, start, kw, 'threshold', False))
        o = _k.get_int(_k.opt(args, start + 1, kw, 'offset', 0))
        i = bool(_k.opt(args, start + 2, kw, 'invert', False))
        _no_mask(_k.opt(args, start + 3, kw, 'mask', None), api)
        return (t, o, i)

    # api: partial (ksize, threshold=False, offset=0, invert=False, mask=None) - a mask raises NotImplementedError
    def mean(self, ksize, *args, **kw):
        _k.check_kw(kw, ('threshold', 'offset', 'invert', 'mask'), 'Image.mean')
        tail = self._filter_tail(args, kw, 0, 'Image.mean')
        _k.call('image_mean', *(self._args() + (_ksize(ksize),) + tail))
        return self

    # api: partial (ksize, percentile=0.5, threshold=False, offset=0, invert=False, mask=None) - a mask raises NotImplementedError
    def median(self, ksize, *args, **kw):
        _k.check_kw(kw, ('percentile', 'threshold', 'offset', 'invert', 'mask'), 'Image.median')
        p = _k.get_float(_k.opt(args, 0, kw, 'percentile', 0.5))
        if not (0 <= p <= 1):
            raise ValueError('Error: 0 <= percentile <= 1!')
        tail = self._filter_tail(args, kw, 1, 'Image.median')
        _k.call('image_median', *(self._args() + (_ksize(ksize), p) + tail))
        return self

    def _morph(self, api, ksize, kind, krn, args, kw):
        mul = _k.opt(args, 0, kw, 'mul', None)
        mul = None if mul is None else _k.get_float(mul)
        add = _k.get_float(_k.opt(args, 1, kw, 'add', 0.0))
        tail = self._filter_tail(args, kw, 2, api)
        _k.call('image_morph', *(self._args() + (ksize, kind, krn, mul, add) + tail))
        return self

    # api: partial (ksize, kernel, mul=1/sum, add=0, threshold=False, offset=0, invert=False, mask=None) - a mask raises NotImplementedError
    def morph(self, ksize, kernel, *args, **kw):
        _k.check_kw(kw, ('mul', 'add', 'threshold', 'offset', 'invert', 'mask'), 'Image.morph')
        k = _ksize(ksize)
        n = (2 * k + 1) * (2 * k + 1)
        if len(kernel) != n:
            raise ValueError('requested length %d but object has length %d' % (n, len(kernel)))
        return self._morph('Image.morph', k, 0, [_k.get_int(v) for v in kernel], args, kw)

    # api: partial (ksize, unsharp=False, mul=1/sum, add=0, threshold=False, offset=0, invert=False, mask=None) - a mask raises NotImplementedError
    def gaussian(self, ksize, *args, **kw):
        _k.check_kw(kw, ('unsharp', 'mul', 'add', 'threshold', 'offset', 'invert', 'mask'), 'Image.gaussian')
        u = 1 if _k.opt(args, 0, kw, 'unsharp', False) else 0
        return self._morph('Image.gaussian', _ksize(ksize), 1, [u], args[1:], kw)

    # api: partial (ksize, sharpen=False, mul=1/centre, add=0, threshold=False, offset=0, invert=False, mask=None) - a mask raises NotImplementedError
    def laplacian(self, ksize, *args, **kw):
        _k.check_kw(kw, ('sharpen', 'mul', 'add', 'threshold', 'offset', 'invert', 'mask'), 'Image.laplacian')
        sh = 1 if _k.opt(args, 0, kw, 'sharpen', False) else 0
        return self._morph('Image.laplacian', _ksize(ksize), 2, [sh], args[1:], kw)

    # api: approx (ksize, color_sigma=0.1, space_sigma=1, threshold=False, offset=0, invert=False, mask=None) - binary32 sums
    #   and MaixPy's fast_expf; the board's compiler may fuse multiply-adds, so a level can differ by 1; a mask raises NotImplementedError
    def bilateral(self, ksize, *args, **kw):
        _k.check_kw(kw, ('color_sigma', 'space_sigma', 'threshold', 'offset', 'invert', 'mask'), 'Image.bilateral')
        cs = _k.get_float(_k.opt(args, 0, kw, 'color_sigma', 0.1))
        ss = _k.get_float(_k.opt(args, 1, kw, 'space_sigma', 1))
        tail = self._filter_tail(args, kw, 2, 'Image.bilateral')
        _k.call('image_bilateral', *(self._args() + (_ksize(ksize), cs, ss) + tail))
        return self

    # api: partial (image or color, mask=None) - |a - b| per channel; a file path or a mask raises NotImplementedError
    def difference(self, other, *args, **kw):
        _k.check_kw(kw, ('mask',), 'Image.difference')
        _no_mask(_k.opt(args, 0, kw, 'mask', None), 'Image.difference')
        if isinstance(other, str):
            _k.unsupported('Image.difference(path)')
        if isinstance(other, Image):
            if other._w != self._w or other._h != self._h or other._bpp != self._bpp:
                raise ValueError('Images not equal!')
            _k.call('image_difference', *(self._args() + (_k.addr(other._px), 0)))
        else:
            _k.call('image_difference', *(self._args() + (None, _color(self, other, 0))))
        return self

    def _pool_size(self, x_div, y_div):
        xd, yd = _k.get_int(x_div), _k.get_int(y_div)
        if xd < 1:
            raise ValueError('Width divisor must be greater than >= 1')
        if xd > self._w:
            raise ValueError('Width divisor must be less than <= img width')
        if yd < 1:
            raise ValueError('Height divisor must be greater than >= 1')
        if yd > self._h:
            raise ValueError('Height divisor must be less than <= img height')
        return xd, yd

    # api: exact (x_div, y_div) - a new image of the block means
    def mean_pooled(self, x_div, y_div):
        xd, yd = self._pool_size(x_div, y_div)
        w, h = self._w // xd, self._h // yd
        out = bytearray(w * h * self._bpp)
        _k.call('image_mean_pool', *(self._args() + (_k.addr(out), xd, yd)))
        return Image(_raw=(w, h, self._bpp, out, None))

    # api: exact (x_div, y_div) - in place: the image shrinks
    def mean_pool(self, x_div, y_div):
        p = self.mean_pooled(x_div, y_div)
        self._w, self._h, self._px = p._w, p._h, p._px
        return self

    # api: exact (x0, y0, x1, y1, color, size=10, thickness=1) - or a tuple
    def draw_arrow(self, *args, **kw):
        (x0, y0, x1, y1), off = _k.consume(args, 0, 4)
        c = _color(self, _k.opt(args, off, kw, 'color', None))
        s = _k.get_int(_k.opt(args, off + 1, kw, 'size', 10))
        t = _k.get_int(_k.opt(args, off + 2, kw, 'thickness', 1))
        _k.call('image_draw_arrow', *(self._args() + (_k.get_int(x0), _k.get_int(y0), _k.get_int(x1), _k.get_int(y1), c, s, t)))
        return self

    # api: approx (strength=1.8, zoom=1.0) - binary32 with MaixPy's atan polynomial; a fused multiply-add on the board
    #   can move a source pixel at a rounding boundary
    def lens_corr(self, *args, **kw):
        _k.check_kw(kw, ('strength', 'zoom'), 'Image.lens_corr')
        s = _k.get_float(_k.opt(args, 0, kw, 'strength', 1.8))
        if not s > 0:
            raise ValueError('Strength must be > 0!')
        z = _k.get_float(_k.opt(args, 1, kw, 'zoom', 1.0))
        if not z > 0:
            raise ValueError('Zoom must be > 0!')
        _k.call('image_lens_corr', *(self._args() + (s, z)))
        return self

    # api: approx (x_rotation=0, y_rotation=0, z_rotation=0, x_translation=0, y_translation=0, zoom=1, fov=60, corners=None) -
    #   the perspective matrices (and the corners' homography) are solved in double precision where the firmware uses
    #   apriltag's matd, so a source pixel at a rounding boundary can differ
    def rotation_corr(self, *args, **kw):
        names = ('x_rotation', 'y_rotation', 'z_rotation', 'x_translation', 'y_translation', 'zoom', 'fov', 'corners')
        _k.check_kw(kw, names, 'Image.rotation_corr')
        d2r = 3.141592653589793 / 180
        v = [_k.get_float(_k.opt(args, i, kw, names[i], 1.0 if i == 5 else 60.0 if i == 6 else 0.0)) for i in range(7)]
        if not v[5] > 0:
            raise ValueError('Zoom must be > 0!')
        if not (0 < v[6] < 180):
            raise ValueError('FOV must be > 0 and < 180!')
        p = [_k.f32(v[0] * d2r), _k.f32(v[1] * d2r), _k.f32(v[2] * d2r), v[3], v[4], v[5], _k.f32(v[6] * d2r)]
        corners = _k.opt(args, 7, kw, 'corners', None)
        if corners is not None:
            if len(corners) != 4:
                raise ValueError('requested length 4 but object has length %d' % len(corners))
            for c in corners:
                if len(c) != 2:
                    raise ValueError('requested length 2 but object has length %d' % len(c))
                p += [_k.get_float(c[0]), _k.get_float(c[1])]
        _k.call('image_rotation_corr', *(self._args() + (p,)))
        return self

    # api: partial (thresholds, invert=False, roi, x_stride=2, y_stride=1, area_threshold=10, pixels_threshold=10,
    #   merge=False, margin=0, threshold_cb=None, merge_cb=None) - callbacks raise NotImplementedError; rects are
    #   (x1, y1, x2 - x1, y2 - y1) as MaixPy reports them
    def find_blobs(self, thresholds, *args, **kw):
        _k.check_kw(kw, ('invert', 'roi', 'x_stride', 'y_stride', 'area_threshold', 'pixels_threshold', 'merge', 'margin',
                         'threshold_cb', 'merge_cb'), 'Image.find_blobs')
        th = _thresholds(thresholds)
        if not th:
            return []
        inv = bool(_k.opt(args, 0, kw, 'invert', False))
        roi = _roi(self, _k.opt(args, 1, kw, 'roi', None))
        xs = _k.get_int(_k.opt(args, 2, kw, 'x_stride', 2))
        if xs <= 0:
            raise ValueError('x_stride must not be zero.')
        ys = _k.get_int(_k.opt(args, 3, kw, 'y_stride', 1))
        if ys <= 0:
            raise ValueError('y_stride must not be zero.')
        area = _k.get_int(_k.opt(args, 4, kw, 'area_threshold', 10))
        pix = _k.get_int(_k.opt(args, 5, kw, 'pixels_threshold', 10))
        merge = bool(_k.opt(args, 6, kw, 'merge', False))
        margin = _k.get_int(_k.opt(args, 7, kw, 'margin', 0))
        if _k.opt(args, 8, kw, 'threshold_cb', None) is not None or _k.opt(args, 9, kw, 'merge_cb', None) is not None:
            _k.unsupported('Image.find_blobs(threshold_cb/merge_cb)')
        r = list(_k.call('image_find_blobs', *(self._args() + (th, inv, roi, xs, ys, area, pix, merge, margin))))
        out = []
        for i in range(0, len(r), 10):
            v = [int(x) for x in r[i:i + 10]]
            v[7] = float(r[i + 7])
            out.append(blob(v))
        return out

    # api: approx (roi) - decoded with jsQR: at most one code per call (the firmware's quirc finds several);
    #   ecc_level() and mask() raise NotImplementedError
    def find_qrcodes(self, *args, **kw):
        _k.check_kw(kw, ('roi',), 'Image.find_qrcodes')
        roi = _roi(self, _k.opt(args, 0, kw, 'roi', None))
        r = _k.call('image_find_qrcode', *(self._args() + (roi,)))
        if r is None:
            return []
        c = list(r[0])
        corners = tuple([(int(c[2 * i]), int(c[2 * i + 1])) for i in range(4)])
        data = bytes([int(b) for b in r[1]])
        try:
            payload = data.decode()
        except UnicodeError:
            payload = str(data)
        return [qrcode(corners, payload, int(r[2]), int(r[3]), int(r[4]))]

    # api: partial (path, roi=None, quality=50) - .png and .jpg only (other formats raise NotImplementedError); JPEG bytes come from kpusim's encoder, not the board's; the file goes to the interpreter's memory file system
    def save(self, path, roi=None, quality=50, **kw):
        if roi is not None:
            return self.copy(roi).save(path, quality=quality)
        p = path.lower()
        if p.endswith('.png'):
            fmt = 'png'
        elif p.endswith('.jpg') or p.endswith('.jpeg'):
            fmt = 'jpeg'
        else:
            _k.unsupported('Image.save to ' + path + ' (kpusim writes .png and .jpg)')
        n = _k.call('image_encode', *self._args(), fmt, _k.get_int(quality))
        data = _k.take(n)
        _k.warn('Image.save(%r) writes into the emulator\'s memory file system only (not to --sd)' % path)
        with open(path, 'wb') as f:
            f.write(data)
        return self

__getattr__ = _k.module_getattr('image', ["SEARCH_EX","SEARCH_DS","EDGE_CANNY","EDGE_SIMPLE","CORNER_FAST","CORNER_AGAST","TAG16H5","TAG25H7","TAG25H9","TAG36H10","TAG36H11","ARTOOLKIT","EAN2","EAN5","EAN8","UPCE","ISBN10","UPCA","EAN13","ISBN13","I25","DATABAR","DATABAR_EXP","CODABAR","CODE39","PDF417","CODE93","CODE128","ImageWriter","ImageReader","rgb_to_lab","lab_to_rgb","HaarCascade","load_descriptor","save_descriptor","match_descriptor"])


_font = {'utf8': False}


# api: approx (index, width, height, source) - checks the firmware's arguments (a UTF8 font from a flash address > 0
#   or a .Dzk file that must exist); text is still drawn with kpusim's own font
def font_load(index, width, high, source=None, **kw):
    index, width, high = _k.get_int(index), _k.get_int(width), _k.get_int(high)
    if index == UTF8:
        if type(source) is int:
            if source <= 0:
                raise ValueError('[MAIXPY]image: font_addr must > 0 ')
        elif isinstance(source, str):
            if '.Dzk' not in source:
                raise ValueError("[MAIXPY]image: font format don't match, only supply .Dzk ")
            import os
            os.stat(source)
        _font['utf8'] = True
    return None


# api: no-op - the built-in font again
def font_free(*args, **kw):
    _font['utf8'] = False
    return None


# api: exact - binary32, as the firmware (docs/maixpy-face-pipeline.md)
def get_affine_transform(src_list, dst_list):
    if not (type(src_list) is list and type(dst_list) is list):
        raise OSError('Need input [[x0,y0],[x1,y1],...]')
    if len(src_list) != len(dst_list):
        raise ValueError('src len must equal with dst len')
    if len(src_list) > 10:
        raise ValueError('must<=10 points')
    s = []
    d = []
    for i in range(len(src_list)):
        a = src_list[i]
        b = dst_list[i]
        if len(a) != 2 or len(b) != 2:
            raise ValueError('requested length 2 but object has length %d' % (len(a) if len(a) != 2 else len(b)))
        s.append(_k.get_int(a[0]))
        s.append(_k.get_int(a[1]))
        d.append(_k.get_int(b[0]))
        d.append(_k.get_int(b[1]))
    n = _k.call('image_affine', s, d)
    return _k.floats(_k.take(n))


# api: exact
def warp_affine_ai(src_img, dst_img, transform):
    if len(transform) != 9:
        raise ValueError('requested length 9 but object has length %d' % len(transform))
    t = [_k.get_float(v) for v in transform]
    if src_img._bpp != dst_img._bpp:
        raise ValueError('src_img->bpp != dst_img->bpp')
    if src_img._ai is None or dst_img._ai is None:
        raise ValueError('only support ai image affine')
    ch = 3 if src_img._bpp == 2 else 1
    _k.call('image_warp', _k.addr(src_img._ai), len(src_img._ai), src_img._w, src_img._h, ch,
            _k.addr(dst_img._ai), len(dst_img._ai), dst_img._w, dst_img._h, t)
    return None


# api: exact
def rgb_to_grayscale(rgb):
    r, g, b = [_k.get_int(v) & 0xFF for v in rgb]
    return (38 * r + 75 * g + 15 * b) >> 7


# api: exact
def grayscale_to_rgb(g):
    g = _k.get_int(g) & 0xFF
    return (g, g, g)
