/**
 * `lcd`: a 320×240 panel (240×320 after `rotation(1|3)` or `direction` with swapped axes).
 * `lcd.display(img)` draws the image as MaixPy does (centred with black bars when smaller, cut
 * centred when larger, or at `oft` without touching the rest; `roi` selects a part) and writes
 * the panel as a PNG to `--lcd-out` (`lcd-0001.png`, …). `draw_string`, `fill_rectangle` and
 * `clear` change the panel; their result appears in the next PNG. Colours of the lcd functions
 * are ordinary RGB565 values (`lcd.RED` = 0xF800); image pixels go through MaixPy's tables.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writePngFile } from '../../pipeline/image-io.js';
import { G628, RB528, rgb565ToRgb, grayToRgb } from '../../pipeline/rgb565.js';
import type { GrayImage, RgbImage } from '../../pipeline/types.js';
import { int, str, type BoardContext } from '../context.js';
import { CELL_HEIGHT, CELL_WIDTH, glyphRows } from '../font.js';
import { LCD_BYTES_PER_MS } from '../timing.js';
import { imageView } from './image.js';
import type { MaixpyModule } from './types.js';

interface Panel {
  width: number;
  height: number;
  rgb: Uint8Array;
  dirty: boolean;
}

function panel(ctx: BoardContext): Panel {
  return ctx.get('lcd.panel', () => ({ width: 320, height: 240, rgb: new Uint8Array(320 * 240 * 3), dirty: false }));
}

/** An ordinary RGB565 value (lcd colours) to RGB888 through MaixPy's expansion tables. */
function lcdColor(c: number): [number, number, number] {
  const v = c & 0xffff;
  return [RB528[(v >> 11) & 31], G628[(v >> 5) & 63], RB528[v & 31]];
}

function fill(p: Panel, x: number, y: number, w: number, h: number, c: [number, number, number]): void {
  for (let yy = Math.max(0, y); yy < Math.min(p.height, y + h); yy++)
    for (let xx = Math.max(0, x); xx < Math.min(p.width, x + w); xx++) p.rgb.set(c, 3 * (yy * p.width + xx));
  p.dirty = true;
}

function writePanel(ctx: BoardContext, p: Panel): void {
  ctx.displays++;
  p.dirty = false;
  if (!ctx.lcdOut) return;
  mkdirSync(ctx.lcdOut, { recursive: true });
  const img: RgbImage = { width: p.width, height: p.height, data: p.rgb };
  writePngFile(join(ctx.lcdOut, `lcd-${String(ctx.displays).padStart(4, '0')}.png`), img);
}

const backend = {
  lcd_init(ctx: BoardContext, color: unknown): void {
    const p = panel(ctx);
    fill(p, 0, 0, p.width, p.height, lcdColor(int(color, 'color')));
    p.dirty = false;
  },

  lcd_size(ctx: BoardContext, w: unknown, h: unknown): void {
    const p = panel(ctx);
    const W = int(w, 'width'),
      H = int(h, 'height');
    if (W === p.width && H === p.height) return;
    p.width = W;
    p.height = H;
    p.rgb = new Uint8Array(W * H * 3);
  },

  lcd_display(
    ctx: BoardContext,
    a: unknown,
    w: unknown,
    h: unknown,
    bpp: unknown,
    rx: unknown,
    ry: unknown,
    rw: unknown,
    rh: unknown,
    ox: unknown,
    oy: unknown,
  ): void {
    const img = imageView(ctx, a, w, h, bpp);
    const p = panel(ctx);
    let [X, Y, W, H] = [int(rx, 'roi x'), int(ry, 'roi y'), int(rw, 'roi w'), int(rh, 'roi h')];
    const oftGiven = int(ox, 'oft x') >= 0 && int(oy, 'oft y') >= 0;
    let left = 0,
      top = 0;
    if (!oftGiven) {
      if (W > p.width) {
        X += Math.trunc((W - p.width) / 2);
        W = p.width;
      } else left = Math.trunc((p.width - W) / 2);
      if (H > p.height) {
        Y += Math.trunc((H - p.height) / 2);
        H = p.height;
      } else top = Math.trunc((p.height - H) / 2);
      p.rgb.fill(0);
    } else {
      left = int(ox, 'oft x');
      top = int(oy, 'oft y');
    }
    const rgb = img.kind === 'rgb565' ? rgb565ToRgb(img) : grayToRgb(img as GrayImage);
    for (let yy = 0; yy < H; yy++) {
      const sy = Y + yy,
        ty = top + yy;
      if (sy < 0 || sy >= img.height || ty < 0 || ty >= p.height) continue;
      for (let xx = 0; xx < W; xx++) {
        const sx = X + xx,
          tx = left + xx;
        if (sx < 0 || sx >= img.width || tx < 0 || tx >= p.width) continue;
        const s = 3 * (sy * img.width + sx);
        p.rgb.set(rgb.data.subarray(s, s + 3), 3 * (ty * p.width + tx));
      }
    }
    ctx.clock.advance((2 * p.width * p.height) / LCD_BYTES_PER_MS, 'lcd');
    writePanel(ctx, p);
  },

  lcd_fill(ctx: BoardContext, x: unknown, y: unknown, w: unknown, h: unknown, color: unknown): void {
    fill(panel(ctx), int(x, 'x'), int(y, 'y'), int(w, 'w'), int(h, 'h'), lcdColor(int(color, 'color')));
  },

  lcd_draw_string(ctx: BoardContext, x: unknown, y: unknown, text: unknown, fg: unknown, bg: unknown): void {
    const p = panel(ctx);
    const f = lcdColor(int(fg, 'color')),
      b = lcdColor(int(bg, 'bg_color'));
    let px = int(x, 'x');
    const py = int(y, 'y');
    for (const ch of str(text, 'text')) {
      const rows = glyphRows(ch);
      for (let yy = 0; yy < CELL_HEIGHT; yy++)
        for (let xx = 0; xx < CELL_WIDTH; xx++) {
          const gy = yy - 1,
            gx = xx - 1;
          const ink = gy >= 0 && gy < 7 && gx >= 0 && gx < 5 && (rows[gy] & (1 << (4 - gx))) !== 0;
          const tx = px + xx,
            ty = py + yy;
          if (tx >= 0 && tx < p.width && ty >= 0 && ty < p.height) p.rgb.set(ink ? f : b, 3 * (ty * p.width + tx));
        }
      px += CELL_WIDTH;
    }
    p.dirty = true;
  },

  /** Write the panel if it changed since the last PNG (called when the run ends). */
  lcd_flush(ctx: BoardContext): void {
    const p = ctx.state.get('lcd.panel') as Panel | undefined;
    if (p?.dirty) writePanel(ctx, p);
  },
};

const python = String.raw`
import _kpusim as _k

BLACK = 0x0000
NAVY = 0x000F
DARKGREEN = 0x03E0
DARKCYAN = 0x03EF
MAROON = 0x7800
PURPLE = 0x780F
OLIVE = 0x7BE0
LIGHTGREY = 0xC618
DARKGREY = 0x7BEF
BLUE = 0x001F
GREEN = 0x07E0
CYAN = 0x07FF
RED = 0xF800
MAGENTA = 0xF81F
YELLOW = 0xFFE0
WHITE = 0xFFFF
ORANGE = 0xFD20
GREENYELLOW = 0xAFE5
PINK = 0xF81F
XY_RLUD = 0x00
YX_RLUD = 0x20
XY_LRUD = 0x40
YX_LRUD = 0x60
XY_RLDU = 0x80
YX_RLDU = 0xA0
XY_LRDU = 0xC0
YX_LRDU = 0xE0

_st = {'w': 320, 'h': 240, 'rot': 0, 'init': False, 'backlight': 100, 'freq': 15000000, 'invert': False, 'mirror': False}

__getattr__ = _k.module_getattr('lcd', ('register', 'bgr_to_rgb'))


def _color(c):
    if isinstance(c, (tuple, list)):
        r, g, b = [_k.get_int(v) & 0xFF for v in c]
        return ((r * 62 + 255) // 510 << 11) | ((g * 126 + 255) // 510 << 5) | ((b * 62 + 255) // 510)
    return _k.get_int(c) & 0xFFFF


def init(type=1, freq=15000000, color=BLACK, invert=0, lcd_type=0, **kw):
    _st['init'] = True
    _st['freq'] = _k.get_int(freq)
    _k.call('lcd_size', _st['w'], _st['h'])
    _k.call('lcd_init', _color(color))
    return None


def deinit():
    _st['init'] = False
    return None


def width():
    return _st['w']


def height():
    return _st['h']


def freq(f=None):
    if f is not None:
        _st['freq'] = _k.get_int(f)
    return _st['freq']


def set_backlight(v):
    _st['backlight'] = _k.get_int(v)
    return None


def get_backlight():
    return _st['backlight']


def rotation(r=None):
    if r is None:
        return _st['rot']
    r = _k.get_int(r) & 3
    if (r & 1) != (_st['rot'] & 1):
        _st['w'], _st['h'] = _st['h'], _st['w']
        _k.call('lcd_size', _st['w'], _st['h'])
    _st['rot'] = r
    return r


def mirror(m=None):
    if m is None:
        return _st['mirror']
    _st['mirror'] = bool(m)
    return _st['mirror']


def invert(i=None):
    if i is None:
        return _st['invert']
    _st['invert'] = bool(i)
    return _st['invert']


def direction(d):
    d = _k.get_int(d)
    if d & 0x20:
        if _st['w'] < _st['h']:
            _st['w'], _st['h'] = _st['h'], _st['w']
    else:
        if _st['w'] > _st['h']:
            _st['w'], _st['h'] = _st['h'], _st['w']
    _k.call('lcd_size', _st['w'], _st['h'])
    return None


def display(img, roi=None, oft=None, **kw):
    import image
    if not isinstance(img, image.Image):
        raise TypeError("can't convert %s to Image" % type(img).__name__)
    if roi is None:
        x, y, w, h = 0, 0, img._w, img._h
    else:
        x, y, w, h = [_k.get_int(v) for v in roi]
    ox, oy = (-1, -1) if oft is None else (_k.get_int(oft[0]), _k.get_int(oft[1]))
    _k.call('lcd_display', _k.addr(img._px), img._w, img._h, img._bpp, x, y, w, h, ox, oy)
    return None


def clear(color=BLACK):
    _k.call('lcd_fill', 0, 0, _st['w'], _st['h'], _color(color))
    return None


def fill_rectangle(x, y, w, h, color):
    _k.call('lcd_fill', _k.get_int(x), _k.get_int(y), _k.get_int(w), _k.get_int(h), _color(color))
    return None


def draw_string(x, y, s, color=WHITE, bg_color=BLACK):
    _k.call('lcd_draw_string', _k.get_int(x), _k.get_int(y), str(s), _color(color), _color(bg_color))
    return None
`;

export const lcdModule: MaixpyModule = { file: 'lcd', python, backend };
