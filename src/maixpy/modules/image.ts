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
import { getAffineTransform, warpAffineAi } from '../../pipeline/affine.js';
import { cut, drawRectangle, resize } from '../../pipeline/maix-image.js';
import { aiToPix, grayToRgb, pixToAi, rgb565ToRgb, rgbToRgb565 } from '../../pipeline/rgb565.js';
import type { MaixImage, PlanarImage, Point } from '../../pipeline/types.js';
import { int, numberList, PyError, str, type BoardContext } from '../context.js';
import { drawCircle, drawCross, drawLine, drawString } from '../draw.js';
import { CPU_STEP_CYCLES as C } from '../timing.js';
import type { MaixpyModule } from './types.js';

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

/** Copy a pipeline result into an image buffer of the interpreter. */
function copyInto(dst: MaixImage, src: MaixImage): void {
  if (dst.kind !== src.kind || dst.width !== src.width || dst.height !== src.height)
    throw new PyError('RuntimeError', 'kpusim host: image copy shape mismatch');
  if (dst.kind === 'rgb565') dst.pixels.set(src.pixels);
  else dst.pixels.set(src.pixels);
}

const backend = {
  /** Decode an image file (the interpreter's VFS first, then the SD card) into pending RGB565 pixels; returns w·65536 + h. */
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
    copyInto(dst, cut(src, int(x, 'x'), int(y, 'y'), dst.width, dst.height));
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
    copyInto(dst, resize(src, dst.width, dst.height));
    const nearest = src.kind === 'rgb565' && (src.width >= dst.width || src.height > dst.height);
    ctx.clock.cpu((nearest ? C.resizeNearestPerPixel : C.resizeBilinearPerPixel) * dst.width * dst.height);
  },

  image_pix_to_ai(
    ctx: BoardContext,
    pAddr: unknown,
    w: unknown,
    h: unknown,
    bpp: unknown,
    aAddr: unknown,
    aLen: unknown,
  ): void {
    const img = imageView(ctx, pAddr, w, h, bpp);
    const ai = aiView(ctx, aAddr, aLen, img.width, img.height, img.kind === 'rgb565' ? 3 : 1);
    pixToAi(img, ai);
    ctx.clock.cpu(C.pixToAiPerPixel * img.width * img.height);
  },

  image_ai_to_pix(
    ctx: BoardContext,
    pAddr: unknown,
    w: unknown,
    h: unknown,
    bpp: unknown,
    aAddr: unknown,
    aLen: unknown,
  ): void {
    const img = imageView(ctx, pAddr, w, h, bpp);
    const ai = aiView(ctx, aAddr, aLen, img.width, img.height, img.kind === 'rgb565' ? 3 : 1);
    copyInto(img, aiToPix(ai));
    ctx.clock.cpu(C.pixToAiPerPixel * img.width * img.height);
  },

  image_draw_rectangle(
    ctx: BoardContext,
    a: unknown,
    w: unknown,
    h: unknown,
    bpp: unknown,
    x: unknown,
    y: unknown,
    rw: unknown,
    rh: unknown,
    c: unknown,
    t: unknown,
    fill: unknown,
  ): void {
    const img = imageView(ctx, a, w, h, bpp);
    const [X, Y, W, H] = [int(x, 'x'), int(y, 'y'), int(rw, 'w'), int(rh, 'h')];
    drawRectangle(img, X, Y, W, H, int(c, 'color'), int(t, 'thickness'), Boolean(fill));
    ctx.clock.cpu(C.drawPerPixel * (fill ? Math.max(0, W * H) : 2 * Math.max(0, W + H)));
  },

  image_draw_line(
    ctx: BoardContext,
    a: unknown,
    w: unknown,
    h: unknown,
    bpp: unknown,
    x0: unknown,
    y0: unknown,
    x1: unknown,
    y1: unknown,
    c: unknown,
    t: unknown,
  ): void {
    const img = imageView(ctx, a, w, h, bpp);
    const [X0, Y0, X1, Y1] = [int(x0, 'x0'), int(y0, 'y0'), int(x1, 'x1'), int(y1, 'y1')];
    drawLine(img, X0, Y0, X1, Y1, int(c, 'color'), int(t, 'thickness'));
    ctx.clock.cpu(C.drawPerPixel * (Math.abs(X1 - X0) + Math.abs(Y1 - Y0) + 1));
  },

  image_draw_circle(
    ctx: BoardContext,
    a: unknown,
    w: unknown,
    h: unknown,
    bpp: unknown,
    cx: unknown,
    cy: unknown,
    r: unknown,
    c: unknown,
    t: unknown,
    fill: unknown,
  ): void {
    const img = imageView(ctx, a, w, h, bpp);
    const R = int(r, 'radius');
    drawCircle(img, int(cx, 'x'), int(cy, 'y'), R, int(c, 'color'), int(t, 'thickness'), Boolean(fill));
    ctx.clock.cpu(C.drawPerPixel * (fill ? 4 * R * R : 8 * R));
  },

  image_draw_cross(
    ctx: BoardContext,
    a: unknown,
    w: unknown,
    h: unknown,
    bpp: unknown,
    x: unknown,
    y: unknown,
    c: unknown,
    s: unknown,
    t: unknown,
  ): void {
    const img = imageView(ctx, a, w, h, bpp);
    const S = int(s, 'size');
    drawCross(img, int(x, 'x'), int(y, 'y'), int(c, 'color'), S, int(t, 'thickness'));
    ctx.clock.cpu(C.drawPerPixel * (4 * S + 2));
  },

  image_draw_string(
    ctx: BoardContext,
    a: unknown,
    w: unknown,
    h: unknown,
    bpp: unknown,
    x: unknown,
    y: unknown,
    text: unknown,
    c: unknown,
    scale: unknown,
    xs: unknown,
    ys: unknown,
  ): void {
    const img = imageView(ctx, a, w, h, bpp);
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
  },

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
    const out = warpAffineAi(src, W, H, t.map(Math.fround));
    dst.data.set(out.data.subarray(0, channels * W * H));
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

/** Image methods MaixPy has that kpusim does not implement (they raise NotImplementedError). */
const IMAGE_METHODS_MISSING = [
  'mean_pool',
  'mean_pooled',
  'midpoint_pool',
  'midpoint_pooled',
  'to_bitmap',
  'to_grayscale',
  'to_rgb565',
  'to_rainbow',
  'compress',
  'compress_for_ide',
  'compressed',
  'compressed_for_ide',
  'crop',
  'draw_ellipse',
  'draw_font',
  'draw_arrow',
  'draw_keypoints',
  'flood_fill',
  'binary',
  'invert',
  'and',
  'b_and',
  'nand',
  'b_nand',
  'or',
  'b_or',
  'nor',
  'b_nor',
  'xor',
  'b_xor',
  'xnor',
  'b_xnor',
  'erode',
  'dilate',
  'open',
  'close',
  'top_hat',
  'black_hat',
  'gamma_corr',
  'negate',
  'assign',
  'replace',
  'set',
  'add',
  'sub',
  'mul',
  'div',
  'min',
  'max',
  'difference',
  'blend',
  'histeq',
  'mean',
  'median',
  'mode',
  'midpoint',
  'morph',
  'blur',
  'gaussian',
  'gaussian_blur',
  'laplacian',
  'bilateral',
  'cartoon',
  'remove_shadows',
  'chrominvar',
  'illuminvar',
  'linpolar',
  'logpolar',
  'lens_corr',
  'rotation_corr',
  'get_similarity',
  'get_hist',
  'get_histogram',
  'histogram',
  'get_stats',
  'get_statistics',
  'statistics',
  'get_regression',
  'find_blobs',
  'find_lines',
  'find_line_segments',
  'find_circles',
  'find_rects',
  'find_qrcodes',
  'find_apriltags',
  'find_datamatrices',
  'find_barcodes',
  'find_displacement',
  'find_template',
  'find_features',
  'find_eye',
  'find_lbp',
  'find_keypoints',
  'find_domain',
  'find_edges',
  'find_hog',
  'selective_search',
  'dump_roi',
  'conv3',
  'strech_char',
  'stretch',
];
const MODULE_MISSING = [
  'SEARCH_EX',
  'SEARCH_DS',
  'EDGE_CANNY',
  'EDGE_SIMPLE',
  'CORNER_FAST',
  'CORNER_AGAST',
  'TAG16H5',
  'TAG25H7',
  'TAG25H9',
  'TAG36H10',
  'TAG36H11',
  'ARTOOLKIT',
  'EAN2',
  'EAN5',
  'EAN8',
  'UPCE',
  'ISBN10',
  'UPCA',
  'EAN13',
  'ISBN13',
  'I25',
  'DATABAR',
  'DATABAR_EXP',
  'CODABAR',
  'CODE39',
  'PDF417',
  'CODE93',
  'CODE128',
  'font_load',
  'font_free',
  'ImageWriter',
  'ImageReader',
  'rgb_to_lab',
  'lab_to_rgb',
  'HaarCascade',
  'load_descriptor',
  'save_descriptor',
  'match_descriptor',
];

const python = String.raw`
import _kpusim as _k

ASCII = 0
UTF8 = 1
_RGB565 = 2
_GRAYSCALE = 4
_LCD_W = 320
_LCD_H = 240


def _pack(r, g, b):
    # COLOR_R8_G8_B8_TO_RGB565 with MaixPy's rounding tables, in its byte-swapped layout
    r5 = (r * 62 + 255) // 510
    g6 = (g * 126 + 255) // 510
    b5 = (b * 62 + 255) // 510
    return ((r5 << 3) | (g6 >> 3) | ((g6 & 7) << 13) | (b5 << 8)) & 0xFFFF


def _color(img, c, default=-1):
    if c is None:
        c = default
    if isinstance(c, (tuple, list)):
        if len(c) != 3:
            raise ValueError('colour tuple needs 3 values')
        r, g, b = [_k.get_int(v) & 0xFF for v in c]
        if img._bpp == 2:
            return _pack(r, g, b)
        return (38 * r + 75 * g + 15 * b) >> 7
    return _k.get_int(c)


IMAGE_MISSING = ${JSON.stringify(IMAGE_METHODS_MISSING)}


class Image:
    def __init__(self, *args, **kw):
        raw = kw.pop('_raw', None)
        if raw is not None:
            self._w, self._h, self._bpp, self._px, self._ai = raw
            self._fb = kw.pop('_fb', False)
            return
        _k.check_kw(kw, ('copy_to_fb', 'from_bytes', 'size'), 'image.Image')
        copy_to_fb = _k.opt(args, 1, kw, 'copy_to_fb', False)
        from_bytes = kw.get('from_bytes', False)
        size = kw.get('size', None)
        self._ai = None
        self._fb = bool(copy_to_fb)
        if len(args) >= 1 and args[0] is not None:
            src = args[0]
            if from_bytes:
                _k.unsupported('image.Image(from_bytes=True)')
            if not isinstance(src, str):
                _k.unsupported('image.Image(<object>)')
            wh = _k.call('image_load', src)
            self._w = wh >> 16
            self._h = wh & 0xFFFF
            self._bpp = 2
            self._px = _k.take(self._w * self._h * 2)
        else:
            w, h = _LCD_W, _LCD_H
            if size is not None:
                w, h = _k.get_int(size[0]), _k.get_int(size[1])
                if w <= 0 or h <= 0:
                    w, h = _LCD_W, _LCD_H
            self._w, self._h, self._bpp = w, h, 2
            self._px = bytearray(w * h * 2)
        if self._fb:
            import sensor
            sensor._adopt_fb(self)

    __getattr__ = _k.class_getattr('Image', IMAGE_MISSING)

    def __repr__(self):
        t = 'rgb565' if self._bpp == 2 else 'grayscale'
        return '{"w":%d, "h":%d, "type"="%s", "size":%d}' % (self._w, self._h, t, self._w * self._h * self._bpp)

    def _args(self):
        return (_k.addr(self._px), self._w, self._h, self._bpp)

    def width(self):
        return self._w

    def height(self):
        return self._h

    def format(self):
        return _RGB565 if self._bpp == 2 else _GRAYSCALE

    def size(self):
        return self._w * self._h * self._bpp

    def _get(self, i):
        if self._bpp == 2:
            return self._px[2 * i] | (self._px[2 * i + 1] << 8)
        return self._px[i]

    def _put(self, i, p):
        if self._bpp == 2:
            self._px[2 * i] = p & 0xFF
            self._px[2 * i + 1] = (p >> 8) & 0xFF
        else:
            self._px[i] = p & 0xFF

    def __len__(self):
        return self._w * self._h

    def __getitem__(self, i):
        n = self._w * self._h
        if i < 0:
            i += n
        if i < 0 or i >= n:
            raise IndexError('image index out of range')
        return self._get(i)

    def __setitem__(self, i, v):
        n = self._w * self._h
        if i < 0:
            i += n
        if i < 0 or i >= n:
            raise IndexError('image index out of range')
        self._put(i, _k.get_int(v))

    def get_pixel(self, *args, **kw):
        (x, y), off = _k.consume(args, 0, 2)
        x, y = _k.get_int(x), _k.get_int(y)
        rgbtuple = _k.opt(args, off, kw, 'rgbtuple', self._bpp == 2)
        if x < 0 or x >= self._w or y < 0 or y >= self._h:
            return None
        p = self._get(y * self._w + x)
        if not rgbtuple:
            return p
        if self._bpp == 2:
            r5 = (p >> 3) & 31
            g6 = ((p & 7) << 3) | (p >> 13)
            b5 = (p >> 8) & 31
            return ((r5 * 510 + 31) // 62, (g6 * 510 + 63) // 126, (b5 * 510 + 31) // 62)
        return (p, p, p)

    def set_pixel(self, *args, **kw):
        (x, y), off = _k.consume(args, 0, 2)
        x, y = _k.get_int(x), _k.get_int(y)
        c = _color(self, _k.opt(args, off, kw, 'color', None))
        if 0 <= x < self._w and 0 <= y < self._h:
            self._put(y * self._w + x, c)
        return self

    def clear(self):
        self._px[:] = bytes(len(self._px))
        return self

    def to_bytes(self):
        return bytes(self._px)

    def copy(self, roi=None, copy_to_fb=False, **kw):
        _k.check_kw(kw, (), 'Image.copy')
        if copy_to_fb:
            _k.unsupported('Image.copy(copy_to_fb=True)')
        x, y, w, h = 0, 0, self._w, self._h
        if roi is not None:
            x, y, w, h = [_k.get_int(v) for v in roi]
            x0, y0 = max(x, 0), max(y, 0)
            x1, y1 = min(x + w, self._w), min(y + h, self._h)
            if x1 <= x0 or y1 <= y0:
                raise ValueError('Arg roi is not valid!')
            x, y, w, h = x0, y0, x1 - x0, y1 - y0
        return self.cut(x, y, w, h)

    def cut(self, x, y, w, h):
        x, y, w, h = _k.get_int(x), _k.get_int(y), _k.get_int(w), _k.get_int(h)
        if w <= 0 or h <= 0:
            raise ValueError('cut: width and height must be > 0')
        out = bytearray(w * h * self._bpp)
        _k.call('image_cut', _k.addr(self._px), self._w, self._h, self._bpp, _k.addr(out), x, y, w, h)
        return Image(_raw=(w, h, self._bpp, out, None))

    def resize(self, w, h):
        w, h = _k.get_int(w), _k.get_int(h)
        if w <= 0 or h <= 0:
            raise ValueError('resize: width and height must be > 0')
        out = bytearray(w * h * self._bpp)
        _k.call('image_resize', _k.addr(self._px), self._w, self._h, self._bpp, _k.addr(out), w, h)
        return Image(_raw=(w, h, self._bpp, out, None))

    def _ai_size(self):
        if self._bpp == 2:
            return ((self._w + 63) & ~63) * self._h * 3
        return self._w * self._h

    def pix_to_ai(self):
        if self._ai is None:
            self._ai = bytearray(self._ai_size())
        _k.call('image_pix_to_ai', _k.addr(self._px), self._w, self._h, self._bpp, _k.addr(self._ai), len(self._ai))
        return None

    def ai_to_pix(self):
        if self._ai is None:
            return None
        _k.call('image_ai_to_pix', _k.addr(self._px), self._w, self._h, self._bpp, _k.addr(self._ai), len(self._ai))
        return None

    def draw_rectangle(self, *args, **kw):
        (x, y, w, h), off = _k.consume(args, 0, 4)
        c = _color(self, _k.opt(args, off, kw, 'color', None))
        t = _k.get_int(_k.opt(args, off + 1, kw, 'thickness', 1))
        fill = bool(_k.opt(args, off + 2, kw, 'fill', False))
        _k.call('image_draw_rectangle', *(self._args() + (_k.get_int(x), _k.get_int(y), _k.get_int(w), _k.get_int(h), c, t, fill)))
        return self

    def draw_line(self, *args, **kw):
        (x0, y0, x1, y1), off = _k.consume(args, 0, 4)
        c = _color(self, _k.opt(args, off, kw, 'color', None))
        t = _k.get_int(_k.opt(args, off + 1, kw, 'thickness', 1))
        _k.call('image_draw_line', *(self._args() + (_k.get_int(x0), _k.get_int(y0), _k.get_int(x1), _k.get_int(y1), c, t)))
        return self

    def draw_circle(self, *args, **kw):
        (x, y, r), off = _k.consume(args, 0, 3)
        c = _color(self, _k.opt(args, off, kw, 'color', None))
        t = _k.get_int(_k.opt(args, off + 1, kw, 'thickness', 1))
        fill = bool(_k.opt(args, off + 2, kw, 'fill', False))
        _k.call('image_draw_circle', *(self._args() + (_k.get_int(x), _k.get_int(y), _k.get_int(r), c, t, fill)))
        return self

    def draw_cross(self, *args, **kw):
        (x, y), off = _k.consume(args, 0, 2)
        c = _color(self, _k.opt(args, off, kw, 'color', None))
        s = _k.get_int(_k.opt(args, off + 1, kw, 'size', 5))
        t = _k.get_int(_k.opt(args, off + 2, kw, 'thickness', 1))
        _k.call('image_draw_cross', *(self._args() + (_k.get_int(x), _k.get_int(y), c, s, t)))
        return self

    def draw_string(self, *args, **kw):
        (x, y, text), off = _k.consume(args, 0, 3)
        c = _color(self, _k.opt(args, off, kw, 'color', None))
        scale = _k.get_float(_k.opt(args, off + 1, kw, 'scale', 1.0))
        if not scale > 0:
            raise ValueError('Error: 0 < scale!')
        xs = _k.get_int(_k.opt(args, off + 2, kw, 'x_spacing', 0))
        ys = _k.get_int(_k.opt(args, off + 3, kw, 'y_spacing', 2))
        _k.call('image_draw_string', *(self._args() + (_k.get_int(x), _k.get_int(y), str(text), c, scale, xs, ys)))
        return self

    def draw_image(self, img, *args, **kw):
        (x, y), off = _k.consume(args, 0, 2)
        xs = _k.opt(args, off, kw, 'x_scale', 1.0)
        ys = _k.opt(args, off + 1, kw, 'y_scale', 1.0)
        alpha = _k.opt(args, off + 2, kw, 'alpha', 256)
        mask = _k.opt(args, off + 3, kw, 'mask', None)
        if xs != 1 or ys != 1 or alpha != 256 or mask is not None:
            _k.unsupported('Image.draw_image with x_scale, y_scale, alpha or mask')
        _k.call('image_draw_image', *(self._args() + img._args() + (_k.get_int(x), _k.get_int(y))))
        return self

    def save(self, path, roi=None, quality=50, **kw):
        if roi is not None:
            return self.copy(roi).save(path, quality=quality)
        p = path.lower()
        if p.endswith('.png'):
            fmt = 'png'
        elif p.endswith('.jpg') or p.endswith('.jpeg'):
            fmt = 'jpeg'
        else:
            _k.unsupported('Image.save to ' + path + ' (kpusim writes .png and .jpg)')
        n = _k.call('image_encode', *self._args(), fmt, _k.get_int(quality))
        data = _k.take(n)
        _k.warn('Image.save(%r) writes into the emulator\'s memory file system only (not to --sd)' % path)
        with open(path, 'wb') as f:
            f.write(data)
        return self


__getattr__ = _k.module_getattr('image', ${JSON.stringify(MODULE_MISSING)})


def get_affine_transform(src_list, dst_list):
    if not (type(src_list) is list and type(dst_list) is list):
        raise OSError('Need input [[x0,y0],[x1,y1],...]')
    if len(src_list) != len(dst_list):
        raise ValueError('src len must equal with dst len')
    if len(src_list) > 10:
        raise ValueError('must<=10 points')
    s = []
    d = []
    for i in range(len(src_list)):
        a = src_list[i]
        b = dst_list[i]
        if len(a) != 2 or len(b) != 2:
            raise ValueError('requested length 2 but object has length %d' % (len(a) if len(a) != 2 else len(b)))
        s.append(_k.get_int(a[0]))
        s.append(_k.get_int(a[1]))
        d.append(_k.get_int(b[0]))
        d.append(_k.get_int(b[1]))
    n = _k.call('image_affine', s, d)
    return _k.floats(_k.take(n))


def warp_affine_ai(src_img, dst_img, transform):
    if len(transform) != 9:
        raise ValueError('requested length 9 but object has length %d' % len(transform))
    t = [_k.get_float(v) for v in transform]
    if src_img._bpp != dst_img._bpp:
        raise ValueError('src_img->bpp != dst_img->bpp')
    if src_img._ai is None or dst_img._ai is None:
        raise ValueError('only support ai image affine')
    ch = 3 if src_img._bpp == 2 else 1
    _k.call('image_warp', _k.addr(src_img._ai), len(src_img._ai), src_img._w, src_img._h, ch,
            _k.addr(dst_img._ai), len(dst_img._ai), dst_img._w, dst_img._h, t)
    return None


def rgb_to_grayscale(rgb):
    r, g, b = [_k.get_int(v) & 0xFF for v in rgb]
    return (38 * r + 75 * g + 15 * b) >> 7


def grayscale_to_rgb(g):
    g = _k.get_int(g) & 0xFF
    return (g, g, g)
`;

export const imageModule: MaixpyModule = { file: 'image', python, backend };
