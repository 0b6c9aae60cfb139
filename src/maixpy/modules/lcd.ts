/**
 * `lcd`: the panel is a framebuffer that keeps what is drawn on it, addressed as the firmware
 * addresses its ST7789: the panel's own 240 columns × 320 rows, written through the controller's
 * address mode (MADCTL: MY 0x80, MX 0x40, MV 0x20 exchanging rows and columns). `rotation(r)`
 * only changes that mode (0: 0xA0, 1: 0x00, 2: 0x60, 3: 0xC0, MaixPy's `get_dir_by_rotation`;
 * `mirror(True)` picks the mirrored set), so pixels stay where they are and old content reads
 * rotated in the new orientation. `direction(d)` sets the mode as given and, as in the firmware,
 * leaves `width()`/`height()` unchanged. See docs/maixpy-api.md.
 *
 * `lcd.display(img)` draws the image as MaixPy does (centred with black bars when smaller, cut
 * centred when larger, or at `oft` without touching the rest; `roi` selects a part);
 * `draw_string`, `fill_rectangle` and `clear` draw on the panel. A PNG of the panel (in the
 * current orientation, `--lcd-out/lcd-0001.png`, …) is written when a frame is complete: when the
 * script waits (a snapshot, a sleep) or the run ends with the panel changed, and before a new
 * `display` or `clear` replaces a panel that shows more than a fresh clear. So text drawn after
 * `display` appears in that frame's PNG. Colours of the lcd functions are ordinary RGB565 values
 * (`lcd.RED` = 0xF800); image pixels go through MaixPy's tables.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writePngFile } from '../../pipeline/image-io.js';
import { G628, RB528, rgb565RgbTable } from '../../pipeline/rgb565.js';
import type { MaixImage, RgbImage } from '../../pipeline/types.js';
import { int, PyError, StopRun, str, type BoardContext } from '../context.js';
import { CELL_HEIGHT, CELL_WIDTH, glyphRows } from '../font.js';
import { LCD_BYTES_PER_MS } from '../timing.js';
import { imageView } from './image-view.js';
import { PYTHON_SOURCES as PY } from '../python/sources.generated.js';
import type { MaixpyModule } from './types.js';

/** The panel's own geometry (ST7789, 240 columns × 320 rows). */
const COLS = 240;
const ROWS = 320;
/** Whether an image was displayed before in this process (see lcd_display). */
let displayed = false;

/** MADCTL after lcd.init (rotation 0: DIR_YX_RLDU). */
export const LCD_DIR_DEFAULT = 0xa0;

interface Panel {
  /** MADCTL address mode. */
  dir: number;
  /** The panel's pixels, RGB888, COLS × ROWS. */
  readonly rgb: Uint8Array;
  /** Changed since the last PNG. */
  dirty: boolean;
  /** Nothing but a clear since the last PNG. */
  blankOnly: boolean;
}

function panel(ctx: BoardContext): Panel {
  return ctx.get('lcd.panel', () => {
    const p: Panel = { dir: LCD_DIR_DEFAULT, rgb: new Uint8Array(COLS * ROWS * 3), dirty: false, blankOnly: true };
    ctx.onFrameBoundary(() => {
      if (p.dirty) writePanel(ctx, p);
    });
    return p;
  });
}

/** The logical size the address mode gives (MV exchanges rows and columns). */
export function lcdLogicalSize(dir: number): [number, number] {
  return dir & 0x20 ? [ROWS, COLS] : [COLS, ROWS];
}

/** Byte offset in the panel of logical pixel (x, y) under address mode `dir`, or −1 off the panel. */
export function lcdPixelOffset(dir: number, x: number, y: number): number {
  let c = x,
    r = y;
  if (dir & 0x20) {
    c = y;
    r = x;
  }
  if (c < 0 || c >= COLS || r < 0 || r >= ROWS) return -1;
  if (dir & 0x40) c = COLS - 1 - c;
  if (dir & 0x80) r = ROWS - 1 - r;
  return 3 * (r * COLS + c);
}

/** An ordinary RGB565 value (lcd colours) to RGB888 through MaixPy's expansion tables. */
function lcdColor(c: number): [number, number, number] {
  const v = c & 0xffff;
  return [RB528[(v >> 11) & 31], G628[(v >> 5) & 63], RB528[v & 31]];
}

function put(p: Panel, x: number, y: number, c: ArrayLike<number>): void {
  const o = lcdPixelOffset(p.dir, x, y);
  if (o >= 0) {
    p.rgb[o] = c[0];
    p.rgb[o + 1] = c[1];
    p.rgb[o + 2] = c[2];
  }
}

/**
 * How far one step in x moves on the panel (bytes) along a logical row: the address mode maps a row
 * to a panel line (±3) or, rows and columns exchanged (MV), to a panel column (±3·COLS). With
 * `lcdPixelOffset` of the row's first pixel this gives the offsets a row at a time.
 */
function rowStep(dir: number): number {
  if (dir & 0x20) return dir & 0x80 ? -3 * COLS : 3 * COLS;
  return dir & 0x40 ? -3 : 3;
}

/** Fills logical x..x+w−1 × y..y+h−1 (clipped to the logical size) of `rgb` under address mode `dir` with `c`. */
export function fillPanel(
  rgb: Uint8Array,
  dir: number,
  x: number,
  y: number,
  w: number,
  h: number,
  c: readonly [number, number, number],
): void {
  const [W, H] = lcdLogicalSize(dir);
  const x0 = Math.max(0, x),
    x1 = Math.min(W, x + w);
  if (x0 >= x1) return;
  const step = rowStep(dir);
  const [c0, c1, c2] = c;
  for (let yy = Math.max(0, y), y1 = Math.min(H, y + h); yy < y1; yy++)
    for (let xx = x0, o = lcdPixelOffset(dir, x0, yy); xx < x1; xx++, o += step) {
      rgb[o] = c0;
      rgb[o + 1] = c1;
      rgb[o + 2] = c2;
    }
}

/**
 * `lcd.display`'s drawing, in one pass from the image's pixels: what a copy of the image made
 * RGB888 (`rgb565ToRgb`, `grayToRgb`) writes, after (with `clear`) a black fill of logical
 * 0..PW−1 × 0..PH−1. Only the part of that fill the copy does not cover is written, as the copy
 * overwrites the rest. `table` (`rgb565RgbTable`) converts a pixel with one look-up instead of three.
 */
export function displayOnPanel(
  rgb: Uint8Array,
  dir: number,
  img: MaixImage,
  X: number,
  Y: number,
  W: number,
  H: number,
  left: number,
  top: number,
  PW: number,
  PH: number,
  clear: boolean,
  table?: Uint32Array,
): void {
  const [LW, LH] = lcdLogicalSize(dir);
  const tw = Math.min(PW, LW),
    th = Math.min(PH, LH);
  // the copy covers logical x0..x1−1 × y0..y1−1 (image columns X + xa.., rows Y + ya..)
  const xa = Math.max(0, -X, -left),
    xb = Math.min(W, img.width - X, tw - left);
  const ya = Math.max(0, -Y, -top),
    yb = Math.min(H, img.height - Y, th - top);
  const covered = xa < xb && ya < yb;
  if (clear) {
    const black: [number, number, number] = [0, 0, 0];
    if (!covered) fillPanel(rgb, dir, 0, 0, PW, PH, black);
    else {
      const x0 = left + xa,
        x1 = left + xb,
        y0 = top + ya,
        y1 = top + yb;
      fillPanel(rgb, dir, 0, 0, PW, y0, black);
      fillPanel(rgb, dir, 0, y1, PW, PH - y1, black);
      fillPanel(rgb, dir, 0, y0, x0, y1 - y0, black);
      fillPanel(rgb, dir, x1, y0, PW - x1, y1 - y0, black);
    }
  }
  if (!covered) return;
  const step = rowStep(dir);
  const iw = img.width,
    n = xb - xa;
  // a row at a time, each kind in a small function of its own: V8 optimises those after a few rows,
  // where the loops inlined here waited for on-stack replacement (the first display ran about twice
  // as long)
  for (let yy = ya; yy < yb; yy++) {
    const o = lcdPixelOffset(dir, left + xa, top + yy);
    const s0 = (Y + yy) * iw + X + xa;
    if (img.kind === 'grayscale') grayRow(rgb, o, step, img.pixels, s0, n);
    else if (table) tableRow(rgb, o, step, img.pixels, s0, n, table);
    else rgb565Row(rgb, o, step, img.pixels, s0, n);
  }
}

/** `n` grey pixels of `px` from `s0` to the panel from offset `o`, `step` bytes apart. */
function grayRow(rgb: Uint8Array, o: number, step: number, px: Uint8Array, s0: number, n: number): void {
  for (let s = s0, e = s0 + n; s < e; s++, o += step) rgb[o] = rgb[o + 1] = rgb[o + 2] = px[s];
}

/** `n` RGB565 pixels through `table` (`rgb565RgbTable`), as `grayRow` places them. */
function tableRow(
  rgb: Uint8Array,
  o: number,
  step: number,
  px: Uint16Array,
  s0: number,
  n: number,
  table: Uint32Array,
): void {
  for (let s = s0, e = s0 + n; s < e; s++, o += step) {
    const v = table[px[s]];
    rgb[o] = v;
    rgb[o + 1] = v >> 8;
    rgb[o + 2] = v >> 16;
  }
}

/** `n` RGB565 pixels, as the image stores them, through MaixPy's expansion tables; placed as `grayRow` places them. */
function rgb565Row(rgb: Uint8Array, o: number, step: number, px: Uint16Array, s0: number, n: number): void {
  for (let s = s0, e = s0 + n; s < e; s++, o += step) {
    const p = px[s];
    rgb[o] = RB528[(p >> 3) & 31];
    rgb[o + 1] = G628[((p & 7) << 3) | (p >> 13)];
    rgb[o + 2] = RB528[(p >> 8) & 31];
  }
}

function fill(p: Panel, x: number, y: number, w: number, h: number, c: [number, number, number]): void {
  fillPanel(p.rgb, p.dir, x, y, w, h, c);
  p.dirty = true;
}

/** Before a whole-panel redraw: the frame on the panel is complete unless it is only a fresh clear. */
function completeFrame(ctx: BoardContext, p: Panel): void {
  if (p.dirty && !p.blankOnly) writePanel(ctx, p);
}

/** The panel as the logical image its address mode shows: logical (x, y) from `lcdPixelOffset`, a row at a time. */
export function panelImage(rgb: Uint8Array, dir: number): RgbImage {
  const [W, H] = lcdLogicalSize(dir);
  const data = new Uint8Array(W * H * 3);
  const step = rowStep(dir);
  for (let y = 0, d = 0; y < H; y++)
    for (let x = 0, o = lcdPixelOffset(dir, 0, y); x < W; x++, o += step, d += 3) {
      data[d] = rgb[o];
      data[d + 1] = rgb[o + 1];
      data[d + 2] = rgb[o + 2];
    }
  return { width: W, height: H, data };
}

/** Every pixel of the panel `c`, whatever the address mode. */
export function fillWholePanel(rgb: Uint8Array, c: readonly [number, number, number]): void {
  if (c[0] === c[1] && c[1] === c[2]) return void rgb.fill(c[0]);
  rgb.set(c);
  // the pattern doubles: bytes 0..n−1 (whole pixels) copied to n..2n−1
  for (let n = 3; n < rgb.length; n *= 2) rgb.copyWithin(n, 0, Math.min(n, rgb.length - n));
}

function writePanel(ctx: BoardContext, p: Panel): void {
  ctx.displays++;
  p.dirty = false;
  p.blankOnly = false;
  if (!ctx.lcdOut && !ctx.lcdFrame) return stopAtLcdLimit(ctx);
  const img = panelImage(p.rgb, p.dir);
  ctx.lcdFrame?.(img);
  if (ctx.lcdOut) {
    mkdirSync(ctx.lcdOut, { recursive: true });
    writePngFile(join(ctx.lcdOut, `lcd-${String(ctx.displays).padStart(4, '0')}.png`), img);
  }
  stopAtLcdLimit(ctx);
}

function stopAtLcdLimit(ctx: BoardContext): void {
  if (ctx.maxLcdFrames !== undefined && ctx.displays >= ctx.maxLcdFrames)
    throw new StopRun('lcd-frames-limit', `--max-lcd-frames ${ctx.maxLcdFrames} reached`);
}

const backend = {
  /** lcd.init: the address mode of rotation 0, the whole panel filled with `color`. */
  lcd_init(ctx: BoardContext, color: unknown): void {
    const p = panel(ctx);
    p.dir = LCD_DIR_DEFAULT;
    fillWholePanel(p.rgb, lcdColor(int(color, 'color')));
    // the power-on colour is not a frame of its own: it shows in the first PNG only if nothing covers it
    p.dirty = false;
    p.blankOnly = true;
  },

  /** The controller's address mode (MADCTL); the pixels stay. */
  lcd_set_dir(ctx: BoardContext, dir: unknown): void {
    const d = int(dir, 'dir');
    if (d < 0 || d > 0xff) throw new PyError('ValueError', `lcd direction ${d} is not a MADCTL value (0..0xFF)`);
    panel(ctx).dir = d & 0xe0;
  },

  /** `lw`, `lh`: lcd.width()/height() as the firmware keeps them (centring uses these). */
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
    lw: unknown,
    lh: unknown,
  ): void {
    const img = imageView(ctx, a, w, h, bpp);
    const p = panel(ctx);
    completeFrame(ctx, p);
    const PW = int(lw, 'lcd width'),
      PH = int(lh, 'lcd height');
    let [X, Y, W, H] = [int(rx, 'roi x'), int(ry, 'roi y'), int(rw, 'roi w'), int(rh, 'roi h')];
    const oftGiven = int(ox, 'oft x') >= 0 && int(oy, 'oft y') >= 0;
    let left = 0,
      top = 0;
    if (!oftGiven) {
      if (W > PW) {
        X += Math.trunc((W - PW) / 2);
        W = PW;
      } else left = Math.trunc((PW - W) / 2);
      if (H > PH) {
        Y += Math.trunc((H - PH) / 2);
        H = PH;
      } else top = Math.trunc((PH - H) / 2);
    } else {
      left = int(ox, 'oft x');
      top = int(oy, 'oft y');
    }
    // the process's first display converts directly (the look-up table costs more to make than it saves on one frame)
    displayOnPanel(
      p.rgb,
      p.dir,
      img,
      X,
      Y,
      W,
      H,
      left,
      top,
      PW,
      PH,
      !oftGiven,
      displayed ? rgb565RgbTable() : undefined,
    );
    displayed = true;
    p.dirty = true;
    p.blankOnly = false;
    ctx.clock.advance((2 * PW * PH) / LCD_BYTES_PER_MS, 'lcd');
  },

  /** lcd.clear: a whole-panel redraw in one colour. */
  lcd_clear(ctx: BoardContext, color: unknown): void {
    const p = panel(ctx);
    completeFrame(ctx, p);
    const [W, H] = lcdLogicalSize(p.dir);
    fill(p, 0, 0, W, H, lcdColor(int(color, 'color')));
    p.blankOnly = true;
  },

  lcd_fill(ctx: BoardContext, x: unknown, y: unknown, w: unknown, h: unknown, color: unknown): void {
    const p = panel(ctx);
    fill(p, int(x, 'x'), int(y, 'y'), int(w, 'w'), int(h, 'h'), lcdColor(int(color, 'color')));
    p.blankOnly = false;
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
          put(p, px + xx, py + yy, ink ? f : b);
        }
      px += CELL_WIDTH;
    }
    p.dirty = true;
    p.blankOnly = false;
  },

  /** Write the panel if it changed since the last PNG (called when the run ends). */
  lcd_flush(ctx: BoardContext): void {
    const p = ctx.state.get('lcd.panel') as Panel | undefined;
    if (p?.dirty) writePanel(ctx, p);
  },
};

export const lcdModule: MaixpyModule = { file: 'lcd', python: PY.lcd, backend };
