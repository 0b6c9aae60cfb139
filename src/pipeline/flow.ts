/**
 * The demos' per-frame flow as one pure composition, with the three models passed in as
 * functions (the emulator, a reference, or recorded outputs). The order of steps is the
 * firmware's, because it changes numbers (face-pipeline §7.1, C.2):
 *
 * MaixPy: detect on the frame's AI planes → draw the white box on the display pixels → `cut` the
 * display pixels (border included) → `resize(128, 128)` → `pix_to_ai` → landmark model → decode
 * (−10 quirk) → `get_affine_transform(points, template)` → `warp_affine_ai` from the frame's AI
 * planes → feature model → `face_encode`. Only the first detection is processed.
 *
 * CanMV: detect → for every detection in list order: `extend_box` → `cut` (no box drawn yet, but
 * the boxes of faces processed earlier in the frame are already on the display pixels) → resize →
 * `pix_to_ai` → ld5 → σ decode → transform → warp to 64×64 → feature model → L2 normalisation;
 * then the face's box is drawn (green if recognised, else white). The label text the script draws
 * is not reproduced (kpusim has no MaixPy font), so a label overlapping a later face's crop is
 * the one known difference.
 */
import { UsageError } from '../errors.js';
import { getAffineTransform, warpAffineAi, type Affine3x3 } from './affine.js';
import type { CameraFrame } from './convert.js';
import { bestMatch, faceCompare, faceEncode, featureCompare, l2Normalize, type MatchResult } from './features.js';
import { decodeLandmarksLd5, decodeLandmarksMaixpy, extendBox, type Landmarks5 } from './landmarks.js';
import { cut, drawRectangle, resizeRgb565 } from './maix-image.js';
import type { FacePreset } from './presets.js';
import { presetClassCount } from './presets.js';
import { decodeRegionLayer, type RegionDetection, type RegionTensor } from './region.js';
import { pixToAi, rgb888ToRgb565Pixel } from './rgb565.js';
import type { PlanarImage, Rect, Rgb565Image } from './types.js';

/** The three models of the flow, each taking the AI planes the KPU would read. */
export interface FaceModels {
  /** Dequantised detector output, (C, H, W). */
  detect(input: PlanarImage): RegionTensor;
  /** The landmark model's 10 outputs (MaixPy: fractions; CanMV ld5: logits). */
  landmarks?(input: PlanarImage): ArrayLike<number>;
  /** The feature model's raw float output. */
  features?(input: PlanarImage): ArrayLike<number>;
}

export type Feature = Int8Array | Float32Array;

export interface FaceResult {
  readonly detection: RegionDetection;
  /** The region cut from the display pixels for the landmark model (frame pixels). */
  readonly crop: Rect;
  /** 128×128 (preset) planar input of the landmark model. */
  readonly landmarkInput: PlanarImage;
  readonly landmarks: Landmarks5;
  /** Template → frame transform (9 binary32 values). */
  readonly transform: Affine3x3;
  /** The aligned face, the feature model's input. */
  readonly aligned: PlanarImage;
  /** Post-processed feature (`face_encode` bytes or the L2-normalised vector). */
  readonly feature: Feature;
  /** Set when a matcher was given. */
  readonly match?: MatchResult;
}

export interface FrameResult {
  /** All detections, in the region layer's order. */
  readonly detections: RegionDetection[];
  /** The faces the demo processes (MaixPy: the first detection only; CanMV: all). */
  readonly faces: FaceResult[];
  /** The display pixels after the flow's drawing (the boxes that can reach a later crop). */
  readonly display: Rgb565Image;
}

export function detectFaces(
  frame: CameraFrame,
  preset: FacePreset,
  models: Pick<FaceModels, 'detect'>,
): RegionDetection[] {
  const d = preset.detector;
  if (frame.ai.width !== d.inputWidth || frame.ai.height !== d.inputHeight || frame.ai.channels !== 3)
    throw new UsageError(
      'BAD_INPUT',
      `the detector takes a ${d.inputWidth}×${d.inputHeight} RGB frame, got ${frame.ai.width}×${frame.ai.height}×${frame.ai.channels}`,
    );
  const t = models.detect(frame.ai);
  const classes = presetClassCount(d, t.channels);
  const shape = `${t.channels}×${t.height}×${t.width}`;
  if (classes < 1)
    throw new UsageError(
      'BAD_INPUT',
      `the detector output (${shape}) gives ${classes} classes by the "${String(d.classes)}" rule; set detector.classes for this model`,
    );
  try {
    return decodeRegionLayer(t, {
      anchors: d.anchors,
      classes,
      threshold: d.threshold,
      nmsValue: d.nmsValue,
      imageWidth: d.imageWidth,
      imageHeight: d.imageHeight,
      netWidth: d.netWidth,
      netHeight: d.netHeight,
      maxObjects: d.maxObjects,
      rectStorage: d.rectStorage,
    });
  } catch (e) {
    if (e instanceof RangeError)
      throw new UsageError(
        'BAD_INPUT',
        `the detector output (${shape}) does not fit the ${preset.name} preset: ${e.message}`,
      );
    throw e;
  }
}

/** The feature post-processing of a preset. */
export function postprocessFeature(raw: ArrayLike<number>, preset: FacePreset): Feature {
  const f = preset.features;
  if (f.length !== null && raw.length !== f.length)
    throw new UsageError(
      'BAD_INPUT',
      `the feature model gave ${raw.length} values, the ${preset.name} preset expects ${f.length}`,
    );
  return f.postprocess === 'face-encode' ? faceEncode(raw) : l2Normalize(raw, { fusedMultiplyAdd: f.fusedMultiplyAdd });
}

/** The score function of a preset: `face_compare` or `feature_compare`. */
export function featureScorer(preset: FacePreset): (stored: ArrayLike<number>, probe: ArrayLike<number>) => number {
  return preset.features.scoring === 'face-compare'
    ? faceCompare
    : (a, b) => featureCompare(a, b, { fusedMultiplyAdd: preset.features.fusedMultiplyAdd });
}

/** Match a feature against enrolled entries with the preset's scoring and threshold. */
export function matchFeature(
  entries: readonly { name: string; feature: ArrayLike<number> }[],
  feature: ArrayLike<number>,
  preset: FacePreset,
): MatchResult {
  return bestMatch(entries, feature, featureScorer(preset), preset.features.threshold);
}

const WHITE = -1;
const GREEN = rgb888ToRgb565Pixel(0, 255, 0);

/**
 * One camera frame through the whole flow. `match` (optional) scores each feature, as the demo
 * does right after extracting it; CanMV uses the result for the colour of the box it draws.
 * The frame's display pixels are copied, not changed.
 */
export function processFrame(
  frame: CameraFrame,
  preset: FacePreset,
  models: FaceModels,
  match?: (feature: Feature) => MatchResult,
): FrameResult {
  const detections = detectFaces(frame, preset, models);
  const display: Rgb565Image = { ...frame.display, pixels: frame.display.pixels.slice() };
  const chosen = preset.detector.facesPerFrame === 'first' ? detections.slice(0, 1) : detections;
  if (chosen.length > 0 && (!models.landmarks || !models.features))
    throw new UsageError('BAD_ARGUMENT', 'the landmark and feature models are needed to process faces');
  const L = preset.landmarks,
    A = preset.alignment;
  const faces: FaceResult[] = [];
  for (const det of chosen) {
    const box: Rect = { x: det.x, y: det.y, w: det.w, h: det.h };
    if (L.drawRectangleBeforeCut) drawRectangle(display, box.x, box.y, box.w, box.h, WHITE);
    const crop =
      L.crop === 'box'
        ? box
        : extendBox(box, L.cropScale, { frameWidth: frame.display.width, frameHeight: frame.display.height });
    if (crop.w <= 0 || crop.h <= 0) continue; // a zero-size box: MaixPy's cut would fail; nothing to process
    const cutImg = cut(display, crop.x, crop.y, crop.w, crop.h);
    const landmarkInput = pixToAi(resizeRgb565(cutImg, L.inputWidth, L.inputHeight));
    const raw = models.landmarks!(landmarkInput);
    const landmarks =
      L.decode === 'maixpy'
        ? decodeLandmarksMaixpy(raw, box, { leftEyeXOffset: L.leftEyeXOffset })
        : decodeLandmarksLd5(raw, crop);
    const transform = getAffineTransform(landmarks, A.template, { wrapUint16: A.wrapUint16 });
    const aligned = warpAffineAi(frame.ai, A.width, A.height, transform);
    const feature = postprocessFeature(models.features!(aligned), preset);
    const m = match?.(feature);
    if (!L.drawRectangleBeforeCut) drawRectangle(display, det.x, det.y, det.w, det.h, m?.name ? GREEN : WHITE);
    faces.push({
      detection: det,
      crop,
      landmarkInput,
      landmarks,
      transform,
      aligned,
      feature,
      ...(m ? { match: m } : {}),
    });
  }
  return { detections, faces, display };
}
