/**
 * `models/manifest.json`: what each bundled model is, where it came from, what it needs.
 * `{ schema_version, models: [{ role, file, sha256, input, outputs, anchors?, threshold?, nms?,
 * template?, source, licence, main_bytes, ai_sram_peak_bytes, board_ms, accuracy }] }`.
 * main_bytes, ai_sram_peak_bytes and board_ms are `kpusim profile`'s figures for the file.
 */
import { parseKmodel } from '../kmodel-parser/parse.js';
import { prepare } from '../kpu/interpreter.js';
import { mainMemoryInputsOf, profile } from '../kpu/timing/index.js';
import type { Accuracy, BuildConfig, BuiltModel, Role } from './build.js';
import { TINY_FACE_DETECTOR_ANCHORS } from './nets/face-api.js';

export const MANIFEST_SCHEMA_VERSION = 1;

export interface ManifestEntry {
  readonly role: Role;
  readonly file: string;
  readonly sha256: string;
  readonly input: { readonly shape: readonly number[]; readonly dtype: 'uint8'; readonly layout: string };
  readonly outputs: readonly {
    readonly shape: readonly number[];
    readonly dtype: 'float32';
    readonly layout: string;
  }[];
  readonly anchors?: readonly number[];
  readonly threshold?: number;
  readonly nms?: number;
  readonly template?: readonly (readonly [number, number])[];
  readonly source: Record<string, unknown>;
  readonly licence: string;
  readonly main_bytes: number;
  readonly ai_sram_peak_bytes: number;
  readonly board_ms: number;
  readonly accuracy?: Accuracy & { readonly tfjs_agreement?: unknown };
}

export interface Manifest {
  readonly schema_version: number;
  readonly models: readonly ManifestEntry[];
}

export interface ProvenanceInfo {
  readonly faceApiVersion: string;
  readonly humanVersion: string;
}

const FACE_API_UPSTREAM = 'https://github.com/justadudewhohacks/face-api.js (weights trained by Vincent Mühler, MIT)';

function sourceOf(role: Role, p: ProvenanceInfo): { source: Record<string, unknown>; licence: string } {
  switch (role) {
    case 'detector':
      return {
        source: {
          network: 'Tiny Face Detector (Tiny-YOLOv2 with depthwise-separable convs)',
          package: `@vladmandic/face-api@${p.faceApiVersion}`,
          files: ['model/tiny_face_detector_model-weights_manifest.json', 'model/tiny_face_detector_model.bin'],
          upstream: FACE_API_UPSTREAM,
          changes:
            'frame stretched from 240 to 256 rows (nearest, on the CPU) so each of the 8 grid rows is 30 frame pixels; conv0 sees a 1-pixel black border (its VALID padding on the bordered frame = the KPU padding); region channels reordered to anchor·6 + entry with a constant class channel',
        },
        licence: 'MIT',
      };
    case 'landmarks':
      return {
        source: {
          network: '68-point face landmark net, tiny variant (three dense blocks of separable convs)',
          package: `@vladmandic/face-api@${p.faceApiVersion}`,
          files: ['model/face_landmark_68_tiny_model-weights_manifest.json', 'model/face_landmark_68_tiny_model.bin'],
          upstream: FACE_API_UPSTREAM,
          changes:
            "crop resized 128 → 112 (nearest, on the CPU); the 136 outputs reduced to MaixPy's five points by a fixed linear map (eye centres = mean of the six eye contour points 36–41 / 42–47, nose tip 30, mouth corners 48 / 54)",
        },
        licence: 'MIT',
      };
    case 'features':
      return {
        source: {
          network: 'HSE FaceRes: MobileNetV1 (α = 1) face descriptor, global-pooled 1024 values',
          package: `@vladmandic/human@${p.humanVersion}`,
          files: ['models/faceres.json', 'models/faceres.bin'],
          upstream:
            'https://github.com/HSE-asavchenko/HSE_FaceRec_tf (A. V. Savchenko, Apache-2.0; converted to TensorFlow.js by Vladimir Mandic, MIT)',
          changes:
            "run at 128×128 (trained at 224×224); 1024 → 512 by a fixed sign pair-fold (out[i] = s[i]·x[i] + s[512+i]·x[512+i], signs from xorshift32 seed 0x4b505553); L2-normalised, then an orthonormal 512-point Walsh–Hadamard transform (a 1×1 KPU conv; cosines unchanged) so that no component reaches MaixPy face_encode's ±0.25 clamp; L2-normalised again",
        },
        licence: 'Apache-2.0 (network and weights); MIT (the npm package)',
      };
  }
}

function ioOf(role: Role, m: BuiltModel, config: BuildConfig): Pick<ManifestEntry, 'input' | 'outputs'> {
  const inT = m.plan.tensors[m.plan.input];
  const outT = m.plan.tensors[m.plan.output];
  const input = {
    shape: [1, inT.c, inT.h, inT.w],
    dtype: 'uint8' as const,
    layout: 'planar R, G, B (the K210 AI buffer), raw 0..255',
  };
  switch (role) {
    case 'detector':
      return {
        input,
        outputs: [
          {
            shape: [1, outT.c, outT.h, outT.w],
            dtype: 'float32',
            layout: `YOLOv2 region tensor, channel n·6 + e for anchor n and entry e (x, y, w, h, objectness, class); ${outT.w}×${outT.h} grid of ${config.frame.width / outT.w}×${config.frame.height / outT.h} frame pixels; 5 anchors, 1 class (MaixPy: classes = C/5 − 5)`,
          },
        ],
      };
    case 'landmarks':
      return {
        input,
        outputs: [
          {
            shape: [1, 10],
            dtype: 'float32',
            layout:
              'le.x, le.y, re.x, re.y, nose.x, nose.y, lm.x, lm.y, rm.x, rm.y in [0, 1] of the crop (left = smaller image x); no activation needed',
          },
        ],
      };
    case 'features':
      return {
        input,
        outputs: [
          {
            shape: [1, outT.c],
            dtype: 'float32',
            layout: `face descriptor, L2-normalised in the model, energy spread over all components (|value| well below MaixPy face_encode's 0.25 clamp; face_encode takes up to 512)`,
          },
        ],
      };
  }
}

/** One manifest entry: the file's profile (as `kpusim profile` computes it) plus provenance. */
export function manifestEntry(
  m: BuiltModel,
  config: BuildConfig,
  p: ProvenanceInfo,
  accuracy?: ManifestEntry['accuracy'],
): ManifestEntry {
  const model = parseKmodel(m.bytes, m.file);
  const prepared = prepare(model);
  const prof = profile(prepared.events, { main: mainMemoryInputsOf(model, m.bytes.length) });
  const { source, licence } = sourceOf(m.role, p);
  const extra: Partial<ManifestEntry> =
    m.role === 'detector'
      ? { anchors: TINY_FACE_DETECTOR_ANCHORS.flat(), threshold: config.detector.threshold, nms: config.detector.nms }
      : m.role === 'features'
        ? { template: config.template.map(([x, y]) => [x, y] as const) }
        : {};
  return {
    role: m.role,
    file: m.file,
    sha256: m.sha256,
    ...ioOf(m.role, m, config),
    ...extra,
    source,
    licence,
    main_bytes: prof.memory.main_bytes,
    ai_sram_peak_bytes: prof.memory.ai_sram_peak_bytes,
    board_ms: Math.round(prof.total_ms * 1000) / 1000,
    ...(accuracy ? { accuracy } : {}),
  };
}

export function manifestJson(entries: readonly ManifestEntry[]): string {
  const order = (r: Role) => ['detector', 'landmarks', 'features'].indexOf(r);
  const m: Manifest = {
    schema_version: MANIFEST_SCHEMA_VERSION,
    models: [...entries].sort((a, b) => order(a.role) - order(b.role)),
  };
  return compactJson(m) + '\n';
}

/** JSON with two-space indentation, arrays of numbers and short arrays of arrays on one line. */
export function compactJson(v: unknown, indent = ''): string {
  const inner = indent + '  ';
  if (Array.isArray(v)) {
    const flat = v.every(
      (x) => typeof x !== 'object' || x === null || (Array.isArray(x) && x.every((y) => typeof y !== 'object')),
    );
    if (flat) return `[${v.map((x) => JSON.stringify(x)).join(', ')}]`;
    return `[\n${v.map((x) => inner + compactJson(x, inner)).join(',\n')}\n${indent}]`;
  }
  if (v !== null && typeof v === 'object') {
    const e = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (e.length === 0) return '{}';
    return `{\n${e.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${compactJson(x, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(v);
}
