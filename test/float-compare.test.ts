/**
 * `kpusim compare MODEL --float ORIGINAL` on the original float networks of five kmodels, with
 * the input mappings of ../shared/float-models/SOURCES.md. The output cosines are asserted as
 * lower bounds just under what was measured (each figure says where it came from); they are
 * measurements, not tuned to pass. A wrong mapping or layout must be reported as such (exit 3,
 * naming the mapping that fits), not only as a low cosine.
 */
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importOrt } from '../src/float/onnx.js';
import { HAS_SHARED, kmodelPath, KMODELS_DIR, runKpusim, SHARED_DIR, SHARED_SKIP_REASON } from './shared.js';

const FLOAT_DIR = resolve(SHARED_DIR, 'float-models');
const IMAGES = resolve(KMODELS_DIR, 'images');
const HAS_ORT = (await importOrt()) !== undefined;
const ORT_SKIP_REASON = 'skipped: the optional package onnxruntime-web is not installed';
if (!HAS_ORT) console.warn(ORT_SKIP_REASON);
if (!HAS_SHARED) console.warn(SHARED_SKIP_REASON);

interface Doc {
  readonly reference: { file: string; mapping: { mean: number[]; std: number[]; layout: string; text: string } };
  readonly outputs: { index: number; cosine: number; float_name: string; arrangement: string }[];
  readonly layers?: { index: number; type: string; float_tensor: string; cosine: number }[];
  readonly loss_enters?: number[];
  readonly mapping_check?: {
    verdict: string;
    better?: { mapping: string; layout: string; mean_cosine: number };
    trials: { mapping: string; layout: string; mean_cosine: number; given: boolean }[];
  };
}

async function compare(model: string, float: string, image: string, extra: readonly string[]) {
  const r = await runKpusim([
    'compare',
    kmodelPath(model),
    '--float',
    resolve(FLOAT_DIR, float),
    '--input',
    resolve(IMAGES, image),
    '--json',
    ...extra,
  ]);
  let doc: Doc | undefined;
  try {
    doc = JSON.parse(r.out.toString()) as Doc;
  } catch (e) {
    // No JSON on stdout (a refused command): the caller checks the exit code and stderr.
    if (!(e instanceof SyntaxError)) throw e;
    doc = undefined;
  }
  return { code: r.code, doc, err: r.err };
}

const cosines = (d: Doc | undefined) => d?.outputs.map((o) => o.cosine) ?? [];

describe.skipIf(!HAS_SHARED)('compare --float: TFLite originals', () => {
  it('model_4 and model_5 (x/255): output cosine, NHWC output transposed to NCHW, per-layer curve', async () => {
    for (const [model, float] of [
      ['nncase_root_model4_v4', 'model_4.tflite'],
      ['nncase_root_model5_v4', 'model_5.tflite'],
    ]) {
      const r = await compare(model, float, 'nncase_ulffd_landmark_20.jpg', [
        '--float-mean',
        '0',
        '--float-std',
        '255',
      ]);
      expect(r.code, r.err).toBe(0);
      expect(r.doc!.reference.mapping.text).toBe('x / 255');
      expect(r.doc!.outputs[0].arrangement).toBe('nhwc→nchw');
      // Measured 0.99982 (model_4) and 0.99983 (model_5) on 2026-12-07 with
      // `kpusim compare <model> --float <tflite> --input nncase_ulffd_landmark_20.jpg --float-mean 0 --float-std 255`.
      expect(r.doc!.outputs[0].cosine).toBeGreaterThanOrEqual(0.9997);
      // The last layer's cumulative cosine is the output's.
      const last = r.doc!.layers!.at(-1)!;
      expect(last.cosine).toBeCloseTo(r.doc!.outputs[0].cosine, 6);
      if (r.doc!.mapping_check) expect(r.doc!.mapping_check.better).toBeUndefined();
    }
  }, 120_000);

  it('ulffd_landmark (x/255 − 0.5): three outputs matched by shape, and where the loss enters', async () => {
    const r = await compare('nncase_ulffd_landmark_v4', 'ulffd_landmark.tflite', 'nncase_ulffd_landmark_20.jpg', [
      '--float-mean',
      '127.5',
      '--float-std',
      '255',
      '--no-check-mapping',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.doc!.outputs.map((o) => o.float_name)).toEqual(['Identity', 'Identity_1', 'Identity_2']);
    // Measured 0.99553 (boxes), 0.99412 (landmarks), 0.99848 (scores) on 2026-12-07 with
    // `kpusim compare nncase_ulffd_landmark_v4.kmodel --float ulffd_landmark.tflite --input
    // nncase_ulffd_landmark_20.jpg --float-mean 127.5 --float-std 255`.
    const c = cosines(r.doc);
    expect(c[0]).toBeGreaterThanOrEqual(0.995);
    expect(c[1]).toBeGreaterThanOrEqual(0.993);
    expect(c[2]).toBeGreaterThanOrEqual(0.998);
    // The first KPU layer is the first conv + ReLU of the float network.
    const first = r.doc!.layers![0];
    expect(first).toMatchObject({ index: 0, type: 'kpu_conv2d' });
    expect(first.float_tensor).toMatch(/conv_bn_0_relu/);
    expect(first.cosine).toBeGreaterThan(0.999);
    expect(r.doc!.loss_enters!.length).toBeGreaterThan(0);
  }, 120_000);

  it('a wrong mapping and layout are reported as such: x/255, NCHW for a TFLite network trained on x/255 − 0.5', async () => {
    const r = await compare('nncase_ulffd_landmark_v4', 'ulffd_landmark.tflite', 'nncase_ulffd_landmark_20.jpg', [
      '--float-mean',
      '0',
      '--float-std',
      '255',
      '--float-layout',
      'nchw',
    ]);
    expect(r.code, r.err).toBe(3);
    const check = r.doc!.mapping_check!;
    expect(check.better).toMatchObject({ mapping: 'x / 255 − 0.5', layout: 'nhwc' });
    expect(check.verdict).toMatch(/looks wrong/);
    const given = check.trials.find((t) => t.given)!;
    expect(check.better!.mean_cosine - given.mean_cosine).toBeGreaterThan(0.01);
    // The right mapping with the wrong layout alone is also far off (the layout matters most).
    const layoutOnly = check.trials.find((t) => t.mapping === 'x / 255 − 0.5' && t.layout === 'nchw')!;
    expect(check.better!.mean_cosine - layoutOnly.mean_cosine).toBeGreaterThan(0.1);
  }, 120_000);

  it('human output names the reference, the mapping and its source', async () => {
    const r = await runKpusim([
      'compare',
      kmodelPath('nncase_iris_float_v4'),
      '--float',
      resolve(FLOAT_DIR, 'iris.tflite'),
      '--input',
      irisInput(),
    ]);
    expect(r.code, r.err).toBe(0);
    const t = r.out.toString();
    expect(t).toMatch(/reference: iris\.tflite \(/);
    expect(t).toMatch(/float input: x .*default x/);
    expect(t).toMatch(/output 0 float32 1×3 ← output 1×3 \(same\): cosine 1\.00000/);
  }, 60_000);
});

function irisInput(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kpusim-iris-'));
  const f = join(dir, 'iris.bin');
  writeFileSync(f, new Uint8Array(Float32Array.of(5.1, 3.8, 1.9, 0.4).buffer));
  return f;
}

describe.skipIf(!HAS_SHARED)('compare --float: bad usage has no effect and exits 2', () => {
  it('float options without --float, a Caffe file, a file that is not TFLite', async () => {
    const k = kmodelPath('nncase_iris_float_v4');
    const a = await runKpusim(['compare', k, '--random', '1', '--float-mean', '0']);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/need --float/);
    const b = await runKpusim(['compare', k, '--random', '1', '--float', 'x.caffemodel']);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/Caffe models are not read; convert the network to ONNX/);
    const dir = mkdtempSync(join(tmpdir(), 'kpusim-float-'));
    const bad = join(dir, 'bad.tflite');
    writeFileSync(bad, new Uint8Array(100).fill(7));
    const c = await runKpusim(['compare', k, '--random', '1', '--float', bad]);
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/bad\.tflite: at byte 4: not a TFLite file/);
    expect(c.out.length).toBe(0);
  }, 60_000);
});

describe.skipIf(!HAS_SHARED || !HAS_ORT)('compare --float: ONNX originals (onnxruntime-web)', () => {
  it('ultraface slim-320 ((x − 127)/128): scores and boxes matched by shape', async () => {
    const r = await compare(
      'nncase_ultraface_slim320_v4',
      'version-slim-320_simplified.onnx',
      'nncase_ultraface_face.jpg',
      ['--float-mean', '127', '--float-std', '128', '--no-check-mapping'],
    );
    expect(r.code, r.err).toBe(0);
    expect(r.doc!.outputs.map((o) => o.float_name)).toEqual(['scores', 'boxes']);
    // Measured 0.99996 (scores) and 0.99702 (boxes) on 2026-12-07 with
    // `kpusim compare nncase_ultraface_slim320_v4.kmodel --float version-slim-320_simplified.onnx --input
    // nncase_ultraface_face.jpg --float-mean 127 --float-std 128`.
    const c = cosines(r.doc);
    expect(c[0]).toBeGreaterThanOrEqual(0.9999);
    expect(c[1]).toBeGreaterThanOrEqual(0.996);
    // The per-layer curve from the ONNX graph's intermediate tensors (listed as extra graph outputs):
    // the first KPU conv is the first float conv, and the curve ends on the scores output with the
    // output's cosine (the boxes branch comes earlier in the ONNX node order, so order matching
    // follows the scores branch to the end).
    const layers = r.doc!.layers!;
    expect(layers.length).toBeGreaterThan(20);
    expect(layers[0]).toMatchObject({ index: 0, type: 'kpu_conv2d' });
    expect(layers[0].cosine).toBeGreaterThan(0.999);
    const last = layers.at(-1)!;
    expect(last.float_tensor).toBe('scores');
    expect(last.cosine).toBeCloseTo(c[0], 6);
    // Measured on 2026-12-07 with the command above: the loss enters most at layer 34, a 256-channel
    // 8×10 kpu_conv2d (cosine 0.99085 → 0.98502 against its input's).
    expect(r.doc!.loss_enters![0]).toBe(34);
    expect(layers.find((l) => l.index === 34)!.float_tensor).toBe('315');
  }, 120_000);

  it('YOLOX nano (ImageNet mean/std on x/255): the known large loss', async () => {
    const r = await compare('nncase_yolox_nano_224_k210_v5', 'yolox_nano_224.onnx', 'nncase_yolox_dog.jpg', [
      '--float-mean',
      '123.675,116.28,103.53',
      '--float-std',
      '58.395,57.12,57.375',
      '--no-check-mapping',
    ]);
    expect(r.code, r.err).toBe(0);
    // Measured 0.88284 on 2026-12-07 with
    // `kpusim compare nncase_yolox_nano_224_k210_v5.kmodel --float yolox_nano_224.onnx --input nncase_yolox_dog.jpg
    // --float-mean 123.675,116.28,103.53 --float-std 58.395,57.12,57.375`.
    expect(cosines(r.doc)[0]).toBeGreaterThanOrEqual(0.88);
    expect(cosines(r.doc)[0]).toBeLessThan(0.95);
    // kmodel v5: the per-layer curve from the reference's op hook (each op's result in real values)
    // against the ONNX graph's intermediate tensors. The first KPU conv (after the Focus slices) is
    // the first float conv + SiLU; the curve ends on the output with the output's cosine.
    const layers = r.doc!.layers!;
    expect(layers.length).toBeGreaterThan(50);
    const conv = layers.find((l) => l.type === 'k210:kpu_conv2d')!;
    expect(conv.index).toBe(11);
    expect(conv.cosine).toBeGreaterThan(0.99);
    const last = layers.at(-1)!;
    expect(last.float_tensor).toBe('output');
    expect(last.cosine).toBeCloseTo(cosines(r.doc)[0], 6);
    // Measured on 2026-12-07 with the command above: the loss enters most at layers 177, 157 and 20,
    // KPU convs of the 14×14, 7×7 and 56×56 stages.
    expect(r.doc!.loss_enters).toEqual([177, 157, 20]);
  }, 120_000);
});
