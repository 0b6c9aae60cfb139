/**
 * Drawing on MaixPy display images, in place, as OpenMV's imlib (draw.c) places the pixels:
 * Bresenham lines with a square brush `thickness` wide, circles as rings between the inner and
 * outer radius (midpoint steps), crosses as two lines. Rectangles come from the pipeline
 * (`drawRectangle`, the face flow depends on its exact pixels). Text uses kpusim's 5×7 font in
 * 8×10 cells scaled by `scale` (MaixPy's glyphs differ; text reaches display pixels only).
 * Everything is clipped to the image; `color` is the stored pixel value.
 */
import type { MaixImage } from '../pipeline/types.js';
import { CELL_HEIGHT, CELL_WIDTH, glyphRows } from './font.js';

export function setPixel(img: MaixImage, x: number, y: number, c: number): void {
  if (x >= 0 && x < img.width && y >= 0 && y < img.height)
    img.pixels[y * img.width + x] = img.kind === 'rgb565' ? c & 0xffff : c & 0xff;
}

function brush(img: MaixImage, cx: number, cy: number, r0: number, r1: number, c: number): void {
  for (let y = r0; y <= r1; y++)
    for (let x = r0; x <= r1; x++) if (x * x + y * y <= r0 * r0) setPixel(img, cx + x, cy + y, c);
}

export function drawLine(
  img: MaixImage,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  c: number,
  thickness = 1,
): void {
  if (thickness <= 0) return;
  const t0 = Math.trunc(thickness / 2),
    t1 = Math.trunc((thickness - 1) / 2);
  const dx = Math.abs(x1 - x0),
    sx = x0 < x1 ? 1 : -1;
  const dy = Math.abs(y1 - y0),
    sy = y0 < y1 ? 1 : -1;
  let err = Math.trunc((dx > dy ? dx : -dy) / 2);
  for (let guard = 0; guard <= dx + dy + 1; guard++) {
    brush(img, x0, y0, -t0, t1, c);
    if (x0 === x1 && y0 === y1) break;
    const e2 = err;
    if (e2 > -dx) {
      err -= dy;
      x0 += sx;
    }
    if (e2 < dy) {
      err += dx;
      y0 += sy;
    }
  }
}

function hLine(img: MaixImage, x1: number, x2: number, y: number, c: number): void {
  for (let x = x1; x <= x2; x++) setPixel(img, x, y, c);
}
function vLine(img: MaixImage, x: number, y1: number, y2: number, c: number): void {
  for (let y = y1; y <= y2; y++) setPixel(img, x, y, c);
}

export function drawCircle(
  img: MaixImage,
  cx: number,
  cy: number,
  r: number,
  c: number,
  thickness = 1,
  fill = false,
): void {
  if (fill) {
    brush(img, cx, cy, -r, r, c);
    return;
  }
  if (thickness <= 0) return;
  const t0 = Math.trunc(thickness / 2),
    t1 = Math.trunc((thickness - 1) / 2);
  let xo = r + t0;
  let xi = Math.max(r - t1, 0);
  const xiStart = xi;
  let y = 0;
  let erro = 1 - xo;
  let erri = 1 - xi;
  while (xo >= y) {
    hLine(img, cx + xi, cx + xo, cy + y, c);
    vLine(img, cx + y, cy + xi, cy + xo, c);
    hLine(img, cx - xo, cx - xi, cy + y, c);
    vLine(img, cx - y, cy + xi, cy + xo, c);
    hLine(img, cx - xo, cx - xi, cy - y, c);
    vLine(img, cx - y, cy - xo, cy - xi, c);
    hLine(img, cx + xi, cx + xo, cy - y, c);
    vLine(img, cx + y, cy - xo, cy - xi, c);
    y++;
    if (erro < 0) erro += 2 * y + 1;
    else {
      xo--;
      erro += 2 * (y - xo + 1);
    }
    if (y > xiStart) xi = y;
    else if (erri < 0) erri += 2 * y + 1;
    else {
      xi--;
      erri += 2 * (y - xi + 1);
    }
  }
}

export function drawCross(img: MaixImage, x: number, y: number, c: number, size = 5, thickness = 1): void {
  drawLine(img, x - size, y, x + size, y, c, thickness);
  drawLine(img, x, y - size, x, y + size, c, thickness);
}

/**
 * Text: each character an 8×10 cell (glyph at (1, 1)) scaled by `scale`; `\n` starts a new line. Returns the pixels
 * written.
 */
export function drawString(
  img: MaixImage,
  x: number,
  y: number,
  text: string,
  c: number,
  scale = 1,
  xSpacing = 0,
  ySpacing = 2,
): number {
  const s = scale > 0 ? scale : 1;
  const cw = Math.max(1, Math.round(CELL_WIDTH * s)),
    ch = Math.max(1, Math.round(CELL_HEIGHT * s));
  let px = x,
    py = y,
    written = 0;
  for (const character of text) {
    if (character === '\n') {
      px = x;
      py += ch + ySpacing;
      continue;
    }
    if (character === '\r') continue;
    const rows = glyphRows(character);
    for (let yy = 0; yy < ch; yy++) {
      const gy = Math.floor(yy / s) - 1;
      if (gy < 0 || gy >= rows.length) continue;
      for (let xx = 0; xx < cw; xx++) {
        const gx = Math.floor(xx / s) - 1;
        if (gx < 0 || gx >= 5) continue;
        if (rows[gy] & (1 << (4 - gx))) {
          setPixel(img, px + xx, py + yy, c);
          written++;
        }
      }
    }
    px += cw + xSpacing;
  }
  return written;
}
