/**
 * Two compilations of one network (another nncase version, another calibration set, v3 against
 * v4) on the same input: per-output agreement, and for YOLOv2-style detectors the decoded boxes
 * side by side, paired by class and overlap.
 */
import { boxIou, decodeRegionLayer, type RegionDetection, type RegionLayerParams } from '../pipeline/region.js';
import { centredCosine, cosine, maxAbsDiff, snrDb } from './metrics.js';

export interface AgainstOutput {
  readonly index: number;
  readonly cosine: number;
  readonly centred_cosine: number;
  /** B measured against A. */
  readonly snr_db: number | null;
  readonly max_abs: number;
}

/** Output k of A against output k of B (real values; the element counts must agree). */
export function compareOutputsAgainst(a: readonly Float64Array[], b: readonly Float64Array[]): AgainstOutput[] {
  const n = Math.min(a.length, b.length);
  const out: AgainstOutput[] = [];
  for (let k = 0; k < n; k++) {
    if (a[k].length !== b[k].length)
      throw new RangeError(
        `output ${k} has ${a[k].length} elements in the first model and ${b[k].length} in the second`,
      );
    out.push({
      index: k,
      cosine: cosine(a[k], b[k]),
      centred_cosine: centredCosine(a[k], b[k]),
      snr_db: snrDb(a[k], b[k]),
      max_abs: maxAbsDiff(a[k], b[k]),
    });
  }
  return out;
}

export interface BoxRow {
  readonly classId: number;
  readonly a?: BoxSide;
  readonly b?: BoxSide;
  /** IoU of the pair (0 when one side is missing). */
  readonly iou: number;
}

export interface BoxSide {
  readonly score: number;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

const side = (d: RegionDetection): BoxSide => ({ score: d.score, x: d.x1, y: d.y1, w: d.x2 - d.x1, h: d.y2 - d.y1 });

/** Decodes a (C, H, W) detector output of each model and pairs the boxes greedily by class and IoU. */
export function boxesSideBySide(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  grid: { readonly channels: number; readonly height: number; readonly width: number },
  params: RegionLayerParams,
): BoxRow[] {
  const da = decodeRegionLayer({ data: a, ...grid }, params);
  const db = decodeRegionLayer({ data: b, ...grid }, params);
  const used = new Set<number>();
  const rows: BoxRow[] = [];
  for (const x of da) {
    let best = -1;
    let bestIou = 0;
    db.forEach((y, j) => {
      if (used.has(j) || y.classId !== x.classId) return;
      const iou = boxIou(x.box, y.box);
      if (iou > bestIou) {
        bestIou = iou;
        best = j;
      }
    });
    if (best >= 0) {
      used.add(best);
      rows.push({ classId: x.classId, a: side(x), b: side(db[best]), iou: bestIou });
    } else rows.push({ classId: x.classId, a: side(x), iou: 0 });
  }
  db.forEach((y, j) => {
    if (!used.has(j)) rows.push({ classId: y.classId, b: side(y), iou: 0 });
  });
  return rows;
}

export function renderBoxes(rows: readonly BoxRow[], names: readonly [string, string]): string {
  if (!rows.length) return '  no boxes above the threshold in either model\n';
  const cell = (s?: BoxSide) => (s ? `${s.score.toFixed(3)} [${s.x}, ${s.y}, ${s.w}×${s.h}]` : '—');
  const w = Math.max(
    names[0].length,
    names[1].length,
    ...rows.map((r) => Math.max(cell(r.a).length, cell(r.b).length)),
  );
  let t = `  class  ${names[0].padEnd(w)}  ${names[1].padEnd(w)}  IoU\n`;
  for (const r of rows)
    t += `  ${String(r.classId).padStart(5)}  ${cell(r.a).padEnd(w)}  ${cell(r.b).padEnd(w)}  ${r.a && r.b ? r.iou.toFixed(3) : ''}\n`;
  return t;
}
