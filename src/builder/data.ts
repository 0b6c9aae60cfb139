/**
 * Calibration and evaluation inputs, made the way MaixPy's face demo makes them: a QVGA frame
 * (the photo scaled to fit, black bars), the detector on it, each face box cut from the frame and
 * resized to the landmark input, the five points, and the face warped onto the template for the
 * feature input. The float graphs (not the quantised models) find the faces, so calibration never
 * depends on an earlier quantised model.
 *
 * Calibration photos and evaluation photos are separate lists (build config); besides the photos
 * themselves, each detected face also gives a close-up frame (the face about a third of the frame
 * wide), which is what a camera pointed at one person sees.
 *
 * Reproducibility: decoding (jpeg-js, pngjs), resizing and the float graphs are plain JavaScript
 * arithmetic; the box decode and the alignment also call Math.exp / Math.sin / Math.atan2, which
 * V8 implements in software (fdlibm ports), so the same Node.js gives the same crops on any CPU.
 */
import { getAffineTransform, warpAffineAi } from '../pipeline/affine.js';
import { flipRgb, resizeRgb, rgbToPlanar } from '../pipeline/convert.js';
import { readImageFile } from '../pipeline/image-io.js';
import type { PlanarImage, Point, RgbImage } from '../pipeline/types.js';
import { evalGraph, tensor3, type Tensor3 } from './float-eval.js';
import type { Graph } from './graph.js';

export interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  readonly score: number;
}

export interface FaceSample {
  /** Where it came from (file and view). */
  readonly source: string;
  readonly box: Box;
  /** Landmark model input (crop of the frame, resized). */
  readonly crop: Tensor3;
  /** Feature model input (aligned face). */
  readonly aligned: Tensor3;
  /** Five points in frame pixels, from the float landmark graph. */
  readonly points: readonly Point[];
}

export interface FrameSample {
  readonly source: string;
  readonly frame: Tensor3;
  readonly faces: readonly FaceSample[];
}

export interface FlowGraphs {
  readonly detector: Graph;
  readonly landmarks: Graph;
  readonly anchors: readonly (readonly [number, number])[];
  readonly frameWidth: number;
  readonly frameHeight: number;
  readonly landmarkSize: number;
  readonly featureSize: number;
  /** Five template points of the aligned face (feature input pixels). */
  readonly template: readonly Point[];
}

export function planarTensor(p: PlanarImage): Tensor3 {
  const n = p.width * p.height * p.channels;
  return tensor3(p.channels, p.height, p.width, Float64Array.from(p.data.subarray(0, n)));
}

export function frameOf(img: RgbImage, width: number, height: number): RgbImage {
  return resizeRgb(img, width, height, { mode: 'fit', filter: img.width > width * 2 ? 'area' : 'bilinear' }).image;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
  const inter = ix * iy;
  return inter / (a.w * a.h + b.w * b.h - inter);
}

export { iou as boxIou };

/**
 * Boxes of a region tensor (C×H×W, channel n·(5+classes) + e), in frame pixels, decoded as
 * MaixPy does (σ on x, y, objectness; exp × anchor on w, h; cell = frame size / grid), with
 * threshold `threshold` and greedy NMS at `nms`, best first.
 */
export function decodeRegion(
  out: Tensor3,
  anchors: readonly (readonly [number, number])[],
  frameW: number,
  frameH: number,
  threshold = 0.5,
  nms = 0.4,
): Box[] {
  const H = out.h;
  const W = out.w;
  const per = out.c / anchors.length;
  const boxes: Box[] = [];
  anchors.forEach(([aw, ah], n) => {
    for (let r = 0; r < H; r++) {
      for (let c = 0; c < W; c++) {
        const at = (e: number) => out.data[((n * per + e) * H + r) * W + c];
        const score = sigmoid(at(4));
        if (!(score > threshold)) continue;
        const bw = (Math.exp(at(2)) * aw * frameW) / W;
        const bh = (Math.exp(at(3)) * ah * frameH) / H;
        const cx = ((c + sigmoid(at(0))) * frameW) / W;
        const cy = ((r + sigmoid(at(1))) * frameH) / H;
        boxes.push({ x: cx - bw / 2, y: cy - bh / 2, w: bw, h: bh, score });
      }
    }
  });
  boxes.sort((a, b) => b.score - a.score);
  const kept: Box[] = [];
  for (const b of boxes) if (!kept.some((k) => iou(k, b) > nms)) kept.push(b);
  return kept;
}

/** Integer crop of the frame (clipped), resized to size×size (bilinear), as planar tensor. */
function cropResize(
  frame: RgbImage,
  box: Box,
  size: number,
): { t: Tensor3; x0: number; y0: number; w: number; h: number } {
  const x0 = Math.max(0, Math.floor(box.x));
  const y0 = Math.max(0, Math.floor(box.y));
  const x1 = Math.min(frame.width, Math.ceil(box.x + box.w));
  const y1 = Math.min(frame.height, Math.ceil(box.y + box.h));
  const w = Math.max(1, x1 - x0);
  const h = Math.max(1, y1 - y0);
  const data = new Uint8Array(3 * w * h);
  for (let y = 0; y < h; y++)
    data.set(frame.data.subarray(3 * ((y0 + y) * frame.width + x0), 3 * ((y0 + y) * frame.width + x0 + w)), 3 * y * w);
  const img = resizeRgb({ width: w, height: h, data }, size, size, {
    mode: 'stretch',
    filter: w > 2 * size ? 'area' : 'bilinear',
  }).image;
  return { t: planarTensor(rgbToPlanar(img)), x0, y0, w, h };
}

/** Runs the float detector and landmark graphs on a frame and prepares every face's inputs. */
export function analyseFrame(g: FlowGraphs, frame: RgbImage, source: string, maxFaces = 8): FrameSample {
  const planes = rgbToPlanar(frame);
  const ft = planarTensor(planes);
  const det = evalGraph(g.detector, ft).at(-1)!;
  const boxes = decodeRegion(det, g.anchors, g.frameWidth, g.frameHeight).slice(0, maxFaces);
  const faces: FaceSample[] = [];
  boxes.forEach((box, i) => {
    if (box.w < 12 || box.h < 12) return;
    const cr = cropResize(frame, box, g.landmarkSize);
    const p = evalGraph(g.landmarks, cr.t).at(-1)!.data;
    const points: Point[] = [0, 1, 2, 3, 4].map((j) => [
      Math.round(cr.x0 + p[2 * j] * cr.w),
      Math.round(cr.y0 + p[2 * j + 1] * cr.h),
    ]);
    if (points.some(([x, y]) => x < 0 || y < 0)) return;
    const T = getAffineTransform(points, g.template);
    const aligned = warpAffineAi(planes, g.featureSize, g.featureSize, T);
    faces.push({ source: `${source}#face${i}`, box, crop: cr.t, aligned: planarTensor(aligned), points });
  });
  return { source, frame: ft, faces };
}

/** A close-up frame around a box of `img` (box in img pixels): the box about `fraction` of the frame wide. */
export function closeUp(img: RgbImage, box: Box, frameW: number, frameH: number, fraction = 1 / 3): RgbImage {
  const cw = Math.min(img.width, Math.round(box.w / fraction));
  const ch = Math.min(img.height, Math.round((cw * frameH) / frameW));
  const cx = Math.round(box.x + box.w / 2);
  const cy = Math.round(box.y + box.h / 2);
  const x0 = Math.min(Math.max(0, cx - Math.floor(cw / 2)), img.width - cw);
  const y0 = Math.min(Math.max(0, cy - Math.floor(ch / 2)), img.height - ch);
  const data = new Uint8Array(3 * cw * ch);
  for (let y = 0; y < ch; y++)
    data.set(img.data.subarray(3 * ((y0 + y) * img.width + x0), 3 * ((y0 + y) * img.width + x0 + cw)), 3 * y * cw);
  return { width: cw, height: ch, data };
}

/** Box of frame pixels mapped back to the pixels of the image the frame was fitted from. */
function toImageBox(img: RgbImage, frameW: number, frameH: number, b: Box): Box {
  const s = Math.min(frameW / img.width, frameH / img.height);
  const ox = (frameW - img.width * s) / 2;
  const oy = (frameH - img.height * s) / 2;
  return { x: (b.x - ox) / s, y: (b.y - oy) / s, w: b.w / s, h: b.h / s, score: b.score };
}

/** Frames and faces of one photo: the photo fitted to the frame, plus one close-up per face found. */
export function photoSamples(
  g: FlowGraphs,
  file: string,
  opts: { closeUps?: boolean; image?: RgbImage; label?: string } = {},
): FrameSample[] {
  const img = opts.image ?? readImageFile(file);
  const label = opts.label ?? file;
  const whole = analyseFrame(g, frameOf(img, g.frameWidth, g.frameHeight), label);
  const out = [whole];
  if (opts.closeUps ?? true) {
    whole.faces.forEach((f, i) => {
      const box = toImageBox(img, g.frameWidth, g.frameHeight, f.box);
      out.push(
        analyseFrame(
          g,
          frameOf(closeUp(img, box, g.frameWidth, g.frameHeight), g.frameWidth, g.frameHeight),
          `${label}#closeup${i}`,
        ),
      );
    });
  }
  return out;
}

/** Other views of a photo for evaluation: mirrored, darker, and a zoomed, shifted crop. */
export function photoViews(img: RgbImage): { label: string; image: RgbImage }[] {
  const dark = new Uint8Array(img.data.length);
  for (let i = 0; i < dark.length; i++) dark[i] = Math.round(img.data[i] * 0.7);
  const cw = Math.round(img.width * 0.8);
  const ch = Math.round(img.height * 0.8);
  const x0 = Math.round(img.width * 0.15);
  const y0 = Math.round(img.height * 0.05);
  const crop = new Uint8Array(3 * cw * ch);
  for (let y = 0; y < ch; y++)
    crop.set(img.data.subarray(3 * ((y0 + y) * img.width + x0), 3 * ((y0 + y) * img.width + x0 + cw)), 3 * y * cw);
  return [
    { label: 'original', image: img },
    { label: 'mirror', image: flipRgb(img, true, false) },
    { label: 'darker', image: { width: img.width, height: img.height, data: dark } },
    { label: 'zoom', image: { width: cw, height: ch, data: crop } },
  ];
}
