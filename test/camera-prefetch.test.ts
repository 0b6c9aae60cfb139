/**
 * `kpusim maixpy`'s camera prefetch (src/cli/camera-prefetch.ts, src/cli/camera-worker.ts): the
 * worker finds the same `--camera` files and fit in the raw arguments as the command line's parser;
 * its decoded images and frames are the snapshot's own bytes; it is taken over by the maixpy command
 * when started with the process; a file it cannot decode is left to the snapshot.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yargs from 'yargs';
import { cameraArgs } from '../src/cli/camera-prefetch.js';
import { maixpyCommand } from '../src/cli/maixpy.js';
import { imageCacheFromEnv } from '../src/io/image-cache.js';
import { Camera, type PrefetchedFile } from '../src/maixpy/camera.js';
import { readImageFile } from '../src/pipeline/image-io.js';
import { REPO, tempDir } from './fixtures/maixpy/helpers.js';

type PrefetchModule = typeof import('../src/cli/camera-prefetch.js');
const HAS_DIST = existsSync(join(REPO, 'dist/cli/camera-worker.js'));
const PHOTOS = ['grace_hopper.jpg', 'camera.png', 'astronaut.jpg'].map((f) => join(REPO, 'examples/images', f));
const bytes = (a: Uint8Array | Uint16Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** The `--camera` values and `--camera-fit` the command line's own parser reads, or null for a usage error. */
function parsed(argv: string[]): { specs: string[]; fit: string } | null {
  let got: Record<string, unknown> | undefined;
  try {
    yargs(['maixpy', ...argv])
      .strict()
      .exitProcess(false)
      .fail((m: string, e: Error | undefined) => {
        throw e ?? new Error(m);
      })
      .command(maixpyCommand.command, '', maixpyCommand.builder, (a) => {
        got = a;
      })
      .parseSync();
  } catch {
    return null;
  }
  if (!got) return null;
  // given more than once, the last one wins (src/cli/main.ts)
  const fit = [got['camera-fit']].flat().pop();
  return { specs: ((got.camera as unknown[] | undefined) ?? []).map(String), fit: String(fit) };
}

describe('the --camera options in the raw arguments', () => {
  it('are the files and fit the command line parses', () => {
    const word = fc.constantFrom(
      'a.jpg',
      'b.png',
      'dir',
      '--camera',
      '--camera=c.jpg',
      '--camera-fit',
      '--camera-fit=stretch',
      'fit',
      'crop',
      '--frames',
      '3',
      '--json',
      '--sd',
      '--camera-orientation',
      'raw',
    );
    fc.assert(
      fc.property(fc.array(word, { maxLength: 9 }), (rest) => {
        const argv = ['s.py', ...rest];
        const want = parsed(argv);
        fc.pre(want !== null);
        expect(cameraArgs(argv)).toEqual(want);
      }),
      { seed: 3, numRuns: 200 },
    );
  });
});

describe.skipIf(!HAS_DIST)('the prefetch worker (needs dist/: npm run build)', () => {
  const load = async (): Promise<PrefetchModule> =>
    (await import(join(REPO, 'dist/cli/camera-prefetch.js'))) as PrefetchModule;
  // the worker is what these tests are about: files in the image cache would start none (tested last)
  const suiteCache = process.env.KPUSIM_CACHE_DIR;
  beforeAll(() => {
    process.env.KPUSIM_CACHE_DIR = 'off';
  });
  afterAll(() => {
    process.env.KPUSIM_CACHE_DIR = suiteCache;
  });

  /** The snapshot the camera makes of `file` without a prefetch. */
  const own = (file: string, fit: 'crop' | 'fit' | 'stretch') =>
    new Camera([file], { fit }).capture(320, 240, false, false, false)!;

  function expectSame(got: PrefetchedFile | undefined, file: string, fit: 'crop' | 'fit' | 'stretch'): void {
    const image = readImageFile(file);
    expect(got && [got.image.width, got.image.height]).toEqual([image.width, image.height]);
    expect(bytes(got!.image.data).equals(bytes(image.data))).toBe(true);
    const frame = got!.frame!;
    expect([frame.width, frame.height, frame.fit]).toEqual([320, 240, fit]);
    const want = own(file, fit);
    expect(bytes(frame.display).equals(bytes(want.display))).toBe(true);
    expect(bytes(frame.ai).equals(bytes(want.ai))).toBe(true);
    // a camera given the frame makes the same snapshot from it
    const viaFrame = new Camera([file], { fit, prefetched: () => got }).capture(320, 240, false, false, false)!;
    expect(bytes(viaFrame.ai).equals(bytes(want.ai))).toBe(true);
  }

  it("started for the files: each image and frame is the snapshot's own; a bad file is left to the snapshot", async () => {
    const { cameraPrefetch } = await load();
    const bad = join(tempDir('prefetch'), 'bad.jpg');
    writeFileSync(bad, 'not a jpeg');
    const p = cameraPrefetch([PHOTOS[0], bad, PHOTOS[1], PHOTOS[0]])!;
    try {
      await p.done;
      for (const f of [PHOTOS[0], PHOTOS[1]]) {
        expectSame(p.take(f), f, 'crop');
        expect(p.take(f)).toBeUndefined(); // handed over once
      }
      expect(p.take(bad)).toBeUndefined();
      expect(p.take(PHOTOS[2])).toBeUndefined(); // not in its list
    } finally {
      p.stop();
    }
  });

  it('started with the process: found in the arguments, taken over by the command, with its fit', async () => {
    const { cameraPrefetch, startCameraPrefetch } = await load();
    startCameraPrefetch(['maixpy', 'script.py', '--camera', PHOTOS[2], PHOTOS[1], '--camera-fit', 'fit']);
    const p = cameraPrefetch([PHOTOS[0]])!; // the early worker, whatever the files
    try {
      await p.done;
      expectSame(p.take(PHOTOS[2]), PHOTOS[2], 'fit');
      expectSame(p.take(PHOTOS[1]), PHOTOS[1], 'fit');
      expect(p.take(PHOTOS[0])).toBeUndefined();
    } finally {
      p.stop();
    }
  });

  it("started by bin/kpusim.js's bundle, taken over by the command line's own copy of the module", async () => {
    // two instances of the module, as in a run: dist/bin/camera-prefetch.js and the copy inside dist/bin/cli.js
    const early = (await import(join(REPO, 'dist/bin/camera-prefetch.js'))) as PrefetchModule;
    const { cameraPrefetch } = await load();
    early.startCameraPrefetch(['maixpy', 'script.py', '--camera', PHOTOS[1]]);
    const p = cameraPrefetch([PHOTOS[0]])!; // the early worker, not a new one for PHOTOS[0]
    try {
      await p.done;
      expectSame(p.take(PHOTOS[1]), PHOTOS[1], 'crop');
      expect(p.take(PHOTOS[0])).toBeUndefined();
    } finally {
      p.stop();
    }
    const again = cameraPrefetch([PHOTOS[0]])!; // taken once: a new worker for the files given
    try {
      await again.done;
      expectSame(again.take(PHOTOS[0]), PHOTOS[0], 'crop');
    } finally {
      again.stop();
    }
  });

  it('no worker when the first files are all in the image cache; one when a file is not, or is not a plain file', async () => {
    const { cameraPrefetch } = await load();
    const early = (await import(join(REPO, 'dist/bin/camera-prefetch.js'))) as PrefetchModule;
    const dir = tempDir('prefetch-cache');
    process.env.KPUSIM_CACHE_DIR = dir;
    try {
      const cache = imageCacheFromEnv()!;
      cache.put(readFileSync(PHOTOS[0]), readImageFile(PHOTOS[0]));
      cache.put(readFileSync(PHOTOS[1]), readImageFile(PHOTOS[1]));
      // started with the process: the command finds no worker to take over, and starts none
      early.startCameraPrefetch(['maixpy', 'script.py', '--camera', PHOTOS[0], PHOTOS[1], PHOTOS[0]]);
      expect(cameraPrefetch([PHOTOS[0], PHOTOS[1]])).toBeUndefined();
      // and the command's own check
      expect(cameraPrefetch([PHOTOS[1], PHOTOS[0]])).toBeUndefined();
      // a file not in the cache: a worker
      const p = cameraPrefetch([PHOTOS[0], PHOTOS[2]]);
      expect(p).toBeDefined();
      await p!.done;
      p!.stop();
      // a folder among the specs (the worker expands it): a worker, taken over by the command
      early.startCameraPrefetch(['maixpy', 'script.py', '--camera', PHOTOS[0], join(REPO, 'examples/images')]);
      const q = cameraPrefetch([PHOTOS[0]]);
      expect(q).toBeDefined();
      await q!.done;
      q!.stop();
    } finally {
      process.env.KPUSIM_CACHE_DIR = 'off';
    }
  });

  it('a file the script thread claims first is not decoded by the worker', async () => {
    const { cameraPrefetch } = await load();
    // the script's thread asks for the last file at once: the worker is still on the first ones
    const p = cameraPrefetch([PHOTOS[0], PHOTOS[2], PHOTOS[1]], { listMs: 60_000, fileMs: 60_000 })!;
    try {
      expect(p.take(PHOTOS[1])).toBeUndefined();
      await p.done;
      expect(p.take(PHOTOS[1])).toBeUndefined();
      expectSame(p.take(PHOTOS[0]), PHOTOS[0], 'crop');
    } finally {
      p.stop();
    }
  });
});
