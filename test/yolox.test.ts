import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { prepare } from '../src/kpu/interpreter.js';
import { loadKmodel } from '../src/load.js';
import { decodeYolox, yoloxOptionsFor } from '../src/pipeline/yolox.js';
import { HAS_SHARED, KMODELS_DIR, kmodelPath, SHARED_SKIP_REASON } from './shared.js';

/** A tiny head: input 32, strides 16 and 32 → 2·2 + 1 = 5 anchors, 2 classes, rows of 7 values. */
const TINY = { inputSize: 32, strides: [16, 32], numClasses: 2, probThreshold: 0.1, nmsThreshold: 0.1 };
function head(rows: Record<number, number[]>): Float32Array {
  const out = new Float32Array(5 * 7);
  for (const [a, r] of Object.entries(rows)) out.set(r, Number(a) * 7);
  return out;
}

describe('YOLOX decode (hand-computed)', () => {
  test('grid offsets, exp sizes and score = objectness × class', () => {
    // Anchor 3 is stride 16, grid (1, 1): centre ((0.5+1)·16, (0.25+1)·16) = (24, 20);
    // size exp(0)·16 = 16 wide, exp(ln 2)·16 = 32 high → corners (16, 4) and (32, 36).
    const out = head({ 3: [0.5, 0.25, 0, Math.log(2), 0.8, 0.1, 0.5] });
    const d = decodeYolox(out, TINY);
    expect(d).toHaveLength(1); // class 0 scores 0.08 (below 0.1), class 1 scores 0.4
    expect(d[0].label).toBe(1);
    expect(d[0].prob).toBeCloseTo(0.4, 6);
    expect(d[0].box).toEqual([16, 4, 32, 36]);
  });

  test('the threshold is strict', () => {
    const out = head({ 0: [0, 0, 0, 0, 0.5, 0.2, 0] }); // score exactly fround(0.5·0.2) = fround(0.1)
    expect(decodeYolox(out, TINY)).toHaveLength(0);
  });

  test('NMS counts intersections inclusively: boxes 1 px apart still overlap', () => {
    // Anchors 0 and 1 (stride 16, grid x 0 and 1), both 16×16: box A x∈[0,16], box B x∈[16,32]:
    // intersection (16−16+1)·(16+1) = 17, union 256+256−17 = 495 → 0.034, kept with 0.1 but not 0.03.
    const out = head({ 0: [0.5, 0.5, 0, 0, 0.9, 1, 0], 1: [0.5, 0.5, 0, 0, 0.8, 1, 0] });
    expect(decodeYolox(out, TINY)).toHaveLength(2);
    expect(decodeYolox(out, { ...TINY, nmsThreshold: 0.03 })).toHaveLength(1);
  });

  test('the class count follows from the head size: 224 → 28² + 14² + 7² = 1029 anchors', () => {
    expect(yoloxOptionsFor(1029 * 85, 224)?.numClasses).toBe(80);
    expect(yoloxOptionsFor(1029 * 85, 224, { probThreshold: 0.3 })?.probThreshold).toBe(0.3);
    expect(yoloxOptionsFor(1029 * 85 + 1, 224)).toBeNull();
    expect(yoloxOptionsFor(1029 * 5, 224)).toBeNull(); // no class at all
  });

  test('a wrong-sized tensor is refused', () => {
    expect(() => decodeYolox(new Float32Array(10), TINY)).toThrow(/has 35 values, got 10/);
  });
});

describe.skipIf(!HAS_SHARED)(`YOLOX on the demo input (${HAS_SHARED ? 'shared corpus' : SHARED_SKIP_REASON})`, () => {
  test('the three persons the golden README names, strongest first', () => {
    const { model } = loadKmodel(kmodelPath('nncase_yolox_nano_224_k210_v5'));
    const input = new Uint8Array(readFileSync(`${KMODELS_DIR}/expected/nncase_yolox_input_224x224_chw_u8.bin`));
    const out = prepare(model).run([input]).outputs[0];
    const d = decodeYolox(new Float32Array(out.buffer, out.byteOffset, out.length / 4));
    const top = d.slice(0, 3);
    expect(top.every((x) => x.label === 0 && x.prob > 0.75)).toBe(true);
    const centres = top.map((x) => (x.box[0] + x.box[2]) / 2).sort((a, b) => a - b);
    // README: persons at x ≈ 54, 138 and 204, full height.
    expect(centres[0]).toBeCloseTo(54, -1);
    expect(centres[1]).toBeCloseTo(138, -1);
    expect(centres[2]).toBeCloseTo(204, -1);
    for (const x of top) expect(x.box[3] - x.box[1]).toBeGreaterThan(140);
  });
});
