/**
 * YOLOv2 region layer: decode, threshold, NMS and output order as MaixPy's `sipeed_yolo2.c`
 * (face-pipeline §1) and CanMV's `yolo2_region_layer.c` (face-pipeline C.3) compute them. Both are darknet's
 * algorithm in binary32; they differ only in parameters (anchors, grid, class-count rule, NMS
 * value, object cap), which come in through `RegionLayerParams`.
 *
 * Tensor: channel-planar (C, H, W) floats; anchor n, entry e (x, y, w, h, obj, class0…) and cell
 * (row, col) at `(n·(5+classes) + e)·H·W + row·W + col`.
 *
 * Per box (binary32 throughout): σ on x, y, obj (σ(t) = 1/(1+expf(−t))); softmax over the class
 * entries; bx = (col+σx)/W, by = (row+σy)/H, bw = expf(tw)·aw/W, bh = expf(th)·ah/H;
 * `correct_region_boxes` (identity when net size = image size); score_k = σ(obj)·softmax_k kept
 * only if **> threshold** (strict), else 0.
 *
 * NMS (`do_nms_sort`), per class k: sort box indices by score_k descending, then for each box
 * in that order whose score is still non-zero, zero score_k of every later box whose IoU with
 * it is **> nms** (strict). IoU is computed on the centre/size boxes in binary32, no epsilon.
 *
 * **Tie rule (ours):** the firmware sorts with newlib's `qsort`, which is not stable, so the order
 * of equal scores (frequent: scores come from 8-bit outputs) is undefined on the board. kpusim
 * breaks ties by ascending box index (a stable sort), so of two overlapping boxes with equal
 * scores the one with the lower index (anchor, then row, then column) survives.
 *
 * Output (`region_layer_output`): boxes in **box-index order** n·H·W + row·W + col (not by score);
 * a box is emitted if its best class score (first maximum wins) is > threshold. Corners
 * x1 = bx·imgW − bw·imgW/2 etc. are converted with `(uint32_t)`: truncation, negatives → 0, no
 * clipping on the right/bottom. MaixPy's objects store x1, y1, x2−x1, y2−y1 in int16.
 */
import { expf, f32, f32ToU32, sigmoidF32, toInt16 } from './f32.js';

export interface RegionTensor {
  /** Dequantised output, (C, H, W) row-major. Read as binary32. */
  readonly data: ArrayLike<number>;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
}

export interface RegionLayerParams {
  /** (w0, h0, w1, h1, …) in grid-cell units, one pair per anchor. */
  readonly anchors: readonly number[];
  /** Class count; see `classCountFromChannels` for the firmware rules. */
  readonly classes: number;
  readonly threshold: number;
  readonly nmsValue: number;
  /** Frame size the corners are scaled to (MaixPy: the model input; CanMV: `img_w`, `img_h`). */
  readonly imageWidth: number;
  readonly imageHeight: number;
  /** Network input size for `correct_region_boxes` (identity when equal to the image size). */
  readonly netWidth: number;
  readonly netHeight: number;
  /**
   * Keep at most this many objects (null: all). MaixPy's result struct has room for 10 and does
   * not check (more overflow a static array: undefined behaviour on the device); CanMV appends
   * to a Python list.
   */
  readonly maxObjects?: number | null;
  /** How the rectangle is stored: MaixPy's `rectangle_t` is int16; CanMV gives Python ints. */
  readonly rectStorage?: 'int16' | 'int';
}

/** A normalised centre/size box as the region layer keeps it (binary32). */
export interface RegionBox {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export interface RegionDetection {
  /** `i.x()`, `i.y()`, `i.w()`, `i.h()`: x1, y1, x2−x1, y2−y1 in frame pixels. */
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  /** The four corners as `uint32_t` (truncated, negatives → 0). */
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
  readonly classId: number;
  /** `i.value()`: the binary32 score. */
  readonly score: number;
  /** Position in the result list (`i.index()`). */
  readonly index: number;
  /** Box index n·H·W + row·W + col and its parts. */
  readonly boxIndex: number;
  readonly anchor: number;
  readonly row: number;
  readonly col: number;
  readonly box: RegionBox;
}

/**
 * The firmware's class-count rules. `maixpy`: channels/5 − 5 with the 5 hard-coded (wrong for a
 * model without exactly 5 anchors); `per-anchor`: channels/anchors − 5 (CanMV's new API).
 * CanMV's old API takes the `classes` keyword and never derives it. Integer division.
 */
export function classCountFromChannels(channels: number, rule: 'maixpy' | 'per-anchor', anchorCount = 5): number {
  const div = rule === 'maixpy' ? 5 : anchorCount;
  return Math.trunc(channels / div) - 5;
}

function validate(t: RegionTensor, p: RegionLayerParams): void {
  const anchors = p.anchors.length / 2;
  if (p.anchors.length === 0 || !Number.isInteger(anchors))
    throw new RangeError(`region layer: anchors must be (w, h) pairs, got ${p.anchors.length} numbers`);
  if (!Number.isInteger(p.classes) || p.classes < 1)
    throw new RangeError(`region layer: class count must be a positive integer, got ${p.classes}`);
  for (const [k, v] of [
    ['width', t.width],
    ['height', t.height],
    ['channels', t.channels],
  ] as const)
    if (!Number.isInteger(v) || v <= 0)
      throw new RangeError(`region layer: tensor ${k} must be a positive integer, got ${v}`);
  const need = anchors * (5 + p.classes);
  if (t.channels < need)
    throw new RangeError(
      `region layer: ${anchors} anchors × (5 + ${p.classes} classes) need ${need} channels, the tensor has ${t.channels}`,
    );
  if (t.data.length < t.channels * t.width * t.height)
    throw new RangeError(
      `region layer: tensor data holds ${t.data.length} values, shape needs ${t.channels * t.width * t.height}`,
    );
  for (const k of ['imageWidth', 'imageHeight', 'netWidth', 'netHeight'] as const)
    if (!Number.isInteger(p[k]) || p[k] <= 0)
      throw new RangeError(`region layer: ${k} must be a positive integer, got ${p[k]}`);
}

/** The decoded boxes and thresholded class scores before NMS (also handy for tests and tracing). */
export interface RegionCandidates {
  readonly boxes: RegionBox[];
  /** probs[boxIndex][k]: σ(obj)·softmax_k if > threshold, else 0. */
  readonly probs: Float32Array[];
}

/** Activations, boxes and thresholded scores (`forward_region_layer` + `get_region_boxes`). */
export function regionCandidates(t: RegionTensor, p: RegionLayerParams): RegionCandidates {
  validate(t, p);
  const W = t.width,
    H = t.height,
    wh = W * H;
  const classes = p.classes;
  const anchorCount = p.anchors.length / 2;
  const stride = 5 + classes;
  // A binary32 working copy; MaixPy works in place on the model output, CanMV on a copy.
  const out = Float32Array.from({ length: anchorCount * stride * wh }, (_, i) => t.data[i]);
  const threshold = f32(p.threshold);
  const anchors = p.anchors.map((a) => f32(a));

  for (let n = 0; n < anchorCount; n++) {
    const base = n * stride * wh;
    for (let i = 0; i < 2 * wh; i++) out[base + i] = sigmoidF32(out[base + i]);
    for (let i = 0; i < wh; i++) out[base + 4 * wh + i] = sigmoidF32(out[base + 4 * wh + i]);
    // softmax over the class entries of each cell: max-subtracted expf, binary32 sum, divide.
    for (let cell = 0; cell < wh; cell++) {
      const c0 = base + 5 * wh + cell;
      let largest = out[c0];
      for (let k = 0; k < classes; k++) if (out[c0 + k * wh] > largest) largest = out[c0 + k * wh];
      let sum = 0;
      for (let k = 0; k < classes; k++) {
        const e = expf(f32(out[c0 + k * wh] - largest));
        sum = f32(sum + e);
        out[c0 + k * wh] = e;
      }
      for (let k = 0; k < classes; k++) out[c0 + k * wh] = f32(out[c0 + k * wh] / sum);
    }
  }

  // correct_region_boxes: letterbox correction in binary32; identity when net = image size.
  const { netWidth: nw, netHeight: nh, imageWidth: iw, imageHeight: ih } = p;
  let newW: number, newH: number;
  if (f32(nw / iw) < f32(nh / ih)) {
    newW = nw;
    newH = Math.trunc((ih * nw) / iw);
  } else {
    newH = nh;
    newW = Math.trunc((iw * nh) / ih);
  }
  const offX = f32(f32((nw - newW) / 2) / nw);
  const offY = f32(f32((nh - newH) / 2) / nh);
  const divX = f32(newW / nw),
    divY = f32(newH / nh);
  const mulW = f32(nw / newW),
    mulH = f32(nh / newH);

  const boxes: RegionBox[] = new Array(anchorCount * wh);
  const probs: Float32Array[] = new Array(anchorCount * wh);
  for (let n = 0; n < anchorCount; n++) {
    const base = n * stride * wh;
    for (let cell = 0; cell < wh; cell++) {
      const row = Math.trunc(cell / W),
        col = cell % W;
      const idx = n * wh + cell;
      let bx = f32(f32(col + out[base + cell]) / W);
      let by = f32(f32(row + out[base + wh + cell]) / H);
      let bw = f32(f32(expf(out[base + 2 * wh + cell]) * anchors[2 * n]) / W);
      let bh = f32(f32(expf(out[base + 3 * wh + cell]) * anchors[2 * n + 1]) / H);
      bx = f32(f32(bx - offX) / divX);
      by = f32(f32(by - offY) / divY);
      bw = f32(bw * mulW);
      bh = f32(bh * mulH);
      boxes[idx] = { x: bx, y: by, w: bw, h: bh };
      const scale = out[base + 4 * wh + cell];
      const pr = new Float32Array(classes);
      for (let k = 0; k < classes; k++) {
        const prob = f32(scale * out[base + (5 + k) * wh + cell]);
        pr[k] = prob > threshold ? prob : 0;
      }
      probs[idx] = pr;
    }
  }
  return { boxes, probs };
}

function overlap(x1: number, w1: number, x2: number, w2: number): number {
  const l1 = f32(x1 - f32(w1 / 2));
  const l2 = f32(x2 - f32(w2 / 2));
  const left = l1 > l2 ? l1 : l2;
  const r1 = f32(x1 + f32(w1 / 2));
  const r2 = f32(x2 + f32(w2 / 2));
  const right = r1 < r2 ? r1 : r2;
  return f32(right - left);
}

/** darknet's `box_iou` in binary32 (no epsilon: a zero union gives NaN, which never suppresses). */
export function boxIou(a: RegionBox, b: RegionBox): number {
  const w = overlap(a.x, a.w, b.x, b.w);
  const h = overlap(a.y, a.h, b.y, b.h);
  const inter = w < 0 || h < 0 ? 0 : f32(w * h);
  const union = f32(f32(f32(a.w * a.h) + f32(b.w * b.h)) - inter);
  return f32(inter / union);
}

/**
 * `do_nms_sort` in place on `probs`, with kpusim's tie rule (equal scores: lower box index
 * first). Boxes with score 0 are left out of the pass: they never suppress, and zeroing them
 * again changes nothing, so the result equals the firmware's full 0…N loop.
 */
export function nmsSort(boxes: readonly RegionBox[], probs: Float32Array[], classes: number, nmsValue: number): void {
  const nms = f32(nmsValue);
  for (let k = 0; k < classes; k++) {
    const order: number[] = [];
    for (let i = 0; i < probs.length; i++) if (probs[i][k] !== 0) order.push(i);
    order.sort((a, b) => probs[b][k] - probs[a][k] || a - b);
    for (let i = 0; i < order.length; i++) {
      const ia = order[i];
      if (probs[ia][k] === 0) continue;
      const a = boxes[ia];
      for (let j = i + 1; j < order.length; j++) {
        const ib = order[j];
        if (boxIou(a, boxes[ib]) > nms) probs[ib][k] = 0;
      }
    }
  }
}

/** The whole region layer: candidates, NMS, output in box-index order. */
export function decodeRegionLayer(t: RegionTensor, p: RegionLayerParams): RegionDetection[] {
  const { boxes, probs } = regionCandidates(t, p);
  nmsSort(boxes, probs, p.classes, p.nmsValue);
  const threshold = f32(p.threshold);
  const iw = p.imageWidth,
    ih = p.imageHeight;
  const wh = t.width * t.height;
  const cap = p.maxObjects ?? Infinity;
  const int16 = (p.rectStorage ?? 'int16') === 'int16';
  const result: RegionDetection[] = [];
  for (let i = 0; i < boxes.length && result.length < cap; i++) {
    const pr = probs[i];
    let cls = 0;
    for (let k = 1; k < pr.length; k++) if (pr[k] > pr[cls]) cls = k;
    const score = pr[cls];
    if (!(score > threshold)) continue;
    const b = boxes[i];
    const cx = f32(b.x * iw),
      cy = f32(b.y * ih);
    const hw = f32(f32(b.w * iw) / 2),
      hh = f32(f32(b.h * ih) / 2);
    const x1 = f32ToU32(f32(cx - hw));
    const y1 = f32ToU32(f32(cy - hh));
    const x2 = f32ToU32(f32(cx + hw));
    const y2 = f32ToU32(f32(cy + hh));
    const rw = (x2 - x1) >>> 0,
      rh = (y2 - y1) >>> 0;
    const cell = i % wh;
    result.push({
      x: int16 ? toInt16(x1) : x1,
      y: int16 ? toInt16(y1) : y1,
      w: int16 ? toInt16(rw) : rw,
      h: int16 ? toInt16(rh) : rh,
      x1,
      y1,
      x2,
      y2,
      classId: cls,
      score,
      index: result.length,
      boxIndex: i,
      anchor: Math.trunc(i / wh),
      row: Math.trunc(cell / t.width),
      col: cell % t.width,
      box: b,
    });
  }
  return result;
}
