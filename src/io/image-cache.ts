/**
 * Decoded image files kept on disk between runs: `kpusim maixpy` decodes its camera files at every
 * start (a 512×600 JPEG takes jpeg-js 120 ms and about 200 ms of CPU in a fresh process, on a core the
 * board's start needs too). With the cache a file decoded once is read back as its pixels.
 *
 * - Where: `KPUSIM_CACHE_DIR`, else `$XDG_CACHE_HOME/kpusim`, else `~/.cache/kpusim`; the images
 *   are in its `images/` folder. `KPUSIM_CACHE_DIR=off` (or empty) turns the cache off.
 * - The key is a SHA-256 of the file's bytes and of what decodes them (kpusim's version, the JPEG and
 *   PNG decoders' versions, `FORMAT`): an entry is the decoder's output for exactly those bytes, so
 *   a hit gives the same pixels as decoding. Only images decoded with the default options (EXIF
 *   orientation applied) are kept; a file that fails to decode is never cached (it is decoded each
 *   time, to report its error).
 * - An entry is `MAGIC`, width and height (u32 little-endian), then the RGB888 pixels. One that is
 *   unreadable, of another size or with a bad header is ignored (and decoded again); an entry is
 *   written to a temporary name and renamed, so a reader never sees half of one.
 * - At most `IMAGE_CACHE_MAX_BYTES` are kept: after a write the least recently used entries (by
 *   modification time, renewed by each hit) beyond it are removed, and temporary files a killed
 *   process left.
 * - The cache is a convenience: a folder that cannot be made or written leaves the run as without it.
 * - Beside a file's image, the camera keeps its frames (the image scaled to a sensor frame size, a
 *   `variant` of the key): a snapshot of a kept frame neither decodes nor scales.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE } from '../pipeline/image-limits.js';
import type { RgbImage } from '../pipeline/types.js';
import { readUserFile } from './read-file.js';

/** Bytes of entries kept. */
export const IMAGE_CACHE_MAX_BYTES = 256 * 1024 * 1024;

/** An entry's first bytes; the digit is the layout's version. */
const MAGIC = 'kpusimI1';
const HEADER = 16;

/** A temporary file older than this is a write that never finished. */
const STALE_TMP_MS = 10 * 60 * 1000;

/**
 * Bumped when kpusim's own decoding (BMP, EXIF orientation, alpha) or the camera's scaling to a frame
 * changes without a new version.
 */
const FORMAT = 1;

let decoderKey: string | undefined;

/** kpusim's version and its decoders': a change in any of them makes every entry a miss. */
function decoders(): string {
  if (decoderKey === undefined) {
    const require = createRequire(import.meta.url);
    const version = (file: string): string =>
      (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? '?';
    decoderKey = [
      `format ${FORMAT}`,
      `kpusim ${version(fileURLToPath(new URL('../../package.json', import.meta.url)))}`,
      `jpeg-js ${version(require.resolve('jpeg-js/package.json'))}`,
      `pngjs ${version(require.resolve('pngjs/package.json'))}`,
    ].join('\n');
  }
  return decoderKey;
}

/** The cache (`readImageFileCached` in src/pipeline/image-io.ts reads through it). It loads no decoder. */
export class ImageCache {
  readonly folder: string;

  constructor(
    readonly dir: string,
    readonly maxBytes = IMAGE_CACHE_MAX_BYTES,
  ) {
    this.folder = join(dir, 'images');
  }

  /**
   * The entry's name for a file's bytes: its decoded image, or with `variant` something made from that
   * (a camera frame: `frame 320x240 crop`).
   */
  key(bytes: Uint8Array, variant = ''): string {
    return createHash('sha256')
      .update(decoders())
      .update('\0')
      .update(variant)
      .update('\0')
      .update(bytes)
      .digest('hex');
  }

  /** The entry's path for a file's bytes, or undefined when the decoders' versions cannot be read. */
  private pathOf(bytes: Uint8Array, variant: string): string | undefined {
    try {
      return join(this.folder, `${this.key(bytes, variant)}.rgb`);
    } catch {
      return undefined;
    }
  }

  /** Whether an entry for `bytes` is there (not checked further: `get` does that). */
  has(bytes: Uint8Array, variant = ''): boolean {
    const path = this.pathOf(bytes, variant);
    try {
      return path !== undefined && statSync(path).isFile();
    } catch {
      return false;
    }
  }

  /** The image decoded from `bytes` when an entry holds it. */
  get(bytes: Uint8Array, variant = ''): RgbImage | undefined {
    const path = this.pathOf(bytes, variant);
    if (path === undefined) return undefined;
    let entry: Uint8Array;
    try {
      entry = readUserFile(path, {
        maxBytes: HEADER + 3 * MAX_IMAGE_PIXELS,
        what: 'a cached image',
      });
    } catch {
      return undefined;
    }
    if (entry.length < HEADER || Buffer.from(entry.subarray(0, 8)).toString('latin1') !== MAGIC) return undefined;
    const view = new DataView(entry.buffer, entry.byteOffset, HEADER);
    const width = view.getUint32(8, true),
      height = view.getUint32(12, true);
    if (width < 1 || height < 1 || width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) return undefined;
    if (width * height > MAX_IMAGE_PIXELS || entry.length !== HEADER + 3 * width * height) return undefined;
    try {
      const now = new Date();
      utimesSync(path, now, now);
    } catch {
      // a read-only cache still serves its entries
    }
    return { width, height, data: entry.subarray(HEADER) };
  }

  /** Keep `img`, decoded from `bytes` (errors are ignored: the cache is a convenience). */
  put(bytes: Uint8Array, img: RgbImage, variant = ''): void {
    const n = 3 * img.width * img.height;
    const path = this.pathOf(bytes, variant);
    if (path === undefined || img.data.length < n || HEADER + n > this.maxBytes) return;
    const tmp = `${path.slice(0, -'.rgb'.length)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      mkdirSync(this.folder, { recursive: true, mode: 0o700 });
      const header = Buffer.alloc(HEADER);
      header.write(MAGIC, 0, 'latin1');
      header.writeUInt32LE(img.width, 8);
      header.writeUInt32LE(img.height, 12);
      const fd = openSync(tmp, 'wx', 0o600);
      try {
        writeSync(fd, header);
        writeSync(fd, img.data.subarray(0, n));
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
    } catch {
      try {
        unlinkSync(tmp);
      } catch {
        // never made
      }
      return;
    }
    this.trim();
  }

  /** Remove the least recently used entries beyond `maxBytes`, and stale temporary files. */
  trim(): void {
    let entries: { path: string; bytes: number; used: number }[];
    const now = Date.now();
    try {
      entries = readdirSync(this.folder)
        .filter((f) => f.endsWith('.rgb') || f.endsWith('.tmp'))
        .flatMap((f) => {
          try {
            const path = join(this.folder, f);
            const st = statSync(path);
            // a write a process did not finish (it was killed): not an entry, removed once surely stale
            if (f.endsWith('.tmp')) {
              if (st.isFile() && now - st.mtimeMs > STALE_TMP_MS) unlinkSync(path);
              return [];
            }
            return st.isFile() ? [{ path, bytes: st.size, used: st.mtimeMs }] : [];
          } catch {
            return [];
          }
        });
    } catch {
      return;
    }
    let total = entries.reduce((s, e) => s + e.bytes, 0);
    entries.sort((a, b) => a.used - b.used);
    for (const e of entries) {
      if (total <= this.maxBytes) break;
      try {
        unlinkSync(e.path);
        total -= e.bytes;
      } catch {
        // another process removed it
      }
    }
  }
}

/** The cache the environment asks for (see the module's comment), or undefined when it is off. */
export function imageCacheFromEnv(env: NodeJS.ProcessEnv = process.env): ImageCache | undefined {
  const set = env.KPUSIM_CACHE_DIR;
  if (set !== undefined) return set === '' || set === 'off' ? undefined : new ImageCache(set);
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return new ImageCache(join(base, 'kpusim'));
}
