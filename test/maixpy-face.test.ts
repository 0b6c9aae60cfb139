/**
 * The acceptance flows of `kpusim maixpy` with the real models of ../shared: kpusim's own
 * MaixPy-style and CanMV-style face-recognition scripts (test/fixtures/maixpy), a camera sequence
 * of two people, a BOOT-key press before a frame of the first. Plus cross-checks of the numbers
 * the scripts see against kpusim's TypeScript face pipeline on the same frames.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseKmodel } from '../src/kmodel-parser/parse.js';
import { prepare, type PreparedModel } from '../src/kpu/interpreter.js';
import { Camera, expandCameraFiles } from '../src/maixpy/camera.js';
import { readModelBytes } from '../src/load.js';
import { featureCompare } from '../src/pipeline/features.js';
import { processFrame, type FaceModels } from '../src/pipeline/flow.js';
import { CANMV_PRESET, MAIXPY_PRESET } from '../src/pipeline/presets.js';
import { decodeRegionLayer } from '../src/pipeline/region.js';
import type { PlanarImage, Rgb565Image } from '../src/pipeline/types.js';
import { expectLabels, FIXTURES, runScript, sdCard, twoPeopleFrames } from './fixtures/maixpy/helpers.js';
import { HAS_SHARED, kmodelPath } from './shared.js';

const MAIXPY_DETECTOR = kmodelPath('maixpy_face_detect_0x300000_v3');
const CANMV_DETECTOR = kmodelPath('canmv_yolo_face_detect_320x240_v4');
const CANMV_LD5 = kmodelPath('canmv_face_ld5_landmark_v3');
const CANMV_FEATURES = kmodelPath('canmv_face_feature_extraction_v4');

function model(path: string): PreparedModel {
  const { bytes } = readModelBytes(path);
  return prepare(parseKmodel(bytes, path));
}

function floats(b: Uint8Array): Float32Array {
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

function run(m: PreparedModel, input: PlanarImage): Float32Array {
  return floats(m.run([input.data.subarray(0, m.inputs[0].bytes)]).outputs[0]);
}

describe.skipIf(!HAS_SHARED)('kpusim maixpy: face recognition with the real models of ../shared', () => {
  let camera: { dir: string; people: string[] };
  beforeAll(() => {
    camera = twoPeopleFrames();
  });

  it("the CanMV-style script with CanMV's trio from the SD card: enrolled person recognised, the other not", async () => {
    const sd = sdCard({
      'models/face_detect_320x240.kmodel': CANMV_DETECTOR,
      'models/ld5.kmodel': CANMV_LD5,
      'models/feature_extraction.kmodel': CANMV_FEATURES,
    });
    const r = await runScript(join(FIXTURES, 'face_recognition_canmv.py'), {
      camera: [camera.dir],
      sdDir: sd,
      keyPress: [1],
    });
    expect(r.reason).toBe('camera-exhausted');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.lines.filter((l) => /^model (size|load)/.test(l))).toHaveLength(6);
    expectLabels(r.lines, camera.people);
    expect(r.frames).toBe(camera.people.length);
    expect(r.boardParts.kpu).toBeGreaterThan(0);
  });

  it("the MaixPy-style script with MaixPy's detector at 0x300000 and CanMV's landmark/feature models at 0x400000/0x500000 (MaixPy API, v4 set_outputs)", async () => {
    const r = await runScript(join(FIXTURES, 'face_recognition_maixpy_canmv_models.py'), {
      camera: [camera.dir],
      flash: [`0x300000=${MAIXPY_DETECTOR}`, `0x400000=${CANMV_LD5}`, `0x500000=${CANMV_FEATURES}`],
      keyPress: [1],
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expectLabels(r.lines, camera.people);
  });

  it("run_yolo2's result objects are the region layer of MaixPy's detector on the frame's AI planes (face-pipeline §1)", async () => {
    const r = await runScript(
      {
        source: `
import sensor, KPU as kpu
sensor.reset()
sensor.set_framesize(sensor.QVGA)
task = kpu.load(0x300000)
kpu.init_yolo2(task, 0.5, 0.3, 5, (1.889, 2.5245, 2.9465, 3.94056, 3.99987, 5.3658, 5.155437, 6.92275, 6.718375, 9.01025))
while True:
    img = sensor.snapshot()
    objs = kpu.run_yolo2(task, img)
    print('frame', None if objs is None else len(objs))
    for o in objs or []:
        print(o.rect(), repr(o.value()), o.classid(), o.index(), o.objnum(), o.x(), o.y(), o.w(), o.h())
`,
      },
      { camera: [camera.dir], flash: [`0x300000=${MAIXPY_DETECTOR}`] },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    const det = model(MAIXPY_DETECTOR);
    const cam = new Camera(expandCameraFiles([camera.dir]));
    const expected: string[] = [];
    for (let i = 0; i < camera.people.length; i++) {
      const f = cam.capture(320, 240, false, false, false)!;
      const out = run(det, { width: 320, height: 240, channels: 3, data: f.ai });
      const d = MAIXPY_PRESET.detector;
      const dets = decodeRegionLayer({ data: out, channels: 30, height: 15, width: 20 }, { ...d, classes: 1 });
      expected.push(`frame ${dets.length ? dets.length : 'None'}`);
      for (const o of dets) {
        const v = Number.isInteger(o.score) ? o.score.toFixed(1) : String(o.score);
        expected.push(`(${o.x}, ${o.y}, ${o.w}, ${o.h}) ${v} 0 ${o.index} ${dets.length} ${o.x} ${o.y} ${o.w} ${o.h}`);
      }
    }
    expect(r.lines).toEqual(expected);
    expect(r.lines.some((l) => l.startsWith('('))).toBe(true);
  });

  it("the CanMV script's landmarks and scores equal kpusim's CanMV pipeline (processFrame) on the same frames", async () => {
    const sd = sdCard({ 'd.kmodel': CANMV_DETECTOR, 'l.kmodel': CANMV_LD5, 'f.kmodel': CANMV_FEATURES });
    const r = await runScript(
      {
        source: `
import sensor, image
from maix import KPU
sensor.reset()
sensor.set_framesize(sensor.QVGA)
ref = [(21, 29), (42, 29), (32, 40), (23, 52), (40, 52)]
d = KPU(); d.load_kmodel('/sd/d.kmodel')
d.init_yolo2((0.1075, 0.126875, 0.126875, 0.175, 0.1465625, 0.2246875, 0.1953125, 0.25375, 0.2440625, 0.351875, 0.341875, 0.4721875, 0.5078125, 0.6696875, 0.8984375, 1.099687, 2.129062, 2.425937),
             anchor_num=9, img_w=320, img_h=240, net_w=320, net_h=240, layer_w=10, layer_h=8, threshold=0.5, nms_value=0.2, classes=1)
l = KPU(); l.load_kmodel('/sd/l.kmodel')
f = KPU(); f.load_kmodel('/sd/f.kmodel')
aligned = image.Image(size=(64, 64)); aligned.pix_to_ai()
first = None
while True:
    img = sensor.snapshot()
    d.run_with_output(img)
    for (x, y, w, h, c, p) in d.regionlayer_yolo2():
        x1 = x if x > 1 else 1
        y1 = y if y > 1 else 1
        x2 = x + w if x + w < 320 else 319
        y2 = y + h if y + h < 240 else 239
        crop = img.cut(x1, y1, x2 - x1 + 1, y2 - y1 + 1)
        small = crop.resize(128, 128)
        small.pix_to_ai()
        o = l.run_with_output(small, getlist=True)
        pts = [(int(KPU.sigmoid(o[2 * j]) * crop.width() + x1), int(KPU.sigmoid(o[2 * j + 1]) * crop.height() + y1)) for j in range(5)]
        image.warp_affine_ai(img, aligned, image.get_affine_transform(pts, ref))
        feat = f.run_with_output(aligned, get_feature=True)
        if first is None:
            first = feat
        print((x, y, w, h), pts, repr(f.feature_compare(first, feat)))
        img.draw_rectangle(x, y, w, h, color=(255, 255, 255))
`,
      },
      { camera: [camera.dir], sdDir: sd },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    const m = { d: model(CANMV_DETECTOR), l: model(CANMV_LD5), f: model(CANMV_FEATURES) };
    const models: FaceModels = {
      detect: (input) => ({ data: run(m.d, input), channels: 54, height: 8, width: 10 }),
      landmarks: (input) => run(m.l, input),
      features: (input) => run(m.f, input),
    };
    const cam = new Camera(expandCameraFiles([camera.dir]));
    const expected: string[] = [];
    let first: Float32Array | null = null;
    for (let i = 0; i < camera.people.length; i++) {
      const f = cam.capture(320, 240, false, false, false)!;
      const frame = {
        display: { kind: 'rgb565', width: 320, height: 240, pixels: f.display as Uint16Array } as Rgb565Image,
        ai: { width: 320, height: 240, channels: 3 as const, data: f.ai },
      };
      const result = processFrame(frame, CANMV_PRESET, models);
      for (const face of result.faces) {
        const feat = face.feature as Float32Array;
        first ??= feat;
        const s = featureCompare(first, feat);
        const d = face.detection;
        const pts = face.landmarks.map(([x, y]) => `(${x}, ${y})`).join(', ');
        expected.push(`(${d.x}, ${d.y}, ${d.w}, ${d.h}) [${pts}] ${Number.isInteger(s) ? s.toFixed(1) : String(s)}`);
      }
    }
    expect(expected.length).toBeGreaterThanOrEqual(camera.people.length);
    expect(r.lines.filter((l) => l.startsWith('('))).toEqual(expected);
  });
});
