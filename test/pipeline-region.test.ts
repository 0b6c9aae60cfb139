import { describe, expect, it } from 'vitest';
import {
  boxIou,
  classCountFromChannels,
  decodeRegionLayer,
  MAIXPY_PRESET,
  regionCandidates,
} from '../src/pipeline/index.js';
import type { RegionLayerParams, RegionTensor } from '../src/pipeline/index.js';

const f = Math.fround;

/** A (C, H, W) tensor with every objectness logit at −20 (σ ≈ 2e−9) and everything else 0. */
function tensor(
  W: number,
  H: number,
  anchors: number,
  classes: number,
): RegionTensor & { set(n: number, e: number, row: number, col: number, v: number): void } {
  const C = anchors * (5 + classes);
  const data = new Float32Array(C * H * W);
  for (let n = 0; n < anchors; n++) data.fill(-20, (n * (5 + classes) + 4) * H * W, (n * (5 + classes) + 5) * H * W);
  return {
    data,
    channels: C,
    height: H,
    width: W,
    set(n, e, row, col, v) {
      data[(n * (5 + classes) + e) * H * W + row * W + col] = v;
    },
  };
}

const MAIXPY: RegionLayerParams = {
  anchors: MAIXPY_PRESET.detector.anchors,
  classes: 1,
  threshold: 0.5,
  nmsValue: 0.3,
  imageWidth: 320,
  imageHeight: 240,
  netWidth: 320,
  netHeight: 240,
};

/** σ(t) the way the firmware computes it: 1/(1 + expf(−t)) with every step in binary32. */
const sigma = (t: number): number => f(1 / f(1 + f(Math.exp(-f(t)))));

describe('region layer decode (MaixPy 20×15, 5 anchors)', () => {
  it('decodes a single box at the documented tensor position', () => {
    const t = tensor(20, 15, 5, 1);
    t.set(1, 4, 2, 3, 2); // anchor 1, objectness logit 2, row 2, col 3; x, y, w, h logits 0
    const [d, ...rest] = decodeRegionLayer(t, MAIXPY);
    expect(rest).toEqual([]);
    // σ(0) = 0.5, exp(0) = 1: bx = 3.5/20 → ·320 = 56; bw = 2.9465/20 → ·320/2 = 23.572;
    // x1 = 32.43 → 32, x2 = 79.57 → 79. by = 2.5/15 → ·240 = 40; bh = 3.94056/15 → ·240/2 = 31.52;
    // y1 = 8.48 → 8, y2 = 71.52 → 71.
    expect([d.x1, d.y1, d.x2, d.y2]).toEqual([32, 8, 79, 71]);
    expect([d.x, d.y, d.w, d.h]).toEqual([32, 8, 47, 63]);
    expect(d.score).toBe(sigma(2)); // class softmax of one class is exactly 1
    expect(d.score).toBeCloseTo(0.880797, 6);
    expect([d.boxIndex, d.anchor, d.row, d.col, d.classId, d.index]).toEqual([1 * 300 + 2 * 20 + 3, 1, 2, 3, 0, 0]);
    expect(d.box.x).toBe(f(3.5 / 20));
    expect(d.box.w).toBe(f(f(2.9465) / 20));
  });

  it('keeps a score only if strictly above the threshold', () => {
    const t = tensor(20, 15, 5, 1);
    t.set(0, 4, 7, 7, 0); // σ(0) = 1/(1+1) = 0.5 exactly: not > 0.5
    expect(decodeRegionLayer(t, MAIXPY)).toEqual([]);
    t.set(0, 4, 7, 7, 1e-6); // σ = 0.50000025 > 0.5
    expect(decodeRegionLayer(t, MAIXPY)).toHaveLength(1);
  });

  it('lists survivors in box-index order, not by score', () => {
    const t = tensor(20, 15, 5, 1);
    t.set(0, 4, 10, 10, 1); // index 210, score σ(1) ≈ 0.73
    t.set(3, 4, 0, 0, 3); // index 900, score σ(3) ≈ 0.95
    const out = decodeRegionLayer(t, MAIXPY);
    expect(out.map((d) => d.boxIndex)).toEqual([210, 900]);
    expect(out.map((d) => d.index)).toEqual([0, 1]);
  });

  it('suppresses the lower score of two overlapping boxes, whatever their indices', () => {
    // Same cell, anchors 0 and 1: nested boxes, IoU = (1.889·2.5245)/(2.9465·3.94056) ≈ 0.41 > 0.3.
    const t = tensor(20, 15, 5, 1);
    t.set(0, 4, 5, 5, 1);
    t.set(1, 4, 5, 5, 2);
    expect(decodeRegionLayer(t, MAIXPY).map((d) => d.anchor)).toEqual([1]);
  });

  it('truncates corners and turns negative ones into 0 without shifting the box', () => {
    // Anchor 4 at row 0, col 0: centre (8, 8); half sizes 6.718375·16/2 = 53.747 and 9.01025·16/2 = 72.082.
    const t = tensor(20, 15, 5, 1);
    t.set(4, 4, 0, 0, 2);
    const [d] = decodeRegionLayer(t, MAIXPY);
    expect([d.x1, d.y1, d.x2, d.y2]).toEqual([0, 0, 61, 80]);
    expect([d.x, d.y, d.w, d.h]).toEqual([0, 0, 61, 80]);
  });

  it('caps the list when maxObjects is set (keeping the first in index order)', () => {
    const t = tensor(20, 15, 5, 1);
    t.set(0, 4, 0, 10, 3);
    t.set(0, 4, 7, 0, 3);
    t.set(0, 4, 14, 19, 3);
    expect(decodeRegionLayer(t, { ...MAIXPY, maxObjects: 2 }).map((d) => d.boxIndex)).toEqual([10, 140]);
    expect(decodeRegionLayer(t, MAIXPY)).toHaveLength(3);
  });
});

/** 8×1 grid, one anchor 2 cells wide and 1 tall: bw = 2/8 = 0.25, bh = 1; neighbours overlap by half. */
const STRIP: RegionLayerParams = {
  ...MAIXPY,
  anchors: [2, 1],
  imageWidth: 80,
  imageHeight: 10,
  netWidth: 80,
  netHeight: 10,
};

describe('NMS order and ties', () => {
  it('computes darknet IoU: boxes shifted by half their width overlap 1/3', () => {
    // overlap 0.125·1, union 0.25 + 0.25 − 0.125 = 0.375 → 1/3.
    expect(boxIou({ x: 0.3125, y: 0.5, w: 0.25, h: 1 }, { x: 0.4375, y: 0.5, w: 0.25, h: 1 })).toBe(f(1 / 3));
    // touching edges: overlap exactly 0 → intersection 0 → IoU 0.
    expect(boxIou({ x: 0.3125, y: 0.5, w: 0.25, h: 1 }, { x: 0.5625, y: 0.5, w: 0.25, h: 1 })).toBe(0);
  });

  it('keeps the lower box index of two overlapping boxes with equal scores (kpusim tie rule)', () => {
    const t = tensor(8, 1, 1, 1);
    t.set(0, 4, 0, 3, 2);
    t.set(0, 4, 0, 2, 2);
    expect(decodeRegionLayer(t, STRIP).map((d) => d.col)).toEqual([2]);
  });

  it('never lets a box zeroed earlier suppress another', () => {
    // Equal scores at columns 2, 3, 4: order 2, 3, 4. Column 2 suppresses 3 (IoU 1/3 > 0.3);
    // 3 is skipped, so 4 (IoU 1/3 with 3 but 0 with 2) survives.
    const t = tensor(8, 1, 1, 1);
    for (const col of [2, 3, 4]) t.set(0, 4, 0, col, 2);
    expect(decodeRegionLayer(t, STRIP).map((d) => d.col)).toEqual([2, 4]);
  });

  it('suppresses only when IoU is strictly above the NMS value', () => {
    const t = tensor(8, 1, 1, 1);
    t.set(0, 4, 0, 2, 2);
    t.set(0, 4, 0, 3, 1);
    // IoU is f32(1/3): equal to an NMS value of 1/3 (as binary32) → both kept; 0.33 → suppressed.
    expect(decodeRegionLayer(t, { ...STRIP, nmsValue: 1 / 3 }).map((d) => d.col)).toEqual([2, 3]);
    expect(decodeRegionLayer(t, { ...STRIP, nmsValue: 0.33 }).map((d) => d.col)).toEqual([2]);
  });

  it('breaks ties across anchors by box index too (anchor-major order)', () => {
    // Two anchors of the same size at the same cell: identical boxes (IoU 1), equal scores.
    const t = tensor(8, 1, 2, 1);
    t.set(1, 4, 0, 5, 2);
    t.set(0, 4, 0, 5, 2);
    expect(decodeRegionLayer(t, { ...STRIP, anchors: [2, 1, 2, 1] }).map((d) => d.anchor)).toEqual([0]);
  });
});

describe('classes', () => {
  it('applies softmax over classes and reports the first maximum', () => {
    // One cell, one anchor, 2 classes: logits (0, ln 3) → softmax ≈ (1/4, 3/4); obj logit 10.
    const t = tensor(1, 1, 1, 2);
    t.set(0, 4, 0, 0, 10);
    t.set(0, 6, 0, 0, Math.log(3));
    const p = { ...MAIXPY, anchors: [1, 1], classes: 2, imageWidth: 32, imageHeight: 32, netWidth: 32, netHeight: 32 };
    const [d] = decodeRegionLayer(t, p);
    expect(d.classId).toBe(1);
    expect(d.score).toBeCloseTo(0.75 * sigma(10), 6);
    const { probs } = regionCandidates(t, p);
    expect(probs[0][0]).toBe(0); // 0.25 · σ(10) is below the threshold
    // Equal class logits with threshold 0.3: both 0.5·σ(10) kept, the first maximum (class 0) wins.
    t.set(0, 6, 0, 0, 0);
    const [e] = decodeRegionLayer(t, { ...p, threshold: 0.3 });
    expect(e.classId).toBe(0);
  });

  it('derives the class count by the firmware rules', () => {
    expect(classCountFromChannels(30, 'maixpy')).toBe(1); // 30/5 − 5
    expect(classCountFromChannels(54, 'maixpy')).toBe(5); // the hard-coded 5 is wrong for 9 anchors
    expect(classCountFromChannels(54, 'per-anchor', 9)).toBe(1); // 54/9 − 5
  });

  it('refuses a tensor with fewer channels than anchors × (5 + classes)', () => {
    const t = tensor(20, 15, 5, 1);
    expect(() => decodeRegionLayer(t, { ...MAIXPY, classes: 2 })).toThrow(/need 35 channels, the tensor has 30/);
    expect(() => decodeRegionLayer(t, { ...MAIXPY, anchors: [1, 2, 3] })).toThrow(RangeError);
  });
});

describe('correct_region_boxes', () => {
  it('undoes centred letterboxing when the net is taller than the image (net 320×256, image 320×240)', () => {
    // new_h = 240, offset (256−240)/2/256 = 0.03125, divisor 240/256 = 0.9375; heights × 256/240.
    // Grid 1×4: row 1 with σy = 0.5 gives by = 1.5/4 = 0.375 → (0.375 − 0.03125)/0.9375 = 0.36666….
    const t = tensor(1, 4, 1, 1);
    t.set(0, 4, 1, 0, 3);
    const p = { ...MAIXPY, anchors: [1, 1], imageWidth: 320, imageHeight: 240, netWidth: 320, netHeight: 256 };
    const { boxes } = regionCandidates(t, p);
    expect(boxes[1].y).toBeCloseTo((0.375 - 0.03125) / 0.9375, 6);
    expect(boxes[1].h).toBeCloseTo(0.25 * (256 / 240), 6);
    expect(boxes[1].x).toBe(0.5);
    // Identity when net = image: by stays 0.375.
    expect(regionCandidates(t, { ...p, netHeight: 240 }).boxes[1].y).toBe(0.375);
  });
});
