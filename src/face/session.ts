/**
 * The glue of `kpusim face`: an image file → a camera frame → the pipeline's flow
 * (`processFrame`) with the three models on the emulator → faces in the pixels of the original
 * image, each image with its emulator time on this PC and its predicted board time.
 *
 * Choices (see also src/pipeline/README.md):
 * - Frame: the image is scaled to the preset's frame (320×240) keeping its aspect, letterboxed
 *   with black (`fit`, default), or scaled to fill and cut (`crop`), or `stretch`ed; the filter is
 *   `area` when shrinking and `bilinear` when enlarging (`auto`). The frame becomes the camera's
 *   AI planes as is and its RGB565 display pixels through MaixPy's tables (`cameraFrame`).
 * - Coordinates back in the original image: continuous pixel coordinates (pixel i covers
 *   [i, i+1)), rounded to 0.01. A box maps its edges (clipped to the image); a landmark, an
 *   integer frame pixel, maps that pixel's centre. `frame_box` / `frame_landmarks` keep the
 *   board's own integers.
 * - Faces: every detection is listed; the ones the preset's flow processes (MaixPy: the first;
 *   CanMV: all) carry landmarks, name and similarity, the others have `processed: false` and
 *   nulls. `similarity` is the best score against the store even when it is below the threshold
 *   (then `name` is null); null when nothing is enrolled.
 * - Enrolment takes the largest processed face (w·h in frame pixels, first in the region
 *   layer's order on a tie); for that the flow processes every detection, also under MaixPy's
 *   preset (whose demo processes only the first).
 */
import { CPU_MHZ, KPU_MHZ } from '../chip.js';
import { UsageError } from '../errors.js';
import { detectFaces, processFrame, matchFeature, type FaceResult } from '../pipeline/flow.js';
import {
  cameraFrame,
  mapPointToSource,
  mapRectToSource,
  planResize,
  resizeRgb,
  type ResizeFilter,
  type ResizeMapping,
  type ResizeMode,
} from '../pipeline/convert.js';
import { sigmoidF32, f32 } from '../pipeline/f32.js';
import { presetClassCount, type FacePreset } from '../pipeline/presets.js';
import type { RegionDetection, RegionTensor } from '../pipeline/region.js';
import type { PlanarImage, RgbImage } from '../pipeline/types.js';
import { detectorGrid, faceModel, type Clocks, type FaceModel, type LoadedFaceModel } from './models.js';
import { frameBoardTime, type FaceWork, type FrameBoardTime } from './timing.js';
import type { TimingParams } from '../kpu/timing/params.js';

export type FrameFilter = ResizeFilter | 'auto';

export interface FrameOptions {
  readonly mode?: ResizeMode;
  readonly filter?: FrameFilter;
}

export interface FaceSessionOptions {
  readonly preset: FacePreset;
  readonly detector: LoadedFaceModel;
  readonly landmarks?: LoadedFaceModel;
  readonly features?: LoadedFaceModel;
  readonly clocks?: Partial<Clocks>;
  /** Timing parameters (a board's timing file); default the built-in ones. */
  readonly timing?: TimingParams;
  readonly frame?: FrameOptions;
}

export interface StoredFeature {
  readonly name: string;
  readonly feature: ArrayLike<number>;
}

export interface FaceReport {
  /** [x, y, w, h] in the original image's pixels. */
  readonly box: [number, number, number, number];
  /** The detector's binary32 score. */
  readonly score: number;
  /** Five points in the original image's pixels, or null when the face was not processed. */
  readonly landmarks: [number, number][] | null;
  readonly name: string | null;
  readonly similarity: number | null;
  /** Whether the preset's flow ran landmarks and features on this face. */
  readonly processed: boolean;
  /** The board's integers: `i.rect()` and the landmark points in frame pixels. */
  readonly frame_box: [number, number, number, number];
  readonly frame_landmarks: [number, number][] | null;
}

export interface ImageTiming {
  /** Predicted board time of this frame (the three models and the CPU steps). */
  readonly board_ms: number;
  /** Wall time this PC spent on what the board does for the frame: the models on the emulator and
   *  the pipeline's CPU steps (not decoding the file or scaling it to the frame: the camera's job). */
  readonly emulator_ms: number;
  readonly board_fps: number;
  readonly board_parts: Omit<FrameBoardTime, 'board_ms' | 'fps'>;
  readonly emulator_parts: {
    readonly detector_ms: number;
    readonly landmarks_ms: number;
    readonly features_ms: number;
    readonly cpu_ms: number;
  };
}

export interface ImageAnalysis {
  readonly width: number;
  readonly height: number;
  readonly mapping: ResizeMapping;
  readonly detections: readonly RegionDetection[];
  /** Results of the faces the flow processed (absent for detection only). */
  readonly processed: readonly FaceResult[];
  readonly faces: readonly FaceReport[];
  readonly timing: ImageTiming;
}

const r2 = (v: number): number => Math.round(v * 100) / 100;
const r3 = (v: number): number => Math.round(v * 1000) / 1000;

export class FaceSession {
  readonly preset: FacePreset;
  readonly detector: FaceModel;
  readonly landmarks?: FaceModel;
  readonly features?: FaceModel;
  readonly clocks: Clocks;
  readonly frameOptions: Required<FrameOptions>;
  private readonly grid: { channels: number; height: number; width: number };

  constructor(o: FaceSessionOptions) {
    this.preset = o.preset;
    this.clocks = { kpuMhz: o.clocks?.kpuMhz ?? KPU_MHZ, cpuMhz: o.clocks?.cpuMhz ?? CPU_MHZ };
    this.frameOptions = { mode: o.frame?.mode ?? 'fit', filter: o.frame?.filter ?? 'auto' };
    if (
      o.preset.frame.width !== o.preset.detector.inputWidth ||
      o.preset.frame.height !== o.preset.detector.inputHeight
    )
      throw new UsageError(
        'BAD_ARGUMENT',
        `preset ${o.preset.name}: the frame (${o.preset.frame.width}×${o.preset.frame.height}) must be the detector's input size`,
      );
    this.detector = faceModel(o.detector, 'detector', o.preset, this.clocks, o.timing);
    if (o.landmarks) this.landmarks = faceModel(o.landmarks, 'landmarks', o.preset, this.clocks, o.timing);
    if (o.features) this.features = faceModel(o.features, 'features', o.preset, this.clocks, o.timing);
    this.grid = detectorGrid(this.detector);
  }

  /** Whether the session can run the whole flow (landmarks and features given). */
  get recognises(): boolean {
    return this.landmarks !== undefined && this.features !== undefined;
  }

  /** The feature length of the feature model's output. */
  get featureLength(): number {
    if (!this.features) return 0;
    return this.features.prepared.outputs[0].shape.reduce((a, b) => a * b, 1);
  }

  /** The camera frame of an image and the mapping back to its pixels. */
  frameOf(img: RgbImage): { frame: ReturnType<typeof cameraFrame>; mapping: ResizeMapping } {
    const W = this.preset.frame.width,
      H = this.preset.frame.height;
    const { mode } = this.frameOptions;
    if (img.width === W && img.height === H) return { frame: cameraFrame(img), mapping: planResize(W, H, W, H, mode) };
    const m = planResize(img.width, img.height, W, H, mode);
    const filter =
      this.frameOptions.filter === 'auto'
        ? m.scaleX < 1 || m.scaleY < 1
          ? 'area'
          : 'bilinear'
        : this.frameOptions.filter;
    const { image, mapping } = resizeRgb(img, W, H, { mode, filter });
    return { frame: cameraFrame(image), mapping };
  }

  /**
   * One image through the flow. `mode`: `detect` (detector only), `recognize` (the preset's
   * flow, matched against `store`), `enroll` (every detection processed, for the largest face).
   */
  analyse(img: RgbImage, mode: 'detect' | 'recognize' | 'enroll', store: readonly StoredFeature[] = []): ImageAnalysis {
    const { frame, mapping } = this.frameOf(img);
    let tensor: RegionTensor | undefined;
    const detect = (ai: PlanarImage): RegionTensor => {
      tensor = { data: this.detector.run(ai), ...this.grid };
      return tensor;
    };
    let detections: RegionDetection[];
    let processed: FaceResult[] = [];
    this.detector.takeEmulatorMs();
    this.landmarks?.takeEmulatorMs();
    this.features?.takeEmulatorMs();
    const t1 = performance.now();
    if (mode === 'detect') {
      detections = detectFaces(frame, this.preset, { detect });
    } else {
      if (!this.landmarks || !this.features)
        throw new UsageError('BAD_ARGUMENT', `face ${mode} needs the landmark and feature models`);
      const preset: FacePreset =
        mode === 'enroll'
          ? { ...this.preset, detector: { ...this.preset.detector, facesPerFrame: 'all' } }
          : this.preset;
      const ld = this.landmarks,
        fe = this.features;
      const r = processFrame(
        frame,
        preset,
        { detect, landmarks: (i) => ld.run(i), features: (i) => fe.run(i) },
        (feature) => matchFeature(store, feature, this.preset),
      );
      detections = r.detections;
      processed = r.faces;
    }
    const t2 = performance.now();
    const em = {
      detector_ms: this.detector.takeEmulatorMs(),
      landmarks_ms: this.landmarks?.takeEmulatorMs() ?? 0,
      features_ms: this.features?.takeEmulatorMs() ?? 0,
    };
    const emulator_ms = t2 - t1;
    const cpu_ms = emulator_ms - em.detector_ms - em.landmarks_ms - em.features_ms;

    const board = frameBoardTime(
      {
        detection: this.detectionWork(tensor, detections),
        faces: processed.map((f): FaceWork => ({
          crop: f.crop,
          comparisons: store.length,
          featureLength: f.feature.length,
        })),
        detectorMs: this.detector.boardMs,
        landmarksMs: this.landmarks?.boardMs ?? 0,
        featuresMs: this.features?.boardMs ?? 0,
        cpuMhz: this.clocks.cpuMhz,
      },
      this.preset,
    );

    const byIndex = new Map(processed.map((f) => [f.detection.index, f]));
    const faces = detections.map((d): FaceReport => {
      const f = byIndex.get(d.index);
      const src = mapRectToSource(mapping, { x: d.x, y: d.y, w: d.w, h: d.h });
      const m = f?.match;
      return {
        box: [r2(src.x), r2(src.y), r2(src.w), r2(src.h)],
        score: d.score,
        landmarks: f ? f.landmarks.map(([x, y]) => mapPoint(mapping, x, y)) : null,
        name: m?.name ?? null,
        similarity: m?.score ?? null,
        processed: f !== undefined,
        frame_box: [d.x, d.y, d.w, d.h],
        frame_landmarks: f ? f.landmarks.map(([x, y]) => [x, y] as [number, number]) : null,
      };
    });
    const { board_ms, fps, ...board_parts } = board;
    return {
      width: img.width,
      height: img.height,
      mapping,
      detections,
      processed,
      faces,
      timing: {
        board_ms: r3(board_ms),
        emulator_ms: r2(emulator_ms),
        board_fps: r2(fps),
        board_parts: {
          detector_ms: r3(board_parts.detector_ms),
          landmarks_ms: r3(board_parts.landmarks_ms),
          features_ms: r3(board_parts.features_ms),
          cpu_ms: r3(board_parts.cpu_ms),
        },
        emulator_parts: {
          detector_ms: r2(em.detector_ms),
          landmarks_ms: r2(em.landmarks_ms),
          features_ms: r2(em.features_ms),
          cpu_ms: r2(Math.max(0, cpu_ms)),
        },
      },
    };
  }

  /** Work of the region layer: boxes decoded, candidates above the threshold, boxes kept. */
  private detectionWork(t: RegionTensor | undefined, detections: readonly RegionDetection[]) {
    const anchors = this.preset.detector.anchors.length / 2;
    const classes = presetClassCount(this.preset.detector, this.grid.channels);
    const wh = this.grid.width * this.grid.height;
    let candidates = 0;
    if (t) {
      // σ(obj) above the threshold: exact for one class (the score is σ(obj)·1), an upper bound otherwise.
      const thr = f32(this.preset.detector.threshold);
      for (let n = 0; n < anchors; n++) {
        const base = (n * (5 + classes) + 4) * wh;
        for (let i = 0; i < wh; i++) if (sigmoidF32(t.data[base + i]) > thr) candidates++;
      }
    }
    return { boxes: anchors * wh, classes, candidates, kept: detections.length };
  }
}

function mapPoint(m: ResizeMapping, x: number, y: number): [number, number] {
  const [u, v] = mapPointToSource(m, x + 0.5, y + 0.5);
  return [r2(u), r2(v)];
}

/** The largest processed face (w·h in frame pixels; the first on a tie), or null. */
export function largestFace(faces: readonly FaceResult[]): FaceResult | null {
  let best: FaceResult | null = null;
  for (const f of faces) if (!best || f.detection.w * f.detection.h > best.detection.w * best.detection.h) best = f;
  return best;
}
