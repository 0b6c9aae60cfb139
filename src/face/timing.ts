/**
 * Predicted board time of one frame of the face flow: the three models from the timing model
 * (`kpu/timing`, per layer, transfers included) plus the CPU work the demo script does between
 * them. The models are priced by `profile`; the CPU steps here are ESTIMATES (no board
 * measurement of them is public): cycle counts of the firmware's C loops on the K210's
 * single-issue RV64 core, written down once below, in CPU cycles at the CPU clock.
 *
 * Left out on purpose (I/O the emulator does not model): the camera capture (the DVP writes the
 * frame by DMA while the previous frame is processed; the sensor's own frame rate can still
 * bound the fps), `lcd.display` and the drawing of boxes and labels.
 */
import { TIMING_PARAMS } from '../kpu/timing/index.js';
import type { FacePreset } from '../pipeline/presets.js';
import type { Rect } from '../pipeline/types.js';

/** Every constant of the CPU-step estimate, in CPU cycles. All are ESTIMATES. */
export const FACE_CPU_CYCLES = {
  /**
   * One newlib `expf` (inside σ, softmax, box w/h): the timing model's per-element cost of the SDK's LOGISTIC and
   * SOFTMAX.
   */
  transcendental: TIMING_PARAMS.cpu.families['sdk-transcendental'].perUnitCycles,
  /** Region layer per box besides its transcendentals: loads, stores, index arithmetic. */
  regionBoxOverhead: 40,
  /** qsort comparator call and swap, per n·log2(n). */
  sortStep: 25,
  /** One `box_iou` (two overlaps, products, one division) in the NMS pass. */
  iou: 50,
  /** `img.cut`: copy one RGB565 pixel. */
  cutPixel: 3,
  /** `img.resize` nearest branch: one output pixel (index arithmetic, one u16 copy); the timing
   *  model's resize_image note gives ≈ 10 per element for nearest. */
  resizeNearestPixel: 10,
  /** `img.resize` bilinear branch: ≈ 40 per channel (the same note), three channels. */
  resizeBilinearPixel: 120,
  /** `pix_to_ai`: unpack one RGB565 pixel, three table reads, three stores. */
  pixToAiPixel: 12,
  /** `get_affine_transform`: means, covariance, `svd22` (sqrt, atan2, sin, cos), scale. */
  affineTransform: 3000,
  /** `warp_affine_ai` per output pixel: two binary32 coordinates and the bounds test. */
  warpPixel: 25,
  /** `warp_affine_ai` per output pixel and channel: four loads, fixed-point weights, shift. */
  warpChannel: 12,
  /** `face_encode` / l2normalize per value (MaixPy: clamp and convert; CanMV: square, divide). */
  featureValue: 25,
  /** One comparison with a stored feature: per value (multiply-add) … */
  compareValue: 6,
  /** … and once (MaixPy's double `sqrt` goes through soft-float: no D extension). */
  compareFixed: 2000,
  /**
   * One call from the MicroPython script into C (bytecode dispatch, argument boxing, the return
   * value): ≈ 10 µs at 400 MHz. The demos make about 4 per frame (snapshot, run, region decode,
   * loop) and about 25 per face (cut, resize, pix_to_ai, forward, fmap[:], ten int() and
   * products for the points, transform, warp, forward, encode, max/index over the scores).
   */
  pythonCall: 4000,
  pythonCallsPerFrame: 4,
  pythonCallsPerFace: 25,
} as const;

export interface DetectionWork {
  /** Boxes the region layer decodes: anchors × grid cells. */
  readonly boxes: number;
  readonly classes: number;
  /** Boxes above the threshold before NMS (they are sorted to the front and scanned). */
  readonly candidates: number;
  /** Boxes left after NMS. */
  readonly kept: number;
}

/** CPU cycles of the region layer (activations, boxes, sort, NMS, output). */
export function regionCycles(w: DetectionWork): number {
  const c = FACE_CPU_CYCLES;
  const perBox = (5 + w.classes) * c.transcendental + c.regionBoxOverhead;
  const n = Math.max(1, w.boxes);
  // The firmware sorts all boxes per class, then every kept box is compared with every later box
  // (0…N loop, not only the candidates).
  const sort = w.classes * n * Math.log2(n) * c.sortStep;
  const nms = w.kept * n * c.iou;
  return w.boxes * perBox + sort + nms + w.candidates * 200;
}

export interface FaceWork {
  /** The region `cut` from the display pixels. */
  readonly crop: Rect;
  /** Features stored to compare against. */
  readonly comparisons: number;
  readonly featureLength: number;
}

/** Which `img.resize` branch MaixPy takes (face-pipeline §3.2): nearest iff w0 ≥ w or h0 > h. */
export function resizeBranch(w0: number, h0: number, w: number, h: number): 'copy' | 'nearest' | 'bilinear' {
  if (w0 === w && h0 === h) return 'copy';
  return w0 >= w || h0 > h ? 'nearest' : 'bilinear';
}

/** CPU cycles of one face between and after its two models. */
export function faceCycles(f: FaceWork, preset: FacePreset): number {
  const c = FACE_CPU_CYCLES;
  const L = preset.landmarks,
    A = preset.alignment;
  const out = L.inputWidth * L.inputHeight;
  const branch = resizeBranch(f.crop.w, f.crop.h, L.inputWidth, L.inputHeight);
  const resize =
    branch === 'bilinear' ? c.resizeBilinearPixel : branch === 'nearest' ? c.resizeNearestPixel : c.cutPixel;
  const warpPx = A.width * A.height;
  const sigmoids = L.decode === 'ld5-sigmoid' ? 10 * c.transcendental : 0;
  return (
    f.crop.w * f.crop.h * c.cutPixel +
    out * resize +
    out * c.pixToAiPixel +
    sigmoids +
    c.affineTransform +
    warpPx * (c.warpPixel + 3 * c.warpChannel) +
    f.featureLength * c.featureValue +
    f.comparisons * (f.featureLength * c.compareValue + c.compareFixed) +
    c.pythonCallsPerFace * c.pythonCall
  );
}

export interface FrameBoardTime {
  /** Total predicted board time of the frame. */
  readonly board_ms: number;
  readonly detector_ms: number;
  /** Landmark model runs, all faces together. */
  readonly landmarks_ms: number;
  /** Feature model runs, all faces together. */
  readonly features_ms: number;
  /** The CPU steps of this file (region layer, crops, warp, encode, compare, script overhead). */
  readonly cpu_ms: number;
  /** 1000 / board_ms. */
  readonly fps: number;
}

export interface FrameWork {
  readonly detection: DetectionWork;
  readonly faces: readonly FaceWork[];
  readonly detectorMs: number;
  readonly landmarksMs: number;
  readonly featuresMs: number;
  readonly cpuMhz: number;
}

export function frameBoardTime(w: FrameWork, preset: FacePreset): FrameBoardTime {
  const c = FACE_CPU_CYCLES;
  const cycles =
    regionCycles(w.detection) +
    c.pythonCallsPerFrame * c.pythonCall +
    w.faces.reduce((s, f) => s + faceCycles(f, preset), 0);
  const cpu_ms = cycles / (w.cpuMhz * 1000);
  const n = w.faces.length;
  const detector_ms = w.detectorMs;
  const landmarks_ms = n * w.landmarksMs;
  const features_ms = n * w.featuresMs;
  const board_ms = detector_ms + landmarks_ms + features_ms + cpu_ms;
  return { board_ms, detector_ms, landmarks_ms, features_ms, cpu_ms, fps: board_ms > 0 ? 1000 / board_ms : 0 };
}
