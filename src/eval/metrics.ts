/**
 * Task metrics for `kpusim eval`: top-k accuracy for classifiers; precision, recall and average
 * precision at an IoU threshold for detectors (Pascal VOC's rules: detections of one class over
 * all images in descending score order, each matched to the unmatched ground-truth box of its
 * class with the highest IoU ≥ the threshold, otherwise a false positive; AP is the area under
 * the precision/recall curve with precision made monotone, all points — VOC 2010 onwards).
 */

/** Corners in source-image pixels, x0 < x1, y0 < y1 (continuous coordinates). */
export type Box = readonly [x0: number, y0: number, x1: number, y1: number];

export interface Detection {
  readonly box: Box;
  readonly label: number;
  readonly score: number;
}

export interface GroundTruth {
  readonly box: Box;
  readonly label: number;
}

export function iou(a: Box, b: Box): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

export interface ImageMatch {
  readonly tp: number;
  readonly fp: number;
  readonly fn: number;
  /** Per detection (input order): the ground-truth index it matched, or −1. */
  readonly matched: readonly number[];
}

export interface ClassAp {
  readonly label: number;
  readonly ground_truths: number;
  readonly detections: number;
  readonly ap: number;
}

export interface DetectionMetrics {
  readonly iou_threshold: number;
  readonly images: number;
  readonly ground_truths: number;
  readonly detections: number;
  readonly true_positives: number;
  readonly false_positives: number;
  readonly false_negatives: number;
  /** TP / detections (null: no detections). */
  readonly precision: number | null;
  /** TP / ground truths (null: no ground truths). */
  readonly recall: number | null;
  /** Mean AP over the classes that have ground truth. */
  readonly map: number | null;
  readonly per_class: readonly ClassAp[];
  readonly per_image: readonly ImageMatch[];
}

/** All-point interpolated AP from a ranked list of hits (true/false) and the ground-truth count. */
export function averagePrecision(hits: readonly boolean[], groundTruths: number): number {
  if (groundTruths === 0) return 0;
  const prec: number[] = [];
  const rec: number[] = [];
  let tp = 0;
  hits.forEach((h, i) => {
    if (h) tp++;
    prec.push(tp / (i + 1));
    rec.push(tp / groundTruths);
  });
  // Precision envelope from the right, then sum precision × recall step.
  for (let i = prec.length - 2; i >= 0; i--) prec[i] = Math.max(prec[i], prec[i + 1]);
  let ap = 0;
  let lastRec = 0;
  for (let i = 0; i < rec.length; i++) {
    if (rec[i] > lastRec) {
      ap += (rec[i] - lastRec) * prec[i];
      lastRec = rec[i];
    }
  }
  return ap;
}

export function evaluateDetections(
  images: readonly { readonly detections: readonly Detection[]; readonly truths: readonly GroundTruth[] }[],
  iouThreshold = 0.5,
): DetectionMetrics {
  // Rank every detection of the whole set by score (stable: image order, then detection order).
  const all = images.flatMap((im, i) => im.detections.map((d, k) => ({ d, i, k })));
  all.sort((a, b) => b.d.score - a.d.score);
  const used = images.map((im) => im.truths.map(() => false));
  const matched = images.map((im) => im.detections.map(() => -1));
  const hitsByClass = new Map<number, boolean[]>();
  for (const { d, i, k } of all) {
    let best = -1;
    let bestIou = iouThreshold;
    images[i].truths.forEach((g, j) => {
      if (g.label !== d.label || used[i][j]) return;
      const v = iou(d.box, g.box);
      if (v >= bestIou) {
        bestIou = v;
        best = j;
      }
    });
    if (best >= 0) {
      used[i][best] = true;
      matched[i][k] = best;
    }
    const list = hitsByClass.get(d.label) ?? [];
    list.push(best >= 0);
    hitsByClass.set(d.label, list);
  }
  const gtByClass = new Map<number, number>();
  for (const im of images) for (const g of im.truths) gtByClass.set(g.label, (gtByClass.get(g.label) ?? 0) + 1);
  const labels = [...new Set([...gtByClass.keys(), ...hitsByClass.keys()])].sort((a, b) => a - b);
  const perClass: ClassAp[] = labels.map((label) => {
    const hits = hitsByClass.get(label) ?? [];
    const n = gtByClass.get(label) ?? 0;
    return { label, ground_truths: n, detections: hits.length, ap: averagePrecision(hits, n) };
  });
  const withTruth = perClass.filter((c) => c.ground_truths > 0);
  const perImage: ImageMatch[] = images.map((im, i) => {
    const tp = matched[i].filter((m) => m >= 0).length;
    return { tp, fp: im.detections.length - tp, fn: im.truths.length - tp, matched: matched[i] };
  });
  const tp = perImage.reduce((a, m) => a + m.tp, 0);
  const dets = all.length;
  const gts = images.reduce((a, im) => a + im.truths.length, 0);
  return {
    iou_threshold: iouThreshold,
    images: images.length,
    ground_truths: gts,
    detections: dets,
    true_positives: tp,
    false_positives: dets - tp,
    false_negatives: gts - tp,
    precision: dets ? tp / dets : null,
    recall: gts ? tp / gts : null,
    map: withTruth.length ? withTruth.reduce((a, c) => a + c.ap, 0) / withTruth.length : null,
    per_class: perClass,
    per_image: perImage,
  };
}

/** The k best class indices, highest score first (ties: lower index first). */
export function topK(scores: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: scores.length }, (_, i) => i);
  idx.sort((a, b) => scores[b] - scores[a] || a - b);
  return idx.slice(0, k);
}

export interface ClassifyMetrics {
  readonly images: number;
  readonly top1: number | null;
  readonly top5: number | null;
}

export function classifyMetrics(
  rows: readonly { readonly label: number; readonly top: readonly number[] }[],
): ClassifyMetrics {
  const n = rows.length;
  if (!n) return { images: 0, top1: null, top5: null };
  const t1 = rows.filter((r) => r.top[0] === r.label).length;
  const t5 = rows.filter((r) => r.top.slice(0, 5).includes(r.label)).length;
  return { images: n, top1: t1 / n, top5: t5 / n };
}
