/**
 * Decoded image files kept between runs (src/io/image-cache.ts): a hit gives the decoder's pixels for
 * exactly those bytes, a damaged entry is decoded again, the cache is bounded, a cache that cannot be
 * written changes nothing, errors are the decoder's; and `kpusim maixpy` gives the same run from a
 * cache as without one.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { UsageError } from '../src/errors.js';
import { ImageCache, imageCacheFromEnv } from '../src/io/image-cache.js';
import { readImageFile, readImageFileCached } from '../src/pipeline/image-io.js';
import { REPO, tempDir } from './fixtures/maixpy/helpers.js';

const PHOTOS = ['grace_hopper.jpg', 'camera.png', 'astronaut.jpg'].map((f) => join(REPO, 'examples/images', f));
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

/** A small BMP (24-bit, bottom-up) of w×h pixels made from `seed`. */
function bmp(w: number, h: number, seed: number): Buffer {
  const row = Math.ceil((w * 3) / 4) * 4;
  const b = Buffer.alloc(54 + row * h);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(w, 18);
  b.writeInt32LE(h, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(24, 28);
  b.writeUInt32LE(row * h, 34);
  for (let y = 0; y < h; y++) for (let x = 0; x < w * 3; x++) b[54 + y * row + x] = (x * 7 + y * 13 + seed) & 255;
  return b;
}

const entries = (c: ImageCache): string[] => (existsSync(c.folder) ? readdirSync(c.folder).sort() : []);

describe('the image cache', () => {
  it("decodes once, then gives the entry's pixels: the decoder's own, for JPEG, PNG and BMP", () => {
    const cache = new ImageCache(tempDir('imgcache'));
    const b = join(tempDir('imgcache-src'), 'a.bmp');
    writeFileSync(b, bmp(37, 21, 5));
    for (const f of [...PHOTOS, b]) {
      const want = readImageFile(f);
      const first = readImageFileCached(f, cache);
      const entry = join(cache.folder, `${cache.key(readFileSync(f))}.rgb`);
      expect(existsSync(entry)).toBe(true);
      const again = readImageFileCached(f, cache);
      for (const got of [first, again]) {
        expect([got.width, got.height]).toEqual([want.width, want.height]);
        expect(same(got.data, want.data)).toBe(true);
      }
    }
    expect(entries(cache)).toHaveLength(4);
  });

  it('a hit is read from the entry, not decoded again (an entry changed in place is what comes back)', () => {
    const cache = new ImageCache(tempDir('imgcache'));
    const f = PHOTOS[1];
    const want = readImageFileCached(f, cache);
    const entry = join(cache.folder, `${cache.key(readFileSync(f))}.rgb`);
    const bytes = readFileSync(entry);
    bytes[16] ^= 0xff;
    writeFileSync(entry, bytes);
    const got = readImageFileCached(f, cache);
    expect(got.data[0]).toBe(want.data[0] ^ 0xff);
    expect(same(got.data.subarray(1), want.data.subarray(1))).toBe(true);
  });

  it('the key is the bytes: an edited file (same name) is decoded again', () => {
    const cache = new ImageCache(tempDir('imgcache'));
    const f = join(tempDir('imgcache-src'), 'frame.bmp');
    writeFileSync(f, bmp(16, 8, 1));
    const one = readImageFileCached(f, cache);
    writeFileSync(f, bmp(16, 8, 2));
    const two = readImageFileCached(f, cache);
    expect(same(two.data, readImageFile(f).data)).toBe(true);
    expect(same(one.data, two.data)).toBe(false);
    expect(entries(cache)).toHaveLength(2);
  });

  it('a damaged entry is ignored and made again: truncated, bad header, other size, sizes beyond the bounds, a folder', () => {
    const f = join(tempDir('imgcache-src'), 'wide.bmp');
    writeFileSync(f, bmp(24, 10, 3));
    const want = readImageFile(f);
    const header = (magic: string, w: number, h: number): Buffer => {
      const b = Buffer.alloc(16);
      b.write(magic, 0, 'latin1');
      b.writeUInt32LE(w, 8);
      b.writeUInt32LE(h, 12);
      return b;
    };
    const good = Buffer.concat([header('kpusimI1', want.width, want.height), Buffer.from(want.data)]);
    const damaged: [string, Buffer | null][] = [
      ['truncated', good.subarray(0, good.length - 1)],
      ['longer', Buffer.concat([good, Buffer.alloc(3)])],
      ['only a header', good.subarray(0, 16)],
      ['empty', Buffer.alloc(0)],
      ['another magic', Buffer.concat([header('kpusimI0', want.width, want.height), Buffer.from(want.data)])],
      ['another width', Buffer.concat([header('kpusimI1', want.width + 1, want.height), good.subarray(16)])],
      ['a zero width', Buffer.concat([header('kpusimI1', 0, want.height), good.subarray(16)])],
      ['a side beyond 8192', header('kpusimI1', 0x10000, 1)],
      ['4 G pixels', header('kpusimI1', 0xffffffff, 0xffffffff)],
      ['a folder', null],
    ];
    for (const [what, bytes] of damaged) {
      const cache = new ImageCache(tempDir('imgcache'));
      const entry = join(cache.folder, `${cache.key(readFileSync(f))}.rgb`);
      mkdirSync(bytes === null ? entry : cache.folder, { recursive: true });
      if (bytes) writeFileSync(entry, bytes);
      expect(cache.get(readFileSync(f)), what).toBeUndefined();
      const got = readImageFileCached(f, cache);
      expect(same(got.data, want.data), what).toBe(true);
      // made again (a folder in its place stays: the image is decoded each time)
      if (bytes) expect(readFileSync(entry).equals(good), what).toBe(true);
    }
  });

  it('keeps at most maxBytes: the least recently used entries go first, a hit renews an entry', () => {
    const src = tempDir('imgcache-src');
    const files = [0, 1, 2, 3].map((i) => {
      const f = join(src, `f${i}.bmp`);
      writeFileSync(f, bmp(20, 10, i));
      return f;
    });
    const entryBytes = 16 + 3 * 20 * 10;
    const cache = new ImageCache(tempDir('imgcache'), 3 * entryBytes);
    const entry = (f: string): string => join(cache.folder, `${cache.key(readFileSync(f))}.rgb`);
    const age = (f: string, s: number): void => utimesSync(entry(f), s, s);
    for (const f of files.slice(0, 3)) readImageFileCached(f, cache);
    age(files[0], 1000);
    age(files[1], 2000);
    age(files[2], 3000);
    readImageFileCached(files[0], cache); // a hit: f0 is now the most recent
    expect(statSync(entry(files[0])).mtimeMs).toBeGreaterThan(3000 * 1000);
    readImageFileCached(files[3], cache); // one too many: f1, the least recently used, goes
    expect([0, 1, 2, 3].map((i) => existsSync(entry(files[i])))).toEqual([true, false, true, true]);
    // an image larger than the whole cache is not kept
    const big = join(src, 'big.bmp');
    writeFileSync(big, bmp(40, 40, 9));
    readImageFileCached(big, cache);
    expect(existsSync(entry(big))).toBe(false);
    expect(entries(cache).filter((e) => e.endsWith('.tmp') || e.startsWith('.'))).toEqual([]);
  });

  it('removes a temporary file a killed process left once it is stale, never one being written', () => {
    const cache = new ImageCache(tempDir('imgcache'));
    mkdirSync(cache.folder, { recursive: true });
    const stale = join(cache.folder, '.aa.1.x.tmp');
    const fresh = join(cache.folder, '.bb.2.y.tmp');
    writeFileSync(stale, 'half');
    writeFileSync(fresh, 'half');
    const hourAgo = Date.now() / 1000 - 3600;
    utimesSync(stale, hourAgo, hourAgo);
    readImageFileCached(PHOTOS[1], cache);
    expect([existsSync(stale), existsSync(fresh)]).toEqual([false, true]);
    expect(entries(cache).filter((e) => e.endsWith('.rgb'))).toHaveLength(1);
  });

  it('a cache that cannot be written changes nothing: the image is decoded as without one', () => {
    const dir = tempDir('imgcache');
    writeFileSync(join(dir, 'images'), 'a file where the folder should be');
    const cache = new ImageCache(dir);
    const got = readImageFileCached(PHOTOS[0], cache);
    expect(same(got.data, readImageFile(PHOTOS[0]).data)).toBe(true);
    expect(readFileSync(join(dir, 'images'), 'utf8')).toBe('a file where the folder should be');
  });

  it("a cache whose key cannot be made (the decoders' versions unreadable) changes nothing", () => {
    class Keyless extends ImageCache {
      override key(): string {
        throw new Error('no package.json');
      }
    }
    const cache = new Keyless(tempDir('imgcache'));
    const got = readImageFileCached(PHOTOS[1], cache);
    expect(same(got.data, readImageFile(PHOTOS[1]).data)).toBe(true);
    expect(entries(cache)).toEqual([]);
  });

  it("errors are the decoder's, and a file that fails to decode is never kept", () => {
    const cache = new ImageCache(tempDir('imgcache'));
    const src = tempDir('imgcache-src');
    const missing = join(src, 'missing.jpg');
    const bad = join(src, 'bad.jpg');
    writeFileSync(bad, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0]));
    for (const f of [missing, bad]) {
      let want: unknown, got: unknown;
      try {
        readImageFile(f);
      } catch (e) {
        want = e;
      }
      try {
        readImageFileCached(f, cache);
      } catch (e) {
        got = e;
      }
      expect(want).toBeInstanceOf(UsageError);
      expect(got).toBeInstanceOf(UsageError);
      expect([(got as UsageError).code, (got as Error).message]).toEqual([
        (want as UsageError).code,
        (want as Error).message,
      ]);
    }
    expect(entries(cache)).toEqual([]);
  });

  it('is where the environment says: KPUSIM_CACHE_DIR, off, XDG_CACHE_HOME, ~/.cache', () => {
    expect(imageCacheFromEnv({ KPUSIM_CACHE_DIR: '/x/y' })?.folder).toBe('/x/y/images');
    expect(imageCacheFromEnv({ KPUSIM_CACHE_DIR: 'off' })).toBeUndefined();
    expect(imageCacheFromEnv({ KPUSIM_CACHE_DIR: '' })).toBeUndefined();
    expect(imageCacheFromEnv({ XDG_CACHE_HOME: '/c' })?.folder).toBe('/c/kpusim/images');
    expect(imageCacheFromEnv({})?.folder).toBe(join(homedir(), '.cache/kpusim/images'));
  });
});

describe('kpusim maixpy with the image cache', () => {
  async function run(cacheDir: string, files: string[]): Promise<Record<string, unknown>> {
    const lcd = tempDir('imgcache-lcd');
    const was = process.env.KPUSIM_CACHE_DIR;
    process.env.KPUSIM_CACHE_DIR = cacheDir;
    let out = '';
    try {
      const script = join(REPO, 'examples/maixpy/face_recognition.py');
      const code = await main(['maixpy', script, '--camera', ...files, '--json', '--lcd-out', lcd], {
        out: (t) => (out += t),
        err: () => undefined,
        errIsTty: false,
      });
      expect(code).toBe(0);
    } finally {
      process.env.KPUSIM_CACHE_DIR = was;
    }
    const doc = JSON.parse(out) as Record<string, unknown>;
    const panels = readdirSync(lcd)
      .sort()
      .map((p) => readFileSync(join(lcd, p)).toString('base64'));
    return { output: doc.output, frames: doc.frames, board_ms: doc.board_ms, log: doc.frame_log, panels };
  }

  it("runs the same with the cache cold, warm, and off, and keeps each file's image and QVGA frame", async () => {
    const dir = tempDir('imgcache');
    const files = [PHOTOS[0], PHOTOS[1], PHOTOS[0]];
    const off = await run('off', files);
    const cold = await run(dir, files);
    const cache = new ImageCache(dir);
    for (const f of [PHOTOS[0], PHOTOS[1]]) {
      const bytes = readFileSync(f);
      expect(cache.has(bytes), f).toBe(true);
      const frame = cache.get(bytes, 'frame 320x240 crop');
      expect(frame && [frame.width, frame.height], f).toEqual([320, 240]);
    }
    expect(entries(cache)).toHaveLength(4);
    const warm = await run(dir, files);
    const strip = (r: Record<string, unknown>) => ({
      ...r,
      log: (r.log as Record<string, unknown>[]).map(({ pc_ms: _, ...rest }) => rest),
    });
    expect(strip(cold)).toEqual(strip(off));
    expect(strip(warm)).toEqual(strip(off));
    expect((off.panels as string[]).length).toBe(3);
  });
});

describe.skipIf(!existsSync(join(REPO, 'dist/bin/cli.js')))(
  'bin/kpusim.js maixpy with the image cache (needs dist/: npm run build)',
  () => {
    /** A one-frame run of the face example in a new process (the camera worker decodes its file). */
    function spawnRun(cacheDir: string): { panels: string; log: unknown } {
      const lcd = tempDir('imgcache-lcd');
      const r = spawnSync(
        process.execPath,
        [
          join(REPO, 'bin/kpusim.js'),
          'maixpy',
          join(REPO, 'examples/maixpy/face_recognition.py'),
          '--camera',
          PHOTOS[2],
          '--json',
          '--lcd-out',
          lcd,
        ],
        { encoding: 'utf8', env: { ...process.env, KPUSIM_CACHE_DIR: cacheDir } },
      );
      expect(r.status, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout) as { frame_log: Record<string, unknown>[] };
      return {
        panels: readdirSync(lcd)
          .sort()
          .map((p) => readFileSync(join(lcd, p)).toString('base64'))
          .join(','),
        log: doc.frame_log.map(({ pc_ms: _, ...rest }) => rest),
      };
    }

    it("the worker's decode and frame are kept and read back: the same run cold and warm; an entry changed in place is what the camera shows", () => {
      const dir = tempDir('imgcache');
      const off = spawnRun('off');
      expect(spawnRun(dir)).toEqual(off);
      const cache = new ImageCache(dir);
      const bytes = readFileSync(PHOTOS[2]);
      const image = join(cache.folder, `${cache.key(bytes)}.rgb`);
      const frame = join(cache.folder, `${cache.key(bytes, 'frame 320x240 crop')}.rgb`);
      expect(entries(cache)).toEqual([image, frame].map((p) => p.slice(cache.folder.length + 1)).sort());
      expect(spawnRun(dir)).toEqual(off);
      const zero = (p: string): void => writeFileSync(p, readFileSync(p).fill(0, 16));
      // the frame is what a warm run shows
      zero(frame);
      expect(spawnRun(dir).panels).not.toEqual(off.panels);
      // without its frame, the image is what it scales
      rmSync(frame);
      zero(image);
      expect(spawnRun(dir).panels).not.toEqual(off.panels);
      expect(new ImageCache(dir).get(bytes, 'frame 320x240 crop')!.data.every((v) => v === 0)).toBe(true);
    });
  },
);
