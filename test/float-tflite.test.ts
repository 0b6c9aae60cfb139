/**
 * The TFLite reader (src/float/tflite.ts) and its executor on TensorFlow.js ops: bad files fail
 * with a KmodelError naming the byte offset, and iris.tflite computes what the float iris kmodels
 * (compiled from it with --inference-type float) compute, to float rounding.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { KmodelError } from '../src/errors.js';
import { runTflite } from '../src/float/tflite-run.js';
import { parseTflite } from '../src/float/tflite.js';
import { prepare } from '../src/kpu/interpreter.js';
import { loadKmodel } from '../src/load.js';
import { initReferenceBackend } from '../src/reference/index.js';
import { TOLERANCES } from '../src/tolerances.js';
import { HAS_SHARED, kmodelPath, SHARED_DIR } from './shared.js';

const FLOAT_DIR = resolve(SHARED_DIR, 'float-models');
const IRIS_INPUT = Float32Array.of(5.1, 3.8, 1.9, 0.4);

function expectKmodelError(f: () => unknown, code: string, offset?: number): KmodelError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(KmodelError);
    const k = e as KmodelError;
    expect(k.code).toBe(code);
    if (offset !== undefined) expect(k.offset).toBe(offset);
    expect(k.message).toMatch(/^x\.tflite: at byte \d+: /);
    return k;
  }
  throw new Error('no error thrown');
}

describe('TFLite reader: bad files', () => {
  it('refuses a file without the TFL3 identifier, and a too-short one', () => {
    expectKmodelError(() => parseTflite(new Uint8Array(3), 'x.tflite'), 'TRUNCATED', 0);
    const b = new Uint8Array(64);
    b.set([0x4b, 0x4d, 0x44, 0x4c], 4);
    expectKmodelError(() => parseTflite(b, 'x.tflite'), 'BAD_MAGIC', 4);
  });

  it('refuses a root offset past the end with the offset, without allocating by it', () => {
    const b = new Uint8Array(16);
    new DataView(b.buffer).setUint32(0, 0x7fffff00, true);
    b.set([0x54, 0x46, 0x4c, 0x33], 4);
    const e = expectKmodelError(() => parseTflite(b, 'x.tflite'), 'BAD_OFFSET');
    expect(e.offset).toBe(0x7fffff00);
  });
});

describe.skipIf(!HAS_SHARED)('TFLite reader on the shared float models', () => {
  beforeAll(async () => {
    await initReferenceBackend('wasm', () => {});
  });

  it('every truncation of iris.tflite fails with a KmodelError, never another error', () => {
    const bytes = readFileSync(resolve(FLOAT_DIR, 'iris.tflite'));
    for (let n = 0; n < bytes.length; n += 7) {
      try {
        parseTflite(bytes.subarray(0, n), 'x.tflite');
      } catch (e) {
        expect(e).toBeInstanceOf(KmodelError);
      }
    }
  });

  it('reads the graphs of the four TFLite models (ops, inputs, outputs)', () => {
    const ops = (f: string) => {
      const m = parseTflite(readFileSync(resolve(FLOAT_DIR, f)), f);
      return { ops: [...new Set(m.operators.map((o) => o.op))].sort(), out: m.outputs.map((i) => m.tensors[i].shape) };
    };
    expect(ops('iris.tflite')).toEqual({ ops: ['FULLY_CONNECTED'], out: [[1, 3]] });
    expect(ops('model_4.tflite').out).toEqual([[1, 14, 19, 64]]);
    expect(ops('ulffd_landmark.tflite')).toEqual({
      ops: ['CONCATENATION', 'CONV_2D', 'DEPTHWISE_CONV_2D', 'LEAKY_RELU', 'PAD', 'RELU', 'RESHAPE'],
      out: [
        [1, 3160, 4],
        [1, 3160, 10],
        [1, 3160, 2],
      ],
    });
  });

  it("iris: the float kmodels (v3, v4) agree with iris.tflite to float rounding on the README's input", () => {
    const m = parseTflite(readFileSync(resolve(FLOAT_DIR, 'iris.tflite')), 'iris.tflite');
    const float = runTflite(m, [IRIS_INPUT]).outputs[0].values;
    // The README's board output, to the 6 decimals it prints.
    expect(Array.from(float, (v) => Number(v.toFixed(5)))).toEqual([16.0778, 5.60766, -2.07175]);
    for (const name of ['nncase_iris_float_v3', 'nncase_iris_float_v4']) {
      const p = prepare(loadKmodel(kmodelPath(name)).model);
      const out = p.run([new Uint8Array(IRIS_INPUT.buffer.slice(0))]).outputs[0];
      const emu = new Float32Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.length));
      const tol = TOLERANCES.floatModelRounding;
      emu.forEach((v, i) =>
        expect(Math.abs(v - float[i]), `${name} output ${i}`).toBeLessThanOrEqual(
          tol.abs + tol.rel * Math.abs(float[i]),
        ),
      );
    }
  });
});
