import { describe, expect, it } from 'vitest';
import {
  MAIXPY_PRESET,
  processFrame,
  resolvePreset,
  rgb888ToRgb565Pixel,
  type CameraFrame,
  type PlanarImage,
  type RegionTensor,
} from '../src/pipeline/index.js';

/** A frame whose AI planes (all 77) differ from its display pixels (all (31, 0, 0) red). */
function frame(): CameraFrame {
  return {
    display: {
      kind: 'rgb565',
      width: 320,
      height: 240,
      pixels: new Uint16Array(320 * 240).fill(rgb888ToRgb565Pixel(255, 0, 0)),
    },
    ai: { width: 320, height: 240, channels: 3, data: new Uint8Array(320 * 240 * 3).fill(77) },
  };
}

/** Detector output with one box per (anchor, row, col) given; all logits 0 except objectness. */
function detector(
  W: number,
  H: number,
  anchors: number,
  cells: [number, number, number][],
): (ai: PlanarImage) => RegionTensor {
  return () => {
    const C = anchors * 6;
    const data = new Float32Array(C * W * H);
    for (let n = 0; n < anchors; n++) data.fill(-20, (n * 6 + 4) * W * H, (n * 6 + 5) * W * H);
    for (const [n, row, col] of cells) data[(n * 6 + 4) * W * H + row * W + col] = 3;
    return { data, channels: C, width: W, height: H };
  };
}

describe('MaixPy flow', () => {
  // One anchor of 6.25 × 8.3125 cells: 100 × 133 px. At row 7, col 9 (σ = 0.5): centre (152, 120),
  // corners x 102…202, y 53.5 → 53 … 186.5 → 186: box (102, 53, 100, 133).
  const preset = resolvePreset('maixpy', { detector: { anchors: [6.25, 8.3125], classes: 1 } });

  it('cuts the display pixels with the white box drawn, warps the AI planes, encodes the feature', () => {
    let ldInput: PlanarImage | undefined;
    let feInput: PlanarImage | undefined;
    const r = processFrame(frame(), preset, {
      detect: detector(20, 15, 1, [[0, 7, 9]]),
      landmarks: (input) => {
        ldInput = input;
        return [0.5, 0.5, 0.7, 0.5, 0.6, 0.6, 0.5, 0.8, 0.7, 0.8];
      },
      features: (input) => {
        feInput = input;
        return [0.1, -0.3, 0.25];
      },
    });
    expect(r.detections).toHaveLength(1);
    const face = r.faces[0];
    expect([face.detection.x, face.detection.y, face.detection.w, face.detection.h]).toEqual([102, 53, 100, 133]);
    // h = 133 > 128 → nearest resize; pixel (0,0) of the cut is the white border → 255 in all planes,
    // the middle is the red display pixel → R 255, G 0.
    expect(ldInput!.width).toBe(128);
    expect([ldInput!.data[0], ldInput!.data[128 * 128], ldInput!.data[2 * 128 * 128]]).toEqual([255, 255, 255]);
    const mid = 64 * 128 + 64;
    expect([ldInput!.data[mid], ldInput!.data[128 * 128 + mid]]).toEqual([255, 0]);
    // le = (102 + int(0.5·100 − 10), 53 + int(0.5·133)) = (142, 119); re = (102 + 70, 119) = (172, 119).
    expect(face.landmarks[0]).toEqual([142, 119]);
    expect(face.landmarks[1]).toEqual([172, 119]);
    // The warp reads the AI planes (77 everywhere), never the red display or the white box.
    expect(feInput!.width).toBe(128);
    expect(feInput!.data[64 * 128 + 64]).toBe(77);
    expect(Array.from(face.feature)).toEqual([51, -128, -128]);
    // The frame passed in is not changed; the returned display has the box.
    expect(r.display.pixels[53 * 320 + 102]).toBe(0xffff);
  });

  it('processes only the first detection', () => {
    const two = detector(20, 15, 1, [
      [0, 2, 2],
      [0, 10, 15],
    ]);
    const r = processFrame(frame(), preset, {
      detect: two,
      landmarks: () => new Array(10).fill(0.5),
      features: () => [0],
    });
    expect(r.detections).toHaveLength(2);
    expect(r.faces.map((f) => f.detection.boxIndex)).toEqual([2 * 20 + 2]);
  });

  it('needs no landmark or feature model when nothing is found, and refuses a wrong frame size', () => {
    expect(processFrame(frame(), MAIXPY_PRESET, { detect: detector(20, 15, 5, []) }).faces).toEqual([]);
    const small = {
      ...frame(),
      ai: { width: 160, height: 120, channels: 3 as const, data: new Uint8Array(160 * 120 * 3) },
    };
    expect(() => processFrame(small, MAIXPY_PRESET, { detect: detector(20, 15, 5, []) })).toThrow(
      /takes a 320×240 RGB frame/,
    );
    // A detector of the wrong shape for the preset is a UsageError, not a crash.
    const oneAnchor = resolvePreset('maixpy', { detector: { anchors: [6.25, 8.3125] } });
    expect(() => processFrame(frame(), oneAnchor, { detect: detector(20, 15, 1, []) })).toThrow(
      /gives -4 classes by the "maixpy" rule/,
    );
    expect(() => processFrame(frame(), resolvePreset('canmv'), { detect: detector(10, 8, 4, []) })).toThrow(
      /detector output \(24×8×10\) does not fit the canmv preset: .*need 54 channels/,
    );
  });
});

describe('CanMV flow', () => {
  // Grid 10×8, one anchor of 1.25 × 2 cells → 40 × 60 px. Faces at (row 3, col 3) and (row 3, col 4):
  // centres (112, 105) and (144, 105); boxes (92, 75, 40, 60) and (124, 75, 40, 60) overlap, IoU 8/72 < 0.2.
  const preset = resolvePreset('canmv', { detector: { anchors: [1.25, 2] }, features: { length: 2 } });

  it('processes every face, and the box drawn for the first reaches the second crop', () => {
    const inputs: PlanarImage[] = [];
    const r = processFrame(
      frame(),
      preset,
      {
        detect: detector(10, 8, 1, [
          [0, 3, 3],
          [0, 3, 4],
        ]),
        landmarks: (input) => {
          inputs.push(input);
          return new Array(10).fill(0);
        },
        features: () => [3, 4],
      },
      () => ({ name: 'grace', score: 99, index: 0 }),
    );
    expect(r.faces.map((f) => [f.detection.x, f.detection.y, f.detection.w, f.detection.h])).toEqual([
      [92, 75, 40, 60],
      [124, 75, 40, 60],
    ]);
    // extend_box with RATIO 0 includes both corners: 41 × 61.
    expect(r.faces[0].crop).toEqual({ x: 92, y: 75, w: 41, h: 61 });
    // ld5 logits 0 → σ = 0.5: x = int(0.5·41 + 92) = 112, y = int(0.5·61 + 75) = 105.
    expect(r.faces[0].landmarks[0]).toEqual([112, 105]);
    expect(Array.from(r.faces[0].feature)).toEqual([Math.fround(0.6), Math.fround(0.8)]);
    // First face recognised → its box is drawn green after processing; its right edge is column
    // 92 + 40 − 1 = 131, which is column 7 of the second crop (starting at 124): bilinear 41 → 128
    // mixes it into the second face's landmark input, so that input has green there, the first none.
    const green = rgb888ToRgb565Pixel(0, 255, 0);
    expect(r.display.pixels[75 * 320 + 92]).toBe(green);
    const hasGreen = (p: PlanarImage): boolean => {
      const n = p.width * p.height;
      for (let i = 0; i < n; i++) if (p.data[n + i] > 100) return true;
      return false;
    };
    expect(hasGreen(inputs[0])).toBe(false);
    expect(hasGreen(inputs[1])).toBe(true);
  });
});
