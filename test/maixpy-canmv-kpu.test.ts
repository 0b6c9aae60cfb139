/**
 * CanMV's current KPU API (`from maix import KPU`: `KPU().load`, `run`, `get_outputs`, `Yolo2`,
 * `Act`, `Feat`). The same face-recognition flow written with it (test/fixtures/maixpy/
 * face_recognition_canmv_kpu.py) recognises and detects exactly as the older API's script
 * (face_recognition_canmv.py) on the same frames: the same lines, frame by frame. Plus the
 * firmware's own rules that need no model: Act.sigmoid takes floats only and gives
 * 1/(1 + expf(-x)) in binary32; Act.softmax refuses every non-empty list (maix_kpu.c tests
 * `1 <= nitems`); Feat.compare is (0.5 + 0.5·dot)·100.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, runScript, sdCard, twoPeopleFrames } from './fixtures/maixpy/helpers.js';
import { HAS_SHARED, kmodelPath } from './shared.js';

describe('CanMV KPU API without a model', () => {
  it('Act.sigmoid, Act.softmax and Feat.compare as maix_kpu.c computes them', async () => {
    const r = await runScript({
      source: `
from maix import KPU
print(repr(KPU.Act.sigmoid(0.0)), repr(KPU.Act.sigmoid(2.0)))
for v in (1, [1.0, 2.0], []):
    try:
        print(KPU.Act.sigmoid(v) if v == 1 else KPU.Act.softmax(v))
    except (TypeError, ValueError) as e:
        print(type(e).__name__, e)
print(repr(KPU.Feat.compare([0.6, 0.8], [0.8, 0.6])), repr(KPU.Feat.compare([1.0, 0.0], [-1.0, 0.0])))
k = KPU()
try:
    k.run(None)
except OSError as e:
    print('OSError', e)
`,
    });
    expect(r.error).toBeUndefined();
    // binary32: 1/(1+expf(-2)) = 0.880797088146209716796875; dot 0.96 → (0.5+0.48)·100 = 98.0 (float 98.00000762939453)
    const sig2 = Math.fround(1 / Math.fround(1 + Math.fround(Math.exp(-2))));
    expect(r.lines[0]).toBe(`0.5 ${sig2}`);
    expect(r.lines.slice(1, 4)).toEqual([
      "TypeError can't convert int to float",
      'ValueError list minimum size is 2',
      '[]',
    ]);
    const dot = Math.fround(Math.fround(0.6) * Math.fround(0.8) + Math.fround(0.8) * Math.fround(0.6));
    const score = Math.fround(Math.fround(0.5 + Math.fround(0.5 * dot)) * 100);
    expect(Number(r.lines[4].split(' ')[0])).toBeCloseTo(score, 4);
    expect(r.lines[4].split(' ')[1]).toBe('0.0');
    expect(r.lines[5]).toBe('OSError Please load kmodel before');
  });
});

describe.skipIf(!HAS_SHARED)('CanMV KPU API with the real models of ../shared', () => {
  it('the face-recognition script written with the current API prints what the older API script prints', async () => {
    const camera = twoPeopleFrames();
    const sd = sdCard({
      'models/face_detect_320x240.kmodel': kmodelPath('canmv_yolo_face_detect_320x240_v4'),
      'models/ld5.kmodel': kmodelPath('canmv_face_ld5_landmark_v3'),
      'models/feature_extraction.kmodel': kmodelPath('canmv_face_feature_extraction_v4'),
    });
    const opts = { camera: [camera.dir], sdDir: sd, keyPress: [1] };
    const older = await runScript(join(FIXTURES, 'face_recognition_canmv.py'), opts);
    const current = await runScript(join(FIXTURES, 'face_recognition_canmv_kpu.py'), opts);
    expect(current.exitCode, current.stderr).toBe(0);
    const frames = (l: string[]) => l.filter((x) => x.startsWith('frame '));
    expect(frames(current.lines)).toHaveLength(camera.people.length);
    expect(frames(current.lines)).toEqual(frames(older.lines));
    // detections happened, and a later frame of the enrolled person is recognised
    expect(frames(current.lines).some((l) => / person 1 \(/.test(l))).toBe(true);
  });
});
