/**
 * `kpusim face demo` (and `npm start`): the face-recognition flow on the public-domain photos
 * in `examples/images/`, with nothing else needed. One person is enrolled from one photograph,
 * then recognised in other views of it (mirrored, rotated, relit, re-encoded, smaller and
 * shifted), and a different person must not be taken for them.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import { flipRgb, resizeRgb } from '../pipeline/convert.js';
import { readImageFile } from '../pipeline/image-io.js';
import type { RgbImage } from '../pipeline/types.js';
import { adjustRgb, jpegRoundTrip, rotateRgb, shiftRgb } from '../pipeline/views.js';
import { enrol, openStoreForEnroll, storeFeatures } from './store.js';
import type { FaceSession, ImageAnalysis } from './session.js';

export const EXAMPLES_DIR = resolve(fileURLToPath(new URL('../../examples/images', import.meta.url)));

export interface DemoFrame {
  /** What the frame is, for people ("Grace Hopper, mirrored and relit"). */
  readonly label: string;
  readonly name: string;
  readonly image: RgbImage;
  /** enrol: this frame enrols `expect`; recognize: `expect` is who should be recognised (null: nobody). */
  readonly step: 'enrol' | 'recognize';
  readonly expect: string | null;
  readonly analysis: ImageAnalysis;
  /** The name the flow gave the largest face (null: nobody matched or no face). */
  readonly got: string | null;
  readonly ok: boolean;
}

/** Smaller and off-centre: the portrait at 60 % on a grey canvas of the original size. */
function smallerShifted(img: RgbImage): RgbImage {
  const { image: small } = resizeRgb(img, Math.round(img.width * 0.6), Math.round(img.height * 0.6), {
    mode: 'stretch',
    filter: 'area',
  });
  const canvas = new Uint8Array(img.width * img.height * 3).fill(96);
  const ox = Math.round(img.width * 0.3);
  const oy = Math.round(img.height * 0.15);
  for (let y = 0; y < small.height; y++) {
    const src = small.data.subarray(y * small.width * 3, (y + 1) * small.width * 3);
    canvas.set(src, ((oy + y) * img.width + ox) * 3);
  }
  return { width: img.width, height: img.height, data: canvas };
}

export function runFaceDemo(
  session: FaceSession,
  dir = EXAMPLES_DIR,
): { frames: DemoFrame[]; ok: boolean; storeFile: string } {
  const need = ['grace_hopper.jpg', 'astronaut.jpg'].map((f) => join(dir, f));
  for (const f of need)
    if (!existsSync(f))
      throw new UsageError('NOT_FOUND', `${f}: the demo's photo is missing (examples/images/ of the repository)`);
  const grace = readImageFile(need[0]);
  const collins = readImageFile(need[1]);
  const storeFile = '(in memory)';
  const { store } = openStoreForEnroll(join(dir, '.kpusim-demo-store-that-does-not-exist.json'), session);
  const enrolled = enrol(session, store, 'Grace Hopper', [{ file: need[0], image: grace }], storeFile);
  const frames: DemoFrame[] = [];
  const first = enrolled.analyses[0];
  frames.push({
    label: 'Grace Hopper (enrolled from this photo)',
    name: 'grace_hopper',
    image: grace,
    step: 'enrol',
    expect: 'Grace Hopper',
    analysis: first,
    got: 'Grace Hopper',
    ok: true,
  });
  const stored = storeFeatures(enrolled.store);
  const views: { label: string; name: string; image: RgbImage; expect: string | null }[] = [
    {
      label: 'Grace Hopper, mirrored, rotated 4° and relit',
      name: 'grace_view1',
      image: adjustRgb(rotateRgb(flipRgb(grace, true, false), 4), { gain: 0.85, bias: 10 }),
      expect: 'Grace Hopper',
    },
    {
      label: 'Grace Hopper, smaller, shifted and JPEG-compressed',
      name: 'grace_view2',
      image: jpegRoundTrip(shiftRgb(smallerShifted(grace), -12, 8), 40),
      expect: 'Grace Hopper',
    },
    { label: 'Eileen Collins (not enrolled)', name: 'astronaut', image: collins, expect: null },
  ];
  for (const v of views) {
    const a = session.analyse(v.image, 'recognize', stored);
    const largest = [...a.faces]
      .filter((f) => f.processed)
      .sort((x, y) => y.box[2] * y.box[3] - x.box[2] * x.box[3])[0];
    const got = largest?.name ?? null;
    const found = a.faces.length > 0;
    frames.push({ ...v, step: 'recognize', analysis: a, got, ok: found && got === v.expect });
  }
  return { frames, ok: frames.every((f) => f.ok), storeFile };
}
