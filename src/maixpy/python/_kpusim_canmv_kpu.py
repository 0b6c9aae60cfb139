import _kpusim as _k


class KPU:
    def __init__(self, *args, **kw):
        self._h = None
        self._size = 0
        self._inputs = 0
        self._outputs = 0
        self._yolo = None

    __getattr__ = _k.class_getattr('KPU', ('lp_recog', 'lp_recog_load_weight_data', 'load', 'run', 'get_outputs', 'attr', 'alive_detect', 'Yolo2', 'Feat', 'Act'))

    def __repr__(self):
        return 'type        : kmodel (KPU) \nmodel_size  : %d\ninputs      : %d\noutputs     : %d\n' % (self._size, self._inputs, self._outputs)

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

    def init_yolo2(self, anchor=None, anchor_num=5, img_w=320, img_h=240, net_w=320, net_h=240, layer_w=10, layer_h=8,
                   threshold=0.7, nms_value=0.4, classes=1):
        if anchor is None:
            raise ValueError('need input anchor')
        self._yolo = ([_k.get_float(v) for v in anchor], _k.get_int(anchor_num), _k.get_int(img_w), _k.get_int(img_h),
                      _k.get_int(net_w), _k.get_int(net_h), _k.get_int(layer_w), _k.get_int(layer_h),
                      _k.get_float(threshold), _k.get_float(nms_value), _k.get_int(classes))
        return None

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

    def feature_compare(*args):
        if args and isinstance(args[0], KPU):
            args = args[1:]
        if len(args) != 2:
            raise ValueError('need input 2 feature')
        return float(_k.call('feature_compare', [_k.get_float(v) for v in args[0]], [_k.get_float(v) for v in args[1]]))

    def sigmoid(*args):
        if args and isinstance(args[0], KPU):
            args = args[1:]
        if len(args) != 1:
            raise ValueError()
        return float(_k.call('kpu_sigmoid', _k.get_float(args[0])))

    def softmax(*args):
        if args and isinstance(args[0], KPU):
            args = args[1:]
        if len(args) != 1:
            raise ValueError()
        return list(_k.floats(_k.take(_k.call('kpu_softmax', [_k.get_float(v) for v in args[0]]))))

    def deinit(self):
        self._yolo = None
        if self._h is None:
            return False
        r = _k.call('kpu_free', self._h)
        self._h = None
        if r:
            print('free kpu model buf succeed')
        return bool(r)

