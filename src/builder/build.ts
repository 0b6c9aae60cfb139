/**
 * `kpusim build`: pretrained float networks → kmodel v3 files for the face flow, with the
 * evidence that they are right (parsed back by our parser, run on our emulator, compared with the
 * float network on evaluation photos that calibration never saw).
 *
 * Presets: `bundled` (all three models of `models/`), or one role (`detector`, `landmarks`,
 * `features`). A JSON config may override any field of the preset (see `BuildConfig`).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseKmodel } from '../kmodel-parser/parse.js';
import { prepare, type PreparedModel } from '../kpu/interpreter.js';
import { faceCompare, faceEncode } from '../pipeline/features.js';
import { readImageFile } from '../pipeline/image-io.js';
import type { Point } from '../pipeline/types.js';
import { boxIou, decodeRegion, type FlowGraphs, type FrameSample, photoSamples, photoViews } from './data.js';
import { emitKmodelV3, type EmittedModel } from './emit.js';
import { BuildError } from './errors.js';
import { FILE_CAPS, readUserFile, readUserText } from '../io/read-file.js';
import { evalGraph, tensor3, type Tensor3 } from './float-eval.js';
import type { Graph } from './graph.js';
import { lower } from './lower.js';
import {
  detectorSourceChannel,
  landmark68TinyGraph,
  LANDMARK_68_TO_5,
  TINY_FACE_DETECTOR_ANCHORS,
  tinyFaceDetectorGraph,
} from './nets/face-api.js';
import { faceresGraph, foldSigns, loadGraphModel, type TfGraphModel } from './nets/faceres.js';
import type { Plan } from './plan.js';
import { type ActivationQuantisation, quantizePlan, type QuantizedPlan } from './quantize.js';
import { loadTfjsWeights, type WeightMap } from './tfjs-weights.js';

export type Role = 'detector' | 'landmarks' | 'features';
export const ROLES: readonly Role[] = ['detector', 'landmarks', 'features'];

export interface BuildConfig {
  readonly name: string;
  readonly roles: readonly Role[];
  /** Photos for calibration statistics (never committed: face-api's demo photos in node_modules). */
  readonly calibration: readonly string[];
  /** Photos for the accuracy report; must not overlap the calibration photos. */
  readonly evaluation: readonly string[];
  /** Besides each photo, one close-up frame per face found (calibration only). */
  readonly closeUps: boolean;
  readonly frame: { readonly width: number; readonly height: number };
  readonly detector: {
    readonly netHeight: number;
    readonly borderValue: number;
    readonly threshold: number;
    readonly nms: number;
  };
  readonly landmarks: { readonly size: number; readonly netSize: number };
  /** `spread`: an orthonormal Walsh–Hadamard transform after the fold keeps every component well
   *  inside MaixPy `face_encode`'s ±0.25 clamp (pooled descriptors are peaky: ≈0.2–0.7). */
  readonly features: {
    readonly size: number;
    readonly netSize: number;
    readonly length: 512 | 1024;
    readonly spread: boolean;
  };
  /** Alignment template of the feature input (MaixPy's demo points). */
  readonly template: readonly Point[];
  /** Activation quantisation per model (quantize.ts `ActivationQuantisation`). */
  readonly activations: Readonly<Record<Role, ActivationQuantisation>>;
}

export const MODEL_FILES: Readonly<Record<Role, string>> = {
  detector: 'face_detect_320x240.kmodel',
  landmarks: 'face_landmarks5_128.kmodel',
  features: 'face_features512_128.kmodel',
};

/** Finds an installed package directory (node_modules next to the working directory or to this file). */
export function packageDir(name: string): string {
  const starts = [process.cwd(), dirname(fileURLToPath(import.meta.url))];
  for (const s of starts) {
    let d = resolve(s);
    for (;;) {
      const cand = join(d, 'node_modules', name);
      if (existsSync(join(cand, 'package.json'))) return cand;
      const up = dirname(d);
      if (up === d) break;
      d = up;
    }
  }
  throw new BuildError(`package ${name} is not installed; the model build needs the devDependencies (npm ci)`);
}

/** The calibration photos of the bundled models: face-api's six demo photos (MIT package, not committed). */
export function defaultCalibration(): string[] {
  const dir = join(packageDir('@vladmandic/face-api'), 'demo');
  return [1, 2, 3, 4, 5, 6].map((i) => join(dir, `sample${i}.jpg`));
}

export const MAIXPY_TEMPLATE_128: readonly Point[] = [
  [44, 59],
  [84, 59],
  [64, 82],
  [47, 105],
  [81, 105],
];

/** The repository (or installed package) root: src/builder → ../.., dist/builder → ../... */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function presetConfig(name: string, root = PACKAGE_ROOT): BuildConfig {
  const roles: readonly Role[] = name === 'bundled' ? ROLES : ROLES.includes(name as Role) ? [name as Role] : [];
  if (roles.length === 0)
    throw new BuildError(
      `unknown build preset "${name}" (presets: bundled, ${ROLES.join(', ')}; or give a JSON config file)`,
    );
  return {
    name,
    roles,
    calibration: defaultCalibration(),
    evaluation: ['grace_hopper.jpg', 'astronaut.jpg', 'camera.png'].map((f) => join(root, 'examples', 'images', f)),
    closeUps: true,
    frame: { width: 320, height: 240 },
    detector: { netHeight: 256, borderValue: 0, threshold: 0.5, nms: 0.4 },
    landmarks: { size: 128, netSize: 112 },
    features: { size: 128, netSize: 128, length: 512, spread: true },
    template: MAIXPY_TEMPLATE_128,
    // The detector's channels differ widely in range and its marginal faces need the precision;
    // the other two lose nothing with plain per-tensor activations (measured, see models/README.md).
    activations: { detector: 'channel-scales', landmarks: 'per-tensor', features: 'per-tensor' },
  };
}

/** A JSON config: `{ "preset": "bundled", …fields of BuildConfig to override }`. */
export function configFromJson(file: string): BuildConfig {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readUserText(file, FILE_CAPS.json)) as Record<string, unknown>;
  } catch (e) {
    throw new BuildError(`${file}: cannot read the build config (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new BuildError(`${file}: a build config is a JSON object`);
  const base = presetConfig(typeof raw.preset === 'string' ? raw.preset : 'bundled');
  const known = new Set(['preset', ...Object.keys(base)]);
  for (const k of Object.keys(raw)) if (!known.has(k)) throw new BuildError(`${file}: unknown field "${k}"`);
  const rel = (xs: unknown, field: string): string[] => {
    if (!Array.isArray(xs) || xs.some((x) => typeof x !== 'string'))
      throw new BuildError(`${file}: "${field}" must be a list of file names`);
    return (xs as string[]).map((x) => resolve(dirname(resolve(file)), x));
  };
  const merged = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'preset') continue;
    if (k === 'calibration' || k === 'evaluation') merged[k] = rel(v, k);
    else if (typeof v === 'object' && v !== null && !Array.isArray(v))
      merged[k] = { ...(base as unknown as Record<string, object>)[k], ...v };
    else merged[k] = v;
  }
  const c = merged as unknown as BuildConfig;
  if (!Array.isArray(c.roles) || c.roles.some((r) => !ROLES.includes(r)))
    throw new BuildError(`${file}: "roles" must list some of ${ROLES.join(', ')}`);
  return c;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Refuses a calibration photo that is also an evaluation photo (same path or same bytes). */
export function checkApart(config: BuildConfig): void {
  const key = (f: string) => {
    if (!existsSync(f)) throw new BuildError(`photo ${f} does not exist`);
    return sha256(readUserFile(f, FILE_CAPS.image));
  };
  const cal = new Map(config.calibration.map((f) => [key(f), f]));
  for (const f of config.evaluation) {
    const hit = cal.get(key(f));
    if (hit)
      throw new BuildError(`${f} is both a calibration and an evaluation photo (${hit}); they must be kept apart`);
  }
  if (config.calibration.length === 0) throw new BuildError('no calibration photos');
}

export interface Networks {
  readonly faceApiDir: string;
  readonly humanDir: string;
  readonly detectorWeights: WeightMap;
  readonly landmarkWeights: WeightMap;
  readonly faceres: TfGraphModel;
  readonly graphs: Readonly<Record<Role, Graph>>;
  readonly flow: FlowGraphs;
}

export function loadNetworks(config: BuildConfig): Networks {
  const faceApiDir = packageDir('@vladmandic/face-api');
  const humanDir = packageDir('@vladmandic/human');
  const detectorWeights = loadTfjsWeights(join(faceApiDir, 'model', 'tiny_face_detector_model-weights_manifest.json'));
  const landmarkWeights = loadTfjsWeights(
    join(faceApiDir, 'model', 'face_landmark_68_tiny_model-weights_manifest.json'),
  );
  const faceres = loadGraphModel(join(humanDir, 'models', 'faceres.json'));
  const { frame, detector, landmarks, features } = config;
  const graphs: Record<Role, Graph> = {
    detector: tinyFaceDetectorGraph(detectorWeights, {
      width: frame.width,
      height: frame.height,
      netHeight: detector.netHeight,
      borderValue: detector.borderValue,
    }),
    landmarks: landmark68TinyGraph(landmarkWeights, {
      size: landmarks.size,
      netSize: landmarks.netSize,
      points: 'five',
    }),
    features: faceresGraph(faceres, {
      size: features.size,
      netSize: features.netSize,
      outputNode: 'global_pooling/Mean',
      signs: features.length === 512 ? foldSigns(1024) : null,
      spread: features.spread,
    }),
  };
  const flow: FlowGraphs = {
    detector: graphs.detector,
    landmarks: graphs.landmarks,
    anchors: TINY_FACE_DETECTOR_ANCHORS,
    frameWidth: frame.width,
    frameHeight: frame.height,
    landmarkSize: landmarks.size,
    featureSize: features.size,
    template: config.template,
  };
  return { faceApiDir, humanDir, detectorWeights, landmarkWeights, faceres, graphs, flow };
}

/** The model inputs a role takes, from prepared frame samples. */
export function inputsFor(role: Role, samples: readonly FrameSample[]): { input: Tensor3; source: string }[] {
  if (role === 'detector') return samples.map((s) => ({ input: s.frame, source: s.source }));
  return samples.flatMap((s) =>
    s.faces.map((f) => ({ input: role === 'landmarks' ? f.crop : f.aligned, source: f.source })),
  );
}

export interface Samples {
  readonly calibration: readonly FrameSample[];
  readonly evaluation: readonly FrameSample[];
}

export function prepareSamples(
  config: BuildConfig,
  nets: Networks,
  opts: { evaluation?: boolean; log?: (s: string) => void } = {},
): Samples {
  checkApart(config);
  const calibration = config.calibration.flatMap((f) => photoSamples(nets.flow, f, { closeUps: config.closeUps }));
  opts.log?.(
    `calibration: ${config.calibration.length} photos → ${calibration.length} frames, ${calibration.reduce((a, s) => a + s.faces.length, 0)} faces\n`,
  );
  const evaluation =
    opts.evaluation === false
      ? []
      : config.evaluation.flatMap((f) => {
          const img = readImageFile(f);
          return photoViews(img).flatMap((v) =>
            photoSamples(nets.flow, f, { image: v.image, label: `${f.split('/').pop()}:${v.label}`, closeUps: false }),
          );
        });
  if (opts.evaluation !== false)
    opts.log?.(
      `evaluation: ${config.evaluation.length} photos × 4 views → ${evaluation.length} frames, ${evaluation.reduce((a, s) => a + s.faces.length, 0)} faces\n`,
    );
  return { calibration, evaluation };
}

export interface BuiltModel {
  readonly role: Role;
  readonly file: string;
  readonly bytes: Uint8Array;
  readonly sha256: string;
  readonly plan: Plan;
  readonly quantized: QuantizedPlan;
  readonly emitted: EmittedModel;
}

/** Lower, calibrate, quantise and write one model. */
export function buildModel(role: Role, nets: Networks, samples: Samples, config: BuildConfig): BuiltModel {
  const plan = lower(nets.graphs[role]);
  const cal = inputsFor(role, samples.calibration).map((s) => s.input);
  if (cal.length === 0) throw new BuildError(`${role}: the calibration photos gave no inputs (no face found)`);
  const quantized = quantizePlan(plan, cal, { activations: config.activations[role] });
  const emitted = emitKmodelV3(quantized);
  return {
    role,
    file: MODEL_FILES[role],
    bytes: emitted.bytes,
    sha256: sha256(emitted.bytes),
    plan,
    quantized,
    emitted,
  };
}

// --- evaluation ---

const cosine = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0,
    na = 0,
    nb = 0;
  for (let i = 0; i < a.length; i++) {
    s += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 && nb === 0 ? 1 : s / Math.sqrt(na * nb);
};

const r6 = (x: number): number => Math.round(x * 1e6) / 1e6;

function runEmulator(pm: PreparedModel, x: Tensor3): Float32Array {
  const out = pm.run([Uint8Array.from(x.data)]).outputs[0];
  return new Float32Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.length));
}

export interface Accuracy {
  readonly reference: string;
  readonly inputs: number;
  readonly cosine_min: number;
  readonly cosine_mean: number;
  readonly [k: string]: unknown;
}

/** Runs the built model on our emulator over the evaluation inputs and compares with the float graph. */
export function evaluateModel(m: BuiltModel, nets: Networks, samples: Samples, config: BuildConfig): Accuracy {
  const pm = prepare(parseKmodel(m.bytes, m.file));
  const inputs = inputsFor(m.role, samples.evaluation);
  if (inputs.length === 0) throw new BuildError(`${m.role}: the evaluation photos gave no inputs`);
  const g = nets.graphs[m.role];
  const cos: number[] = [];
  const extra: Record<string, unknown> = {};
  const outs: { ref: Float64Array; emu: Float32Array; source: string }[] = [];
  for (const { input, source } of inputs) {
    const ref = evalGraph(g, input).at(-1)!.data;
    const emu = runEmulator(pm, input);
    cos.push(cosine(ref, emu));
    outs.push({ ref, emu, source });
  }
  if (m.role === 'detector') {
    const out = m.plan.tensors[m.plan.output];
    const wrap = (d: ArrayLike<number>) => tensor3(out.c, out.h, out.w, Float64Array.from(d));
    let refBoxes = 0,
      emuBoxes = 0,
      matched = 0,
      iouMin = 1;
    for (const o of outs) {
      const a = decodeRegion(
        wrap(o.ref),
        TINY_FACE_DETECTOR_ANCHORS,
        config.frame.width,
        config.frame.height,
        config.detector.threshold,
        config.detector.nms,
      );
      const b = decodeRegion(
        wrap(o.emu),
        TINY_FACE_DETECTOR_ANCHORS,
        config.frame.width,
        config.frame.height,
        config.detector.threshold,
        config.detector.nms,
      );
      refBoxes += a.length;
      emuBoxes += b.length;
      for (const ra of a) {
        const best = Math.max(0, ...b.map((bb) => boxIou(ra, bb)));
        if (best >= 0.5) matched++;
        iouMin = Math.min(iouMin, best);
      }
    }
    Object.assign(extra, {
      boxes_float: refBoxes,
      boxes_kpu: emuBoxes,
      boxes_matched_iou_0_5: matched,
      iou_min: r6(iouMin),
    });
  } else if (m.role === 'landmarks') {
    let maxPx = 0,
      sum = 0,
      n = 0;
    for (const o of outs) {
      for (let j = 0; j < 5; j++) {
        const d = Math.hypot(
          (o.ref[2 * j] - o.emu[2 * j]) * config.landmarks.size,
          (o.ref[2 * j + 1] - o.emu[2 * j + 1]) * config.landmarks.size,
        );
        maxPx = Math.max(maxPx, d);
        sum += d;
        n++;
      }
    }
    Object.assign(extra, {
      point_error_px_max: r6(maxPx),
      point_error_px_mean: r6(sum / n),
      crop_px: config.landmarks.size,
    });
  } else {
    // Recognition with MaixPy's face_encode / face_compare on the emulator's features.
    const person = (s: string) => s.split(':')[0];
    const enc = outs.map((o) => ({
      p: person(o.source),
      kpu: faceEncode(o.emu),
      flt: faceEncode(Float32Array.from(o.ref)),
    }));
    let sameMin = 100,
      diffMax = 0,
      sameMinF = 100,
      diffMaxF = 0;
    for (let i = 0; i < enc.length; i++) {
      for (let j = i + 1; j < enc.length; j++) {
        const s = faceCompare(enc[i].kpu, enc[j].kpu);
        const sf = faceCompare(enc[i].flt, enc[j].flt);
        if (enc[i].p === enc[j].p) {
          sameMin = Math.min(sameMin, s);
          sameMinF = Math.min(sameMinF, sf);
        } else {
          diffMax = Math.max(diffMax, s);
          diffMaxF = Math.max(diffMaxF, sf);
        }
      }
    }
    const maxAbs = Math.max(...outs.map((o) => Math.max(...Array.from(o.emu, Math.abs))));
    Object.assign(extra, {
      max_abs_component: r6(maxAbs),
      persons: new Set(enc.map((e) => e.p)).size,
      face_compare_same_person_min: r6(sameMin),
      face_compare_other_person_max: r6(diffMax),
      float_face_compare_same_person_min: r6(sameMinF),
      float_face_compare_other_person_max: r6(diffMaxF),
      maixpy_threshold: 85,
    });
  }
  return {
    reference: 'the float network (our float graph of the original weights, double precision)',
    inputs: inputs.length,
    cosine_min: r6(Math.min(...cos)),
    cosine_mean: r6(cos.reduce((a, b) => a + b, 0) / cos.length),
    ...extra,
  };
}

/** TensorFlow.js (original network, float32) against our float graph: the graph is the network. */
export async function tfjsAgreement(
  role: Role,
  nets: Networks,
  samples: Samples,
  config: BuildConfig,
): Promise<{ inputs: number; cosine_min: number }> {
  const ref = await import('./reference-tfjs.js');
  await ref.initTfjs();
  const inputs = inputsFor(role, samples.evaluation);
  let min = 1;
  for (const { input } of inputs) {
    let a: ArrayLike<number>;
    let b: ArrayLike<number>;
    if (role === 'detector') {
      const t = ref.tinyFaceDetectorTfjs(
        nets.detectorWeights,
        input,
        config.detector.netHeight,
        config.detector.borderValue,
      );
      const g = evalGraph(nets.graphs.detector, input).at(-1)!;
      const plane = g.h * g.w;
      const mine: number[] = [];
      const theirs: number[] = [];
      for (let c = 0; c < g.c; c++) {
        const s = detectorSourceChannel(c);
        if (s < 0) continue;
        for (let p = 0; p < plane; p++) {
          mine.push(g.data[c * plane + p]);
          theirs.push(t.data[p * 25 + s]);
        }
      }
      a = mine;
      b = theirs;
    } else if (role === 'landmarks') {
      const t = ref.landmark68TinyTfjs(nets.landmarkWeights, input, config.landmarks.netSize);
      const five: number[] = [];
      for (const pts of LANDMARK_68_TO_5) {
        five.push(
          pts.reduce((s, p) => s + t[2 * p], 0) / pts.length,
          pts.reduce((s, p) => s + t[2 * p + 1], 0) / pts.length,
        );
      }
      a = evalGraph(nets.graphs.landmarks, input).at(-1)!.data;
      b = five;
    } else {
      const t = ref.faceresTfjs(nets.faceres, input, 'global_pooling/Mean');
      const g = faceresGraph(nets.faceres, {
        size: config.features.size,
        netSize: config.features.netSize,
        outputNode: 'global_pooling/Mean',
        signs: null,
      });
      a = evalGraph(g, input).at(-1)!.data;
      let n = 0;
      for (const v of t) n += v * v;
      b = Array.from(t, (v) => v / Math.sqrt(n));
    }
    min = Math.min(min, cosine(a, b));
  }
  return { inputs: inputs.length, cosine_min: r6(min) };
}
