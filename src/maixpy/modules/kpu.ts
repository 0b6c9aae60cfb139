/**
 * The KPU: MaixPy's `KPU` module (`import KPU as kpu`: load by flash address or path,
 * init_yolo2/run_yolo2 with its result objects, forward and fmap, face_encode/face_compare,
 * set_outputs, netinfo, deinit, memtest) and CanMV's `maix.KPU` class (old API: load_kmodel,
 * run_with_output, init_yolo2/regionlayer_yolo2, feature_compare, sigmoid, softmax, deinit).
 *
 * Models run on kpusim's interpreter (golden numerics by default); the region layer, feature
 * encoding and comparison are the pipeline's ports of the firmware (face-pipeline §1, §6, C.3, C.6).
 * Each run advances the board clock by the timing model's prediction for that model.
 */
import { faceCompare, faceEncode, featureCompare, l2Normalize } from '../../pipeline/features.js';
import { f32, sigmoidF32 } from '../../pipeline/f32.js';
import { classCountFromChannels, decodeRegionLayer, type RegionLayerParams } from '../../pipeline/region.js';
import { int, num, numberList, PyError, str, type BoardContext } from '../context.js';
import type { LoadedKpuModel } from '../storage.js';
import { CPU_STEP_CYCLES as C } from '../timing.js';
import { PYTHON_SOURCES as PY } from '../python/sources.generated.js';
import { classifierCalls } from './kpu-classifier.js';
import { captureLayerOutput, maxLayers, setLayers, v3Fmap, type LayerPrefix } from './kpu-layers.js';
import type { MaixpyModule } from './types.js';

interface KpuInfo {
  readonly bytes: number;
  readonly layers: number;
  /** The runtime's layer count as `load` records it (an error code on non-v3 models). */
  readonly maxLayers: number;
  readonly version: number;
  readonly w: number;
  readonly h: number;
  readonly c: number;
  readonly outputs: number;
  readonly last: string;
}

interface ModelSlot {
  readonly model: LoadedKpuModel;
  outputs: Uint8Array[] | null;
  freed: boolean;
  /** After `set_layers` (v3): the runtime's layer count and output 0's source; null before. */
  prefix: LayerPrefix | null;
  /** Output 0 as the last run left it after `set_layers`. */
  prefixOutput: Uint8Array | null;
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
  list.push({ model, outputs: null, freed: false, prefix: null, prefixOutput: null });
  return list.length - 1;
}

function runModel(ctx: BoardContext, s: ModelSlot, input: Uint8Array): void {
  const p = s.prefix;
  if (!p) {
    const r = s.model.prepared.run([input]);
    s.outputs = r.outputs.map((o) => o.slice());
    ctx.clock.advance(s.model.boardMs, 'kpu');
    return;
  }
  const cap = captureLayerOutput(s.model, p);
  const r = s.model.prepared.run([input], { onLayer: cap.hook });
  s.outputs = r.outputs.map((o) => o.slice());
  if (p.output) s.prefixOutput = cap.bytes();
  ctx.clock.advance(p.boardMs, 'kpu');
}

/** Output `idx` as `forward`/`get_output` see it (output 0 follows set_layers). */
function fmapBytes(s: ModelSlot, idx: number): Uint8Array {
  if (idx === 0 && s.prefix?.output && s.outputs) return s.prefixOutput ?? outputOf(s, 0);
  return outputOf(s, idx);
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

interface CanmvShape {
  readonly valid: boolean;
  readonly c: number;
  readonly h: number;
  readonly w: number;
}

const NO_SHAPE: CanmvShape = { valid: false, c: 0, h: 0, w: 0 };

function chw(shape: readonly number[]): CanmvShape {
  const s = [...shape];
  while (s.length < 4) s.unshift(1);
  return { valid: true, c: s[1], h: s[2], w: s[3] };
}

function canmvShapes(m: LoadedKpuModel): { input: CanmvShape; output: CanmvShape } {
  if (m.model.version !== 3) {
    const o = m.prepared.outputs[0];
    return { input: chw(m.input.shape), output: o ? chw(o.shape) : NO_SHAPE };
  }
  const ev = m.prepared.events;
  const L = ev.length;
  const g0 = ev[0]?.type === 'K210_CONV' ? ev[0].kpu?.geometry : undefined;
  const input = g0 ? { valid: true, c: g0.inChannels, h: g0.inHeight, w: g0.inWidth } : NO_SHAPE;
  const gl = L >= 3 && ev[L - 2].type === 'K210_CONV' ? ev[L - 2].kpu?.geometry : undefined;
  const ok = L >= 3 && ev[L - 1].type === 'DEQUANTIZE' && ev[L - 3].type === 'K210_CONV' && gl;
  const output = ok && gl ? { valid: true, c: gl.outChannels, h: gl.outHeight, w: gl.outWidth } : NO_SHAPE;
  return { input, output };
}

/** The licence-plate recogniser's heads: 31, 24 and five times 34 outputs. */
const LP_HEADS = [31, 24, 34, 34, 34, 34, 34];
/** Inputs per output the firmware's weight layout is fixed to (its WEIGHTn_LEN constants). */
const LP_STRIDE = 1664;

/**
 * CanMV's `lp_recog_process`: seven fully connected heads over seven equal chunks of the features,
 * each head's weights (outputs × chunk, at the firmware's fixed offsets of outputs × 1664) followed
 * by its biases, in binary32 sums. Returns the 225 scores in head order.
 */
export function lpRecog(feat: Float32Array, w: Float32Array): number[] {
  const chunk = Math.trunc(feat.length / 7);
  const out: number[] = [];
  let off = 0;
  LP_HEADS.forEach((n, h) => {
    const weight = off,
      bias = off + n * LP_STRIDE;
    off = bias + n;
    if (bias + n > w.length || weight + n * chunk > w.length)
      throw new PyError(
        'ValueError',
        `kpusim: the lp weight data (${w.length} floats) is too short for the model output`,
      );
    for (let i = 0; i < n; i++) {
      let acc = 0;
      for (let j = 0; j < chunk; j++)
        acc = Math.fround(acc + Math.fround(feat[h * chunk + j] * w[weight + i * chunk + j]));
      out.push(Math.fround(acc + w[bias + i]));
    }
  });
  return out;
}

const backend = {
  ...classifierCalls({
    run(ctx, h, addr, len) {
      // the classifier library hands the image's AI buffer to the KPU without a size check
      backend.kpu_run(ctx, h, addr, len, true);
    },
    output0: (ctx, h) => outputOf(slot(ctx, h), 0),
  }),

  kpu_load_flash(ctx: BoardContext, address: unknown, size: unknown): number {
    const a = int(address, 'address');
    const model = ctx.storage.loadFromFlash(a, size === null || size === undefined ? undefined : int(size, 'size'));
    return addSlot(ctx, model);
  },

  /**
   * `size` bytes of the emulated SPI flash at `address` (CanMV's weight files read from raw flash),
   * for `take`. What kpusim cannot know (an unmapped address, bytes past a mapped file) is an OSError.
   */
  kpu_flash_read(ctx: BoardContext, address: unknown, size: unknown): number {
    const a = int(address, 'address'),
      n = int(size, 'size');
    try {
      return ctx.give(ctx.storage.readFlash(a, n).bytes.slice());
    } catch (e) {
      throw new PyError('OSError', `kpusim: ${(e as Error).message}`);
    }
  },

  kpu_load_path(ctx: BoardContext, path: unknown): number {
    const model = ctx.storage.loadFromPath(str(path, 'path'), (p) => ctx.readVfs(p));
    return addSlot(ctx, model);
  },

  /** The loaded model: file size, layer count, format version, input w/h/c, output count, last layer type. */
  kpu_info(ctx: BoardContext, h: unknown): KpuInfo {
    const { model } = slot(ctx, h);
    const s = model.input.shape;
    const [c, hh, w] =
      s.length === 4 ? [s[1], s[2], s[3]] : s.length === 3 ? [s[0], s[1], s[2]] : [1, 1, s[s.length - 1] ?? 1];
    return {
      bytes: model.bytes,
      layers: model.layerCount,
      maxLayers: maxLayers(model),
      version: model.model.version,
      w,
      h: hh,
      c,
      outputs: model.prepared.outputs.length,
      last: model.lastLayerType,
    };
  },

  /** Output idx: dtype, bytes and shape as the model states it. */
  kpu_output_desc(ctx: BoardContext, h: unknown, idx: unknown): { dtype: string; bytes: number; shape: number[] } {
    const { model } = slot(ctx, h);
    const o = model.prepared.outputs[int(idx, 'index')];
    if (!o)
      throw new PyError(
        'OSError',
        `output ${String(idx)} out of range (the model has ${model.prepared.outputs.length})`,
      );
    return { dtype: o.dtype, bytes: o.bytes, shape: [...o.shape] };
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

  /** MaixPy `set_layers(task, n)` (see kpu-layers.ts): whether it succeeded and the line the firmware prints. */
  kpu_set_layers(ctx: BoardContext, h: unknown, n: unknown): { ok: boolean; print: string | null } {
    const s = slot(ctx, h);
    const r = setLayers(s.model, int(n, 'layers'));
    if (r.prefix) {
      if (r.prefix.output || !s.prefix) s.prefixOutput = null;
      s.prefix = r.prefix.output ? r.prefix : { ...r.prefix, output: s.prefix?.output ?? null };
    }
    return { ok: r.ok, print: r.print };
  },

  /** MaixPy v3 `forward`/`get_output`: output idx as pending bytes and the fmap's typecode, w, h, ch and index. */
  kpu_fmap_v3(
    ctx: BoardContext,
    h: unknown,
    idx: unknown,
  ): { typecode: string; w: number; h: number; ch: number; index: number; bytes: number } {
    const s = slot(ctx, h);
    const data = fmapBytes(s, int(idx, 'index'));
    const bytes = ctx.give(data.slice());
    return { ...v3Fmap(s.model, s.prefix?.layers ?? s.model.layerCount, data.length), bytes };
  },

  /**
   * MaixPy's region layer on output 0; `w, h, ch` is the output grid (v4: from set_outputs). Returns the object count.
   */
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

  /**
   * CanMV's current API (`maix.KPU().load`): the input and output shapes the firmware's helpers
   * find (kpu_helper.c). v3: the input from a first K210_CONV layer; the output only when the last
   * layer is DEQUANTIZE after a K210_CONV and, as the firmware's loop reads it, the layer before
   * that is a K210_CONV too. v4/v5: the model's input 0 and output 0 shapes.
   */
  kpu_canmv_shapes(ctx: BoardContext, h: unknown): { input: CanmvShape; output: CanmvShape } {
    return canmvShapes(slot(ctx, h).model);
  },

  /**
   * CanMV `Yolo2.run()`: the region layer on output 0 with the shapes above; returns the object count (8 floats each).
   */
  kpu_canmv_yolo2(ctx: BoardContext, h: unknown, anchors: unknown, threshold: unknown, nms: unknown): number {
    const s = slot(ctx, h);
    const out = outputOf(s, 0);
    const { input, output } = canmvShapes(s.model);
    if (!input.valid || !output.valid) throw new PyError('OSError', 'Parse model for yolo run failed');
    const a = numberList(ctx, anchors, 'anchor');
    const n = a.length / 2;
    const classes = Math.trunc(output.c / n) - 5;
    if (classes < 0) throw new PyError('OSError', 'Yolo2 region layer init failed');
    if (classes === 0)
      throw new PyError('NotImplementedError', 'kpusim: Yolo2.run on a model without class entries (classes = 0)');
    const channels = n * (5 + classes);
    const data = asFloats(out);
    if (data.length < channels * output.w * output.h)
      throw new PyError(
        'ValueError',
        `Yolo2.run reads ${channels * output.w * output.h} floats, output 0 holds ${data.length}`,
      );
    return regionBlob(ctx, data, channels, output.h, output.w, {
      anchors: a,
      classes,
      threshold: num(threshold, 'threshold'),
      nmsValue: num(nms, 'nms_value'),
      imageWidth: input.w,
      imageHeight: input.h,
      netWidth: input.w,
      netHeight: input.h,
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

  /**
   * CanMV `lp_recog`: the licence-plate recogniser's seven fully connected heads (31, 24 and five
   * times 34 outputs) over seven equal chunks of output 0, weights and biases packed one after the
   * other in the weight file (float32), in binary32 (the board may fuse multiply-adds). Returns the
   * 225 scores in order.
   */
  kpu_lp_recog(ctx: BoardContext, fAddr: unknown, fLen: unknown, wAddr: unknown, wLen: unknown): number[] {
    const fl = int(fLen, 'features'),
      wl = int(wLen, 'weights');
    const feat = new Float32Array(ctx.memory.bytes(int(fAddr, 'features'), fl).slice().buffer, 0, fl >> 2);
    const w = new Float32Array(ctx.memory.bytes(int(wAddr, 'weights'), wl).slice().buffer, 0, wl >> 2);
    ctx.clock.cpu(C.featurePerElement * 225 * Math.trunc(feat.length / 7));
    return lpRecog(feat, w);
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

  /** netinfo rows: [index, type, wi, hi, wo, ho, chi, cho, dw, kernel_type, pool_type, para_size] per layer. */
  kpu_netinfo(ctx: BoardContext, h: unknown): (number | string)[][] {
    const { model } = slot(ctx, h);
    return model.prepared.events.map((e, i) => {
      const k = e.kpu;
      if (!k) return [i, e.type, 0, 0, 0, 0, 0, 0, 0, 0, 0, e.bytesOut];
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
      ];
    });
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

export const kpuModule: MaixpyModule = { file: 'KPU', python: PY.KPU, backend };
