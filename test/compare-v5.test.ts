/**
 * `kpusim compare` on kmodel v5 (issue 4 on the models of issue 10): every K210 kpu_conv2d of
 * nncase_yolox_nano_224_k210_v5 agrees with the float reference in isolation (≤ 1 LSB, cosine
 * ≥ 0.999) on the demo image and on a random input; the float model covers every op from the
 * input to the output; the degenerate mnist model (no weights) is compared without crashing;
 * the JSON has the documented shape with one entry per layer in file order.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Io } from '../src/cli/common.js';
import { main } from '../src/cli/main.js';
import { prepare } from '../src/kpu/interpreter.js';
import { loadKmodel } from '../src/load.js';
import { buildReference, compareOnce, initReferenceBackend, type CompareRun } from '../src/reference/index.js';
import { randomInput } from '../src/reference/random.js';
import { summarize } from '../src/reference/report.js';
import { TOLERANCES } from '../src/tolerances.js';
import { HAS_SHARED, KMODELS_DIR, kmodelPath } from './shared.js';

const YOLOX = 'nncase_yolox_nano_224_k210_v5';
const DEMO = `${KMODELS_DIR}/expected/nncase_yolox_input_224x224_chw_u8.bin`;

function capture(): Io & { text: () => string } {
  let out = '';
  return { out: (t) => (out += t), err: () => {}, errIsTty: false, text: () => out };
}

function compare(name: string, input: Uint8Array | number): { run: CompareRun; types: string[] } {
  const { model } = loadKmodel(kmodelPath(name));
  const prepared = prepare(model);
  const ref = buildReference(model);
  try {
    const bytes = typeof input === 'number' ? randomInput(prepared.inputs[0], input) : input;
    return { run: compareOnce(prepared, ref, [bytes]), types: model.layers.map((l) => l.type) };
  } finally {
    ref.dispose();
  }
}

function expectIsolatedKpuPass(run: CompareRun): void {
  const kpu = run.layers.filter((l) => l.type === 'k210:kpu_conv2d');
  expect(kpu).toHaveLength(120);
  for (const l of kpu) {
    expect(l.unit).toBe('KPU');
    expect(l.reference, `layer ${l.index}`).toBe('float');
    expect(l.isolated!.max_lsb_diff, `layer ${l.index}`).toBeLessThanOrEqual(TOLERANCES.referenceIsolatedU8.maxLsb);
    expect(l.isolated!.cosine, `layer ${l.index}`).toBeGreaterThanOrEqual(TOLERANCES.referenceIsolatedU8.cosine);
  }
  const s = summarize(run);
  expect(s.kpu_conv_pass).toBe(s.kpu_conv_layers);
}

describe.skipIf(!HAS_SHARED)('compare on kmodel v5', () => {
  beforeAll(async () => {
    await initReferenceBackend('wasm');
  });

  it(`${YOLOX}, demo image: isolated ≤ 1 LSB on all 120 KPU convs, the float model covers every op, detector-level output cosine`, () => {
    const { run, types } = compare(YOLOX, new Uint8Array(readFileSync(DEMO)));
    expect(run.layers.map((l) => l.index)).toEqual([...types.keys()]);
    expect(run.layers.map((l) => l.type)).toEqual(types);
    expectIsolatedKpuPass(run);
    // every op has a float counterpart: nothing is carried over from the emulator
    expect(run.layers.every((l) => l.reference === 'float')).toBe(true);
    expect(run.notes?.[0]).toMatch(/covers every op/);
    // stackvm ops checked alone too: data movement exact, float ops to float precision
    for (const l of run.layers.filter(
      (x) => /SLICE|TRANSPOSE|COPY|QUANTIZE|kpu_upload|kpu_download/.test(x.type) && x.output?.dtype === 'uint8',
    )) {
      expect(l.isolated!.max_lsb_diff, `layer ${l.index}`).toBe(0);
    }
    for (const l of run.layers.filter((x) => x.unit === 'CPU' && x.type !== 'stackvm:CALL'))
      expect(l.isolated!.cosine, `layer ${l.index}`).toBeGreaterThan(0.99999);
    // the model input's quantisation: the first QUANTIZE's output is at 40+ dB
    expect(run.layers[9].cumulative!.snr_db!).toBeGreaterThan(40);
    // measured 0.958 (SNR 10.5 dB): the quantised network's own loss, spread over its KPU layers
    expect(run.outputs).toHaveLength(1);
    expect(run.outputs[0].cosine).toBeGreaterThan(0.93);
    expect(run.outputs[0].cosine).toBeLessThan(1);
    // quantisation learned from the dataflow: a KPU→KPU map has its zero point from the next
    // conv's arg_w and no scale; a downloaded, dequantized map has both
    expect(run.layers[11].output!.quant).toMatch(
      /zero point 1, .*from layer 12 k210:kpu_conv2d arg_w.*scale not stated/,
    );
    expect(run.layers[11].cumulative!.max_abs_unit).toBe('lsb');
    // layer 21's map goes to main memory by the download 22, out of the call 26 and into the DEQUANTIZE 27
    for (const i of [21, 22, 26]) {
      expect(run.layers[i].output!.quant, `layer ${i}`).toMatch(
        /zero point from layer 27 stackvm:DEQUANTIZE; scale from layer 27 stackvm:DEQUANTIZE/,
      );
      expect(run.layers[i].cumulative!.max_abs_unit).toBe('real');
    }
  });

  it(`${YOLOX}, random input: isolated ≤ 1 LSB on all 120 KPU convs`, () => {
    const { run } = compare(YOLOX, 7);
    expectIsolatedKpuPass(run);
    expect(run.outputs[0].cosine).toBeGreaterThan(0.5);
  });

  it('nncase_benchmark_mnist_cpu_v5 (no weights): no KPU layers, compared without crashing, and the report says why it is trivial', () => {
    const { run, types } = compare('nncase_benchmark_mnist_cpu_v5', 1);
    expect(run.layers.map((l) => l.type)).toEqual(types);
    expect(run.layers.filter((l) => l.unit === 'KPU')).toHaveLength(0);
    expect(run.outputs).toHaveLength(1);
    expect(run.outputs[0].max_abs).toBe(0);
    expect(run.notes!.join('\n')).toMatch(/no KPU conv layers/);
    expect(run.notes!.join('\n')).toMatch(/data pool no op writes/);
    expect(summarize(run).kpu_conv_layers).toBe(0);
  });

  it('kpusim compare --json on a v5 model: one entry per layer in file order, typed as kpusim info prints them', async () => {
    const io = capture();
    const code = await main(['compare', kmodelPath(YOLOX), '--input', DEMO, '--json', '--layers', '0..20'], io);
    expect(code).toBe(0);
    const doc = JSON.parse(io.text());
    expect(doc.schema_version).toBe(1);
    expect(doc.statement).toMatch(/reconstructed from the quantised file/);
    expect(doc.layers.map((l: { index: number }) => l.index)).toEqual([...Array(21).keys()]);
    expect(doc.layers[11]).toMatchObject({
      index: 11,
      type: 'k210:kpu_conv2d',
      isolated: { max_lsb_diff: expect.any(Number) },
      cumulative: { cosine: expect.any(Number) },
    });
    for (const l of doc.layers) {
      if (l.type === 'stackvm:CALL') expect(l.isolated).toBeUndefined();
      else expect(Object.keys(l.isolated).sort()).toEqual(['cosine', 'max_lsb_diff', 'mismatch_fraction']);
      expect(l.cumulative).toHaveProperty('snr_db');
      expect(l.cumulative).toHaveProperty('max_abs');
    }
    expect(Object.keys(doc.outputs[0]).sort()).toEqual(['centred_cosine', 'cosine', 'index', 'max_abs', 'snr_db']);
    expect(doc.notes.join('\n')).toMatch(/§6\.4/);
  });

  it('the human report of the degenerate model', async () => {
    const io = capture();
    const code = await main(['compare', kmodelPath('nncase_benchmark_mnist_cpu_v5'), '--random', '2'], io);
    expect(code).toBe(0);
    expect(io.text()).toMatch(/stackvm:CONV2D/);
    expect(io.text()).toMatch(/note: no KPU conv layers/);
  });
});
