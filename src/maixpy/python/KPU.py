# MaixPy's `KPU` module (sipeed's KPU API): models run on kpusim's bit-exact KPU emulation and the
# board time of each run is charged to the clock. The objects it returns (kpu_net, kpu_yolo2,
# kpu_yolo2_find, kpu_fmap, kpu_netinfo_find) answer their getters exactly as the firmware's.
# api-default: exact
import _kpusim as _k

_SYS_HEAP = 6 * 1024 * 1024 - 2 * 1024 * 1024



class kpu_net:
    def __init__(self, handle, addr, path):
        self._h = handle
        self._addr = addr
        self._path = path
        info = _k.call('kpu_info', handle)
        self._size = info.bytes
        self._layers = info.layers
        # the runtime's layer count as load() records it (an error code on a non-v3 model)
        self._max_layers = info.maxLayers
        self._version = info.version
        self._in = (info.w, info.h, info.c)
        self._outputs = info.outputs
        self._yolo = None
        self._shapes = {}
        self._freed = False

    def __repr__(self):
        return '{"model_addr": %d, "model_size": %d, "model_path": "%s", "net_args": %s}' % (
            self._addr or 0, self._size, self._path if self._path is not None else '(null)', repr(self._yolo) if self._yolo else '"(null)"')

    def model_addr(self):
        return self._addr

    def model_size(self):
        return self._size

    def model_path(self):
        return self._path

    def net_arg(self):
        return self._yolo

    def __del__(self):
        return None


class kpu_yolo2:
    def __init__(self, threshold, nms_value, anchor_number, anchor):
        self._threshold = threshold
        self._nms = nms_value
        self._n = anchor_number
        self._anchor = anchor

    def __repr__(self):
        return '{"threshold":%f, "nms_value":%f, "anchor_number":%d, "anchor":"(%s)"}' % (
            self._threshold, self._nms, self._n, ', '.join(['%f' % a for a in self._anchor]))

    def anchor(self):
        return self._anchor

    def threshold(self):
        return self._threshold

    def nms_value(self):
        return self._nms

    def anchor_number(self):
        return self._n


class kpu_yolo2_find:
    def __init__(self, rec):
        self._x, self._y, self._w, self._h = int(rec[0]), int(rec[1]), int(rec[2]), int(rec[3])
        self._classid, self._index, self._objnum = int(rec[4]), int(rec[5]), int(rec[6])
        self._value = rec[7]

    def __repr__(self):
        return '{"x":%d, "y":%d, "w":%d, "h":%d, "value":%f, "classid":%d, "index":%d, "objnum":%d}' % (
            self._x, self._y, self._w, self._h, self._value, self._classid, self._index, self._objnum)

    def rect(self):
        return (self._x, self._y, self._w, self._h)

    def x(self):
        return self._x

    def y(self):
        return self._y

    def w(self):
        return self._w

    def h(self):
        return self._h

    def classid(self):
        return self._classid

    def index(self):
        return self._index

    def value(self):
        return self._value

    def objnum(self):
        return self._objnum


class kpu_fmap:
    def __init__(self, raw, typecode, w, h, ch, index):
        self._raw = raw
        self._tc = typecode
        self._w, self._h, self._ch, self._index = w, h, ch, index

    def _vals(self):
        if self._tc == 'f':
            return _k.floats(self._raw)
        return tuple(self._raw)

    def __repr__(self):
        return '{"fmap": "data"=0x%x, "size"=%d, "index": %d, "w": %d, "h": %d, "ch": %d, "typecode": %s}' % (
            _k.addr(self._raw), len(self._raw), self._index, self._w, self._h, self._ch, self._tc)

    def __len__(self):
        return len(self._raw) // (4 if self._tc == 'f' else 1)

    def __getitem__(self, i):
        if type(i) is int:
            n = len(self)
            if i < 0:
                i += n
            if i < 0 or i >= n:
                raise IndexError('index out of range')
            if self._tc == 'f':
                return _k.floats(self._raw[4 * i:4 * i + 4])[0]
            return self._raw[i]
        v = self._vals()
        r = v[i]
        if i.step is not None and i.step != 1:
            raise OSError('only slices with step=1 (aka None) are supported')
        return r

    def __setitem__(self, i, value):
        _k.unsupported('kpu_fmap item assignment')

    def size(self):
        return len(self._raw)

    def index(self):
        return self._index

    def w(self):
        return self._w

    def h(self):
        return self._h

    def ch(self):
        return self._ch

    def typecode(self):
        return self._tc


class kpu_netinfo_find:
    def __init__(self, row):
        self._f = list(row)

    def __repr__(self):
        f = self._f
        return '{"index":%d, "type":%s, "wi":%d, "hi":%d, "wo":%d, "ho":%d, "chi":%d, "cho":%d, "dw":%d, "kernel_type":%d, "pool_type":%d, "para_size":%d}' % tuple(f)

    def index(self):
        return self._f[0]

    def type(self):
        return self._f[1]

    def wi(self):
        return self._f[2]

    def hi(self):
        return self._f[3]

    def wo(self):
        return self._f[4]

    def ho(self):
        return self._f[5]

    def chi(self):
        return self._f[6]

    def cho(self):
        return self._f[7]

    def dw(self):
        return self._f[8]

    def kernel_type(self):
        return self._f[9]

    def pool_type(self):
        return self._f[10]

    def para_size(self):
        return self._f[11]


def _net(task):
    if type(task) is not kpu_net:
        raise TypeError('[MAIXPY]kpu: kpu_net type error')
    if task._freed:
        raise OSError('[MAIXPY]kpu: the model was freed by deinit()')
    return task


# api: partial (path or flash offset) - a path on /sd (or the interpreter's files) or a flash address mapped with --flash ADDR=FILE (or a bundled model); encrypted .smodel/.emodel raise the firmware's ERR_DECRYPT
def load(model, **kw):
    if type(model) is int:
        if model <= 0:
            raise ValueError('[MAIXPY]kpu: model_addr must > 0 ')
        h = _k.call('kpu_load_flash', model, None)
        return kpu_net(h, model, None)
    if type(model) is str:
        if '.kmodel' not in model and '.smodel' not in model and '.emodel' not in model:
            raise ValueError("[MAIXPY]kpu: model format don't match, only supply .kmodel ")
        if '.smodel' in model or '.emodel' in model:
            raise ValueError('[MAIXPY]kpu: load error:5, ERR_DECRYPT: check smodel match with your board (kpusim cannot decrypt board-bound models)')
        h = _k.call('kpu_load_path', model)
        return kpu_net(h, None, model)
    raise TypeError('[MAIXPY]kpu: only accept int or string')


# api: approx (flash_addr, is_dual_buf, batch_size, spi_speed) - the model at a flash address, as load(flash_addr): outputs
#   are exact; the board streams the weights from flash during each run, which kpusim's board time leaves out
def load_flash(*args, **kw):
    if len(args) < 4:
        raise TypeError('function takes 4 positional arguments but %d were given' % len(args))
    if not all(type(a) is int for a in args[:4]):
        raise ValueError('[MAIXPY]kpu: load_flash arg format error: task=kpu.load_flash(flash_addr, is_dual_buf, batch_size, spi_speed)')
    if args[0] <= 0:
        raise ValueError('[MAIXPY]kpu: model_addr must > 0 ')
    h = _k.call('kpu_load_flash', args[0], None)
    return kpu_net(h, args[0], None)


def _ai(img):
    import image
    if not isinstance(img, image.Image):
        raise TypeError("can't convert %s to Image" % type(img).__name__)
    if img._ai is None:
        raise OSError(22)
    return img._ai


def _check(r):
    if r < 0:
        raise OSError(-r)
    return r


def _live(o):
    if type(o) is not classifier:
        raise ValueError('must be obj')
    _net(o._model)
    return o._id


# api: approx (model, class_num, sample_num, fea_len=768) - the self-learning classifier. The firmware's library is
#   published only as object code; kpusim follows what that code does: features are the first fea_len floats of
#   output 0, train is k-means seeded with the class images (Euclidean distance, binary32, fused square-adds), predict
#   the nearest class and its distance, save/load the library's file layout. Not compared with a board, so results may
#   differ where that reading is wrong. Where the board faults or corrupts memory (rm_sample_img with samples stored,
#   load with class_num below the file's count, a truncated file), kpusim raises an error instead
class classifier:
    def __init__(self, *args, **kw):
        self._id = None
        if '_kpusim_loaded' in kw:
            self._model, self._id = kw['_kpusim_loaded']
            return
        if len(args) < 3:
            raise ValueError('model, class num, sample num')
        if type(args[0]) is not kpu_net:
            raise ValueError('model')
        fea_len = 0
        if kw:
            # py_helper_keyword_int(.., 3, .., fea_len, 0): the keyword, else a fourth positional argument
            fea_len = _k.get_int(kw['fea_len']) if 'fea_len' in kw else (_k.get_int(args[3]) if len(args) > 3 else 0)
        self._model = _net(args[0])
        self._id = _check(_k.call('cls_new', self._model._h, _k.get_int(args[1]), _k.get_int(args[2]), fea_len))

    def __repr__(self):
        return '<classifier>'


    # api: approx (img, idx=-1) - the class index filled; OSError 1 when idx is out of range or all classes are set
    def add_class_img(self, img, *idx):
        a = _ai(img)
        i = _k.get_int(idx[0]) if idx else -1
        return _check(_k.call('cls_add_class', _live(self), _k.addr(a), len(a), i))

    # api: approx (img) - the sample index; OSError 1 once sample_num samples are stored
    def add_sample_img(self, img):
        a = _ai(img)
        return _check(_k.call('cls_add_sample', _live(self), _k.addr(a), len(a)))

    # api: approx () - drops the last class and returns the class count before it (the board's library frees the slot
    #   after the last class instead, so adding that many classes again faults there)
    def rm_class_img(self):
        return _check(_k.call('cls_rm_class', _live(self)))

    # api: partial () - with no sample stored, OSError 1 as the board; with samples the board's library frees a null
    #   slot (the board faults), so kpusim raises NotImplementedError
    def rm_sample_img(self):
        if _k.call('cls_sample_count', _live(self)) == 0:
            raise OSError(1)
        _k.unsupported('KPU.classifier.rm_sample_img with samples stored (the firmware library faults on it)')

    # api: approx () - k-means over the samples seeded with the class images, until the samples' summed distance stops
    #   changing; the samples are dropped afterwards. OSError 1 unless every class is set and a sample is stored
    def train(self):
        _check(_k.call('cls_train', _live(self)))
        return None

    # api: approx (img) - (class index, Euclidean distance to its centre); with no class the library answers the
    #   previous prediction's index (-1 at first: OSError 1)
    def predict(self, img):
        a = _ai(img)
        r = _k.call('cls_predict', _live(self), _k.addr(a), len(a))
        _check(r.index)
        return (r.index, float(r.distance))

    # api: approx (path) - the library's layout: u16 class count, u16 sample_num, then per class a 16-byte header
    #   (u32 fea_len, i32 index, f32 0.0, 4 zero bytes) and fea_len float32 values, little-endian
    def save(self, path):
        if type(path) is not str:
            raise TypeError("can't convert %s to str" % type(path).__name__)
        data = _k.take(_k.call('cls_save', _live(self)))
        with open(path, 'wb') as f:
            f.write(data)
        return None

    # api: approx (model, path, class_num=0, sample_num=0, fea_len=768) - returns (classifier, class_num, sample_num);
    #   class_num / sample_num <= 0 take the file's. As the firmware, a third positional argument is read both as
    #   class_num and as fea_len. A file that does not hold what its header announces raises ValueError naming the
    #   byte offset (the board loads it silently)
    def load(*args, **kw):
        if len(args) < 2:
            raise TypeError('function missing %d required positional arguments' % (2 - len(args)))
        model, path = args[0], args[1]
        if type(model) is classifier:
            raise ValueError('must be class')
        if type(model) is not kpu_net:
            raise ValueError('must be model')
        if type(path) is not str:
            raise ValueError('path err')
        class_num = _k.get_int(args[2]) if len(args) > 2 else 0
        sample_num = _k.get_int(args[3]) if len(args) > 3 else 0
        fea_len = _k.get_int(kw['fea_len']) if 'fea_len' in kw else class_num
        _net(model)
        with open(path, 'rb') as f:
            data = bytearray(f.read())
        r = _k.call('cls_load', model._h, _k.addr(data) if data else 0, len(data), class_num, sample_num, fea_len, path)
        _check(r.id)
        return (classifier(_kpusim_loaded=(model, r.id)), r.classNum, r.sampleNum)

    def __del__(self):
        if self._id is not None:
            print('classifier __del__\r')
            _k.call('cls_del', self._id)
            self._id = None
        return None


# api: exact - v3 models (see above)
def set_layers(task, n):
    # v3: run only the first n layers (n <= 0: all); forward then returns layer n - 1's output
    _net(task)
    r = _k.call('kpu_set_layers', task._h, _k.get_int(n))
    if r.print is not None:
        print(r.print)
    return r.ok


# api: exact
def set_outputs(task, idx, w, h, ch):
    if not (type(task) is kpu_net and type(idx) is int and type(w) is int and type(h) is int and type(ch) is int):
        raise ValueError('[MAIXPY]kpu: set_outputs arg format error: set_outputs(task, int idx, int w, int h, int ch)')
    if idx < 0 or idx >= task._outputs:
        print('[MAIXPY]kpu: set_outputs arg value error:kmodel output idx %d out of range' % idx)
        return False
    desc = _k.call('kpu_output_desc', task._h, idx)
    if w * h * ch * 4 != desc.bytes:
        print('[MAIXPY]kpu: set_outputs arg value error: w,c,ch size not match output size')
        return False
    task._shapes[idx] = (w, h, ch)
    return True


# api: exact (kpu_net, threshold, nms_value, anchor_number, anchor)
def init_yolo2(kpu_net=None, threshold=None, nms_value=None, anchor_number=0, anchor=None, dma=-1):
    task = kpu_net
    if type(task) is not globals()['kpu_net']:
        raise TypeError('[MAIXPY]kpu: kpu_net type error')
    t = _k.get_float(threshold)
    if not (t >= 0.0 and t <= 1.0):
        raise ValueError('[MAIXPY]kpu: threshold only support 0 to 1')
    n = _k.get_float(nms_value)
    if not (n >= 0.0 and n <= 1.0):
        raise ValueError('[MAIXPY]kpu: nms_value only support 0 to 1')
    num = _k.get_int(anchor_number)
    if num <= 0:
        raise ValueError('[MAIXPY]kpu: anchor_number should > 0')
    if len(anchor) != 2 * num:
        raise ValueError('requested length %d but object has length %d' % (2 * num, len(anchor)))
    a = tuple([_k.get_float(v) for v in anchor])
    task._yolo = kpu_yolo2(t, n, num, a)
    return True


def _grid(task, idx):
    if idx in task._shapes:
        return task._shapes[idx]
    if task._version != 3:
        raise OSError('ERR_OUTPUTS_SET: need kpu.set_outputs() to set shape')
    s = list(_k.call('kpu_output_desc', task._h, idx).shape)
    while len(s) < 4:
        s.insert(0, 1)
    return (s[3], s[2], s[1])


def _check_img(task, img):
    if img._ai is None:
        print('[MAIXPY]kpu: pix_ai is NULL!')
        raise ValueError('[MAIXPY]kpu: check img format err!')
    if task._version in (3, 4):
        w0, h0, ch0 = task._in
        if img._w != w0 or img._h != h0:
            print('[MAIXPY]kpu: img w=%d,h=%d, but model w=%d,h=%d' % (img._w, img._h, w0, h0))
            raise ValueError('[MAIXPY]kpu: check img format err!')
        if img._bpp == 1 and ch0 != 1:
            print('[MAIXPY]kpu: grayscale img, but model channel=%d' % ch0)
            raise ValueError('[MAIXPY]kpu: check img format err!')
        if img._bpp == 2 and ch0 != 3:
            print('[MAIXPY]kpu: RGB img, but model channel=%d' % ch0)
            raise ValueError('[MAIXPY]kpu: check img format err!')


# api: exact - the KPU is bit-exact; the region layer runs in binary32 as the firmware
def run_yolo2(task, img):
    _net(task)
    import image
    if not isinstance(img, image.Image):
        raise TypeError("can't convert %s to Image" % type(img).__name__)
    _check_img(task, img)
    if task._yolo is None:
        raise OSError('kpusim: run_yolo2 before init_yolo2 (the board dereferences a null pointer here)')
    w, h, ch = _grid(task, 0)
    _k.call('kpu_run', task._h, _k.addr(img._ai), len(img._ai), False)
    y = task._yolo
    n = _k.call('kpu_region_maixpy', task._h, y._threshold, y._nms, list(y._anchor), w, h, ch)
    rec = _k.floats(_k.take(n))
    count = len(rec) // 8
    if count == 0:
        return None
    return [kpu_yolo2_find(rec[8 * i:8 * i + 8]) for i in range(count)]


def _fmap(task, idx):
    if task._version == 3:
        # typecode, w, h, ch and index of the last layer run (set_layers moves it), as the firmware builds them
        f = _k.call('kpu_fmap_v3', task._h, idx)
        raw = _k.take(f.bytes)
        return kpu_fmap(raw, f.typecode, f.w, f.h, f.ch, f.index)
    raw = _k.take(_k.call('kpu_output', task._h, idx))
    w, h, ch = _grid(task, idx)
    return kpu_fmap(raw, 'f', w, h, ch, task._max_layers - 1)


# api: exact (kpu_net, img or list of floats, out_index=0)
def forward(kpu_net=None, img=None, out_index=0, dma=-1):
    task = _net(kpu_net)
    import image
    if isinstance(img, image.Image):
        _check_img(task, img)
        if task._version == 4 and _k.get_int(out_index) not in task._shapes:
            raise OSError('sipeed_kpu_get_outputs_shape err')
        _k.call('kpu_run', task._h, _k.addr(img._ai), len(img._ai), False)
    elif type(img) is list:
        if not img:
            raise ValueError('[MAIXPY]kpu: check input list format err!')
        _k.call('kpu_run_floats', task._h, [_k.get_float(v) for v in img])
    else:
        raise ValueError('input not support')
    return _fmap(task, _k.get_int(out_index))


# api: exact
def get_output(task, idx):
    if type(task) is not kpu_net or type(idx) is not int:
        raise ValueError('[MAIXPY]kpu: get_output arg format error: get_output(task, int idx)')
    return _fmap(_net(task), idx)


# api: exact
def fmap(fm, ch):
    ch = _k.get_int(ch)
    if ch < 0 or ch >= fm._ch:
        raise ValueError('[MAIXPY]kpu: ch err,input 0~%d' % fm._ch)
    if fm._tc != 'B':
        raise ValueError("[MAIXPY]kpu: can't convet float fmap yet")
    import image
    n = fm._w * fm._h
    return image.Image(_raw=(fm._w, fm._h, 1, fm._raw[n * ch:n * ch + n], None))


# api: exact
def fmap_free(fm):
    return None


# api: exact
def deinit(task):
    if type(task) is not kpu_net:
        raise TypeError('[MAIXPY]kpu: kpu_net type error')
    _k.call('kpu_free', task._h)
    task._freed = True
    task._yolo = None
    return True


# api: exact
def netinfo(task):
    _net(task)
    return [kpu_netinfo_find(r) for r in _k.call('kpu_netinfo', task._h)]


# api: approx - the heap figures are kpusim's accounting
def memtest():
    import gc
    print('###free gc heap memory : %d KB' % (gc.mem_free() // 1024))
    print('###free sys heap memory: %d KB' % ((_SYS_HEAP - _k.call('kpu_model_bytes')) // 1024))
    return None


# api: exact
def face_encode(feature):
    if type(feature) is not tuple and type(feature) is not list:
        raise TypeError("object '%s' isn't a tuple or list" % type(feature).__name__)
    vals = [_k.get_float(v) for v in feature]
    return bytearray(_k.take(_k.call('face_encode', vals)))


# api: exact
def face_compare(a, b):
    ba = bytearray(a)
    bb = bytearray(b)
    return float(_k.call('face_compare', _k.addr(ba) if ba else 0, len(ba), _k.addr(bb) if bb else 0, len(bb)))
