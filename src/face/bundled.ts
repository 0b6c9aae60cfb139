/**
 * The `bundled` preset: kpusim's own three face models under `models/` (built by `kpusim build`,
 * issue 7), described by `models/manifest.json`:
 *
 *   { schema_version, models: [{ role: "detector" | "landmarks" | "features", file, sha256,
 *     input, outputs, anchors?, threshold?, source, licence, main_bytes, ai_sram_peak_bytes,
 *     board_ms }] }
 *
 * The models follow MaixPy's demo interfaces, so the preset is MaixPy's with the manifest's
 * detector anchors and threshold (optional `nms` too), the input sizes of the models themselves,
 * MaixPy's 128×128 template scaled to the feature model's input, and no −10 left-eye quirk (the
 * bundled landmark model gives true fractions of the box; the quirk compensated MaixHub's model).
 * Only `role`, `file` and `sha256` are required of every entry (and `anchors` of the detector);
 * the other fields are informational here. The files are checked against their sha256.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import { MAIXPY_PRESET, resolvePreset, type FacePreset } from '../pipeline/presets.js';
import type { Point } from '../pipeline/types.js';
import type { ModelRole } from './models.js';

/** `models/manifest.json` of the package (src/face → ../../models, dist/face → ../../models). */
export const DEFAULT_MANIFEST = fileURLToPath(new URL('../../models/manifest.json', import.meta.url));

export interface ManifestModel {
  readonly role: ModelRole;
  /** Absolute path of the model file. */
  readonly file: string;
  readonly sha256: string;
  readonly anchors?: readonly number[];
  readonly threshold?: number;
  readonly nms?: number;
  readonly raw: Readonly<Record<string, unknown>>;
}

export interface Manifest {
  readonly path: string;
  readonly models: Readonly<Partial<Record<ModelRole, ManifestModel>>>;
}

const ROLES: readonly ModelRole[] = ['detector', 'landmarks', 'features'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Read and validate a manifest; a missing file says so (the models may not be built yet). */
export function readManifest(path: string = DEFAULT_MANIFEST): Manifest {
  if (!existsSync(path))
    throw new UsageError(
      'NOT_FOUND',
      `the bundled preset needs ${path}, which is not there (kpusim's own models are not built yet: issue 7, \`kpusim build\`); ` +
        'use --preset maixpy or --preset canmv with --detector/--landmarks/--features',
    );
  const bad = (m: string): never => {
    throw new UsageError('BAD_FILE', `${path}: bad model manifest: ${m}`);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    bad(`not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(raw)) bad('the top level is not an object');
  const o = raw as Record<string, unknown>;
  if (typeof o.schema_version !== 'number') bad('"schema_version" must be a number');
  if (!Array.isArray(o.models)) bad('"models" must be an array');
  const models: Partial<Record<ModelRole, ManifestModel>> = {};
  (o.models as unknown[]).forEach((m, i) => {
    if (!isObject(m)) bad(`models[${i}] is not an object`);
    const e = m as Record<string, unknown>;
    const role = e.role as ModelRole;
    if (!ROLES.includes(role))
      bad(`models[${i}].role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(e.role)}`);
    if (models[role]) bad(`two models have the role "${role}"`);
    if (typeof e.file !== 'string' || e.file === '') bad(`models[${i}].file must be a file name`);
    if (typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256))
      bad(`models[${i}].sha256 must be a lowercase hex sha256`);
    const file = isAbsolute(e.file as string) ? (e.file as string) : resolve(dirname(path), e.file as string);
    let anchors: number[] | undefined;
    if (e.anchors !== undefined) {
      const a = Array.isArray(e.anchors) ? (e.anchors as unknown[]).flat() : null;
      if (!a || a.length === 0 || a.length % 2 !== 0 || a.some((v) => typeof v !== 'number' || !(v > 0)))
        bad(`models[${i}].anchors must be (w, h) pairs of positive numbers in grid cells`);
      anchors = a as number[];
    }
    const unit = (k: 'threshold' | 'nms'): number | undefined => {
      const v = e[k];
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) bad(`models[${i}].${k} must be a number in [0, 1]`);
      return v as number;
    };
    models[role] = {
      role,
      file,
      sha256: e.sha256 as string,
      ...(anchors ? { anchors } : {}),
      ...(unit('threshold') !== undefined ? { threshold: unit('threshold') } : {}),
      ...(unit('nms') !== undefined ? { nms: unit('nms') } : {}),
      raw: e,
    };
  });
  if (models.detector && !models.detector.anchors) bad('the detector entry needs "anchors"');
  return { path, models };
}

/** The manifest entry of a role, or a clear error when the manifest has none. */
export function manifestModel(m: Manifest, role: ModelRole): ManifestModel {
  const e = m.models[role];
  if (!e) throw new UsageError('BAD_FILE', `${m.path}: no model with the role "${role}"; give --${role} FILE`);
  return e;
}

/** Input width and height of a model's first input (…×H×W). */
export interface InputSize {
  readonly width: number;
  readonly height: number;
}

/**
 * The bundled preset from a manifest and the input sizes of the models in use (read from the
 * model files, so the preset always matches them).
 */
export function bundledPreset(m: Manifest, sizes: Partial<Record<ModelRole, InputSize>>): FacePreset {
  const det = manifestModel(m, 'detector');
  const base = MAIXPY_PRESET;
  const fe = sizes.features ?? { width: base.alignment.width, height: base.alignment.height };
  const sx = fe.width / base.alignment.width,
    sy = fe.height / base.alignment.height;
  const template = base.alignment.template.map(([x, y]) => [Math.trunc(x * sx), Math.trunc(y * sy)] as Point);
  const d = sizes.detector ?? { width: base.detector.inputWidth, height: base.detector.inputHeight };
  const ld = sizes.landmarks ?? { width: base.landmarks.inputWidth, height: base.landmarks.inputHeight };
  return resolvePreset(base, {
    name: 'bundled',
    description: `kpusim's own models (${m.path}) with MaixPy's demo flow`,
    frame: { width: d.width, height: d.height },
    detector: {
      inputWidth: d.width,
      inputHeight: d.height,
      imageWidth: d.width,
      imageHeight: d.height,
      netWidth: d.width,
      netHeight: d.height,
      anchors: det.anchors,
      ...(det.threshold !== undefined ? { threshold: det.threshold } : {}),
      ...(det.nms !== undefined ? { nmsValue: det.nms } : {}),
    },
    landmarks: { inputWidth: ld.width, inputHeight: ld.height, leftEyeXOffset: 0 },
    alignment: { width: fe.width, height: fe.height, template },
  });
}

/**
 * The roles whose model file comes from the manifest: every role not given a file, except that the
 * landmark and feature models are optional when only the detector is needed (`all` false) and the
 * manifest has none.
 */
export function manifestRoles(m: Manifest, given: Partial<Record<ModelRole, string>>, all: boolean): ModelRole[] {
  return (['detector', 'landmarks', 'features'] as const).filter(
    (r) => given[r] === undefined && (r === 'detector' || all || Boolean(m.models[r])),
  );
}

/** A model file taken from the manifest must be the one the manifest describes (its sha256). */
export function checkManifestModel(m: Manifest, role: ModelRole, file: string, sha256: string): void {
  if (sha256 !== manifestModel(m, role).sha256)
    throw new UsageError(
      'BAD_FILE',
      `${file}: does not match its sha256 in ${m.path} (rebuild the models, or give --${role})`,
    );
}
