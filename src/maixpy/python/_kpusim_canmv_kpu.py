import _kpusim as _k


def _flash(offset, size, message):
    # the firmware's read of raw flash; kpusim knows only the flash --flash maps
    try:
        return bytearray(_k.take(_k.call('kpu_flash_read', offset, size)))
    except OSError as e:
        raise OSError('%s (%s)' % (message, e))


# api: exact - `maix.KPU()`: CanMV's current API (load, run, get_outputs, Yolo2, Act, Feat) and its older one (load_kmodel, run_with_output, init_yolo2, regionlayer_yolo2, ...)
class KPU:
    def __init__(self, *args, **kw):
        self._h = None
        self._size = 0
        self._inputs = 0
        self._outputs = 0
        self._yolo = None

    __getattr__ = _k.class_getattr('KPU', ('attr', 'alive_detect'))

    # CanMV's current API (maix_kpu.c): load / run / get_outputs, Yolo2, Act, Feat

    # api: exact (path or flash offset, size=0)
    def load(self, model, size=0):
        size = _k.get_int(size)
        if type(model) is str:
            h = _k.call('kpu_load_path', model)
        elif type(model) is int:
            if model <= 0:
                raise ValueError('Model offset error!')
            h = _k.call('kpu_load_flash', model, size if size else None)
        else:
            raise ValueError('Load_kmodel need one parameter, path(string) or offset(int)')
        info = _k.call('kpu_info', h)
        if info.bytes <= 0 or info.bytes >= 5 * 1024 * 1024:
            raise ValueError('Model size error!')
        self._h = h
        self._size = info.bytes
        self._inputs = 1
        self._outputs = info.outputs
        self._new = True
        self._ran = False
        return None

    # api: exact (image) - the image needs pix_to_ai() and the model's input size
    def run(self, img):
        if self._h is None:
            raise OSError('Please load kmodel before')
        import image
        if not isinstance(img, image.Image):
            raise TypeError("can't convert %s to Image" % type(img).__name__)
        if img._ai is None:
            raise ValueError('Image formart error, use pix_to_ai() method to convert for kpu')
        sh = _k.call('kpu_canmv_shapes', self._h).input
        if sh.w != img._w or sh.h != img._h:
            print('model input %dx%d but image is %dx%d' % (sh.h, sh.w, img._h, img._w), end='')
            raise OSError(34)
        _k.call('kpu_run', self._h, _k.addr(img._ai), len(img._ai), False)
        self._ran = True
        return None

    def _need_run(self):
        if self._h is None or not getattr(self, '_ran', False):
            raise OSError('Please load/run kmodel before')

    # api: exact (index=0) - floats (binary32)
    def get_outputs(self, index=0):
        self._need_run()
        idx = index if type(index) is int else 0
        try:
            raw = _k.take(_k.call('kpu_output', self._h, idx))
        except OSError:
            raise OSError('Failed to get kpu outputs')
        return list(_k.floats(raw))

    # api: exact (path or flash address, size) - the recogniser's weight file from a path, or size bytes of the flash
    #   at an address mapped with --flash ADDR=FILE
    def lp_recog_load_weight_data(self, path=None, size=None):
        if type(path) is int:
            if path <= 0:
                raise ValueError('path error!')
            if size is None or _k.get_int(size) <= 0:
                raise ValueError('size error!')
            n = _k.get_int(size)
            print('weight_data_size: %d\r\n' % n, end='')
            self._lpw = _flash(path, n, 'Failed to read file')
            return None
        if type(path) is not str:
            raise ValueError('path error!')
        try:
            with open(path, 'rb') as f:
                data = f.read()
        except OSError:
            raise OSError('Failed to read file')
        print('weight_data_size: %d\r\n' % len(data), end='')
        self._lpw = bytearray(data)
        return None

    # api: approx - seven fully connected heads over output 0 (a tuple of 31, 24 and five times 34 scores) in binary32;
    #   the board's compiler may fuse multiply-adds, so scores can differ in the last bits
    def lp_recog(self):
        w = getattr(self, '_lpw', None)
        if w is None:
            raise OSError('not find lp weight data, please load')
        self._need()
        feat = _k.take(_k.call('kpu_output', self._h, 0))
        r = list(_k.call('kpu_lp_recog', _k.addr(feat), len(feat), _k.addr(w), len(w)))
        out = []
        i = 0
        for n in (31, 24, 34, 34, 34, 34, 34):
            out.append(tuple([float(v) for v in r[i:i + n]]))
            i += n
        return out

    # api: exact
    def Yolo2(self):
        return _Yolo2(self)

    # api: exact - the licence-plate recogniser bound to this KPU (load, run, deinit, attr below)
    def Lpr(self):
        o = _Lpr(self)
        self._lpr = o
        return o

    def __repr__(self):
        return 'type        : kmodel (KPU) \nmodel_size  : %d\ninputs      : %d\noutputs     : %d\n' % (self._size, self._inputs, self._outputs)

    # api: exact (path or flash offset, size=0)
    def load_kmodel(self, path=None, size=0):
        if path is None:
            raise ValueError('invalid path input')
        if type(path) is str:
            h = _k.call('kpu_load_path', path)
            info = _k.call('kpu_info', h)
            print('model size %d ' % info.bytes)
        elif type(path) is int:
            if path <= 0:
                raise ValueError('path error!')
            size = _k.get_int(size)
            if size <= 0:
                raise ValueError('size error!')
            h = _k.call('kpu_load_flash', path, size)
            info = _k.call('kpu_info', h)
        else:
            raise ValueError('path error!')
        self._h = h
        self._size = info.bytes
        self._inputs = 1
        self._outputs = info.outputs
        print('model load succeed')
        return None

    def _need(self):
        if self._h is None:
            raise OSError('kpusim: no model loaded (the board uses a null model here)')

    # api: exact (input=image or path, getlist=False, get_feature=False)
    def run_with_output(self, input=None, getlist=False, get_feature=False):
        self._need()
        import image
        if input is None:
            raise ValueError('invalid input')
        if type(input) is str:
            _k.call('kpu_run_file', self._h, input)
        elif isinstance(input, image.Image):
            if input._ai is None:
                raise OSError('Image formart error, use pix_to_ai() method to convert for kpu')
            _k.call('kpu_run', self._h, _k.addr(input._ai), len(input._ai), True)
        else:
            raise ValueError('invalid input')
        if getlist:
            return list(_k.floats(_k.take(_k.call('kpu_output', self._h, 0))))
        if get_feature:
            return list(_k.floats(_k.take(_k.call('kpu_feature', self._h))))
        return None

    # api: exact
    def init_yolo2(self, anchor=None, anchor_num=5, img_w=320, img_h=240, net_w=320, net_h=240, layer_w=10, layer_h=8,
                   threshold=0.7, nms_value=0.4, classes=1):
        if anchor is None:
            raise ValueError('need input anchor')
        self._yolo = ([_k.get_float(v) for v in anchor], _k.get_int(anchor_num), _k.get_int(img_w), _k.get_int(img_h),
                      _k.get_int(net_w), _k.get_int(net_h), _k.get_int(layer_w), _k.get_int(layer_h),
                      _k.get_float(threshold), _k.get_float(nms_value), _k.get_int(classes))
        return None

    # api: exact
    def regionlayer_yolo2(self):
        self._need()
        if self._yolo is None:
            raise OSError('kpusim: regionlayer_yolo2 before init_yolo2 (the board dereferences a null pointer here)')
        n = _k.call('kpu_region_canmv', self._h, *self._yolo)
        rec = _k.floats(_k.take(n))
        out = []
        for i in range(len(rec) // 8):
            r = rec[8 * i:8 * i + 8]
            out.append([int(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]), r[7]])
        return out

    # api: exact - binary32
    def feature_compare(*args):
        if args and isinstance(args[0], KPU):
            args = args[1:]
        if len(args) != 2:
            raise ValueError('need input 2 feature')
        return float(_k.call('feature_compare', [_k.get_float(v) for v in args[0]], [_k.get_float(v) for v in args[1]]))

    # api: exact - binary32
    def sigmoid(*args):
        if args and isinstance(args[0], KPU):
            args = args[1:]
        if len(args) != 1:
            raise ValueError()
        return float(_k.call('kpu_sigmoid', _k.get_float(args[0])))

    # api: exact - binary32
    def softmax(*args):
        if args and isinstance(args[0], KPU):
            args = args[1:]
        if len(args) != 1:
            raise ValueError()
        return list(_k.floats(_k.take(_k.call('kpu_softmax', [_k.get_float(v) for v in args[0]]))))

    # api: exact
    def deinit(self):
        if getattr(self, '_new', False):
            # the current API's deinit frees the model and returns None
            if self._h is not None:
                _k.call('kpu_free', self._h)
            if getattr(self, '_lpr', None) is not None:
                self._lpr.deinit()
            self._h = None
            self._new = False
            self._ran = False
            return None
        self._yolo = None
        if self._h is None:
            return False
        r = _k.call('kpu_free', self._h)
        self._h = None
        if r:
            print('free kpu model buf succeed')
        return bool(r)



# api-class: KPU.Yolo2
class _Yolo2:
    def __init__(self, parent):
        self._p = parent
        self._args = None

    # api: exact (anchor, threshold=0.5, nms_value=0.3)
    def init(self, anchor, threshold=None, nms_value=None):
        if anchor is None:
            raise ValueError('need input anchor')
        a = [_k.get_float(v) for v in anchor]
        if len(a) % 2:
            raise ValueError('The number of anchors should be a multiple of 2')
        t = 0.5 if threshold is None else _k.get_float(threshold)
        n = 0.3 if nms_value is None else _k.get_float(nms_value)
        self._args = (a, t, n)
        return None

    # api: exact - boxes [x, y, w, h, class, score] from the last run, in binary32 as the firmware
    def run(self):
        if self._args is None:
            raise OSError('Please call init before run')
        p = self._p
        if p._h is None:
            raise OSError('Parse model for yolo run failed')
        p._need_run()
        a, t, n = self._args
        rec = _k.floats(_k.take(_k.call('kpu_canmv_yolo2', p._h, a, t, n)))
        out = []
        for i in range(len(rec) // 8):
            r = rec[8 * i:8 * i + 8]
            out.append([int(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]), r[7]])
        return out

    # api: exact
    def deinit(self):
        self._args = None
        return None

    __getattr__ = _k.class_getattr('yolo2', ('attr',))


# api-class: KPU.Lpr
class _Lpr:
    # CanMV's feat/kpu maix_kpu.c: a weight file, then run() applies lp_recog_process to output 0 of the
    # parent's last run (the same seven fully connected heads as the older API's lp_recog).
    def __init__(self, parent):
        self._p = parent
        self._w = None
        self._name = ''
        self._sha = bytes(32)

    # api: exact ("path" or offset, size) - a path on the board's file systems, or size bytes of the flash at an offset
    #   mapped with --flash ADDR=FILE (named flash:0x%08X as the firmware)
    def load(self, path, size=None):
        if type(path) is str:
            try:
                with open(path, 'rb') as f:
                    data = f.read()
            except OSError:
                raise OSError('Failed to read file from filesystem')
            name = path[:127]
        elif type(path) is int:
            if type(size) is not int:
                raise TypeError("can't convert %s to int" % type(size).__name__)
            if path <= 0:
                raise ValueError('offset error!')
            if size <= 0:
                raise ValueError('weight file size error')
            data = _flash(path, size, 'Failed to read file from rawflash')
            name = 'flash:0x%08X' % path
        else:
            raise ValueError('load("path" / offset, size)')
        if len(data) <= 0:
            raise ValueError('weight file size error')
        import hashlib
        self._w = bytearray(data)
        self._name = name
        self._sha = hashlib.sha256(data).digest()
        return None

    # api: approx - seven fully connected heads over output 0 (tuples of 31, 24 and five times 34 scores) in binary32;
    #   the board's compiler may fuse multiply-adds, so scores can differ in the last bits
    def run(self):
        if self._w is None:
            raise OSError('Please call init before run')
        p = self._p
        if p._h is None or not getattr(p, '_ran', False):
            raise OSError('Please load/run kmodel before')
        try:
            feat = _k.take(_k.call('kpu_output', p._h, 0))
        except OSError:
            raise OSError('Failed to get kpu outputs')
        r = list(_k.call('kpu_lp_recog', _k.addr(feat), len(feat), _k.addr(self._w), len(self._w)))
        out = []
        i = 0
        for n in (31, 24, 34, 34, 34, 34, 34):
            out.append(tuple([float(v) for v in r[i:i + n]]))
            i += n
        return out

    # api: exact
    def deinit(self):
        self._w = None
        self._name = ''
        self._sha = bytes(32)
        return None

    # api: partial - the weight's size, name and sha256 as the firmware's; self and parent are kpusim's object ids, not addresses
    def attr(self):
        return {'weight': {'size': len(self._w) if self._w is not None else 0, 'name': self._name,
                           'sha256': bytearray(self._sha)}, 'self': id(self), 'parent': id(self._p)}

    def __repr__(self):
        return 'LPR\nweight_name      : %s\nweight_size      : %d\nweight_sha256    : %s\n' % (
            self._name, len(self._w) if self._w is not None else 0, ''.join(['%02X' % b for b in self._sha]))


# api-class: KPU.Act
class _Act:
    # api: exact - binary32
    @staticmethod
    def sigmoid(x):
        if type(x) is not float:
            raise TypeError("can't convert %s to float" % type(x).__name__)
        return float(_k.call('kpu_sigmoid', _k.get_float(x)))

    # api: exact - as the firmware, every non-empty list raises ValueError('list minimum size is 2') (its size test is inverted)
    @staticmethod
    def softmax(values):
        n = len(values)
        # maix_kpu.c tests `1 <= nitems` where it means `nitems < 2`: every non-empty list is refused
        if n >= 1:
            raise ValueError('list minimum size is 2')
        return []


# api-class: KPU.Feat
class _Feat:
    # api: exact - the L2-normalised first output, binary32
    @staticmethod
    def calculate(kpu):
        if not isinstance(kpu, KPU):
            raise TypeError("can't convert %s to KPU" % type(kpu).__name__)
        kpu._need_run()
        try:
            return list(_k.floats(_k.take(_k.call('kpu_feature', kpu._h))))
        except ValueError:
            raise ValueError('feature length bigger than 256')

    # api: exact - binary32
    @staticmethod
    def compare(f0, f1):
        a = [_k.get_float(v) for v in f0]
        b = [_k.get_float(v) for v in f1]
        if len(a) != len(b):
            if len(a) > 256:
                raise ValueError('feature len not equal')
            # the firmware compares len(f0) values and reads past a shorter f1 (undefined)
            raise ValueError('kpusim: features of different lengths (%d, %d): the board reads uninitialised memory' % (len(a), len(b)))
        return float(_k.call('feature_compare', a, b))


KPU.Act = _Act
KPU.Feat = _Feat
