/**
 * Five-point landmark decode and the crop boxes that feed the landmark model.
 *
 * Points are (x, y) in frame pixels, in the order left eye, right eye, nose tip, left mouth
 * corner, right mouth corner ("left" = smaller image x). Arithmetic is MicroPython's binary32:
 * each product and sum rounds to binary32, `int()` truncates toward zero.
 */
import { f32, pyInt, sigmoidF32 } from './f32.js';
import type { Point, Rect } from './types.js';

export type Landmarks5 = [Point, Point, Point, Point, Point];

function checkOutput(out: ArrayLike<number>): void {
  if (out.length < 10) throw new RangeError(`landmark decode: the model gave ${out.length} values, 10 are needed`);
}

export interface MaixpyLandmarkOptions {
  /**
   * The demo's offset inside `int()` on the left-eye x: `int(p0·w − 10)` (face-pipeline §7.2; added without
   * explanation in 2019, absent from the first version). Default −10 (board behaviour); 0 turns
   * the quirk off.
   */
  readonly leftEyeXOffset?: number;
}

/**
 * MaixPy demo: the model's 10 outputs are fractions of the face box (the 128×128 resize does not
 * appear): point j = (x + int(p[2j]·w), y + int(p[2j+1]·h)), with `leftEyeXOffset` added to
 * p0·w inside `int()`. The box is `i.rect()` of the detection.
 */
export function decodeLandmarksMaixpy(out: ArrayLike<number>, box: Rect, opts: MaixpyLandmarkOptions = {}): Landmarks5 {
  checkOutput(out);
  const off = opts.leftEyeXOffset ?? -10;
  const pts: Point[] = [];
  for (let j = 0; j < 5; j++) {
    let fx = f32(f32(out[2 * j]) * box.w);
    if (j === 0 && off !== 0) fx = f32(fx + off);
    const fy = f32(f32(out[2 * j + 1]) * box.h);
    pts.push([box.x + pyInt(fx, 'landmark x'), box.y + pyInt(fy, 'landmark y')]);
  }
  return pts as Landmarks5;
}

/**
 * CanMV `ld5` (face-pipeline C.4): raw logits through `KPU.sigmoid`, fractions of the **pre-resize crop**
 * (x1, y1, cut_w, cut_h from `extendBox`): x_j = int(σ(out[2j])·cut_w + x1),
 * y_j = int(σ(out[2j+1])·cut_h + y1). No offset.
 */
export function decodeLandmarksLd5(out: ArrayLike<number>, crop: Rect): Landmarks5 {
  checkOutput(out);
  const pts: Point[] = [];
  for (let j = 0; j < 5; j++) {
    const x = f32(f32(sigmoidF32(out[2 * j]) * crop.w) + crop.x);
    const y = f32(f32(sigmoidF32(out[2 * j + 1]) * crop.h) + crop.y);
    pts.push([pyInt(x, 'landmark x'), pyInt(y, 'landmark y')]);
  }
  return pts as Landmarks5;
}

export interface ExtendBoxOptions {
  /** Frame size whose last column/row bound the crop (CanMV demo: 320×240). */
  readonly frameWidth?: number;
  readonly frameHeight?: number;
}

/**
 * CanMV's `extend_box(x, y, w, h, scale)` as the demo script defines it: grow the box by
 * scale·w / scale·h on each side, then x1 = int(x1_t) if x1_t > 1 else 1,
 * x2 = int(x2_t) if x2_t < W else W−1 (same for y), and return (x1, y1, x2−x1+1, y2−y1+1).
 * With the demo's RATIO = 0 (an int) everything is exact integers: the crop includes both
 * truncated corners (one pixel wider and taller than w×h) and never column 0 or row 0.
 * A float scale is evaluated in binary32 like MicroPython.
 */
export function extendBox(box: Rect, scale: number, opts: ExtendBoxOptions = {}): Rect {
  const W = opts.frameWidth ?? 320,
    H = opts.frameHeight ?? 240;
  const { x, y, w, h } = box;
  let x1t: number, x2t: number, y1t: number, y2t: number;
  if (Number.isInteger(scale)) {
    x1t = x - scale * w;
    x2t = x + w + scale * w;
    y1t = y - scale * h;
    y2t = y + h + scale * h;
  } else {
    const s = f32(scale);
    const sw = f32(s * w),
      sh = f32(s * h);
    x1t = f32(x - sw);
    x2t = f32(x + w + sw);
    y1t = f32(y - sh);
    y2t = f32(y + h + sh);
  }
  const x1 = x1t > 1 ? pyInt(x1t) : 1;
  const x2 = x2t < W ? pyInt(x2t) : W - 1;
  const y1 = y1t > 1 ? pyInt(y1t) : 1;
  const y2 = y2t < H ? pyInt(y2t) : H - 1;
  return { x: x1, y: y1, w: x2 - x1 + 1, h: y2 - y1 + 1 };
}

/**
 * CanMV's template construction: (int(X·size/112), int(Y·size/112)) from the 112×112 ArcFace
 * points, evaluated left to right in binary32 and truncated (size 64 → (21,29) (42,29) (32,40)
 * (23,52) (40,52)).
 */
export const ARCFACE_112: readonly Point[] = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];

export function arcfaceTemplate(size: number): Point[] {
  return ARCFACE_112.map(
    ([X, Y]) => [pyInt(f32(f32(f32(X) * size) / 112)), pyInt(f32(f32(f32(Y) * size) / 112))] as Point,
  );
}
