/**
 * `kpusim compare` on real models of the shared corpus: every KPU conv layer agrees with the
 * float reference in isolation (≤ 1 LSB, cosine ≥ 0.999) on random and image inputs, the
 * whole-model outputs stay above nncase's 0.97 bar, and the CLI's JSON has the documented shape.
 * The full corpus is measured by the command itself (see the report in the issue thread); these
 * are the models the issue names, kept to a few seconds.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import type { Io } from '../src/cli/common.js';
import { readInputFile } from '../src/input.js';
import { prepare } from '../src/kpu/interpreter.js';
import { loadKmodel } from '../src/load.js';
import { buildReference, compareOnce, initReferenceBackend } from '../src/reference/index.js';
import { randomInput } from '../src/reference/random.js';
import { TOLERANCES } from '../src/tolerances.js';
import { HAS_SHARED, KMODELS_DIR, kmodelPath } from './shared.js';

const DOG = `${KMODELS_DIR}/images/nncase_yolo20_dog_320x240.bmp`;
const FACE = `${KMODELS_DIR}/images/nncase_ultraface_face.jpg`;

function capture(): Io & { text: () => string } {
  let out = '';
  return { out: (t) => (out += t), err: () => {}, errIsTty: false, text: () => out };
}

describe.skipIf(!HAS_SHARED)('compare on real models', () => {
  beforeAll(async () => {
    await initReferenceBackend('wasm');
  });

  const cases: [string, string | number][] = [
    ['maixpy_mnist_v3', 1],
    ['canmv_face_ld5_landmark_v3', 2],
    ['canmv_face_feature_extraction_v4', FACE],
    ['maixpy_face_detect_0x300000_v3', FACE],
    ['nncase_yolo20_voc_v4', DOG],
  ];
  it.each(cases)('%s: isolated ≤ 1 LSB on every KPU conv layer, output cosine ≥ 0.97', (name, input) => {
    const { model } = loadKmodel(kmodelPath(name));
    const prepared = prepare(model);
    const ref = buildReference(model);
    try {
      const bytes =
        typeof input === 'number'
          ? randomInput(prepared.inputs[0], input)
          : readInputFile(input, prepared.inputs[0]).bytes;
      const run = compareOnce(prepared, ref, [bytes]);
      expect(run.layers).toHaveLength(model.layers.length);
      const kpu = run.layers.filter((l) => l.unit === 'KPU');
      expect(kpu.length).toBeGreaterThan(0);
      for (const l of kpu) {
        expect(l.reference, `layer ${l.index}`).toBe('float');
        expect(l.isolated!.max_lsb_diff, `layer ${l.index}`).toBeLessThanOrEqual(TOLERANCES.referenceIsolatedU8.maxLsb);
        expect(l.isolated!.cosine, `layer ${l.index}`).toBeGreaterThanOrEqual(TOLERANCES.referenceIsolatedU8.cosine);
      }
      for (const o of run.outputs) expect(o.cosine).toBeGreaterThanOrEqual(0.97);
    } finally {
      ref.dispose();
    }
  });

  it('kpusim compare --json: one entry per layer in file order, outputs with the four measures', async () => {
    const io = capture();
    const code = await main(['compare', kmodelPath('maixpy_mnist_v3'), '--random', '5', '--json'], io);
    expect(code).toBe(0);
    const doc = JSON.parse(io.text());
    expect(doc.schema_version).toBe(1);
    expect(doc.statement).toMatch(/reconstructed from the quantised file/);
    expect(doc.layers.map((l: { index: number }) => l.index)).toEqual([...Array(11).keys()]);
    expect(doc.layers[0]).toMatchObject({
      index: 0,
      type: 'K210_CONV',
      isolated: { max_lsb_diff: expect.any(Number) },
      cumulative: { cosine: expect.any(Number) },
    });
    for (const l of doc.layers) {
      expect(Object.keys(l.isolated).sort()).toEqual(['cosine', 'max_lsb_diff', 'mismatch_fraction']);
      expect(l.cumulative).toHaveProperty('snr_db');
      expect(l.cumulative).toHaveProperty('max_abs');
    }
    expect(Object.keys(doc.outputs[0]).sort()).toEqual(['centred_cosine', 'cosine', 'index', 'max_abs', 'snr_db']);
  });

  it('kpusim compare --against: the same network compiled twice', async () => {
    const io = capture();
    const code = await main(
      [
        'compare',
        kmodelPath('nncase_iris_float_v4'),
        '--against',
        kmodelPath('nncase_iris_float_v3'),
        '--random',
        '1',
        '--json',
      ],
      io,
    );
    expect(code).toBe(0);
    const doc = JSON.parse(io.text());
    expect(doc.outputs).toHaveLength(1);
    expect(doc.outputs[0].cosine).toBeGreaterThan(0.9999);
  });

  it('the human table names the float model and has a bar per layer', async () => {
    const io = capture();
    await main(['compare', kmodelPath('maixpy_mnist_v3'), '--random', '5', '--layers', '0..1'], io);
    const t = io.text();
    expect(t).toMatch(/reconstructed from the quantised file/);
    expect(t).toMatch(/█/);
    expect(t).toMatch(/isolated check, KPU conv layers .*: 2\/2 pass/);
  });

  it('quantisation from the file: every uint8 map gets a zero point; a dequantized map its scale', () => {
    const { model } = loadKmodel(kmodelPath('nncase_yolo20_voc_v4'));
    const ref = buildReference(model);
    try {
      for (const l of ref.layers)
        for (const r of l.outputs)
          if (r.dtype === 'uint8') expect(r.quant?.zeroPointKnown, `layer ${l.index}`).toBe(true);
      // layer 15's map is read by the dequantize node 16: its zero point and scale are that node's.
      if (model.version !== 4) throw new Error('a v4 model was expected');
      const deq = model.layers[16];
      if (deq.type !== 'dequantize') throw new Error('layer 16 should be the dequantize');
      const q = ref.layers[15].outputs[0].quant!;
      expect(q.scaleKnown).toBe(true);
      expect(q.zeroPoint[0]).toBe(deq.body.quant_param.zero_point);
      expect(q.scale[0]).toBeCloseTo(1 / deq.body.quant_param.scale, 12);
      // layer 3's input zero point is −arg_w of that conv (nncase 0.2, shr_w = 0)
      expect(ref.layers[3].inputs[0].quant!.zeroPoint[0]).toBe(-model.layers[3].kpu!.arg.arg_w);
      expect(ref.producers[3]).toEqual([2]);
    } finally {
      ref.dispose();
    }
  });

  it('--against with --anchors decodes both detectors and pairs their boxes', async () => {
    const io = capture();
    const anchors = '1.08,1.19,3.42,4.41,6.63,11.38,9.42,5.11,16.62,10.52';
    const code = await main(
      [
        'compare',
        kmodelPath('nncase_yolo20_voc_v4'),
        '--against',
        kmodelPath('nncase_yolo20_voc_v3'),
        '--input',
        DOG,
        '--anchors',
        anchors,
        '--json',
      ],
      io,
    );
    expect(code).toBe(0);
    const doc = JSON.parse(io.text());
    expect(doc.region.classes).toBe(20);
    expect(doc.outputs[0].cosine).toBeGreaterThan(0.97);
    const paired = doc.boxes.filter((b: { a?: unknown; b?: unknown }) => b.a && b.b);
    expect(paired.length).toBeGreaterThan(0);
    for (const b of paired) expect(b.iou).toBeGreaterThan(0.3);
  });

  it('--dataset runs every image of a folder and summarises', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kpusim-dataset-'));
    try {
      copyFileSync(FACE, join(dir, 'a.jpg'));
      copyFileSync(DOG, join(dir, 'b.bmp'));
      const io = capture();
      const code = await main(['compare', kmodelPath('maixpy_mnist_v3'), '--dataset', dir, '--json'], io);
      expect(code).toBe(0);
      const doc = JSON.parse(io.text());
      expect(doc.inputs.map((i: { input: string }) => i.input)).toEqual(['a.jpg', 'b.bmp']);
      expect(doc.summary.inputs).toBe(2);
      expect(doc.summary.outputs[0].worst_cosine).toBeLessThanOrEqual(doc.summary.outputs[0].mean_cosine);
      expect(doc.summary.worst_inputs[0].input).toBe(doc.summary.outputs[0].worst_input);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
