/**
 * The enrolment store of `kpusim face enroll/recognize`: a JSON file of named features in
 * enrolment order (the order the demos' `record_ftrs` list has, which decides ties in matching).
 *
 * - Written atomically: a temporary file in the same directory, flushed, then renamed over the
 *   target, so a crash leaves either the old or the new store, never half of one. A temporary
 *   file left by a killed writer is removed by the next write.
 * - Writers are serialised by a lock (`updateFaceStore`), so concurrent enrolments all land.
 * - Permissions are kept: a read-only store is refused, an existing store keeps its mode, a new
 *   one is 0600 (it holds biometric data); a symbolic link is written through to its target.
 * - Validated on read: anything unexpected is a `UsageError` naming the file and the problem. A
 *   corrupt store is never treated as empty (that would silently drop everyone on the next write).
 * - Carries the sha256 of the feature model that made its features and refuses features from
 *   another one (features of different models are not comparable).
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants as fsConstants,
  fchmodSync,
  fchownSync,
  fsyncSync,
  lstatSync,
  openSync,
  readdirSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import lockfile from 'proper-lockfile';
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

/** Read a store; a missing file is `UsageError('NOT_FOUND')`. Only a regular file is read. */
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

/** The file a write replaces: the store itself, or the file its symbolic link points to. */
export interface StoreTarget {
  /** The path written (a link's final target, absolute), and the one the lock is taken on. */
  readonly path: string;
  /** The existing file's permission bits and owner; undefined for a new store. */
  readonly existing?: { readonly mode: number; readonly uid: number; readonly gid: number };
}

/** Mode of a new store: it holds biometric data, so only its owner may read it. */
export const NEW_STORE_MODE = 0o600;

/**
 * Where a write to `file` goes, refusing what must not be written: a read-only store (no owner
 * write bit, also for root, or not writable by this user), something that is not a regular file,
 * a link to nowhere. A symbolic link is written through: its target gets the new content and the
 * link stays a link (src/face/README.md, "Store").
 */
export function storeTarget(file: string): StoreTarget {
  let path = resolve(file);
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { path };
    throw new UsageError('BAD_FILE', `${file}: cannot use as a face store (${code ?? (e as Error).message})`);
  }
  if (st.isSymbolicLink()) {
    try {
      path = realpathSync(path);
      st = statSync(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new UsageError(
        'BAD_FILE',
        `${file}: a symbolic link whose target cannot be used (${code ?? (e as Error).message}); nothing written`,
      );
    }
  }
  if (!st.isFile())
    throw new UsageError('BAD_FILE', `${file}: not a regular file, so not a face store; nothing written`);
  const mode = st.mode & 0o7777;
  let writable = (mode & 0o200) !== 0;
  if (writable) {
    try {
      accessSync(path, fsConstants.W_OK);
    } catch {
      writable = false;
    }
  }
  if (!writable)
    throw new UsageError(
      'BAD_FILE',
      `${file}: the face store is read-only (mode ${mode.toString(8).padStart(4, '0')}); nothing written (make it writable to enrol into it)`,
    );
  return { path, existing: { mode, uid: st.uid, gid: st.gid } };
}

const tempPrefix = (target: string) => `.${basename(target)}.`;
const TEMP_SUFFIX = /^(\d+)\.[0-9a-f]{12}\.tmp$/;
/** A temporary file of a writer that is not running any more, or older than this, is stale. */
export const STALE_TEMP_MS = 10 * 60 * 1000;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temporary files a killed writer left beside the store: only names of our own pattern
 * (`.<store>.<pid>.<12 hex>.tmp`), only regular files, and only stale ones (the writing process
 * is gone, or the file is older than `STALE_TEMP_MS`). Returns the names removed.
 */
export function cleanStaleTemps(target: string, now = Date.now()): string[] {
  const dir = dirname(target);
  const prefix = tempPrefix(target);
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const m = TEMP_SUFFIX.exec(n.slice(prefix.length));
    if (!m) continue;
    const pid = Number(m[1]);
    const p = join(dir, n);
    try {
      const st = lstatSync(p);
      if (!st.isFile()) continue;
      const stale = pid === process.pid ? false : !processAlive(pid) || now - st.mtimeMs > STALE_TEMP_MS;
      if (!stale) continue;
      unlinkSync(p);
      removed.push(n);
    } catch {
      /* gone meanwhile, or not ours to remove */
    }
  }
  return removed;
}

export interface WriteStoreOptions {
  /** Test seam: called after the temporary file is complete and before the rename. */
  readonly beforeRename?: (tempFile: string) => void;
}

/**
 * Write a store atomically: a temporary file beside the target (a link's target), flushed, then
 * renamed over it. An existing store keeps its permission bits (and owner, when run as root); a
 * new one is created 0600. Stale temporaries of killed writers are removed first. The caller
 * holds the store's lock when others may write (see `updateFaceStore`).
 */
export function writeFaceStore(file: string, store: FaceStore, opts: WriteStoreOptions = {}): void {
  validateFaceStore(store, file);
  const target = storeTarget(file);
  const text = serializeFaceStore(store);
  cleanStaleTemps(target.path);
  const tmp = join(
    dirname(target.path),
    `${tempPrefix(target.path)}${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
  const mode = target.existing?.mode ?? NEW_STORE_MODE;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', mode);
    fchmodSync(fd, mode); // the umask may have taken bits away
    if (target.existing && process.getuid?.() === 0) {
      try {
        fchownSync(fd, target.existing.uid, target.existing.gid);
      } catch {
        /* keep going with root as the owner */
      }
    }
    const buf = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    opts.beforeRename?.(tmp);
    renameSync(tmp, target.path);
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
      `${file}: cannot write the face store (${code ?? (e as Error).message}); ${target.existing ? 'the previous file is unchanged' : 'no store was written'}`,
    );
  }
}

export interface UpdateStoreOptions extends WriteStoreOptions {
  /** How long to wait for another writer's lock before giving up (ms). */
  readonly lockWaitMs?: number;
}

/** A lock not refreshed for this long belongs to a killed writer and is taken over. */
export const STORE_LOCK_STALE_MS = 10_000;

/**
 * Read, change and write a store while holding its lock (`<store>.lock`, a folder, made by
 * proper-lockfile; a lock left by a killed writer is stale after `STORE_LOCK_STALE_MS` and taken
 * over). Concurrent writers are serialised, so every update that returns is in the file.
 * `update` gets the store as it is now (null if there is none yet) and returns the new one.
 */
export async function updateFaceStore(
  file: string,
  update: (current: FaceStore | null) => FaceStore,
  opts: UpdateStoreOptions = {},
): Promise<{ store: FaceStore; created: boolean }> {
  const target = storeTarget(file); // refuse read-only and odd files before waiting for a lock
  const lockfilePath = `${target.path}.lock`;
  let compromised: Error | undefined;
  let release: () => Promise<void>;
  const waitMs = opts.lockWaitMs ?? 30_000;
  try {
    release = await lockfile.lock(target.path, {
      realpath: false,
      lockfilePath,
      stale: STORE_LOCK_STALE_MS,
      retries: {
        retries: Math.max(1, Math.ceil(waitMs / 200)),
        minTimeout: 10,
        maxTimeout: 200,
        factor: 1.5,
        randomize: true,
      },
      onCompromised: (e) => {
        compromised = e;
      },
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(
      'BAD_FILE',
      code === 'ELOCKED'
        ? `${file}: another writer has held the store's lock (${lockfilePath}) for over ${Math.round(waitMs / 1000)} s; nothing written`
        : `${file}: cannot lock the face store (${code ?? (e as Error).message}); nothing written`,
    );
  }
  try {
    const current = readFaceStoreIfExists(target.path);
    const next = update(current);
    writeFaceStore(target.path, next, {
      beforeRename: (tmp) => {
        opts.beforeRename?.(tmp);
        if (compromised)
          throw new UsageError('BAD_FILE', `${file}: lost the store's lock (${compromised.message}); nothing written`);
      },
    });
    return { store: next, created: current === null };
  } finally {
    await release().catch(() => undefined);
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
