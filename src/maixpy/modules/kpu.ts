/**
 * The KPU: MaixPy's `KPU` module (`import KPU as kpu`: load by flash address or path,
 * init_yolo2/run_yolo2 with its result objects, forward and fmap, face_encode/face_compare,
 * set_outputs, netinfo, deinit, memtest) and CanMV's `maix.KPU` class (old API: load_kmodel,
 * run_with_output, init_yolo2/regionlayer_yolo2, feature_compare, sigmoid, softmax, deinit).
 *
 * Models run on kpusim's interpreter (golden numerics by default); the region layer, feature
 * encoding and comparison are the pipeline's ports of the firmware (doc §1, §6, C.3, C.6).
 * Each run advances the board clock by the timing model's prediction for that model.
 */
import { faceCompare, faceEncode, featureCompare, l2Normalize } from '../../pipeline/features.js';
import { f32, sigmoidF32 } from '../../pipeline/f32.js';
import { classCountFromChannels, decodeRegionLayer, type RegionLayerParams } from '../../pipeline/region.js';
import { int, num, numberList, PyError, str, type BoardContext } from '../context.js';
import type { LoadedKpuModel } from '../storage.js';
import { CPU_STEP_CYCLES as C } from '../timing.js';
import type { MaixpyModule } from './types.js';

interface ModelSlot {
  readonly model: LoadedKpuModel;
  outputs: Uint8Array[] | null;
  freed: boolean;
}

function slots(ctx: BoardContext): ModelSlot[] {
  return ctx.get('kpu.slots', () => [] as ModelSlot[]);
}

function slot(ctx: BoardContext, h: unknown): ModelSlot {
  const s = slots(ctx)[int(h, 'model handle')];
  if (!s) throw new PyError('ValueError', 'kpusim: not a loaded model');
  if (s.freed) throw new PyError('OSError', 'the model was freed by deinit()');
  return s;
}

function addSlot(ctx: BoardContext, model: LoadedKpuModel): number {
  const list = slots(ctx);
  list.push({ model, outputs: null, freed: false });
  return list.length - 1;
}

function runModel(ctx: BoardContext, s: ModelSlot, input: Uint8Array): void {
  const r = s.model.prepared.run([input]);
  s.outputs = r.outputs.map((o) => o.slice());
  ctx.clock.advance(s.model.boardMs, 'kpu');
}

function outputOf(s: ModelSlot, idx: number): Uint8Array {
  if (!s.outputs) throw new PyError('OSError', 'the model has not run yet');
  const o = s.outputs[idx];
  if (!o) throw new PyError('OSError', `output ${idx} out of range (the model has ${s.outputs.length})`);
  return o;
}

function asFloats(bytes: Uint8Array): Float32Array {
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + (bytes.length & ~3)));
}

function floatBlob(ctx: BoardContext, values: ArrayLike<number>): number {
  return ctx.give(new Uint8Array(Float32Array.from(values).buffer));
}

/** Region-layer records for Python: 8 binary32 values each (x, y, w, h, classid, index, objnum, value). */
function regionBlob(
  ctx: BoardContext,
  data: Float32Array,
  channels: number,
  height: number,
  width: number,
  p: RegionLayerParams,
): number {
  const dets = decodeRegionLayer({ data, channels, height, width }, p);
  const rec = new Float32Array(8 * dets.length);
  dets.forEach((d, i) => rec.set([d.x, d.y, d.w, d.h, d.classId, d.index, dets.length, d.score], 8 * i));
  const boxes = (p.anchors.length / 2) * width * height;
  ctx.clock.cpu(C.regionPerBox * boxes + C.nmsPerCandidate * dets.length * 4);
  return ctx.give(new Uint8Array(rec.buffer));
}

const backend = {
  kpu_load_flash(ctx: BoardContext, address: unknown, size: unknown): number {
    const a = int(address, 'address');
    const model = ctx.storage.loadFromFlash(a, size === null || size === undefined ? undefined : int(size, 'size'));
    return addSlot(ctx, model);
  },

  kpu_load_path(ctx: BoardContext, path: unknown): number {
    const model = ctx.storage.loadFromPath(str(path, 'path'), (p) => ctx.readVfs(p));
    return addSlot(ctx, model);
  },

  /** "bytes layers version inW inH inC outputs lastLayerType". */
  kpu_info(ctx: BoardContext, h: unknown): string {
    const { model } = slot(ctx, h);
    const s = model.input.shape;
    const [c, hh, w] =
      s.length === 4 ? [s[1], s[2], s[3]] : s.length === 3 ? [s[0], s[1], s[2]] : [1, 1, s[s.length - 1] ?? 1];
    return [
      model.bytes,
      model.layerCount,
      model.model.version,
      w,
      hh,
      c,
      model.prepared.outputs.length,
      model.lastLayerType || '-',
    ].join(' ');
  },

  /** "dtype bytes d0,d1,…" of output idx (shape as the model states it). */
  kpu_output_desc(ctx: BoardContext, h: unknown, idx: unknown): string {
    const { model } = slot(ctx, h);
    const o = model.prepared.outputs[int(idx, 'index')];
    if (!o)
      throw new PyError(
        'OSError',
        `output ${String(idx)} out of range (the model has ${model.prepared.outputs.length})`,
      );
    return `${o.dtype} ${o.bytes} ${o.shape.join(',')}`;
  },

  /** Run on an image's AI buffer: the model's input bytes are read from the start of the buffer. */
  kpu_run(ctx: BoardContext, h: unknown, aiAddr: unknown, aiLen: unknown, allowShort: unknown): void {
    const s = slot(ctx, h);
    const need = s.model.input.bytes;
    const len = int(aiLen, 'ai length');
    let input: Uint8Array;
    if (len >= need) input = ctx.memory.bytes(int(aiAddr, 'ai'), need).slice();
    else if (allowShort) {
      ctx.warnOnce(
        `short-input:${s.model.source}`,
        `the model ${s.model.source} reads ${need} input bytes but the image's AI buffer holds ${len}: on the board the rest is whatever follows in memory; kpusim reads zeros`,
      );
      input = new Uint8Array(need);
      input.set(ctx.memory.bytes(int(aiAddr, 'ai'), len));
    } else throw new PyError('ValueError', `the model's input is ${need} bytes, the image's AI buffer ${len}`);
    runModel(ctx, s, input);
  },

  /** Run on a list of floats (MaixPy `forward(task, [floats])`), packed as binary32. */
  kpu_run_floats(ctx: BoardContext, h: unknown, values: unknown): void {
    const s = slot(ctx, h);
    const v = numberList(ctx, values, 'input list');
    const bytes = new Uint8Array(Float32Array.from(v).buffer);
    if (bytes.length !== s.model.input.bytes)
      throw new PyError(
        'ValueError',
        `the model's input is ${s.model.input.bytes} bytes, the list gives ${bytes.length} (${v.length} floats)`,
      );
    runModel(ctx, s, bytes);
  },

  /** Run on a raw input file (CanMV `run_with_output("/sd/x.bin")`). */
  kpu_run_file(ctx: BoardContext, h: unknown, path: unknown): void {
    const s = slot(ctx, h);
    const p = str(path, 'path');
    const data = ctx.readVfs(p) ?? ctx.storage.readBoardFile(p);
    const input = new Uint8Array(s.model.input.bytes);
    input.set(data.subarray(0, input.length));
    if (data.length < input.length)
      ctx.warnOnce(
        `short-file:${p}`,
        `${p} holds ${data.length} bytes, the model reads ${input.length}: kpusim reads zeros for the rest`,
      );
    runModel(ctx, s, input);
  },

  /** The last run's output bytes as pending data. */
  kpu_output(ctx: BoardContext, h: unknown, idx: unknown): number {
    return ctx.give(outputOf(slot(ctx, h), int(idx, 'index')).slice());
  },

  /** MaixPy's region layer on output 0; `w, h, ch` is the output grid (v4: from set_outputs). Returns the object count. */
  kpu_region_maixpy(
    ctx: BoardContext,
    h: unknown,
    threshold: unknown,
    nms: unknown,
    anchors: unknown,
    gw: unknown,
    gh: unknown,
    gch: unknown,
  ): number {
    const s = slot(ctx, h);
    const out = outputOf(s, 0);
    const W = int(gw, 'w'),
      H = int(gh, 'h'),
      CH = int(gch, 'ch');
    const a = numberList(ctx, anchors, 'anchor');
    const inShape = s.model.input.shape;
    const inW = inShape[inShape.length - 1],
      inH = inShape[inShape.length - 2];
    const classes = classCountFromChannels(CH, 'maixpy');
    if (classes < 1)
      throw new PyError(
        'ValueError',
        `[MAIXPY]kpu: region_layer_init err! (${CH} output channels give ${classes} classes by MaixPy's rule channels/5 - 5)`,
      );
    const data = asFloats(out);
    if (data.length < W * H * CH)
      throw new PyError(
        'ValueError',
        `[MAIXPY]kpu: region_layer_init err! (output 0 holds ${data.length} floats, ${W}×${H}×${CH} needed)`,
      );
    return regionBlob(ctx, data, CH, H, W, {
      anchors: a,
      classes,
      threshold: num(threshold, 'threshold'),
      nmsValue: num(nms, 'nms_value'),
      imageWidth: inW,
      imageHeight: inH,
      netWidth: inW,
      netHeight: inH,
      maxObjects: null,
      rectStorage: 'int16',
    });
  },

  /** CanMV's `regionlayer_yolo2` with the `init_yolo2` keywords; the output is read as floats, whatever its type. */
  kpu_region_canmv(
    ctx: BoardContext,
    h: unknown,
    anchors: unknown,
    anchorNum: unknown,
    imgW: unknown,
    imgH: unknown,
    netW: unknown,
    netH: unknown,
    layerW: unknown,
    layerH: unknown,
    threshold: unknown,
    nms: unknown,
    classes: unknown,
  ): number {
    const s = slot(ctx, h);
    const out = outputOf(s, 0);
    const n = int(anchorNum, 'anchor_num');
    const a = numberList(ctx, anchors, 'anchor').slice(0, 2 * n);
    if (a.length < 2 * n)
      throw new PyError(
        'ValueError',
        `init_yolo2: anchor_num ${n} needs ${2 * n} anchor values, ${a.length} given (the board reads past the tuple)`,
      );
    const k = int(classes, 'classes');
    const W = int(layerW, 'layer_w'),
      H = int(layerH, 'layer_h');
    const channels = n * (5 + k);
    const data = asFloats(out);
    if (data.length < channels * W * H)
      throw new PyError(
        'ValueError',
        `regionlayer_yolo2 reads ${channels * W * H} floats (${n} anchors × (5 + ${k}) × ${W}×${H}) but output 0 holds ${data.length}: the board would read past the buffer`,
      );
    return regionBlob(ctx, data, channels, H, W, {
      anchors: a,
      classes: k,
      threshold: num(threshold, 'threshold'),
      nmsValue: num(nms, 'nms_value'),
      imageWidth: int(imgW, 'img_w'),
      imageHeight: int(imgH, 'img_h'),
      netWidth: int(netW, 'net_w'),
      netHeight: int(netH, 'net_h'),
      maxObjects: null,
      rectStorage: 'int',
    });
  },

  /** CanMV `run_with_output(get_feature=True)`: output 0 as floats, L2-normalised (pending binary32 values). */
  kpu_feature(ctx: BoardContext, h: unknown): number {
    const data = asFloats(outputOf(slot(ctx, h), 0));
    if (data.length > 256) throw new PyError('ValueError', 'feature len out of 256');
    ctx.clock.cpu(C.featurePerElement * data.length);
    return floatBlob(ctx, l2Normalize(data));
  },

  face_encode(ctx: BoardContext, values: unknown): number {
    const v = numberList(ctx, values, 'feature');
    if (v.length > 512) throw new PyError('ValueError', 'feature dim <=200');
    ctx.clock.cpu(C.featurePerElement * v.length);
    return ctx.give(new Uint8Array(faceEncode(v).buffer));
  },

  face_compare(ctx: BoardContext, aAddr: unknown, aLen: unknown, bAddr: unknown, bLen: unknown): number {
    const la = int(aLen, 'length'),
      lb = int(bLen, 'length');
    if (la !== lb) throw new PyError('ValueError', 'compare feature must in same dim!');
    const a = la ? new Int8Array(ctx.memory.bytes(int(aAddr, 'a'), la).slice().buffer) : new Int8Array(0);
    const b = lb ? new Int8Array(ctx.memory.bytes(int(bAddr, 'b'), lb).slice().buffer) : new Int8Array(0);
    ctx.clock.cpu(C.featurePerElement * la);
    return faceCompare(a, b);
  },

  feature_compare(ctx: BoardContext, a: unknown, b: unknown): number {
    const x = numberList(ctx, a, 'feature 0'),
      y = numberList(ctx, b, 'feature 1');
    if (x.length !== y.length) throw new PyError('ValueError', 'feature len error');
    ctx.clock.cpu(C.featurePerElement * x.length);
    return featureCompare(x, y);
  },

  /** CanMV `KPU.sigmoid`: 1 / (1 + expf(−x)) in binary32 (the region layer's σ). */
  kpu_sigmoid(_ctx: BoardContext, x: unknown): number {
    return sigmoidF32(num(x, 'x'));
  },

  /** CanMV `KPU.softmax`: max-subtracted, expf, binary32 sum and divide (pending binary32 values). */
  kpu_softmax(ctx: BoardContext, values: unknown): number {
    const v = numberList(ctx, values, 'list').map(f32);
    let m = -Infinity;
    for (const x of v) if (x > m) m = x;
    let sum = 0;
    const e = v.map((x) => f32(Math.exp(f32(x - m))));
    for (const x of e) sum = f32(sum + x);
    return floatBlob(
      ctx,
      e.map((x) => f32(x / sum)),
    );
  },

  /** netinfo rows: "index type wi hi wo ho chi cho dw kernel_type pool_type para_size" per layer, ';'-separated. */
  kpu_netinfo(ctx: BoardContext, h: unknown): string {
    const { model } = slot(ctx, h);
    return model.prepared.events
      .map((e, i) => {
        const k = e.kpu;
        if (!k) return [i, e.type, 0, 0, 0, 0, 0, 0, 0, 0, 0, e.bytesOut].join(' ');
        const g = k.geometry;
        return [
          i,
          e.type,
          g.inWidth,
          g.inHeight,
          g.outWidth,
          g.outHeight,
          g.inChannels,
          g.outChannels,
          g.depthwise ? 1 : 0,
          g.kernel === 3 ? 1 : 0,
          g.poolType,
          k.weightBytes,
        ].join(' ');
      })
      .join(';');
  },

  kpu_free(ctx: BoardContext, h: unknown): boolean {
    const s = slots(ctx)[int(h, 'model handle')];
    if (!s || s.freed) return false;
    s.freed = true;
    s.outputs = null;
    return true;
  },

  /** Main-memory bytes held by loaded models (for memtest's estimate). */
  kpu_model_bytes(ctx: BoardContext): number {
    return slots(ctx).reduce((sum, s) => sum + (s.freed ? 0 : s.model.bytes), 0);
  },
};

const KPU_MISSING = ['load_flash', 'set_layers', 'classifier'];

/** MaixPy's `KPU` module. */
const maixpyPython = String.raw`
import _kpusim as _k

_SYS_HEAP = 6 * 1024 * 1024 - 2 * 1024 * 1024

__getattr__ = _k.module_getattr('KPU', ${JSON.stringify(KPU_MISSING)})


class kpu_net:
    def __init__(self, handle, addr, path):
        self._h = handle
        self._addr = addr
        self._path = path
        info = _k.call('kpu_info', handle).split(' ')
        self._size = int(info[0])
        self._layers = int(info[1])
        self._version = int(info[2])
        self._in = (int(info[3]), int(info[4]), int(info[5]))
        self._outputs = int(info[6])
        self._last = info[7]
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
        f = row.split(' ')
        self._f = [int(f[0]), f[1]] + [int(v) for v in f[2:]]

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


def set_outputs(task, idx, w, h, ch):
    if not (type(task) is kpu_net and type(idx) is int and type(w) is int and type(h) is int and type(ch) is int):
        raise ValueError('[MAIXPY]kpu: set_outputs arg format error: set_outputs(task, int idx, int w, int h, int ch)')
    if idx < 0 or idx >= task._outputs:
        print('[MAIXPY]kpu: set_outputs arg value error:kmodel output idx %d out of range' % idx)
        return False
    desc = _k.call('kpu_output_desc', task._h, idx).split(' ')
    if w * h * ch * 4 != int(desc[1]):
        print('[MAIXPY]kpu: set_outputs arg value error: w,c,ch size not match output size')
        return False
    task._shapes[idx] = (w, h, ch)
    return True


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
    d = _k.call('kpu_output_desc', task._h, idx).split(' ')
    s = [int(v) for v in d[2].split(',')]
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
    d = _k.call('kpu_output_desc', task._h, idx).split(' ')
    raw = _k.take(_k.call('kpu_output', task._h, idx))
    index = task._layers - 1
    if task._version == 3:
        if task._last in ('K210_CONV',) or d[0] != 'float32':
            s = [int(v) for v in d[2].split(',')]
            while len(s) < 4:
                s.insert(0, 1)
            return kpu_fmap(raw, 'B', s[3], s[2], s[1], index)
        # the firmware's typecode-size helper falls through to 1: w is the byte count
        return kpu_fmap(raw, 'f', len(raw), 1, 1, index)
    w, h, ch = _grid(task, idx)
    return kpu_fmap(raw, 'f', w, h, ch, index)


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


def get_output(task, idx):
    if type(task) is not kpu_net or type(idx) is not int:
        raise ValueError('[MAIXPY]kpu: get_output arg format error: get_output(task, int idx)')
    return _fmap(_net(task), idx)


def fmap(fm, ch):
    ch = _k.get_int(ch)
    if ch < 0 or ch >= fm._ch:
        raise ValueError('[MAIXPY]kpu: ch err,input 0~%d' % fm._ch)
    if fm._tc != 'B':
        raise ValueError("[MAIXPY]kpu: can't convet float fmap yet")
    import image
    n = fm._w * fm._h
    return image.Image(_raw=(fm._w, fm._h, 1, fm._raw[n * ch:n * ch + n], None))


def fmap_free(fm):
    return None


def deinit(task):
    if type(task) is not kpu_net:
        raise TypeError('[MAIXPY]kpu: kpu_net type error')
    _k.call('kpu_free', task._h)
    task._freed = True
    task._yolo = None
    return True


def netinfo(task):
    _net(task)
    rows = _k.call('kpu_netinfo', task._h)
    return [kpu_netinfo_find(r) for r in rows.split(';') if r]


def memtest():
    import gc
    print('###free gc heap memory : %d KB' % (gc.mem_free() // 1024))
    print('###free sys heap memory: %d KB' % ((_SYS_HEAP - _k.call('kpu_model_bytes')) // 1024))
    return None


def face_encode(feature):
    if type(feature) is not tuple and type(feature) is not list:
        raise TypeError("object '%s' isn't a tuple or list" % type(feature).__name__)
    vals = [_k.get_float(v) for v in feature]
    return bytearray(_k.take(_k.call('face_encode', vals)))


def face_compare(a, b):
    ba = bytearray(a)
    bb = bytearray(b)
    return float(_k.call('face_compare', _k.addr(ba) if ba else 0, len(ba), _k.addr(bb) if bb else 0, len(bb)))
`;

/** CanMV's `KPU` class (old API), embedded in the `maix` module. */
export const CANMV_KPU_PYTHON = String.raw`
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
            info = _k.call('kpu_info', h).split(' ')
            print('model size %d ' % int(info[0]))
        elif type(path) is int:
            if path <= 0:
                raise ValueError('path error!')
            size = _k.get_int(size)
            if size <= 0:
                raise ValueError('size error!')
            h = _k.call('kpu_load_flash', path, size)
            info = _k.call('kpu_info', h).split(' ')
        else:
            raise ValueError('path error!')
        self._h = h
        self._size = int(info[0])
        self._inputs = 1
        self._outputs = int(info[6])
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
`;

export const kpuModule: MaixpyModule = { file: 'KPU', python: maixpyPython, backend };
