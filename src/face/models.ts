/**
 * The three models of the face flow on the emulator: load, check each against the role the
 * preset gives it (a model of the wrong shape for its role is a `UsageError`, exit 2), prepare
 * once, and run as the pipeline's `FaceModels` functions (AI planes in, binary32 values out).
 *
 * What a role needs (from the preset):
 * - detector: one uint8 input 1×3×H×W of the preset's frame; one float32 output (1, C, gh, gw)
 *   whose C is anchors·(5 + classes) under the preset's class rule.
 * - landmarks: one uint8 input 1×3×h×w of the preset's landmark size; one float32 output of
 *   exactly 10 values (five points).
 * - features: one uint8 input 1×3×h×w of the preset's aligned-face size; one float32 output of
 *   the preset's feature length (or any length up to the firmware's limit: 512 for MaixPy's
 *   `face_encode`, 256 for CanMV's `get_feature`).
 */
import { UsageError } from '../errors.js';
import type { TensorDesc } from '../kmodel-parser/model.js';
import { prepare, type PreparedModel } from '../kpu/interpreter.js';
import { profile, type Profile, type TimingParams } from '../kpu/timing/index.js';
import { loadKmodel } from '../load.js';
import { FACE_FEATURE_DIM_MAX } from '../pipeline/features.js';
import { sha256Hex } from '../pipeline/face-store.js';
import { PRESETS, presetClassCount, type FacePreset } from '../pipeline/presets.js';
import type { PlanarImage } from '../pipeline/types.js';

export type ModelRole = 'detector' | 'landmarks' | 'features';
export const MODEL_ROLES: readonly ModelRole[] = ['detector', 'landmarks', 'features'];

/** What each role is called in messages. */
export const ROLE_NOUN: Readonly<Record<ModelRole, string>> = {
  detector: 'face detector',
  landmarks: 'landmark model',
  features: 'feature model',
};

/** CanMV's `run_with_output(get_feature=True)` refuses more than 256 values (doc C.6). */
export const CANMV_FEATURE_MAX = 256;

export interface ModelNumerics {
  readonly numerics?: 'golden' | 'board';
  readonly kpuNumerics?: 'nncase02' | 'nncase01';
  /** kmodel v5 only: the stackvm numbering (default: chosen from the file). */
  readonly nncaseVersion?: string;
}

export interface Clocks {
  readonly kpuMhz: number;
  readonly cpuMhz: number;
}

/** A prepared model with its file identity; `run` is synchronous and not reentrant. */
export interface LoadedFaceModel {
  readonly path: string;
  readonly sha256: string;
  readonly fileBytes: number;
  readonly version: number;
  readonly prepared: PreparedModel;
}

/** A model checked for a role, with its predicted board time for one run. */
export interface FaceModel extends LoadedFaceModel {
  readonly role: ModelRole;
  /** Board time of one run from the timing model (all layers, transfers included). */
  readonly boardMs: number;
  readonly profile: Profile;
  /** Output 0 as binary32 values (a copy). */
  run(input: PlanarImage): Float32Array;
  /** Wall time this PC spent in `run` since the last `takeEmulatorMs()`. */
  takeEmulatorMs(): number;
}

const cache = new Map<string, LoadedFaceModel>();
const CACHE_LIMIT = 8;

/**
 * Load and prepare a model once per (file contents, numerics). Preparing validates the whole
 * model; reuse is safe because `run` clears the machine state first and everything is
 * synchronous.
 */
export function loadFaceModel(spec: string, opts: ModelNumerics = {}): LoadedFaceModel {
  const loaded = loadKmodel(spec);
  const sha256 = sha256Hex(loaded.bytes);
  const numerics = opts.numerics ?? 'golden';
  const kpuNumerics = opts.kpuNumerics ?? 'nncase02';
  const key = `${sha256}/${numerics}/${kpuNumerics}/${opts.nncaseVersion ?? ''}`;
  const hit = cache.get(key);
  if (hit) return { ...hit, path: loaded.path };
  const prepared = prepare(loaded.model, {
    numerics,
    kpuNumerics,
    ...(opts.nncaseVersion !== undefined ? { nncaseVersion: opts.nncaseVersion } : {}),
  });
  const m: LoadedFaceModel = {
    path: loaded.path,
    sha256,
    fileBytes: loaded.bytes.length,
    version: loaded.model.version,
    prepared,
  };
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(key, m);
  return m;
}

const shapeText = (s: readonly number[]): string => s.join('×');
const descText = (d: TensorDesc): string => `${shapeText(d.shape)} ${d.dtype}`;
const elements = (d: TensorDesc): number => d.shape.reduce((a, b) => a * b, 1);

/** Why a model does not fit a role under a preset, or null when it fits. */
export function roleMismatch(m: Pick<LoadedFaceModel, 'prepared'>, role: ModelRole, preset: FacePreset): string | null {
  const { inputs, outputs } = m.prepared;
  let w: number, h: number;
  if (role === 'detector') [w, h] = [preset.detector.inputWidth, preset.detector.inputHeight];
  else if (role === 'landmarks') [w, h] = [preset.landmarks.inputWidth, preset.landmarks.inputHeight];
  else [w, h] = [preset.alignment.width, preset.alignment.height];
  const want = `1×3×${h}×${w} uint8`;
  const noun = ROLE_NOUN[role];
  if (inputs.length !== 1) return `it takes ${inputs.length} inputs; the ${noun} takes one (${want})`;
  const i = inputs[0];
  const s = i.shape;
  const fits =
    i.dtype === 'uint8' && elements(i) === 3 * w * h && s.length >= 2 && s[s.length - 1] === w && s[s.length - 2] === h;
  if (!fits) return `its input is ${descText(i)}; the ${noun} takes ${want}`;
  if (outputs.length < 1) return 'it has no output';
  const o = outputs[0];
  if (o.dtype !== 'float32') return `its first output is ${descText(o)}; the ${noun} gives float32 values`;
  const n = elements(o);
  if (role === 'detector') {
    if (o.shape.length < 3) return `its output is ${descText(o)}; a region layer needs (C, H, W)`;
    const C = o.shape[o.shape.length - 3];
    const anchors = preset.detector.anchors.length / 2;
    const classes = presetClassCount(preset.detector, C);
    if (
      classes < 1 ||
      C !== anchors * (5 + classes) ||
      n !== C * o.shape[o.shape.length - 2] * o.shape[o.shape.length - 1]
    )
      return `its output is ${descText(o)}: ${C} channels do not make ${anchors} anchors × (5 + classes) (class rule "${String(preset.detector.classes)}" gives ${classes})`;
  } else if (role === 'landmarks') {
    if (n !== 10)
      return `its output has ${n} values (${shapeText(o.shape)}); the landmark model gives 10 (five points)`;
  } else {
    const f = preset.features;
    if (f.length !== null && n !== f.length)
      return `its output has ${n} values; the ${preset.name} preset's features have ${f.length}`;
    const max = f.postprocess === 'face-encode' ? FACE_FEATURE_DIM_MAX : CANMV_FEATURE_MAX;
    if (n > max) return `its output has ${n} values; the firmware takes at most ${max}`;
  }
  return null;
}

/** Presets (other than the one used) whose role this model fits, for the error message. */
function fittingPresets(m: LoadedFaceModel, role: ModelRole, except: string): string[] {
  return Object.values(PRESETS)
    .filter((p) => p.name !== except && roleMismatch(m, role, p) === null)
    .map((p) => p.name);
}

/** Refuse a model of the wrong shape for its role (UsageError → exit 2). */
export function checkRole(m: LoadedFaceModel, role: ModelRole, preset: FacePreset): void {
  const why = roleMismatch(m, role, preset);
  if (why === null) return;
  const others = fittingPresets(m, role, preset.name);
  const roleNames = MODEL_ROLES.filter((r) => r !== role && roleMismatch(m, r, preset) === null);
  const hint = others.length
    ? ` (it fits the ${others.join(', ')} preset's ${ROLE_NOUN[role]}: --preset ${others[0]})`
    : roleNames.length
      ? ` (it has the shape of the ${preset.name} preset's ${roleNames.map((r) => ROLE_NOUN[r]).join(' or ')})`
      : '';
  throw new UsageError(
    'BAD_INPUT',
    `--${role} ${m.path}: not a ${ROLE_NOUN[role]} for the ${preset.name} preset: ${why}${hint}`,
  );
}

/** Wrap a loaded model for a role: checked, profiled once, runnable on AI planes. */
export function faceModel(
  m: LoadedFaceModel,
  role: ModelRole,
  preset: FacePreset,
  clocks: Clocks,
  params?: TimingParams,
): FaceModel {
  checkRole(m, role, preset);
  const p = profile(m.prepared.events, { ...clocks, ...(params ? { params } : {}) });
  const inBytes = m.prepared.inputs[0].bytes;
  let spent = 0;
  return {
    ...m,
    role,
    boardMs: p.total_ms,
    profile: p,
    run(input: PlanarImage): Float32Array {
      if (input.data.length < inBytes)
        throw new UsageError('BAD_INPUT', `${m.path}: the ${role} takes ${inBytes} bytes, got ${input.data.length}`);
      const t0 = performance.now();
      const out = m.prepared.run([input.data.subarray(0, inBytes)]).outputs[0];
      spent += performance.now() - t0;
      const copy = new Uint8Array(out.length & ~3);
      copy.set(out.subarray(0, copy.length));
      return new Float32Array(copy.buffer);
    },
    takeEmulatorMs(): number {
      const s = spent;
      spent = 0;
      return s;
    },
  };
}

/** The detector's output grid (C, H, W) as the region decode reads it. */
export function detectorGrid(m: FaceModel): { channels: number; height: number; width: number } {
  const s = m.prepared.outputs[0].shape;
  return { channels: s[s.length - 3], height: s[s.length - 2], width: s[s.length - 1] };
}
