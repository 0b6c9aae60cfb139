/**
 * The emulated camera: image files stand in for the sensor, one file per `sensor.snapshot()`.
 *
 * - Files are used in the order given; a folder contributes its images (.png, .jpg, .jpeg,
 *   .bmp) sorted by name. When they run out the run ends (the host stops the script cleanly),
 *   or, with `cycle` (a served board), the camera starts again at the first file.
 * - Each file is scaled to the frame size the script set (`set_framesize`, then
 *   `set_windowing`): `crop` (default, fill the frame like a camera, cut the overflow centred),
 *   `fit` (letterbox, black bars) or `stretch`. Reductions use an area filter, enlargements
 *   bilinear interpolation.
 * - Orientation: `script` (default) takes each file as the upright scene the script sees with
 *   the mirror/flip it has set when it takes its first snapshot (sipeed's boards need
 *   `set_hmirror(1)`/`set_vflip(1)` to be upright, CanMV's scripts set neither: both see the
 *   files as they are); a later change of `set_hmirror`/`set_vflip` mirrors/flips relative to
 *   that. `raw` takes the files as the sensor's unmirrored output and applies the script's
 *   settings as they are.
 * - A file is read, decoded and scaled once per frame size, and its snapshot (display pixels and AI
 *   planes) made once per pixel format and mirror/flip: later snapshots of it (a camera that cycles,
 *   a file given several times) copy that. At most FRAME_CACHE_BYTES are kept: beyond it the least
 *   recently used snapshots are dropped first, then the least recently used frames (a file changed
 *   during the run is not read again). Frames can also be kept between runs (`frames`: the command
 *   line keeps them in its image cache), so a later run's snapshot of the file neither decodes nor scales.
 * - The snapshot has two faces, as on the board (face-pipeline §2.1): the RGB565 display pixels the script
 *   draws on (RGB888 → RGB565 with MaixPy's rounding tables; the DVP's own conversion is in
 *   silicon and undocumented) and the planar RGB888 AI planes written directly from the frame.
 *   In GRAYSCALE mode both are the luma (OpenMV's integer BT.601 weights).
 */
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { UsageError } from '../errors.js';
import { flipRgb, resizeRgb, rgbToLuma, rgbToPlanar, type ResizeMode } from '../pipeline/convert.js';
import { readImageFile } from '../pipeline/image-io.js';
import { rgbToRgb565 } from '../pipeline/rgb565.js';
import type { RgbImage } from '../pipeline/types.js';

export type CameraOrientation = 'script' | 'raw';

export interface CameraOptions {
  readonly fit?: ResizeMode;
  readonly orientation?: CameraOrientation;
  /** Start again at the first file when they run out (a served board's camera never runs out). */
  readonly cycle?: boolean;
  /**
   * A live camera instead of files (the browser's webcam): each snapshot takes the frame it returns
   * (null: no frame, the camera has run out), named `name` in the frame log.
   */
  readonly live?: { readonly name: string; readonly frame: () => RgbImage | null };
  /** Files decoded ahead (`CameraPrefetch.take`): a file's image when it is ready, else the file is decoded here. */
  readonly prefetched?: (file: string) => PrefetchedFile | undefined;
  /** Bytes of frames kept for reuse (default FRAME_CACHE_BYTES). */
  readonly cacheBytes?: number;
  /** Reads and decodes a file (default `readImageFile`; the command line's keeps decoded files between runs). */
  readonly read?: (file: string) => RgbImage;
  /** Frames kept between runs (the command line's image cache); none by default. */
  readonly frames?: FrameStore;
}

/** A file's frames (its image scaled to width×height with a fit) kept between runs. */
export interface FrameStore {
  get(file: string, width: number, height: number, fit: ResizeMode): RgbImage | undefined;
  put(file: string, width: number, height: number, fit: ResizeMode, rgb: RgbImage): void;
}

/**
 * A camera file's frame made ahead at one size (`scaleFrame`, then `frameOutputs` in colour, neither
 * mirrored nor flipped). A snapshot uses it only when it asks for exactly that.
 */
export interface PrefetchedFrame {
  readonly width: number;
  readonly height: number;
  readonly fit: ResizeMode;
  readonly rgb: RgbImage;
  readonly display: Uint16Array;
  readonly ai: Uint8Array;
}

/** A camera file decoded ahead (`readImageFile`), with its frame at one size when that was made too. */
export interface PrefetchedFile {
  readonly image: RgbImage;
  readonly frame?: PrefetchedFrame;
}

/**
 * Camera files decoded ahead of their snapshots (the command line decodes the first ones in a
 * worker thread while the board starts): `take` hands over a file's decoded image once, or
 * undefined when the file is to be decoded at its snapshot; `stop` ends the prefetch.
 */
export interface CameraPrefetch {
  take(file: string): PrefetchedFile | undefined;
  stop(): void;
}

export interface SnapshotFrame {
  readonly index: number;
  readonly file: string;
  readonly width: number;
  readonly height: number;
  /**
   * MaixPy display pixels: RGB565 in-memory values, or luma bytes in grayscale mode. Shared with the
   * camera's cache (as is `ai`): copy it, never write to it.
   */
  readonly display: Uint16Array | Uint8Array;
  /** The AI planes: R, G, B planes of width·height bytes each (one luma plane in grayscale mode). */
  readonly ai: Uint8Array;
}

/** A snapshot's two faces. */
export interface FrameOutputs {
  readonly display: Uint16Array | Uint8Array;
  readonly ai: Uint8Array;
}

/** The frames kept for reuse (a 320×240 frame is 225 KiB scaled, 600 KiB with its snapshot). */
export const FRAME_CACHE_BYTES = 64 << 20;

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.bmp']);

/** Expand the `--camera` arguments: files as given, folders as their images sorted by name. */
export function expandCameraFiles(specs: readonly string[]): string[] {
  const files: string[] = [];
  for (const spec of specs) {
    let st;
    try {
      st = statSync(spec);
    } catch {
      throw new UsageError('NOT_FOUND', `--camera ${spec}: no such file or folder`);
    }
    if (st.isDirectory()) {
      const names = readdirSync(spec)
        .filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase()))
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      if (names.length === 0)
        throw new UsageError('BAD_ARGUMENT', `--camera ${spec}: the folder holds no .png, .jpg or .bmp images`);
      for (const n of names) files.push(join(spec, n));
    } else {
      files.push(spec);
    }
  }
  return files;
}

/** An image scaled to a frame of width×height: reductions by the area filter, enlargements bilinear. */
export function scaleFrame(rgb: RgbImage, width: number, height: number, fit: ResizeMode): RgbImage {
  if (rgb.width === width && rgb.height === height) return rgb;
  const shrinking = width < rgb.width || height < rgb.height;
  return resizeRgb(rgb, width, height, { mode: fit, filter: shrinking ? 'area' : 'bilinear' }).image;
}

/** A frame's snapshot: display pixels and AI planes (both the luma in grayscale mode). */
export function frameOutputs(rgb: RgbImage, grayscale: boolean): FrameOutputs {
  if (grayscale) {
    const luma = rgbToLuma(rgb).data;
    return { display: luma, ai: luma };
  }
  return { display: rgbToRgb565(rgb).pixels, ai: rgbToPlanar(rgb).data };
}

/** A file's frame at one size and the snapshots made of it, by pixel format and mirror/flip. */
interface CachedFrame {
  readonly rgb: RgbImage;
  readonly outputs: Map<string, FrameOutputs>;
  bytes: number;
}

const outputsBytes = (o: FrameOutputs): number => o.display.byteLength + (o.ai === o.display ? 0 : o.ai.byteLength);

export class Camera {
  private next = 0;
  private reference: { h: boolean; v: boolean } | null = null;
  readonly fit: ResizeMode;
  readonly orientation: CameraOrientation;
  readonly cycle: boolean;
  private readonly live?: CameraOptions['live'];
  private readonly prefetched?: CameraOptions['prefetched'];
  private readonly read: (file: string) => RgbImage;
  private readonly store?: FrameStore;
  /** Frames by file and size, least recently used first. */
  private readonly frames = new Map<string, CachedFrame>();
  private frameBytes = 0;
  private readonly cacheBytes: number;

  constructor(
    readonly files: readonly string[],
    opts: CameraOptions = {},
  ) {
    this.fit = opts.fit ?? 'crop';
    this.orientation = opts.orientation ?? 'script';
    this.cycle = opts.cycle ?? false;
    this.live = opts.live;
    this.prefetched = opts.prefetched;
    this.read = opts.read ?? ((file) => readImageFile(file));
    this.store = opts.frames;
    this.cacheBytes = opts.cacheBytes ?? FRAME_CACHE_BYTES;
  }

  /** Frames delivered so far. */
  get delivered(): number {
    return this.next;
  }

  get remaining(): number {
    if ((this.cycle && this.files.length > 0) || this.live) return Infinity;
    return this.files.length - this.next;
  }

  /** What the frame cache holds: frames (file and size) and their bytes, snapshots included. */
  get cached(): { readonly frames: number; readonly bytes: number } {
    return { frames: this.frames.size, bytes: this.frameBytes };
  }

  /**
   * The next frame at width×height, or null when the files have run out. Its pixel arrays may be
   * shared with later snapshots of the same file: read them, never write to them.
   */
  capture(width: number, height: number, grayscale: boolean, hmirror: boolean, vflip: boolean): SnapshotFrame | null {
    const liveFrame = this.live?.frame();
    if (this.live && !liveFrame) return null;
    if (!this.live && (this.files.length === 0 || (this.next >= this.files.length && !this.cycle))) return null;
    const file = this.live ? this.live.name : this.files[this.next % this.files.length];
    const index = ++this.next;
    const cached = liveFrame ? undefined : this.fileFrame(file, width, height);
    const rgb = liveFrame ? scaleFrame(liveFrame, width, height, this.fit) : cached!.rgb;
    if (this.orientation === 'script' && this.reference === null) this.reference = { h: hmirror, v: vflip };
    const ref = this.orientation === 'script' ? this.reference! : { h: false, v: false };
    const flipH = hmirror !== ref.h,
      flipV = vflip !== ref.v;
    const make = (): FrameOutputs => frameOutputs(flipH || flipV ? flipRgb(rgb, flipH, flipV) : rgb, grayscale);
    if (!cached) return { index, file, width, height, ...make() };
    const variant = `${grayscale ? 'gray' : 'rgb565'} ${flipH ? 'h' : ''}${flipV ? 'v' : ''}`;
    let out = cached.outputs.get(variant);
    if (!out) {
      out = make();
      cached.outputs.set(variant, out);
      this.grow(cached, outputsBytes(out));
    }
    return { index, file, width, height, display: out.display, ai: out.ai };
  }

  /** A file's frame at width×height: decoded and scaled once, then reused (never modified). */
  private fileFrame(file: string, width: number, height: number): CachedFrame {
    const key = `${width}x${height}\0${file}`;
    const hit = this.frames.get(key);
    if (hit) {
      this.frames.delete(key);
      this.frames.set(key, hit);
      return hit;
    }
    const pre = this.prefetched?.(file);
    const made = pre?.frame;
    let entry: CachedFrame;
    if (made && made.width === width && made.height === height && made.fit === this.fit) {
      const out: FrameOutputs = { display: made.display, ai: made.ai };
      entry = { rgb: made.rgb, outputs: new Map([['rgb565 ', out]]), bytes: 0 };
      this.frames.set(key, entry);
      this.grow(entry, made.rgb.data.byteLength + outputsBytes(out));
      this.store?.put(file, width, height, this.fit, made.rgb);
    } else {
      const kept = pre ? undefined : this.store?.get(file, width, height, this.fit);
      const rgb = kept ?? scaleFrame(pre?.image ?? this.read(file), width, height, this.fit);
      if (!kept) this.store?.put(file, width, height, this.fit, rgb);
      entry = { rgb, outputs: new Map(), bytes: 0 };
      this.frames.set(key, entry);
      this.grow(entry, rgb.data.byteLength);
    }
    return entry;
  }

  /** Count `bytes` more in `entry` (the most recently used), dropping the least recently used beyond the bound. */
  private grow(entry: CachedFrame, bytes: number): void {
    entry.bytes += bytes;
    this.frameBytes += bytes;
    // snapshots first (remade from their frame in a few ms), then whole frames (a file decoded again)
    for (const v of this.frames.values()) {
      if (this.frameBytes <= this.cacheBytes || v === entry) break;
      for (const o of v.outputs.values()) {
        v.bytes -= outputsBytes(o);
        this.frameBytes -= outputsBytes(o);
      }
      v.outputs.clear();
    }
    for (const [k, v] of this.frames) {
      if (this.frameBytes <= this.cacheBytes || v === entry) break;
      this.frames.delete(k);
      this.frameBytes -= v.bytes;
    }
  }
}
