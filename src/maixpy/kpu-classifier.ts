/**
 * MaixPy's self-learning classifier (`KPU.classifier`): the numerics and the saved-file format.
 *
 * The firmware's binding (Maix_kpu_classifier.c) calls a library shipped only as a binary
 * (`maix_kpu_classifier_*` in sipeed's lib_sipeed_kpu.a). What it does, as its published
 * object code shows (docs/maixpy-api.md, "KPU (MaixPy)"):
 *
 * - a feature is the first `fea_len` binary32 values of the model's output 0 (768 by default);
 * - `add_class_img` stores the image's feature as the centre of a class; `add_sample_img`
 *   stores a sample;
 * - `train` is k-means seeded with the class centres: every sample goes to its nearest centre
 *   (Euclidean distance; a strictly smaller distance wins, so ties keep the lower index), each
 *   centre that got samples becomes their mean (binary32 sums in sample order, then one
 *   division by the count; the class image itself no longer counts), and the two steps repeat
 *   until the sum of the samples' distances to their centres stops changing; the samples are
 *   then dropped;
 * - `predict` returns the nearest centre and its distance.
 *
 * The distance is `sqrtf(Σ (a−b)²)` with the square-and-add fused (`fmadd.s`) in index order.
 * Every step here is binary32 in the same order, so the results match the board's bit for bit
 * as far as that reading of the library goes; it has not been compared with a board.
 */
import { fmaf } from '../kpu/ops/common.js';

const f32 = Math.fround;

/** `FLT_MAX`, the start of every nearest-centre search. */
export const FLT_MAX = 3.4028234663852886e38;

/** The library's default feature length (`fea_len` ≤ 0). */
export const DEFAULT_FEATURE_LENGTH = 768;

/** Rounds of k-means kpusim runs before it gives up (the board would keep iterating). */
export const MAX_TRAIN_ROUNDS = 10000;

/**
 * The library's distance: −1 for vectors of different lengths, else
 * `sqrtf` of the fused binary32 sum of squared differences.
 */
export function classifierDistance(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return -1;
  let acc = 0;
  for (let i = 0; i < a.length; i++) {
    const d = f32(a[i]! - b[i]!);
    acc = fmaf(d, d, acc);
  }
  return f32(Math.sqrt(acc));
}

/** A class centre: its feature and whether a class image (or a loaded file) filled it. */
export interface ClassCentre {
  data: Float32Array;
  filled: boolean;
}

/**
 * The nearest of the first `count` centres to `p`: index (`fallback` when none is nearer than FLT_MAX) and distance.
 */
export function nearestCentre(
  p: Float32Array,
  centres: readonly ClassCentre[],
  count: number,
  fallback: number,
): { index: number; distance: number } {
  let best = FLT_MAX,
    index = fallback;
  for (let j = 0; j < count; j++) {
    const d = classifierDistance(p, centres[j]!.data);
    if (d < best) {
      best = d;
      index = j;
    }
  }
  return { index, distance: best };
}

/**
 * `train`: k-means over the samples seeded with the `count` class centres (updated in place).
 * Returns the number of rounds it took; throws when it does not settle within MAX_TRAIN_ROUNDS.
 * `onDistance` is told of each distance computed (for the board clock).
 */
export function trainClassifier(
  centres: ClassCentre[],
  count: number,
  samples: readonly Float32Array[],
  onDistance: () => void = () => undefined,
): number {
  const cluster = samples.map(() => -1);
  const assign = () => {
    samples.forEach((s, i) => {
      cluster[i] = nearestCentre(s, centres, count, cluster[i]!).index;
      for (let j = 0; j < count; j++) onDistance();
    });
  };
  const difference = () => {
    let sum = 0;
    samples.forEach((s, i) => {
      const c = centres[cluster[i]!];
      // a sample no centre is nearer to than FLT_MAX (non-finite features) adds nothing here
      if (c) sum = f32(sum + classifierDistance(c.data, s));
      onDistance();
    });
    return sum;
  };
  const update = () => {
    const n = new Array<number>(centres.length).fill(0);
    for (const c of cluster) if (c >= 0) n[c]!++;
    centres.forEach((c, j) => {
      if (n[j]) c.data.fill(0);
    });
    samples.forEach((s, i) => {
      const c = cluster[i]!;
      if (c < 0) return;
      const d = centres[c]!.data;
      for (let k = 0; k < d.length; k++) d[k] = f32(d[k]! + s[k]!);
    });
    for (let j = 0; j < count; j++) {
      if (!n[j]) continue;
      const d = centres[j]!.data;
      for (let k = 0; k < d.length; k++) d[k] = f32(d[k]! / n[j]!);
    }
  };
  assign();
  let before = difference();
  update();
  assign();
  let after = difference();
  let rounds = 1;
  while (f32(after - before) !== 0) {
    if (++rounds > MAX_TRAIN_ROUNDS)
      throw new Error(`k-means did not settle in ${MAX_TRAIN_ROUNDS} rounds (the board would keep iterating)`);
    update();
    assign();
    before = after;
    after = difference();
  }
  return rounds;
}

/** A saved classifier, as `classifier.save` writes it and `classifier.load` reads it. */
export interface SavedClassifier {
  /** Classes stored in the file. */
  readonly classes: Float32Array[];
  /** The sample count the classifier was made with. */
  readonly sampleNum: number;
}

/**
 * The file `save` writes (the library's own layout, little-endian): a 4-byte header (u16 class
 * count, u16 sample_num), then per class 16 bytes (u32 feature length, i32 class index, f32 0.0,
 * 4 bytes of padding written as zero) and the feature as `length` binary32 values.
 */
export function encodeClassifier(classes: readonly Float32Array[], sampleNum: number): Uint8Array {
  const len = classes.length ? classes[0]!.length : 0;
  const out = new Uint8Array(4 + classes.length * (16 + 4 * len));
  const v = new DataView(out.buffer);
  v.setUint16(0, classes.length, true);
  v.setUint16(2, sampleNum & 0xffff, true);
  let o = 4;
  classes.forEach((c, i) => {
    v.setUint32(o, c.length, true);
    v.setInt32(o + 4, i, true);
    v.setFloat32(o + 8, 0, true);
    o += 16;
    for (let k = 0; k < c.length; k++, o += 4) v.setFloat32(o, c[k]!, true);
  });
  return out;
}

/** Why a saved classifier cannot be read: the byte offset and what was expected there. */
export class ClassifierFileError extends Error {
  constructor(
    readonly offset: number,
    readonly expected: string,
  ) {
    super(`at byte ${offset}: expected ${expected}`);
  }
}

/**
 * Reads a saved classifier whose features have `featureLength` values. Nothing is allocated
 * before the file is known to hold every class the header announces.
 */
export function decodeClassifier(bytes: Uint8Array, featureLength: number): SavedClassifier {
  if (bytes.length < 4)
    throw new ClassifierFileError(bytes.length, `a 4-byte header (u16 class count, u16 sample count)`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = v.getUint16(0, true);
  const sampleNum = v.getUint16(2, true);
  const per = 16 + 4 * featureLength;
  if (bytes.length < 4 + n * per) {
    const i = Math.floor((bytes.length - 4) / per);
    throw new ClassifierFileError(
      bytes.length,
      `${n} classes of ${per} bytes each (a 16-byte class header and ${featureLength} float32 values): the file ends in class ${i}`,
    );
  }
  const classes: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const o = 4 + i * per;
    const len = v.getUint32(o, true);
    if (len !== featureLength)
      throw new ClassifierFileError(o, `class ${i}'s feature length ${featureLength} (fea_len), found ${len}`);
    const c = new Float32Array(featureLength);
    for (let k = 0; k < featureLength; k++) c[k] = v.getFloat32(o + 16 + 4 * k, true);
    classes.push(c);
  }
  return { classes, sampleNum };
}
