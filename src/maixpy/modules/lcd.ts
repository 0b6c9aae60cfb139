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
import { PYTHON_SOURCES as PY } from '../python/sources.generated.js';
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

export const lcdModule: MaixpyModule = { file: 'lcd', python: PY.lcd, backend };
