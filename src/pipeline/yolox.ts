/**
 * YOLOX post-processing as nncase's K210 YOLOX example computes it (SOURCES.md,
 * `yolox_detect_example`): anchor-free grid decode over strides 8/16/32 in float32, score =
 * objectness × class probability above the threshold, then class-agnostic NMS in descending
 * score order. The example's intersection counts pixels inclusively (+1 on each side) while its
 * areas do not, which makes suppression stronger than a textbook IoU: kept here on purpose.
 */
import { UsageError } from '../errors.js';
import { asFloat32 } from '../tensor.js';
import { mapRectToSource, type ResizeMapping } from './convert.js';
import { expf, f32 } from './f32.js';

export interface YoloxOptions {
  /** Square network input size (224 for yolox_nano_224). */
  readonly inputSize: number;
  readonly strides: readonly number[];
  readonly numClasses: number;
  /** Keep a box when objectness·class probability is above this (the demo: 0.1). */
  readonly probThreshold: number;
  /** Suppress a box whose overlap ratio with a kept box is above this (the demo: 0.1). */
  readonly nmsThreshold: number;
}

/** `yolox_init(224, 0.1, 0.1, 80)` of the example's main.c. */
export const YOLOX_DEMO: YoloxOptions = {
  inputSize: 224,
  strides: [8, 16, 32],
  numClasses: 80,
  probThreshold: 0.1,
  nmsThreshold: 0.1,
};

/**
 * The demo's options for a square input of `inputSize` whose head has `values` floats, the class
 * count derived from it (values / anchors − 5); null when the size fits no YOLOX head.
 */
export function yoloxOptionsFor(
  values: number,
  inputSize: number,
  overrides: { probThreshold?: number; nmsThreshold?: number } = {},
): YoloxOptions | null {
  const anchors = YOLOX_DEMO.strides.reduce((a, s) => a + Math.floor(inputSize / s) ** 2, 0);
  const classes = values / anchors - 5;
  if (!Number.isInteger(classes) || classes < 1) return null;
  return {
    ...YOLOX_DEMO,
    inputSize,
    numClasses: classes,
    probThreshold: overrides.probThreshold ?? YOLOX_DEMO.probThreshold,
    nmsThreshold: overrides.nmsThreshold ?? YOLOX_DEMO.nmsThreshold,
  };
}

export interface YoloxDetection {
  /** Box corners in network-input pixels, rounded as the example reports them. */
  readonly box: readonly [x0: number, y0: number, x1: number, y1: number];
  readonly label: number;
  readonly prob: number;
}

interface Candidate {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  readonly label: number;
  readonly prob: number;
}

/** Intersection with inclusive pixel counting, in float32 (0 when either side is negative). */
function intersection(a: Candidate, b: Candidate): number {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(f32(a.x + a.w), f32(b.x + b.w));
  const y1 = Math.min(f32(a.y + a.h), f32(b.y + b.h));
  const h = f32(f32(y1 - y0) + 1);
  const w = f32(f32(x1 - x0) + 1);
  if (h < 0 || w < 0) return 0;
  return f32(h * w);
}

const roundf = (x: number) => Math.sign(x) * Math.floor(Math.abs(x) + 0.5);

/** Decodes a [1, anchors, 5 + classes] float tensor. Equal scores keep anchor order. */
export function decodeYolox(out: Float32Array, opts: YoloxOptions = YOLOX_DEMO): YoloxDetection[] {
  const row = 5 + opts.numClasses;
  const grids: [number, number, number][] = [];
  for (const s of opts.strides) {
    const n = Math.floor(opts.inputSize / s);
    for (let gy = 0; gy < n; gy++) for (let gx = 0; gx < n; gx++) grids.push([gx, gy, s]);
  }
  if (out.length !== grids.length * row) {
    throw new RangeError(
      `a YOLOX output for ${opts.inputSize}×${opts.inputSize} with strides ${opts.strides.join('/')} and ${opts.numClasses} classes has ${grids.length * row} values, got ${out.length}`,
    );
  }
  const threshold = f32(opts.probThreshold);
  const found: Candidate[] = [];
  grids.forEach(([gx, gy, s], a) => {
    const p = a * row;
    const cx = f32(f32(out[p] + gx) * s);
    const cy = f32(f32(out[p + 1] + gy) * s);
    const w = f32(expf(out[p + 2]) * s);
    const h = f32(expf(out[p + 3]) * s);
    const x = f32(cx - f32(w * 0.5));
    const y = f32(cy - f32(h * 0.5));
    const obj = out[p + 4];
    for (let c = 0; c < opts.numClasses; c++) {
      const prob = f32(obj * out[p + 5 + c]);
      if (prob > threshold) found.push({ x, y, w, h, label: c, prob });
    }
  });
  const order = found.map((_, i) => i).sort((i, j) => found[j].prob - found[i].prob || i - j);
  const nms = f32(opts.nmsThreshold);
  const picked: Candidate[] = [];
  for (const i of order) {
    const a = found[i];
    const areaA = f32(a.w * a.h);
    const keep = picked.every((b) => {
      const inter = intersection(a, b);
      if (inter === 0) return true;
      const union = f32(f32(areaA + f32(b.w * b.h)) - inter);
      return !(f32(inter / union) > nms);
    });
    if (keep) picked.push(a);
  }
  return picked.map((o) => ({
    box: [roundf(o.x), roundf(o.y), roundf(f32(o.x + o.w)), roundf(f32(o.y + o.h))],
    label: o.label,
    prob: o.prob,
  }));
}

/** A detection with its box also mapped back to the source image, when the input was resized from one. */
export interface YoloxImageDetection extends YoloxDetection {
  readonly image_box?: readonly [x0: number, y0: number, x1: number, y1: number];
}

/**
 * Decodes output 0 of a YOLOX model (float32 bytes) fed a square input of shape (…, size): the
 * demo's options for that size, and each box mapped back through `mapping` (the input recipe's
 * resize) when there is one. A head that fits no YOLOX geometry is a `UsageError`.
 */
export function decodeYoloxOutput(
  out: Uint8Array,
  inputShape: readonly number[],
  mapping: ResizeMapping | undefined,
  overrides: { probThreshold?: number; nmsThreshold?: number } = {},
): YoloxImageDetection[] {
  const size = inputShape[inputShape.length - 1];
  const opts = yoloxOptionsFor(out.length / 4, size, overrides);
  if (!opts)
    throw new UsageError(
      'BAD_ARGUMENT',
      `--decode yolox: output 0 (${out.length} bytes) is not a YOLOX head for a ${size}×${size} input`,
    );
  return decodeYolox(asFloat32(out), opts).map((d) => {
    const [x0, y0, x1, y1] = d.box;
    const r = mapping ? mapRectToSource(mapping, { x: x0, y: y0, w: x1 - x0, h: y1 - y0 }) : undefined;
    return { ...d, ...(r ? { image_box: [r.x, r.y, r.x + r.w, r.y + r.h] as const } : {}) };
  });
}
