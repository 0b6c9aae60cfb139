/**
 * `--jobs N` on `kpusim compare --float --dataset` and `kpusim eval`: the same document as
 * `--jobs 1`, in the same order, with the same exit code. KPUSIM_SWEEP_WORKERS_FIRST=1 keeps the
 * command's own thread off the queue while workers start, so the workers (each with its own copy of
 * the kmodel and of the float model) do the items. Workers run the compiled package, so this drives
 * the built binary (needs dist/).
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, kmodelPath, KMODELS_DIR, REPO_ROOT, runKpusim, SHARED_DIR, SHARED_SKIP_REASON } from './shared.js';

const HAS_DIST = existsSync(join(REPO_ROOT, 'dist/cli/sweep-worker.js'));
const kpusim = async (...args: string[]) => {
  const r = await runKpusim(args, 300_000, { KPUSIM_SWEEP_WORKERS_FIRST: '1' });
  return { code: r.code, out: r.out.toString('utf8'), err: r.err };
};
if (!HAS_SHARED) console.warn(SHARED_SKIP_REASON);

/** Runs the command with --jobs 1 and --jobs 2: both succeed with the same output, which is returned. */
async function sameWithJobs(run: (jobs: string) => ReturnType<typeof kpusim>): Promise<string> {
  const one = await run('1');
  const two = await run('2');
  expect(one.code, one.err).toBe(0);
  expect(two.code).toBe(one.code);
  expect(two.out).toBe(one.out);
  return two.out;
}

describe.skipIf(!HAS_DIST || !HAS_SHARED)('compare --float --dataset --jobs (needs dist/ and ../shared)', () => {
  it('model_5 against model_5.tflite on three photographs: --jobs 2 prints what --jobs 1 prints', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kpusim-float-jobs-'));
    try {
      for (const n of ['20', '25', '30'])
        copyFileSync(join(KMODELS_DIR, 'images', `nncase_ulffd_landmark_${n}.jpg`), join(dir, `${n}.jpg`));
      const run = (jobs: string) =>
        kpusim(
          'compare',
          kmodelPath('nncase_root_model5_v4'),
          '--float',
          resolve(SHARED_DIR, 'float-models', 'model_5.tflite'),
          '--dataset',
          dir,
          '--float-mean',
          '0',
          '--float-std',
          '255',
          '--no-check-mapping',
          '--jobs',
          jobs,
          '--json',
        );
      const doc = JSON.parse(await sameWithJobs(run)) as { inputs: { input: string; outputs: { cosine: number }[] }[] };
      expect(doc.inputs.map((i) => i.input)).toEqual(['20.jpg', '25.jpg', '30.jpg']);
      for (const i of doc.inputs) expect(i.outputs[0].cosine).toBeGreaterThan(0.999);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});

describe.skipIf(!HAS_DIST)('eval --jobs (needs dist/)', () => {
  it('the bundled face detector on examples/images: --jobs 2 prints what --jobs 1 prints', async () => {
    const images = resolve(REPO_ROOT, 'examples', 'images');
    const manifest = JSON.parse(readFileSync(resolve(REPO_ROOT, 'models', 'manifest.json'), 'utf8')) as {
      models: { anchors: number[] }[];
    };
    const run = (jobs: string) =>
      kpusim(
        'eval',
        resolve(REPO_ROOT, 'models', 'face_detect_320x240.kmodel'),
        '--task',
        'detect',
        '--dataset',
        images,
        '--labels',
        join(images, 'faces.coco.json'),
        '--anchors',
        manifest.models[0].anchors.join(','),
        '--threshold',
        '0.5',
        '--nms',
        '0.4',
        '--jobs',
        jobs,
        '--json',
      );
    const doc = JSON.parse(await sameWithJobs(run)) as { images: { image: string }[] };
    expect(doc.images.map((i) => i.image)).toEqual(['astronaut.jpg', 'camera.png', 'grace_hopper.jpg']);
  }, 180_000);

  it('--jobs 0 is a usage error with no output', async () => {
    const r = await kpusim('eval', 'no.kmodel', '--task', 'classify', '--dataset', '.', '--labels', 'x', '--jobs', '0');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/jobs/);
  });
});
