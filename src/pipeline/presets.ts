/**
 * Face-flow presets: every number the MaixPy and CanMV demos use, as data. `resolvePreset`
 * applies overrides (from flags or a JSON config) field by field and validates the result, so
 * a bad override is a `UsageError` naming the field.
 *
 * Sources: face-pipeline §1–§7 (MaixPy demo `demo_face_recognization.py`), face-pipeline C.1–C.6 (CanMV
 * `face_recog.py`).
 */
import { UsageError } from '../errors.js';
import { classCountFromChannels, type RegionLayerParams } from './region.js';
import type { Point } from './types.js';

export type ClassRule = number | 'maixpy' | 'per-anchor';

export interface DetectorPreset {
  /** Model input (the camera frame the KPU reads). */
  readonly inputWidth: number;
  readonly inputHeight: number;
  /** (w, h) pairs in grid-cell units. */
  readonly anchors: readonly number[];
  readonly threshold: number;
  readonly nmsValue: number;
  /** A number, or the firmware rule deriving it from the output channels. */
  readonly classes: ClassRule;
  /** Size the corners are scaled to, and the net size for `correct_region_boxes`. */
  readonly imageWidth: number;
  readonly imageHeight: number;
  readonly netWidth: number;
  readonly netHeight: number;
  /** Cap on the object list (null: keep all). */
  readonly maxObjects: number | null;
  readonly rectStorage: 'int16' | 'int';
  /** MaixPy's demo processes only the first detection (`break`); CanMV's all of them. */
  readonly facesPerFrame: 'first' | 'all';
}

export interface LandmarkPreset {
  readonly inputWidth: number;
  readonly inputHeight: number;
  /** `box`: `img.cut(i.rect())`; `extend-box`: CanMV's `extend_box(…, cropScale)`. */
  readonly crop: 'box' | 'extend-box';
  readonly cropScale: number;
  /** MaixPy draws the white 1-px rectangle before `cut`, so it reaches the landmark model. */
  readonly drawRectangleBeforeCut: boolean;
  /** `maixpy`: p·w + x (fractions of the box); `ld5-sigmoid`: σ(p)·cut_w + x1 (CanMV). */
  readonly decode: 'maixpy' | 'ld5-sigmoid';
  /** MaixPy's −10 on the left-eye x (a quirk; 0 disables it). */
  readonly leftEyeXOffset: number;
}

export interface AlignmentPreset {
  /** Output of `warp_affine_ai`, the feature model's input. */
  readonly width: number;
  readonly height: number;
  /** Five template points (left eye, right eye, nose, left/right mouth corner). */
  readonly template: readonly Point[];
  /** `get_affine_transform` stores coordinates as uint16 (negative values wrap). */
  readonly wrapUint16: boolean;
}

export interface FeaturePreset {
  /** Expected feature length (null: whatever the model gives). */
  readonly length: number | null;
  /** `face-encode`: MaixPy int8 encoding; `l2-normalize`: CanMV float vector. */
  readonly postprocess: 'face-encode' | 'l2-normalize';
  readonly scoring: 'face-compare' | 'feature-compare';
  /** Accept a match iff the best score is strictly above this. */
  readonly threshold: number;
  /** Contract float accumulations into fused multiply-adds (see features.ts). */
  readonly fusedMultiplyAdd: boolean;
}

export interface FacePreset {
  readonly name: string;
  readonly description: string;
  readonly frame: { readonly width: number; readonly height: number };
  readonly detector: DetectorPreset;
  readonly landmarks: LandmarkPreset;
  readonly alignment: AlignmentPreset;
  readonly features: FeaturePreset;
}

export const MAIXPY_PRESET: FacePreset = {
  name: 'maixpy',
  description: "MaixPy's demo_face_recognization.py: 5-anchor detector at 0x300000, 128×128 landmarks and features",
  frame: { width: 320, height: 240 },
  detector: {
    inputWidth: 320,
    inputHeight: 240,
    anchors: [1.889, 2.5245, 2.9465, 3.94056, 3.99987, 5.3658, 5.155437, 6.92275, 6.718375, 9.01025],
    threshold: 0.5,
    nmsValue: 0.3,
    classes: 'maixpy',
    imageWidth: 320,
    imageHeight: 240,
    netWidth: 320,
    netHeight: 240,
    // The firmware's obj[10] overflows silently past 10 objects and the values written are
    // read straight back, so keeping all is the likelier board result; set 10 to cap.
    maxObjects: null,
    rectStorage: 'int16',
    facesPerFrame: 'first',
  },
  landmarks: {
    inputWidth: 128,
    inputHeight: 128,
    crop: 'box',
    cropScale: 0,
    drawRectangleBeforeCut: true,
    decode: 'maixpy',
    leftEyeXOffset: -10,
  },
  alignment: {
    width: 128,
    height: 128,
    template: [
      [44, 59],
      [84, 59],
      [64, 82],
      [47, 105],
      [81, 105],
    ],
    wrapUint16: true,
  },
  features: {
    length: null,
    postprocess: 'face-encode',
    scoring: 'face-compare',
    threshold: 85,
    fusedMultiplyAdd: false,
  },
};

export const CANMV_PRESET: FacePreset = {
  name: 'canmv',
  description: "CanMV's face_recog.py: 9-anchor 320×240 detector, ld5 landmarks, 64×64 feature model",
  frame: { width: 320, height: 240 },
  detector: {
    inputWidth: 320,
    inputHeight: 240,
    anchors: [
      0.1075, 0.126875, 0.126875, 0.175, 0.1465625, 0.2246875, 0.1953125, 0.25375, 0.2440625, 0.351875, 0.341875,
      0.4721875, 0.5078125, 0.6696875, 0.8984375, 1.099687, 2.129062, 2.425937,
    ],
    threshold: 0.5,
    nmsValue: 0.2,
    classes: 1,
    imageWidth: 320,
    imageHeight: 240,
    netWidth: 320,
    netHeight: 240,
    maxObjects: null,
    rectStorage: 'int',
    facesPerFrame: 'all',
  },
  landmarks: {
    inputWidth: 128,
    inputHeight: 128,
    crop: 'extend-box',
    cropScale: 0,
    drawRectangleBeforeCut: false,
    decode: 'ld5-sigmoid',
    leftEyeXOffset: 0,
  },
  alignment: {
    width: 64,
    height: 64,
    // ArcFace's 112×112 template × 64/112, truncated (see landmarks.ts `arcfaceTemplate`).
    template: [
      [21, 29],
      [42, 29],
      [32, 40],
      [23, 52],
      [40, 52],
    ],
    wrapUint16: true,
  },
  features: {
    length: 192,
    postprocess: 'l2-normalize',
    scoring: 'feature-compare',
    threshold: 80.5,
    fusedMultiplyAdd: false,
  },
};

export const PRESETS: Readonly<Record<string, FacePreset>> = { maixpy: MAIXPY_PRESET, canmv: CANMV_PRESET };
export type PresetName = 'maixpy' | 'canmv';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Fields whose value may be null, or of more than one JSON type. */
const NULLABLE = new Set(['detector.maxObjects', 'features.length']);
const MIXED = new Set(['detector.classes']);

function merge(base: unknown, over: unknown, path: string): unknown {
  if (isPlainObject(base)) {
    if (!isPlainObject(over))
      throw new UsageError('BAD_ARGUMENT', `preset override: ${path || 'the override'} must be an object`);
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) {
      const p = path ? `${path}.${k}` : k;
      if (!(k in base)) throw new UsageError('BAD_ARGUMENT', `preset override: unknown field "${p}"`);
      out[k] = merge(base[k], v, p);
    }
    return out;
  }
  if (over === null && NULLABLE.has(path)) return null;
  if (!MIXED.has(path) && base !== null && (typeof over !== typeof base || Array.isArray(over) !== Array.isArray(base)))
    throw new UsageError(
      'BAD_ARGUMENT',
      `preset override: "${path}" must be ${Array.isArray(base) ? 'an array' : `a ${typeof base}`}`,
    );
  return over;
}

function fail(path: string, what: string): never {
  throw new UsageError('BAD_ARGUMENT', `preset: "${path}" ${what}`);
}
function posInt(v: unknown, path: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    fail(path, `must be a positive integer, got ${JSON.stringify(v)}`);
}
function unit(v: unknown, path: string): void {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) fail(path, `must lie in [0, 1], got ${JSON.stringify(v)}`);
}
function finite(v: unknown, path: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, `must be a finite number, got ${JSON.stringify(v)}`);
}
function oneOf(v: unknown, allowed: readonly string[], path: string): void {
  if (typeof v !== 'string' || !allowed.includes(v))
    fail(path, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
}

/** Check every field of a preset; throws `UsageError` naming the first bad one. */
export function validatePreset(p: FacePreset): void {
  if (typeof p.name !== 'string' || p.name === '') fail('name', 'must be a non-empty string');
  posInt(p.frame.width, 'frame.width');
  posInt(p.frame.height, 'frame.height');
  const d = p.detector;
  for (const k of ['inputWidth', 'inputHeight', 'imageWidth', 'imageHeight', 'netWidth', 'netHeight'] as const)
    posInt(d[k], `detector.${k}`);
  if (!Array.isArray(d.anchors) || d.anchors.length === 0 || d.anchors.length % 2 !== 0)
    fail(
      'detector.anchors',
      `must be a non-empty list of (w, h) pairs, got ${Array.isArray(d.anchors) ? d.anchors.length : typeof d.anchors} numbers`,
    );
  d.anchors.forEach((a, i) => {
    if (typeof a !== 'number' || !(a > 0) || !Number.isFinite(a))
      fail(`detector.anchors[${i}]`, `must be a positive number, got ${JSON.stringify(a)}`);
  });
  unit(d.threshold, 'detector.threshold');
  unit(d.nmsValue, 'detector.nmsValue');
  if (typeof d.classes === 'number') posInt(d.classes, 'detector.classes');
  else oneOf(d.classes, ['maixpy', 'per-anchor'], 'detector.classes');
  if (d.maxObjects !== null) posInt(d.maxObjects, 'detector.maxObjects');
  oneOf(d.rectStorage, ['int16', 'int'], 'detector.rectStorage');
  oneOf(d.facesPerFrame, ['first', 'all'], 'detector.facesPerFrame');
  const l = p.landmarks;
  posInt(l.inputWidth, 'landmarks.inputWidth');
  posInt(l.inputHeight, 'landmarks.inputHeight');
  oneOf(l.crop, ['box', 'extend-box'], 'landmarks.crop');
  finite(l.cropScale, 'landmarks.cropScale');
  if (typeof l.drawRectangleBeforeCut !== 'boolean') fail('landmarks.drawRectangleBeforeCut', 'must be a boolean');
  oneOf(l.decode, ['maixpy', 'ld5-sigmoid'], 'landmarks.decode');
  finite(l.leftEyeXOffset, 'landmarks.leftEyeXOffset');
  const a = p.alignment;
  posInt(a.width, 'alignment.width');
  posInt(a.height, 'alignment.height');
  if (!Array.isArray(a.template) || a.template.length !== 5) fail('alignment.template', 'must hold 5 points');
  a.template.forEach((pt, i) => {
    if (
      !Array.isArray(pt) ||
      pt.length !== 2 ||
      !pt.every((c) => typeof c === 'number' && Number.isInteger(c) && c >= 0 && c <= 0xffff)
    )
      fail(`alignment.template[${i}]`, `must be an [x, y] pair of integers 0…65535, got ${JSON.stringify(pt)}`);
  });
  if (typeof a.wrapUint16 !== 'boolean') fail('alignment.wrapUint16', 'must be a boolean');
  const f = p.features;
  if (f.length !== null) posInt(f.length, 'features.length');
  oneOf(f.postprocess, ['face-encode', 'l2-normalize'], 'features.postprocess');
  oneOf(f.scoring, ['face-compare', 'feature-compare'], 'features.scoring');
  finite(f.threshold, 'features.threshold');
  if (typeof f.fusedMultiplyAdd !== 'boolean') fail('features.fusedMultiplyAdd', 'must be a boolean');
  if ((f.postprocess === 'face-encode') !== (f.scoring === 'face-compare'))
    fail('features.scoring', `"${f.scoring}" does not fit features encoded by "${f.postprocess}"`);
}

/**
 * A preset by name (or object) with optional overrides, e.g. parsed from a JSON config:
 * `resolvePreset('canmv', { detector: { threshold: 0.6 } })`. Arrays are replaced, not merged.
 */
export function resolvePreset(base: string | FacePreset, overrides?: unknown): FacePreset {
  let start: FacePreset;
  if (typeof base === 'string') {
    const found = Object.prototype.hasOwnProperty.call(PRESETS, base) ? PRESETS[base] : undefined;
    if (!found)
      throw new UsageError('BAD_ARGUMENT', `unknown preset "${base}" (known: ${Object.keys(PRESETS).join(', ')})`);
    start = found;
  } else {
    start = base;
  }
  const merged = (
    overrides === undefined ? structuredClone(start) : merge(structuredClone(start), overrides, '')
  ) as FacePreset;
  validatePreset(merged);
  return merged;
}

/** The class count a preset's rule gives for a detector output with `channels` channels. */
export function presetClassCount(d: DetectorPreset, channels: number): number {
  if (typeof d.classes === 'number') return d.classes;
  return classCountFromChannels(channels, d.classes, d.anchors.length / 2);
}

/** What a caller may give to decode a detector's output without a whole face flow. */
export interface RegionDecodeOptions {
  /** (w, h) pairs in grid cells; default: the preset's. */
  readonly anchors?: readonly number[];
  /** A preset's detector: its anchors, threshold, NMS value and class rule. */
  readonly preset?: DetectorPreset;
  readonly classes?: number;
  readonly threshold?: number;
  readonly nmsValue?: number;
}

/**
 * Region-layer parameters for output 0 of a detector, shaped (…, C, H, W), fed an input of
 * (N, C, H, W): the net and image size are the input's. Without an explicit class count, a preset
 * used with its own anchors applies its class rule (face-pipeline §1.2, C.3); otherwise the count
 * is channels / anchors − 5. Threshold and NMS default to the preset's, else 0.5 and 0.3 (MaixPy's
 * demo values). A bad argument is a `UsageError` naming the option.
 */
export function detectorRegionParams(
  outputShape: readonly number[],
  inputShape: readonly number[],
  o: RegionDecodeOptions,
): { params: RegionLayerParams; grid: { channels: number; height: number; width: number } } {
  const s = outputShape;
  if (s.length < 3)
    throw new UsageError('BAD_ARGUMENT', `--anchors needs a (C, H, W) detector output; output 0 is ${s.join('×')}`);
  const grid = { channels: s[s.length - 3], height: s[s.length - 2], width: s[s.length - 1] };
  const anchors = o.anchors ? [...o.anchors] : o.preset ? [...o.preset.anchors] : [];
  if (anchors.length < 2 || anchors.length % 2 || anchors.some((a) => !Number.isFinite(a)))
    throw new UsageError('BAD_ARGUMENT', '--anchors takes comma-separated (w, h) pairs in grid cells');
  const classes =
    o.classes !== undefined
      ? o.classes
      : o.preset && o.anchors === undefined
        ? presetClassCount(o.preset, grid.channels)
        : Math.trunc(grid.channels / (anchors.length / 2)) - 5;
  const [, , h, w] = inputShape.length === 4 ? inputShape : [1, 1, grid.height, grid.width];
  return {
    grid,
    params: {
      anchors,
      classes,
      threshold: o.threshold ?? o.preset?.threshold ?? 0.5,
      nmsValue: o.nmsValue ?? o.preset?.nmsValue ?? 0.3,
      imageWidth: w,
      imageHeight: h,
      netWidth: w,
      netHeight: h,
      maxObjects: null,
      rectStorage: 'int',
    },
  };
}

/** Deep merge of override objects (later wins; arrays replaced), before `resolvePreset` applies them. */
export function mergeOverrides(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b))
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? mergeOverrides(out[k] as Record<string, unknown>, v) : v;
  return out;
}

/** `--set detector.threshold=0.6` → { detector: { threshold: 0.6 } }; the value is JSON if it parses, else a string. */
export function parseSet(item: string): Record<string, unknown> {
  const eq = item.indexOf('=');
  if (eq <= 0)
    throw new UsageError('BAD_ARGUMENT', `--set takes path=value (e.g. detector.threshold=0.6), got "${item}"`);
  const path = item.slice(0, eq).trim().split('.');
  const text = item.slice(eq + 1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = text;
  }
  if (path.some((p) => p === '')) throw new UsageError('BAD_ARGUMENT', `--set: bad field path "${item.slice(0, eq)}"`);
  let o: unknown = value;
  for (let i = path.length - 1; i >= 0; i--) o = { [path[i]]: o };
  return o as Record<string, unknown>;
}
