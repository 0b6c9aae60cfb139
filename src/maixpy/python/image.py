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


IMAGE_MISSING = ["mean_pool","mean_pooled","midpoint_pool","midpoint_pooled","to_bitmap","to_grayscale","to_rgb565","to_rainbow","compress","compress_for_ide","compressed","compressed_for_ide","crop","draw_ellipse","draw_font","draw_arrow","draw_keypoints","flood_fill","binary","invert","and","b_and","nand","b_nand","or","b_or","nor","b_nor","xor","b_xor","xnor","b_xnor","erode","dilate","open","close","top_hat","black_hat","gamma_corr","negate","assign","replace","set","add","sub","mul","div","min","max","difference","blend","histeq","mean","median","mode","midpoint","morph","blur","gaussian","gaussian_blur","laplacian","bilateral","cartoon","remove_shadows","chrominvar","illuminvar","linpolar","logpolar","lens_corr","rotation_corr","get_similarity","get_hist","get_histogram","histogram","get_stats","get_statistics","statistics","get_regression","find_blobs","find_lines","find_line_segments","find_circles","find_rects","find_qrcodes","find_apriltags","find_datamatrices","find_barcodes","find_displacement","find_template","find_features","find_eye","find_lbp","find_keypoints","find_domain","find_edges","find_hog","selective_search","dump_roi","conv3","strech_char","stretch"]


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
        return bytes(self._px)

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


__getattr__ = _k.module_getattr('image', ["SEARCH_EX","SEARCH_DS","EDGE_CANNY","EDGE_SIMPLE","CORNER_FAST","CORNER_AGAST","TAG16H5","TAG25H7","TAG25H9","TAG36H10","TAG36H11","ARTOOLKIT","EAN2","EAN5","EAN8","UPCE","ISBN10","UPCA","EAN13","ISBN13","I25","DATABAR","DATABAR_EXP","CODABAR","CODE39","PDF417","CODE93","CODE128","font_load","font_free","ImageWriter","ImageReader","rgb_to_lab","lab_to_rgb","HaarCascade","load_descriptor","save_descriptor","match_descriptor"])


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
