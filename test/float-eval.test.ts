/**
 * `kpusim eval`: the detection and classification metrics on cases computed by hand, and the
 * command on the labelled set of examples/images (faces.coco.json, boxes drawn by eye: see
 * examples/images/SOURCES.md) with the bundled face detector, in COCO JSON and in Pascal VOC XML.
 */
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { averagePrecision, classifyMetrics, evaluateDetections, iou, topK } from '../src/eval/metrics.js';
import { importOrt } from '../src/float/onnx.js';
import { HAS_SHARED, kmodelPath, KMODELS_DIR, REPO_ROOT, runKpusim, SHARED_DIR } from './shared.js';

describe('detection metrics, computed by hand', () => {
  it('IoU of two boxes', () => {
    // [0,0,10,10] and [5,0,15,10]: intersection 5×10 = 50, union 100 + 100 − 50 = 150.
    expect(iou([0, 0, 10, 10], [5, 0, 15, 10])).toBeCloseTo(1 / 3, 12);
    expect(iou([0, 0, 10, 10], [10, 0, 20, 10])).toBe(0);
  });

  it('AP: all-point interpolation of a ranked list', () => {
    // hits T, F, T of 3 truths: precision 1, 1/2, 2/3 at recall 1/3, 1/3, 2/3; the envelope makes
    // the second 2/3; AP = 1/3·1 + 1/3·2/3 = 5/9.
    expect(averagePrecision([true, false, true], 3)).toBeCloseTo(5 / 9, 12);
    expect(averagePrecision([], 2)).toBe(0);
  });

  it('precision, recall and mAP over two images: duplicates, wrong class and low IoU are false positives', () => {
    const m = evaluateDetections([
      {
        truths: [
          { box: [0, 0, 10, 10], label: 0 },
          { box: [20, 20, 30, 30], label: 1 },
        ],
        detections: [
          { box: [0, 0, 10, 10], label: 0, score: 0.9 }, // TP
          { box: [1, 1, 11, 11], label: 0, score: 0.8 }, // IoU 81/119 but the truth is taken: FP
          { box: [20, 20, 30, 30], label: 0, score: 0.7 }, // right place, wrong class: FP
        ],
      },
      {
        truths: [{ box: [0, 0, 10, 10], label: 0 }],
        detections: [{ box: [5, 0, 15, 10], label: 0, score: 0.6 }], // IoU 1/3 < 0.5: FP
      },
    ]);
    // Class 0: 2 truths, ranked hits T F F F → precision 1 at recall 1/2, nothing more: AP 0.5.
    // Class 1: 1 truth, no detection: AP 0. mAP = 0.25. TP 1, FP 3, FN 2.
    expect(m.per_class.map((c) => [c.label, c.ap])).toEqual([
      [0, 0.5],
      [1, 0],
    ]);
    expect(m.map).toBe(0.25);
    expect([m.true_positives, m.false_positives, m.false_negatives]).toEqual([1, 3, 2]);
    expect(m.precision).toBe(0.25);
    expect(m.recall).toBeCloseTo(1 / 3, 12);
    expect(m.per_image.map((p) => p.matched)).toEqual([[0, -1, -1], [-1]]);
  });

  it('top-1 / top-5', () => {
    expect(topK([0.1, 0.5, 0.2, 0.5, 0, 0.3], 3)).toEqual([1, 3, 5]);
    const scores = [0, 1, 2, 3, 4, 5, 6]; // top-5: 6 5 4 3 2
    expect(
      classifyMetrics([
        { label: 6, top: topK(scores, 5) },
        { label: 2, top: topK(scores, 5) },
        { label: 0, top: topK(scores, 5) },
        { label: 5, top: topK(scores, 5) },
      ]),
    ).toEqual({ images: 4, top1: 0.25, top5: 0.75 });
  });
});

const FACE_MODEL = resolve(REPO_ROOT, 'models', 'face_detect_320x240.kmodel');
const IMAGES = resolve(REPO_ROOT, 'examples', 'images');
const anchors = () =>
  (
    JSON.parse(readFileSync(resolve(REPO_ROOT, 'models', 'manifest.json'), 'utf8')) as {
      models: { anchors: number[] }[];
    }
  ).models[0].anchors.join(',');

interface EvalDoc {
  metrics: {
    kmodel: {
      precision: number;
      recall: number;
      map: number;
      true_positives: number;
      false_positives: number;
      false_negatives: number;
    };
  };
  truth: string;
  images: { image: string; kmodel: { tp: number; fp: number; fn: number; detections: { box: number[] }[] } }[];
}

/*
 * By hand, from faces.coco.json and the detections the emulated face detector reports (threshold
 * 0.5, NMS 0.4, boxes mapped back to the photograph):
 * - astronaut.jpg: truth [172, 62, 280, 170], detection [160, 72.53, 281.6, 200.53]: intersection
 *   108 × 97.47 = 10526.4, union 11664 + 15564.8 − 10526.4 = 16702.4, IoU 0.630: TP.
 * - grace_hopper.jpg: truth [160, 135, 365, 340], detection [180.8, 137.5, 356.8, 365]:
 *   intersection 176 × 202.5 = 35640, union 42025 + 40040 − 35640 = 46425, IoU 0.768: TP.
 * - camera.png (near profile): no detection: FN.
 * Precision 2/2, recall 2/3; AP: both hits at precision 1, recall steps 1/3 + 1/3: 2/3.
 */
function expectHandMetrics(d: EvalDoc) {
  expect(d.truth).toBe('labels');
  const k = d.metrics.kmodel;
  expect([k.true_positives, k.false_positives, k.false_negatives]).toEqual([2, 0, 1]);
  expect(k.precision).toBe(1);
  expect(k.recall).toBeCloseTo(2 / 3, 4);
  expect(k.map).toBeCloseTo(2 / 3, 4);
  expect(d.images.map((i) => [i.image, i.kmodel.tp, i.kmodel.fp, i.kmodel.fn])).toEqual([
    ['astronaut.jpg', 1, 0, 0],
    ['camera.png', 0, 0, 1],
    ['grace_hopper.jpg', 1, 0, 0],
  ]);
  const astro = d.images[0].kmodel.detections[0].box;
  expect(astro.map((v) => Math.round(v * 100) / 100)).toEqual([160, 72.53, 281.6, 200.53]);
}

const faceArgs = () => [
  '--task',
  'detect',
  '--dataset',
  IMAGES,
  '--anchors',
  anchors(),
  '--threshold',
  '0.5',
  '--nms',
  '0.4',
];

describe('kpusim eval on the labelled examples/images set (bundled face detector)', () => {
  it('COCO JSON labels: the metric computed by hand', async () => {
    const r = await runKpusim([
      'eval',
      FACE_MODEL,
      ...faceArgs(),
      '--labels',
      join(IMAGES, 'faces.coco.json'),
      '--json',
    ]);
    expect(r.code, r.err).toBe(0);
    expectHandMetrics(JSON.parse(r.out.toString()) as EvalDoc);
  }, 60_000);

  it('the same boxes as Pascal VOC XML (with --names) give the same metric', async () => {
    const coco = JSON.parse(readFileSync(join(IMAGES, 'faces.coco.json'), 'utf8')) as {
      images: { id: number; file_name: string }[];
      annotations: { image_id: number; bbox: number[] }[];
    };
    const dir = mkdtempSync(join(tmpdir(), 'kpusim-voc-'));
    for (const im of coco.images) {
      const boxes = coco.annotations.filter((a) => a.image_id === im.id).map((a) => a.bbox);
      const xml = `<annotation><filename>${im.file_name}</filename>${boxes
        .map(
          ([x, y, w, h]) =>
            `<object><name>face</name><bndbox><xmin>${x}</xmin><ymin>${y}</ymin><xmax>${x + w}</xmax><ymax>${y + h}</ymax></bndbox></object>`,
        )
        .join('')}</annotation>`;
      writeFileSync(join(dir, `${im.file_name}.xml`), xml);
    }
    writeFileSync(join(dir, 'names.txt'), 'face\n');
    const args = ['eval', FACE_MODEL, ...faceArgs(), '--labels', dir, '--names', join(dir, 'names.txt')];
    const r = await runKpusim([...args, '--json']);
    expect(r.code, r.err).toBe(0);
    expectHandMetrics(JSON.parse(r.out.toString()) as EvalDoc);
    const human = await runKpusim(args);
    expect(human.out.toString()).toMatch(/kmodel \(emulated\)\s+100\.0%\s+66\.7%\s+0\.6667\s+2\s+0\s+1/);
  }, 60_000);

  it('bad usage exits 2 with a reason: no labels, VOC without --names, a broken label file', async () => {
    const a = await runKpusim(['eval', FACE_MODEL, ...faceArgs()]);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/give --labels FILE, or --against-float/);
    const dir = mkdtempSync(join(tmpdir(), 'kpusim-voc-'));
    writeFileSync(join(dir, 'a.xml'), '<annotation><filename>a.jpg</filename></annotation>');
    const b = await runKpusim(['eval', FACE_MODEL, ...faceArgs(), '--labels', dir]);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/give the network's class list with --names/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"images": [], "annotations": [{"image_id": 5, "category_id": 1}], "categories": []}');
    const c = await runKpusim(['eval', FACE_MODEL, ...faceArgs(), '--labels', bad]);
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/bad\.json: annotations\[0\]: image_id 5 is not in "images"/);
  }, 60_000);
});

const HAS_ORT = (await importOrt()) !== undefined;

describe.skipIf(!HAS_SHARED || !HAS_ORT)('kpusim eval --against-float: YOLOX nano against its ONNX original', () => {
  it("scores the kmodel's detections against the float model's as pseudo-labels, and says so", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kpusim-yolox-'));
    for (const f of ['nncase_yolox_dog.jpg', 'nncase_yolox_person.jpg'])
      copyFileSync(join(KMODELS_DIR, 'images', f), join(dir, f));
    const r = await runKpusim([
      'eval',
      kmodelPath('nncase_yolox_nano_224_k210_v5'),
      '--task',
      'detect',
      '--dataset',
      dir,
      '--float',
      resolve(SHARED_DIR, 'float-models', 'yolox_nano_224.onnx'),
      '--float-mean',
      '123.675,116.28,103.53',
      '--float-std',
      '58.395,57.12,57.375',
      '--against-float',
      '--json',
    ]);
    expect(r.code, r.err).toBe(0);
    const d = JSON.parse(r.out.toString()) as EvalDoc & { metrics: { float?: unknown } };
    expect(d.truth).toBe('float model (pseudo-labels)');
    expect(d.metrics.float).toBeUndefined();
    // Measured on 2026-12-07 with this command: the float model finds 5 objects (3 people, a dog,
    // a car), the kmodel 9; 3 match (the people); the dog is called a bicycle. Precision 3/9,
    // recall 3/5, mAP 0.3333. Recorded as measured, not tuned.
    const k = d.metrics.kmodel;
    expect([k.true_positives, k.false_positives, k.false_negatives]).toEqual([3, 6, 2]);
  }, 120_000);
});

/*
 * A classifier on real data: the iris kmodel (nncase's example, compiled from iris.tflite) and its
 * float original, on eight flowers of Fisher's iris data set (public domain; R. A. Fisher 1936,
 * measured by E. Anderson). Each label is the species the data set records for that flower (row
 * numbers of the usual 150-row table), set here by hand; rows 71, 84 and 134 are the flowers
 * known to lie between versicolor and virginica. The metric is computed below from the per-image
 * ranks in the JSON, independently of the command's own count.
 */
const IRIS: readonly { row: number; x: readonly number[]; species: 0 | 1 | 2 }[] = [
  { row: 1, x: [5.1, 3.5, 1.4, 0.2], species: 0 },
  { row: 2, x: [4.9, 3.0, 1.4, 0.2], species: 0 },
  { row: 51, x: [7.0, 3.2, 4.7, 1.4], species: 1 },
  { row: 52, x: [6.4, 3.2, 4.5, 1.5], species: 1 },
  { row: 71, x: [5.9, 3.2, 4.8, 1.8], species: 1 },
  { row: 84, x: [6.0, 2.7, 5.1, 1.6], species: 1 },
  { row: 101, x: [6.3, 3.3, 6.0, 2.5], species: 2 },
  { row: 134, x: [6.3, 2.8, 5.1, 1.5], species: 2 },
];

describe.skipIf(!HAS_SHARED)('kpusim eval --task classify: the iris kmodel and iris.tflite on eight flowers', () => {
  it('top-1/top-5 as computed by hand from the per-image ranks, for the kmodel and the float model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kpusim-iris-eval-'));
    const name = (row: number) => `iris_${String(row).padStart(3, '0')}.bin`;
    for (const f of IRIS) writeFileSync(join(dir, name(f.row)), new Uint8Array(Float32Array.from(f.x).buffer));
    const labels = join(dir, 'labels.json');
    writeFileSync(
      labels,
      JSON.stringify({
        images: IRIS.map((f) => ({ id: f.row, file_name: name(f.row) })),
        annotations: IRIS.map((f, i) => ({ id: i + 1, image_id: f.row, category_id: f.species + 1 })),
        categories: [
          { id: 1, name: 'setosa' },
          { id: 2, name: 'versicolor' },
          { id: 3, name: 'virginica' },
        ],
      }),
    );
    const r = await runKpusim([
      'eval',
      kmodelPath('nncase_iris_float_v4'),
      '--task',
      'classify',
      '--dataset',
      dir,
      '--labels',
      labels,
      '--float',
      resolve(SHARED_DIR, 'float-models', 'iris.tflite'),
      '--json',
    ]);
    expect(r.code, r.err).toBe(0);
    const d = JSON.parse(r.out.toString()) as {
      metrics: Record<'kmodel' | 'float', { images: number; top1: number; top5: number }>;
      images: { image: string; label: number; kmodel_top5: number[]; float_top5: number[] }[];
    };
    expect(d.images.map((i) => [i.image, i.label])).toEqual(IRIS.map((f) => [name(f.row), f.species]));
    for (const side of ['kmodel', 'float'] as const) {
      const ranks = d.images.map((i) => (side === 'kmodel' ? i.kmodel_top5 : i.float_top5));
      // Three classes: each image's ranking lists all three, once each.
      for (const rk of ranks) expect([...rk].sort()).toEqual([0, 1, 2]);
      const top1 = IRIS.filter((f, k) => ranks[k][0] === f.species).length / IRIS.length;
      const top5 = IRIS.filter((f, k) => ranks[k].slice(0, 5).includes(f.species)).length / IRIS.length;
      expect(d.metrics[side]).toEqual({ images: IRIS.length, top1, top5 });
    }
    // The kmodel is compiled with --inference-type float: it ranks every flower as its original does.
    expect(d.images.map((i) => i.kmodel_top5)).toEqual(d.images.map((i) => i.float_top5));
    // Measured on 2026-12-07 with this command: every flower right but rows 84 (versicolor, ranked
    // virginica first) and 134 (virginica, ranked versicolor first): top-1 6/8. Recorded as measured.
    expect(d.metrics.kmodel.top1).toBe(0.75);
    expect(d.images.filter((i) => i.kmodel_top5[0] !== i.label).map((i) => i.image)).toEqual([
      'iris_084.bin',
      'iris_134.bin',
    ]);
  }, 60_000);
});
