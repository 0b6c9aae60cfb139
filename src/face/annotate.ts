/**
 * The `--out` pictures: the original image with each face's box, its five points and a label
 * (name and similarity when recognised, else the detector score). Colours: green = recognised,
 * yellow = processed but nobody matched (or no store), grey = detected but not processed by the
 * preset's flow (MaixPy processes only the first face), red for the landmark points.
 */
import type { Rgb } from '../pipeline/draw.js';
import { drawBox, drawDot } from '../pipeline/draw.js';
import type { RgbImage } from '../pipeline/types.js';
import { drawText, fillRect, GLYPH_HEIGHT, textWidth } from './font.js';
import type { FaceReport } from './session.js';

const GREEN: Rgb = [0, 220, 0];
const YELLOW: Rgb = [255, 220, 0];
const GREY: Rgb = [160, 160, 160];
const RED: Rgb = [255, 40, 40];
const BLACK: Rgb = [0, 0, 0];

export function faceLabel(f: FaceReport): string {
  if (f.name !== null) return f.similarity !== null ? `${f.name} ${f.similarity.toFixed(1)}` : f.name;
  if (f.similarity !== null) return `? ${f.similarity.toFixed(1)}`;
  return f.score.toFixed(2);
}

/** A copy of `img` with the faces drawn on it. */
export function annotate(img: RgbImage, faces: readonly FaceReport[]): RgbImage {
  const out: RgbImage = { width: img.width, height: img.height, data: img.data.slice() };
  const side = Math.min(img.width, img.height);
  const thick = Math.max(1, Math.round(side / 250));
  const scale = Math.max(1, Math.round(side / 300));
  const dot = Math.max(1, Math.round(side / 160));
  for (const f of faces) {
    const [x, y, w, h] = f.box;
    const color = !f.processed ? GREY : f.name !== null ? GREEN : YELLOW;
    drawBox(out, x, y, w, h, color, thick);
    for (const [px, py] of f.landmarks ?? []) drawDot(out, px, py, dot, RED);
    const label = faceLabel(f);
    const tw = textWidth(label, scale) + 2 * scale,
      th = (GLYPH_HEIGHT + 2) * scale;
    // Above the box if there is room, else inside its top edge.
    const ly = y - th >= 0 ? y - th : y;
    fillRect(out, x, ly, tw, th, BLACK);
    drawText(out, x + scale, ly + scale, label, color, scale);
  }
  return out;
}
