/**
 * The face store as `kpusim face enroll/recognize` use it (the file format and its atomic write
 * are in src/pipeline/face-store.ts): a store fits a session when its feature encoding and
 * length are the preset's and its features come from the same feature model (sha256).
 *
 * Enrolment is all or nothing: every image must give a face, else nothing is written and the
 * store file is left as it was (exit 2 naming the image). Each image adds its largest face. The
 * faces are found and encoded without holding the store's lock; the new entries are then added
 * to the file as it is at that moment, under the lock (`commitEnrolment`), so enrolments running
 * at the same time all land.
 */
import { UsageError } from '../errors.js';
import {
  addFace,
  checkStoreModel,
  createFaceStore,
  readFaceStore,
  readFaceStoreIfExists,
  storeFeatures,
  storeTarget,
  updateFaceStore,
  type FaceStore,
  type UpdateStoreOptions,
  type FeatureEncoding,
} from '../pipeline/face-store.js';
import type { FacePreset } from '../pipeline/presets.js';
import type { RgbImage } from '../pipeline/types.js';
import { largestFace, type FaceSession, type ImageAnalysis } from './session.js';

export function presetEncoding(p: FacePreset): FeatureEncoding {
  return p.features.postprocess === 'face-encode' ? 'int8' : 'float32';
}

/** Refuse a store whose features cannot be compared with this session's. */
export function checkStoreFits(store: FaceStore, session: FaceSession, file: string): void {
  const enc = presetEncoding(session.preset);
  if (store.encoding !== enc)
    throw new UsageError(
      'BAD_INPUT',
      `${file}: the store holds ${store.encoding} features (${store.scoring}), the ${session.preset.name} preset makes ${enc} features; use a store made with the same preset and feature model`,
    );
  if (session.features) {
    checkStoreModel(store, session.features.sha256, file);
    if (store.featureLength !== session.featureLength)
      throw new UsageError(
        'BAD_INPUT',
        `${file}: the store's features have ${store.featureLength} values, the feature model gives ${session.featureLength}`,
      );
  }
}

/** The store for `recognize`: it must exist and fit. */
export function openStoreForRecognize(file: string, session: FaceSession): FaceStore {
  const store = readFaceStore(file);
  checkStoreFits(store, session, file);
  return store;
}

/**
 * The store for `enroll`: the existing one (checked) or a new empty one (not yet written). A
 * store that cannot be written (read-only, not a regular file) is refused here, before any work.
 */
export function openStoreForEnroll(file: string, session: FaceSession): { store: FaceStore; created: boolean } {
  storeTarget(file);
  const old = readFaceStoreIfExists(file);
  if (old) {
    checkStoreFits(old, session, file);
    return { store: old, created: false };
  }
  return { store: newStoreFor(session), created: true };
}

function newStoreFor(session: FaceSession): FaceStore {
  if (!session.features) throw new UsageError('BAD_ARGUMENT', 'enrolment needs the feature model');
  return createFaceStore({
    encoding: presetEncoding(session.preset),
    featureLength: session.featureLength,
    featureModelSha256: session.features.sha256,
    detectorSha256: session.detector.sha256,
    ...(session.landmarks ? { landmarksSha256: session.landmarks.sha256 } : {}),
    preset: session.preset.name,
  });
}

/**
 * Adds what `enrol` added to `snapshot` to the store as it is in the file now, under the store's
 * lock: another process may have enrolled someone since the snapshot was read, and that entry
 * must stay. The new entries are appended after everything already in the file.
 */
export async function commitEnrolment(
  file: string,
  session: FaceSession,
  snapshot: FaceStore,
  result: EnrolResult,
  opts: UpdateStoreOptions = {},
): Promise<{ store: FaceStore; created: boolean }> {
  const added = result.store.entries.slice(snapshot.entries.length);
  return updateFaceStore(
    file,
    (current) => {
      const base = current ?? newStoreFor(session);
      if (current) checkStoreFits(current, session, file);
      return { ...base, entries: [...base.entries, ...added] };
    },
    opts,
  );
}

export interface EnrolImage {
  readonly file: string;
  readonly image: RgbImage;
}

export interface EnrolResult {
  readonly store: FaceStore;
  readonly analyses: readonly ImageAnalysis[];
  /** Per image: the index (in `faces`) of the face enrolled. */
  readonly enrolled: readonly number[];
}

/**
 * Enrol `name` from each image (its largest face) into `store`; throws before returning anything
 * if an image has no face. Each image is matched against the store as it is at that point (as
 * the demos score a face before storing it). Does not write the file (see `commitEnrolment`).
 */
export function enrol(
  session: FaceSession,
  store: FaceStore,
  name: string,
  images: Iterable<EnrolImage>,
  file: string,
  onImage?: (a: ImageAnalysis, file: string) => void,
): EnrolResult {
  if (name.trim() === '') throw new UsageError('BAD_ARGUMENT', '--name must not be empty');
  let s = store;
  const analyses: ImageAnalysis[] = [];
  const enrolled: number[] = [];
  for (const img of images) {
    const a = session.analyse(img.image, 'enroll', storeFeatures(s));
    const best = largestFace(a.processed);
    if (!best)
      throw new UsageError(
        'BAD_INPUT',
        `${img.file}: no face found, so nobody was enrolled and ${file} is unchanged (try --frame crop, or a closer photo)`,
      );
    s = addFace(
      s,
      { name, feature: best.feature, featureModelSha256: session.features!.sha256, source: img.file },
      file,
    );
    analyses.push(a);
    enrolled.push(best.detection.index); // faces are listed in detection order
    onImage?.(a, img.file);
  }
  return { store: s, analyses, enrolled };
}

export { storeFeatures };
