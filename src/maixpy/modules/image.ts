/**
 * `image`: MaixPy's Image (RGB565 or grayscale display pixels plus the optional planar "AI"
 * buffer) and the module functions of the face flow. The numerics are the pipeline's MaixPy
 * ports (src/pipeline: `cut`, `resize`, `pix_to_ai`/`ai_to_pix` tables, `draw_rectangle`,
 * `get_affine_transform`, `warp_affine_ai`).
 *
 * Pixels live in Python `bytearray`s (`_px`: w·h 16-bit MaixPy pixel values, little-endian, or
 * w·h bytes for grayscale; `_ai`: the AI allocation, ceil64(w)·h·3 bytes as `pix_to_ai` makes
 * it, or w·h for grayscale), so Python's garbage collector frees them as on the board.
 */
import { encodeJpeg, encodePng, decodeImage } from '../../pipeline/image-io.js';
import { getAffineTransform, warpAffineAi, warpAffineAiInto } from '../../pipeline/affine.js';
import { cutInto, drawRectangle, resizeInto } from '../../pipeline/maix-image.js';
import { aiToPix, grayToRgb, pixToAi, rgb565ToRgb, rgbToRgb565 } from '../../pipeline/rgb565.js';
import type { MaixImage, Point } from '../../pipeline/types.js';
import { int, numberList, PyError, str, type BoardContext } from '../context.js';
import { aiView, imageView, onImage } from './image-view.js';
import { imageOpsBackend } from './image-ops.js';
import { drawCircle, drawCross, drawLine, drawString } from '../draw.js';
import { CPU_STEP_CYCLES as C } from '../timing.js';
import { PYTHON_SOURCES as PY } from '../python/sources.generated.js';
import type { MaixpyModule } from './types.js';

/** Copy a pipeline result into an image buffer of the interpreter. */
function copyInto(dst: MaixImage, src: MaixImage): void {
  if (dst.kind !== src.kind || dst.width !== src.width || dst.height !== src.height)
    throw new PyError('RuntimeError', 'kpusim host: image copy shape mismatch');
  if (dst.kind === 'rgb565') dst.pixels.set(src.pixels);
  else dst.pixels.set(src.pixels);
}

/** Whether two views share bytes (`warpAffineAiInto` needs a target apart from its source). */
function overlaps(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return (
    a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength
  );
}

const backend = {
  /**
   * Decode an image file (the interpreter's VFS first, then the SD card) into pending RGB565 pixels; returns w·65536 +
   * h.
   */
  image_load(ctx: BoardContext, path: unknown): number {
    const p = str(path, 'path');
    let bytes = ctx.readVfs(p);
    if (!bytes) bytes = ctx.storage.readBoardFile(p);
    const img = decodeImage(bytes, p);
    const px = rgbToRgb565(img).pixels;
    ctx.give(new Uint8Array(px.buffer, px.byteOffset, px.byteLength));
    ctx.clock.cpu(C.pixToAiPerPixel * img.width * img.height);
    return img.width * 65536 + img.height;
  },

  image_cut(
    ctx: BoardContext,
    sAddr: unknown,
    sw: unknown,
    sh: unknown,
    bpp: unknown,
    dAddr: unknown,
    x: unknown,
    y: unknown,
    w: unknown,
    h: unknown,
  ): void {
    const src = imageView(ctx, sAddr, sw, sh, bpp);
    const dst = imageView(ctx, dAddr, w, h, bpp);
    // dst is the new bytearray image.py allocated for the result, apart from src.
    cutInto(src, int(x, 'x'), int(y, 'y'), dst);
    ctx.clock.cpu(C.cutPerPixel * dst.width * dst.height);
  },

  image_resize(
    ctx: BoardContext,
    sAddr: unknown,
    sw: unknown,
    sh: unknown,
    bpp: unknown,
    dAddr: unknown,
    w: unknown,
    h: unknown,
  ): void {
    const src = imageView(ctx, sAddr, sw, sh, bpp);
    const dst = imageView(ctx, dAddr, w, h, bpp);
    // dst is the new bytearray image.py allocated for the result, apart from src.
    resizeInto(src, dst);
    const nearest = src.kind === 'rgb565' && (src.width >= dst.width || src.height > dst.height);
    ctx.clock.cpu((nearest ? C.resizeNearestPerPixel : C.resizeBilinearPerPixel) * dst.width * dst.height);
  },

  image_pix_to_ai: onImage((ctx, img, aAddr, aLen) => {
    const ai = aiView(ctx, aAddr, aLen, img.width, img.height, img.kind === 'rgb565' ? 3 : 1);
    pixToAi(img, ai);
    ctx.clock.cpu(C.pixToAiPerPixel * img.width * img.height);
  }),

  image_ai_to_pix: onImage((ctx, img, aAddr, aLen) => {
    const ai = aiView(ctx, aAddr, aLen, img.width, img.height, img.kind === 'rgb565' ? 3 : 1);
    copyInto(img, aiToPix(ai));
    ctx.clock.cpu(C.pixToAiPerPixel * img.width * img.height);
  }),

  image_draw_rectangle: onImage((ctx, img, x, y, rw, rh, c, t, fill) => {
    const [X, Y, W, H] = [int(x, 'x'), int(y, 'y'), int(rw, 'w'), int(rh, 'h')];
    drawRectangle(img, X, Y, W, H, int(c, 'color'), int(t, 'thickness'), Boolean(fill));
    ctx.clock.cpu(C.drawPerPixel * (fill ? Math.max(0, W * H) : 2 * Math.max(0, W + H)));
  }),

  image_draw_line: onImage((ctx, img, x0, y0, x1, y1, c, t) => {
    const [X0, Y0, X1, Y1] = [int(x0, 'x0'), int(y0, 'y0'), int(x1, 'x1'), int(y1, 'y1')];
    drawLine(img, X0, Y0, X1, Y1, int(c, 'color'), int(t, 'thickness'));
    ctx.clock.cpu(C.drawPerPixel * (Math.abs(X1 - X0) + Math.abs(Y1 - Y0) + 1));
  }),

  image_draw_circle: onImage((ctx, img, cx, cy, r, c, t, fill) => {
    const R = int(r, 'radius');
    drawCircle(img, int(cx, 'x'), int(cy, 'y'), R, int(c, 'color'), int(t, 'thickness'), Boolean(fill));
    ctx.clock.cpu(C.drawPerPixel * (fill ? 4 * R * R : 8 * R));
  }),

  image_draw_cross: onImage((ctx, img, x, y, c, s, t) => {
    const S = int(s, 'size');
    drawCross(img, int(x, 'x'), int(y, 'y'), int(c, 'color'), S, int(t, 'thickness'));
    ctx.clock.cpu(C.drawPerPixel * (4 * S + 2));
  }),

  image_draw_string: onImage((ctx, img, x, y, text, c, scale, xs, ys) => {
    const n = drawString(
      img,
      int(x, 'x'),
      int(y, 'y'),
      str(text, 'text'),
      int(c, 'color'),
      Number(scale),
      int(xs, 'x_spacing'),
      int(ys, 'y_spacing'),
    );
    ctx.clock.cpu(C.drawPerPixel * (n + 80 * String(text).length));
  }),

  /** Copy `src` onto `dst` at (x, y), clipped (draw_image without scaling, alpha or mask). */
  image_draw_image(
    ctx: BoardContext,
    da: unknown,
    dw: unknown,
    dh: unknown,
    dbpp: unknown,
    sa: unknown,
    sw: unknown,
    sh: unknown,
    sbpp: unknown,
    x: unknown,
    y: unknown,
  ): void {
    const dst = imageView(ctx, da, dw, dh, dbpp);
    const src = imageView(ctx, sa, sw, sh, sbpp);
    const X = int(x, 'x'),
      Y = int(y, 'y');
    const srcRgb = src.kind === 'rgb565' ? rgb565ToRgb(src) : grayToRgb(src);
    for (let yy = 0; yy < src.height; yy++) {
      const ty = Y + yy;
      if (ty < 0 || ty >= dst.height) continue;
      for (let xx = 0; xx < src.width; xx++) {
        const tx = X + xx;
        if (tx < 0 || tx >= dst.width) continue;
        const i = yy * src.width + xx;
        if (dst.kind === src.kind) dst.pixels[ty * dst.width + tx] = src.pixels[i];
        else if (dst.kind === 'grayscale') {
          const o = 3 * i;
          dst.pixels[ty * dst.width + tx] =
            (38 * srcRgb.data[o] + 75 * srcRgb.data[o + 1] + 15 * srcRgb.data[o + 2]) >> 7;
        } else {
          const g = src.pixels[i];
          dst.pixels[ty * dst.width + tx] = rgbToRgb565({
            width: 1,
            height: 1,
            data: Uint8Array.of(g, g, g),
          }).pixels[0];
        }
      }
    }
    ctx.clock.cpu(C.cutPerPixel * src.width * src.height);
  },

  /** get_affine_transform: pending 9 binary32 values (36 bytes). Points are flat [x0, y0, x1, y1, …] ints. */
  image_affine(ctx: BoardContext, srcFlat: unknown, dstFlat: unknown): number {
    const s = numberList(ctx, srcFlat, 'src points'),
      d = numberList(ctx, dstFlat, 'dst points');
    const pts = (a: number[]): Point[] =>
      Array.from({ length: a.length / 2 }, (_, i) => [a[2 * i], a[2 * i + 1]] as Point);
    const T = getAffineTransform(pts(s), pts(d));
    ctx.clock.cpu(C.affineFit);
    return ctx.give(new Uint8Array(Float32Array.from(T).buffer));
  },

  image_warp(
    ctx: BoardContext,
    sa: unknown,
    sl: unknown,
    sw: unknown,
    sh: unknown,
    ch: unknown,
    da: unknown,
    dl: unknown,
    dw: unknown,
    dh: unknown,
    T: unknown,
  ): void {
    const channels = int(ch, 'channels') === 1 ? 1 : 3;
    const src = aiView(ctx, sa, sl, int(sw, 'width'), int(sh, 'height'), channels);
    const W = int(dw, 'width'),
      H = int(dh, 'height');
    const dst = aiView(ctx, da, dl, W, H, channels);
    const t = numberList(ctx, T, 'transform');
    if (t.length !== 9) throw new PyError('ValueError', 'the transform needs 9 values');
    if (overlaps(src.data, dst.data)) {
      // warp_affine_ai(img, img, T): the warp is made in a new buffer and copied over, so the
      // result is the warp of the planes as they were before the call.
      const out = warpAffineAi(src, W, H, t);
      dst.data.set(out.data.subarray(0, channels * W * H));
    } else warpAffineAiInto(src, dst, t);
    ctx.clock.cpu(C.warpPerPixel * W * H);
  },

  /** An image file's bytes (PNG or JPEG) as pending data. */
  image_encode(
    ctx: BoardContext,
    a: unknown,
    w: unknown,
    h: unknown,
    bpp: unknown,
    format: unknown,
    quality: unknown,
  ): number {
    const img = imageView(ctx, a, w, h, bpp);
    const rgb = img.kind === 'rgb565' ? rgb565ToRgb(img) : grayToRgb(img);
    const f = str(format, 'format');
    if (f === 'png') return ctx.give(encodePng(rgb));
    if (f === 'jpeg') return ctx.give(encodeJpeg(rgb, Math.min(100, Math.max(1, int(quality, 'quality')))));
    throw new PyError('ValueError', `kpusim saves .png and .jpg images, not ${f}`);
  },
};

export const imageModule: MaixpyModule = {
  file: 'image',
  python: PY.image,
  backend: { ...backend, ...imageOpsBackend },
};
