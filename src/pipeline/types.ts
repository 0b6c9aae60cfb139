/**
 * Image shapes used by the pipeline. All are plain data over typed arrays.
 *
 * - `RgbImage`: interleaved RGB888, what a decoded file becomes (`data.length = 3·w·h`).
 * - `PlanarImage`: the K210 "AI" layout the KPU reads: `channels` planes of `w·h` bytes one after
 *   another (R plane, G plane, B plane, or one luma plane). `data` may be longer than
 *   `channels·w·h` (MaixPy rounds allocations up to 64 bytes); readers that index past the planes
 *   see those bytes, as on the board.
 * - `Rgb565Image` / `GrayImage`: MaixPy's display pixels. RGB565 pixels are stored as the 16-bit
 *   values MaixPy keeps in memory (OpenMV's byte-swapped layout, see rgb565.ts), so quirks that
 *   depend on that layout (unmasked packing) come out the same.
 */

export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** Interleaved R, G, B bytes, row-major. */
  readonly data: Uint8Array;
}

export interface PlanarImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  /** Plane k starts at k·width·height. */
  readonly data: Uint8Array;
}

export interface Rgb565Image {
  readonly kind: 'rgb565';
  readonly width: number;
  readonly height: number;
  /** MaixPy in-memory pixel values (byte-swapped RGB565), row-major. */
  readonly pixels: Uint16Array;
}

export interface GrayImage {
  readonly kind: 'grayscale';
  readonly width: number;
  readonly height: number;
  readonly pixels: Uint8Array;
}

/** An `image.Image` of MaixPy, as far as the face flow uses it (RGB565 or grayscale). */
export type MaixImage = Rgb565Image | GrayImage;

/** An integer rectangle in pixels, MaixPy's `rect()` order. */
export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export type Point = readonly [number, number];
