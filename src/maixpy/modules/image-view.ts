/** Views of the interpreter's image buffers as the pipeline's image types. */
import type { MaixImage, PlanarImage } from '../../pipeline/types.js';
import { int, PyError, type BoardContext } from '../context.js';

/** A view of an image's display pixels in the interpreter's memory. */
export function imageView(ctx: BoardContext, addr: unknown, w: unknown, h: unknown, bpp: unknown): MaixImage {
  const width = int(w, 'width'),
    height = int(h, 'height'),
    b = int(bpp, 'bpp');
  if (width <= 0 || height <= 0) throw new PyError('ValueError', `image size ${width}×${height}`);
  if (b === 2) return { kind: 'rgb565', width, height, pixels: ctx.memory.u16(int(addr, 'pixels'), width * height) };
  if (b === 1)
    return { kind: 'grayscale', width, height, pixels: ctx.memory.bytes(int(addr, 'pixels'), width * height) };
  throw new PyError('ValueError', `image format with ${b} bytes per pixel`);
}

/** A view of an AI buffer (the whole allocation: readers past the planes see its tail, as on the board). */
export function aiView(
  ctx: BoardContext,
  addr: unknown,
  len: unknown,
  w: number,
  h: number,
  channels: 1 | 3,
): PlanarImage {
  const n = int(len, 'ai length');
  if (n < channels * w * h)
    throw new PyError('ValueError', `AI buffer of ${n} bytes is smaller than ${channels}×${w}×${h}`);
  return { width: w, height: h, channels, data: ctx.memory.bytes(int(addr, 'ai'), n) };
}

/**
 * A backend function whose first four arguments are an image (address, width, height, bytes per pixel): `fn` gets
 * the image's view, then the arguments after those four.
 */
export const onImage =
  (fn: (ctx: BoardContext, img: MaixImage, ...args: unknown[]) => void) =>
  (ctx: BoardContext, addr: unknown, w: unknown, h: unknown, bpp: unknown, ...args: unknown[]): void =>
    fn(ctx, imageView(ctx, addr, w, h, bpp), ...args);
