/**
 * The host side of MaixPy's `KPU.classifier` (python/KPU.py): one state per classifier, the
 * model runs and the numerics of ../kpu-classifier.ts. Each call returns what the firmware's
 * library returns (an index, or a negative errno the Python side raises as `OSError`), so the
 * errors match the board's.
 */
import { int, PyError, type BoardContext } from '../context.js';
import {
  ClassifierFileError,
  decodeClassifier,
  DEFAULT_FEATURE_LENGTH,
  encodeClassifier,
  nearestCentre,
  trainClassifier,
  type ClassCentre,
} from '../kpu-classifier.js';
import { CPU_STEP_CYCLES as C } from '../timing.js';

const EPERM = 1,
  ENOMEM = 12,
  EINVAL = 22,
  ERANGE = 34;

/** The system heap a classifier's buffers come from (6 MiB main SRAM less the 2 MiB the firmware's image keeps). */
const SYS_HEAP_BYTES = 4 * 1024 * 1024;

/** What the classifier needs of the KPU module: a loaded model's run and its output 0. */
export interface ClassifierModelAccess {
  /** Runs model `h` on `len` bytes of the image's AI buffer at `addr` (short buffers as run_with_output). */
  run(ctx: BoardContext, h: number, addr: number, len: number): void;
  /** Output 0 of model `h`'s last run. */
  output0(ctx: BoardContext, h: number): Uint8Array;
}

interface ClassifierState {
  readonly model: number;
  readonly featureLength: number;
  readonly classMax: number;
  readonly sampleMax: number;
  readonly centres: ClassCentre[];
  classCount: number;
  samples: Float32Array[];
  /** The library's scratch point's class: kept from one predict to the next. */
  last: number;
  freed: boolean;
}

function states(ctx: BoardContext): ClassifierState[] {
  return ctx.get('kpu.classifiers', () => [] as ClassifierState[]);
}

function state(ctx: BoardContext, id: unknown): ClassifierState {
  const s = states(ctx)[int(id, 'classifier')];
  if (!s || s.freed) throw new PyError('OSError', '[Errno 22] EINVAL');
  return s;
}

function heapBytes(classes: number, samples: number, featureLength: number): number {
  return 72 + 8 * (classes + samples) + (classes + 1) * (24 + 4 * featureLength);
}

function newState(model: number, classMax: number, sampleMax: number, featureLength: number): ClassifierState | number {
  if (classMax < 0 || sampleMax < 0 || heapBytes(classMax, sampleMax, featureLength) > SYS_HEAP_BYTES) return -ENOMEM;
  return {
    model,
    featureLength,
    classMax,
    sampleMax,
    centres: Array.from({ length: classMax }, () => ({ data: new Float32Array(featureLength), filled: false })),
    classCount: 0,
    samples: [],
    last: -1,
    freed: false,
  };
}

/** The classifier's calls, given the KPU module's model access. */
export function classifierCalls(models: ClassifierModelAccess) {
  /** The first fea_len binary32 values of output 0 after a run on the image (the library's memcpy). */
  const feature = (ctx: BoardContext, s: ClassifierState, addr: unknown, len: unknown): Float32Array => {
    models.run(ctx, s.model, int(addr, 'ai'), int(len, 'ai length'));
    const out = models.output0(ctx, s.model);
    const need = 4 * s.featureLength;
    if (out.length < need)
      throw new PyError(
        'ValueError',
        `kpusim: the classifier reads ${s.featureLength} float32 features (fea_len) but the model's output 0 holds ${out.length >> 2}: the board reads past it`,
      );
    return new Float32Array(out.buffer.slice(out.byteOffset, out.byteOffset + need));
  };
  const charge = (ctx: BoardContext, s: ClassifierState, distances: number) =>
    ctx.clock.cpu(C.featurePerElement * s.featureLength * distances);
  return {
    /** `classifier(model, class_num, sample_num, fea_len=)`: a new classifier's id, or −ENOMEM. */
    cls_new(ctx: BoardContext, h: unknown, classNum: unknown, sampleNum: unknown, feaLen: unknown): number {
      const f = int(feaLen, 'fea_len');
      const s = newState(
        int(h, 'model'),
        int(classNum, 'class_num'),
        int(sampleNum, 'sample_num'),
        f > 0 ? f : DEFAULT_FEATURE_LENGTH,
      );
      if (typeof s === 'number') return s;
      states(ctx).push(s);
      return states(ctx).length - 1;
    },

    /** `add_class_img(img, idx=-1)`: the class index filled, or −EPERM (no such slot / all full). */
    cls_add_class(ctx: BoardContext, id: unknown, addr: unknown, len: unknown, idx: unknown): number {
      const s = state(ctx, id);
      let i = int(idx, 'index');
      if (i >= 0 ? i >= s.classMax : s.classCount >= s.classMax) return -EPERM;
      const f = feature(ctx, s, addr, len);
      if (i < 0) i = s.classCount;
      s.centres[i] = { data: f, filled: true };
      if (i >= s.classCount) s.classCount = i + 1;
      return i;
    },

    /** `add_sample_img(img)`: the sample index, or −EPERM when sample_num are stored. */
    cls_add_sample(ctx: BoardContext, id: unknown, addr: unknown, len: unknown): number {
      const s = state(ctx, id);
      if (s.samples.length >= s.sampleMax) return -EPERM;
      s.samples.push(feature(ctx, s, addr, len));
      return s.samples.length - 1;
    },

    /** `rm_class_img()`: drops the last class; returns the class count before, −EPERM when there is none. */
    cls_rm_class(ctx: BoardContext, id: unknown): number {
      const s = state(ctx, id);
      if (s.classCount === 0) return -EPERM;
      const n = s.classCount--;
      s.centres[n - 1] = { data: new Float32Array(s.featureLength), filled: false };
      return n;
    },

    /** Samples stored (rm_sample_img's check). */
    cls_sample_count(ctx: BoardContext, id: unknown): number {
      return state(ctx, id).samples.length;
    },

    /** `train()`: 0, or −EPERM (a class slot not filled, no class or no sample). */
    cls_train(ctx: BoardContext, id: unknown): number {
      const s = state(ctx, id);
      if (s.centres.some((c) => !c.filled) || s.classCount === 0 || s.samples.length === 0) return -EPERM;
      try {
        trainClassifier(s.centres, s.classCount, s.samples, () => charge(ctx, s, 1));
      } catch (e) {
        throw new PyError('RuntimeError', `kpusim: KPU.classifier.train: ${(e as Error).message}`);
      }
      s.samples = [];
      return 0;
    },

    /** `predict(img)`: { index, distance } (index −EINVAL / −ERANGE on the library's errors). */
    cls_predict(ctx: BoardContext, id: unknown, addr: unknown, len: unknown): { index: number; distance: number } {
      const s = state(ctx, id);
      const f = feature(ctx, s, addr, len);
      if (s.classMax > 0 && s.centres[0]!.data.length !== f.length) return { index: -EINVAL, distance: 0 };
      const r = nearestCentre(f, s.centres, s.classCount, s.last);
      charge(ctx, s, s.classCount);
      s.last = r.index;
      if (r.index > s.classCount) return { index: -ERANGE, distance: 0 };
      return { index: r.index, distance: r.distance };
    },

    /** `save(path)`: the file's bytes (the Python side writes them). */
    cls_save(ctx: BoardContext, id: unknown): number {
      const s = state(ctx, id);
      const classes = s.centres.slice(0, s.classCount).map((c) => c.data);
      return ctx.give(encodeClassifier(classes, s.sampleMax));
    },

    /**
     * `classifier.load(model, path, class_num, sample_num, fea_len=)` on the file's bytes:
     * { id, classNum, sampleNum }, or id −ENOMEM. A file that does not hold what its header
     * announces raises ValueError naming the byte offset.
     */
    cls_load(
      ctx: BoardContext,
      h: unknown,
      addr: unknown,
      len: unknown,
      classNum: unknown,
      sampleNum: unknown,
      feaLen: unknown,
      path: unknown,
    ): { id: number; classNum: number; sampleNum: number } {
      const n = int(len, 'length');
      const bytes = n ? ctx.memory.bytes(int(addr, 'data'), n).slice() : new Uint8Array(0);
      const f = int(feaLen, 'fea_len') > 0 ? int(feaLen, 'fea_len') : DEFAULT_FEATURE_LENGTH;
      let saved;
      try {
        saved = decodeClassifier(bytes, f);
      } catch (e) {
        if (e instanceof ClassifierFileError)
          throw new PyError('ValueError', `${String(path)}: not a saved classifier: ${e.message}`);
        throw e;
      }
      let cn = int(classNum, 'class_num');
      let sn = int(sampleNum, 'sample_num');
      if (cn <= 0) cn = saved.classes.length;
      if (sn <= 0) sn = saved.sampleNum;
      if (cn < saved.classes.length)
        throw new PyError(
          'ValueError',
          `kpusim: ${String(path)} holds ${saved.classes.length} classes but class_num is ${cn}: the board writes past its class table`,
        );
      const s = newState(int(h, 'model'), cn, sn, f);
      if (typeof s === 'number') return { id: s, classNum: cn, sampleNum: sn };
      saved.classes.forEach((c, i) => (s.centres[i] = { data: c, filled: true }));
      // as the library: every class_num slot counts, those the file did not fill are zero vectors
      s.classCount = cn;
      states(ctx).push(s);
      return { id: states(ctx).length - 1, classNum: cn, sampleNum: sn };
    },

    /** `__del__`: frees the classifier. */
    cls_del(ctx: BoardContext, id: unknown): void {
      const s = states(ctx)[int(id, 'classifier')];
      if (s) s.freed = true;
    },
  };
}
