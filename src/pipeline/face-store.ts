/**
 * The enrolment store of `kpusim face enroll/recognize`: a JSON file of named features in
 * enrolment order (the order the demos' `record_ftrs` list has, which decides ties in matching).
 *
 * - Written atomically: a temporary file in the same directory, flushed, then renamed over the
 *   target, so a crash leaves either the old or the new store, never half of one.
 * - Validated on read: anything unexpected is a `UsageError` naming the file and the problem. A
 *   corrupt store is never treated as empty (that would silently drop everyone on the next write).
 * - Carries the sha256 of the feature model that made its features and refuses features from
 *   another one (features of different models are not comparable).
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UsageError } from '../errors.js';
import { FILE_CAPS, readUserText } from '../io/read-file.js';

export const FACE_STORE_FORMAT = 'kpusim-face-store';
export const FACE_STORE_VERSION = 1;

/** `int8`: MaixPy `face_encode` bytes scored with `face_compare`; `float32`: CanMV L2-normalised vectors. */
export type FeatureEncoding = 'int8' | 'float32';
export type FeatureScoring = 'face-compare' | 'feature-compare';

export interface FaceStoreEntry {
  readonly name: string;
  /** int8 values or binary32 values, `featureLength` of them. */
  readonly feature: readonly number[];
  /** Where the face came from (image file), informational. */
  readonly source?: string;
}

export interface FaceStore {
  readonly format: typeof FACE_STORE_FORMAT;
  readonly version: typeof FACE_STORE_VERSION;
  readonly preset?: string;
  readonly encoding: FeatureEncoding;
  readonly scoring: FeatureScoring;
  readonly featureLength: number;
  /** sha256 (hex) of the models; `features` is the one that must match. */
  readonly models: { readonly features: string; readonly detector?: string; readonly landmarks?: string };
  readonly entries: readonly FaceStoreEntry[];
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const SHA256 = /^[0-9a-f]{64}$/;

export interface NewFaceStore {
  readonly encoding: FeatureEncoding;
  readonly scoring?: FeatureScoring;
  readonly featureLength: number;
  readonly featureModelSha256: string;
  readonly detectorSha256?: string;
  readonly landmarksSha256?: string;
  readonly preset?: string;
}

export function createFaceStore(init: NewFaceStore): FaceStore {
  const scoring = init.scoring ?? (init.encoding === 'int8' ? 'face-compare' : 'feature-compare');
  const models: { features: string; detector?: string; landmarks?: string } = { features: init.featureModelSha256 };
  if (init.detectorSha256 !== undefined) models.detector = init.detectorSha256;
  if (init.landmarksSha256 !== undefined) models.landmarks = init.landmarksSha256;
  const store: FaceStore = {
    format: FACE_STORE_FORMAT,
    version: FACE_STORE_VERSION,
    ...(init.preset !== undefined ? { preset: init.preset } : {}),
    encoding: init.encoding,
    scoring,
    featureLength: init.featureLength,
    models,
    entries: [],
  };
  return validateFaceStore(store, '<new store>');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(
  o: Record<string, unknown>,
  allowed: readonly string[],
  where: string,
  bad: (m: string) => never,
): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) bad(`unknown field "${where}${k}"`);
}

function checkFeature(
  values: unknown,
  encoding: FeatureEncoding,
  length: number,
  where: string,
  bad: (m: string) => never,
): void {
  if (!Array.isArray(values)) bad(`${where} must be an array of numbers`);
  if (values.length !== length) bad(`${where} has ${values.length} values, the store's features have ${length}`);
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) bad(`${where}[${i}] is not a finite number`);
    if (encoding === 'int8' && !(Number.isInteger(v) && v >= -128 && v <= 127))
      bad(`${where}[${i}] = ${v} is not an int8`);
    if (encoding === 'float32' && Math.fround(v) !== v) bad(`${where}[${i}] = ${v} is not a binary32 value`);
  });
}

/** Validate a parsed store object; returns it typed, or throws `UsageError` naming `file`. */
export function validateFaceStore(raw: unknown, file: string): FaceStore {
  const bad = (m: string): never => {
    throw new UsageError('BAD_FILE', `${file}: corrupt face store: ${m}`);
  };
  if (!isObject(raw)) bad('the top level is not a JSON object');
  const o = raw as Record<string, unknown>;
  if (o.format !== FACE_STORE_FORMAT) bad(`"format" is ${JSON.stringify(o.format)}, expected "${FACE_STORE_FORMAT}"`);
  if (o.version !== FACE_STORE_VERSION)
    bad(`unsupported version ${JSON.stringify(o.version)} (this kpusim reads version ${FACE_STORE_VERSION})`);
  checkKeys(o, ['format', 'version', 'preset', 'encoding', 'scoring', 'featureLength', 'models', 'entries'], '', bad);
  if (o.preset !== undefined && (typeof o.preset !== 'string' || o.preset === ''))
    bad('"preset" must be a non-empty string');
  if (o.encoding !== 'int8' && o.encoding !== 'float32')
    bad(`"encoding" must be "int8" or "float32", got ${JSON.stringify(o.encoding)}`);
  const encoding = o.encoding as FeatureEncoding;
  const expectScoring = encoding === 'int8' ? 'face-compare' : 'feature-compare';
  if (o.scoring !== expectScoring)
    bad(`"scoring" must be "${expectScoring}" for ${encoding} features, got ${JSON.stringify(o.scoring)}`);
  const len = o.featureLength;
  if (typeof len !== 'number' || !Number.isInteger(len) || len <= 0 || len > 4096)
    bad(`"featureLength" must be an integer 1…4096, got ${JSON.stringify(len)}`);
  if (!isObject(o.models)) bad('"models" must be an object');
  const models = o.models as Record<string, unknown>;
  checkKeys(models, ['features', 'detector', 'landmarks'], 'models.', bad);
  for (const k of ['features', 'detector', 'landmarks'] as const) {
    const v = models[k];
    if (v === undefined && k !== 'features') continue;
    if (typeof v !== 'string' || !SHA256.test(v))
      bad(`"models.${k}" must be a lowercase hex sha256, got ${JSON.stringify(v)}`);
  }
  if (!Array.isArray(o.entries)) bad('"entries" must be an array');
  (o.entries as unknown[]).forEach((e, i) => {
    if (!isObject(e)) bad(`entries[${i}] is not an object`);
    const entry = e as Record<string, unknown>;
    checkKeys(entry, ['name', 'feature', 'source'], `entries[${i}].`, bad);
    if (typeof entry.name !== 'string' || entry.name.trim() === '')
      bad(`entries[${i}].name must be a non-empty string`);
    if (entry.source !== undefined && typeof entry.source !== 'string') bad(`entries[${i}].source must be a string`);
    checkFeature(entry.feature, encoding, len as number, `entries[${i}].feature`, bad);
  });
  return o as unknown as FaceStore;
}

/** Parse and validate store text. */
export function parseFaceStore(text: string, file: string): FaceStore {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UsageError('BAD_FILE', `${file}: corrupt face store: not valid JSON (${(e as Error).message})`);
  }
  return validateFaceStore(raw, file);
}

export function serializeFaceStore(store: FaceStore): string {
  // One entry per line keeps diffs of a store under version control readable.
  const { entries, ...head } = store;
  const lines = entries.map((e) => '    ' + JSON.stringify(e));
  const headJson = JSON.stringify(head, null, 2);
  return `${headJson.slice(0, -2)},\n  "entries": [${lines.length ? '\n' + lines.join(',\n') + '\n  ' : ''}]\n}\n`;
}

/** Read a store; a missing file is `UsageError('NOT_FOUND')`. */
export function readFaceStore(file: string): FaceStore {
  let text: string;
  try {
    text = readUserText(file, FILE_CAPS.json);
  } catch (e) {
    if (e instanceof UsageError && e.code !== 'NOT_FOUND') throw e;
    const code = e instanceof UsageError ? 'ENOENT' : (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError('NOT_FOUND', `${file}: face store not found`);
    throw new UsageError('BAD_FILE', `${file}: cannot read the face store (${code ?? (e as Error).message})`);
  }
  return parseFaceStore(text, file);
}

/** Read a store, or null if the file does not exist (enrolment creates it). Corrupt is still an error. */
export function readFaceStoreIfExists(file: string): FaceStore | null {
  try {
    return readFaceStore(file);
  } catch (e) {
    if (e instanceof UsageError && e.code === 'NOT_FOUND') return null;
    throw e;
  }
}

export interface WriteStoreOptions {
  /** Test seam: called after the temporary file is complete and before the rename. */
  readonly beforeRename?: (tempFile: string) => void;
}

/** Write a store atomically (temporary file in the same directory, fsync, rename). */
export function writeFaceStore(file: string, store: FaceStore, opts: WriteStoreOptions = {}): void {
  validateFaceStore(store, file);
  const text = serializeFaceStore(store);
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    const buf = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    opts.beforeRename?.(tmp);
    renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    try {
      unlinkSync(tmp);
    } catch {
      /* never created, or already renamed */
    }
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(
      'BAD_FILE',
      `${file}: cannot write the face store (${code ?? (e as Error).message}); the previous file is unchanged`,
    );
  }
}

/** Refuse a store made with another feature model. */
export function checkStoreModel(store: FaceStore, featureModelSha256: string, file = '<face store>'): void {
  if (store.models.features !== featureModelSha256)
    throw new UsageError(
      'BAD_INPUT',
      `${file}: the store's features come from feature model ${store.models.features.slice(0, 12)}…, ` +
        `this run uses ${featureModelSha256.slice(0, 12)}…; features of different models cannot be compared`,
    );
}

export interface NewFace {
  readonly name: string;
  readonly feature: ArrayLike<number>;
  readonly featureModelSha256: string;
  readonly source?: string;
}

/** A new store with one more entry (appended, so enrolment order is kept). */
export function addFace(store: FaceStore, face: NewFace, file = '<face store>'): FaceStore {
  checkStoreModel(store, face.featureModelSha256, file);
  if (typeof face.name !== 'string' || face.name.trim() === '')
    throw new UsageError('BAD_ARGUMENT', 'a face needs a non-empty name');
  const feature = Array.from(face.feature, (v) => (store.encoding === 'float32' ? Math.fround(v) : v));
  const bad = (m: string): never => {
    throw new UsageError('BAD_INPUT', `cannot add "${face.name}" to ${file}: ${m}`);
  };
  checkFeature(feature, store.encoding, store.featureLength, 'the feature', bad);
  const entry: FaceStoreEntry =
    face.source !== undefined ? { name: face.name, feature, source: face.source } : { name: face.name, feature };
  return { ...store, entries: [...store.entries, entry] };
}

/** The stored features as typed arrays, ready for `faceCompare` / `featureCompare`. */
export function storeFeatures(store: FaceStore): { name: string; feature: Int8Array | Float32Array }[] {
  return store.entries.map((e) => ({
    name: e.name,
    feature: store.encoding === 'int8' ? Int8Array.from(e.feature) : Float32Array.from(e.feature),
  }));
}
