import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { KmodelError } from '../src/errors.js';
import { BinaryReader } from '../src/kmodel-parser/binary-reader.js';
import { decodeBatchNorm, encodeBatchNorm } from '../src/kmodel-parser/kpu-layer-argument.js';
import {
  V3_LAYER_TYPES,
  parseV3,
  type KmodelV3,
  type V3K210ConvLayer,
  type V3Layer,
} from '../src/kmodel-parser/v3/parse.js';
import {
  activationSegments,
  bnEntry,
  buildV3,
  fieldsBody,
  fullyConnectedBody,
  tinyModel,
  V3_TYPE,
  weightCount,
  type ConvBodyOptions,
  type FixtureModel,
} from './fixtures/v3-builder.js';
import { GOLDEN_DIR, HAS_SHARED, kmodelPath, SHARED_SKIP_REASON } from './shared.js';

const parse = (bytes: Uint8Array): KmodelV3 => parseV3(new BinaryReader(bytes));

/** Parses, returning the KmodelError thrown; any other error type escapes and fails the test. */
function parseOrError(bytes: Uint8Array): KmodelV3 | KmodelError {
  try {
    return parse(bytes);
  } catch (e) {
    if (e instanceof KmodelError) return e;
    throw e;
  }
}

function expectError(bytes: Uint8Array, code: KmodelError['code'], message?: RegExp, offset?: number): KmodelError {
  const r = parseOrError(bytes);
  if (!(r instanceof KmodelError)) throw new Error(`expected KmodelError ${code}, but the model parsed`);
  expect(r.code).toBe(code);
  if (message) expect(r.message).toMatch(message);
  if (offset !== undefined) expect(r.offset).toBe(offset);
  return r;
}

function setU32(bytes: Uint8Array, at: number, v: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(at, v >>> 0, true);
  return copy;
}
const getU32 = (bytes: Uint8Array, at: number): number =>
  new DataView(bytes.buffer, bytes.byteOffset).getUint32(at, true);

// ---------------------------------------------------------------------------------------------
// The real corpus. Expected values are copied from shared/kmodels/SOURCES.md (output shapes as
// grid W×H × channels → [1, C, H, W]; layer mix) and each model's golden info.txt (layers,
// main_mem, output offset/size, input shape, "kpu addr" in 64-byte lines).
// ---------------------------------------------------------------------------------------------

interface Expected {
  layers: number;
  mainMem: number;
  output: [offset: number, size: number];
  input: number[];
  /** info.txt "kpu addr" (64-byte lines); undefined for a FULLY_CONNECTED first layer. */
  kpuLines?: number;
  /** SOURCES.md output shape; for lp_recog SOURCES gives only the element count. */
  outShape?: number[];
  outElements: number;
  /** K210_CONV count where SOURCES.md states it. */
  convs?: number;
  /** Bytes after the last body: kpu-numerics §10 C3 and §2.4 name these files. */
  trailing?: number;
}

const CAM = [1, 3, 256, 320];
const QVGA = [1, 3, 240, 320];
const FACE = [1, 3, 128, 128];
const REAL: Record<string, Expected> = {
  canmv_face_attribute_v3: {
    layers: 17,
    mainMem: 40960,
    output: [40432, 16],
    input: FACE,
    kpuLines: 32000,
    outShape: [1, 4],
    outElements: 4,
    convs: 13,
  },
  canmv_face_landmark68_v3: {
    layers: 17,
    mainMem: 40960,
    output: [39392, 544],
    input: FACE,
    kpuLines: 32000,
    outShape: [1, 136],
    outElements: 136,
    convs: 13,
  },
  canmv_face_ld5_landmark_v3: {
    layers: 11,
    mainMem: 5120,
    output: [4568, 40],
    input: FACE,
    kpuLines: 32000,
    outShape: [1, 10],
    outElements: 10,
    convs: 7,
  },
  canmv_hand_detect_v3: {
    layers: 31,
    mainMem: 12000,
    output: [2400, 9600],
    input: CAM,
    kpuLines: 28928,
    outShape: [1, 30, 8, 10],
    outElements: 2400,
    convs: 30,
  },
  canmv_head_detect_v3: {
    layers: 31,
    mainMem: 21600,
    output: [4320, 17280],
    input: CAM,
    kpuLines: 28928,
    outShape: [1, 54, 8, 10],
    outElements: 4320,
    convs: 30,
    trailing: 8,
  },
  canmv_licenseplate_detect_v3: {
    layers: 26,
    mainMem: 37504,
    output: [7504, 30000],
    input: QVGA,
    kpuLines: 29168,
    outShape: [1, 25, 15, 20],
    outElements: 7500,
  },
  canmv_licenseplate_recog_v3: {
    layers: 18,
    mainMem: 58240,
    output: [11648, 46592],
    input: [1, 3, 64, 208],
    kpuLines: 32000,
    outElements: 11648,
  },
  canmv_person_detect_v3: {
    layers: 31,
    mainMem: 21600,
    output: [4320, 17280],
    input: CAM,
    kpuLines: 28928,
    outShape: [1, 54, 8, 10],
    outElements: 4320,
    convs: 30,
    trailing: 8,
  },
  canmv_voc20_detect_v3: {
    layers: 31,
    mainMem: 50000,
    output: [10000, 40000],
    input: CAM,
    kpuLines: 28928,
    outShape: [1, 125, 8, 10],
    outElements: 10000,
    convs: 30,
  },
  canmv_yolo_face_detect_320x256_v3: {
    layers: 31,
    mainMem: 21600,
    output: [4320, 17280],
    input: CAM,
    kpuLines: 28928,
    outShape: [1, 54, 8, 10],
    outElements: 4320,
    convs: 30,
  },
  k210demo_face_detect_v3: {
    layers: 24,
    mainMem: 45000,
    output: [9000, 36000],
    input: QVGA,
    kpuLines: 29168,
    outShape: [1, 30, 15, 20],
    outElements: 9000,
    convs: 23,
  },
  k210demo_face_mask_5anchor_v3: {
    layers: 31,
    mainMem: 14000,
    output: [2800, 11200],
    input: CAM,
    kpuLines: 28928,
    outShape: [1, 35, 8, 10],
    outElements: 2800,
    convs: 30,
  },
  k210demo_face_mask_9anchor_v3: {
    layers: 31,
    mainMem: 25200,
    output: [5040, 20160],
    input: CAM,
    kpuLines: 28928,
    outShape: [1, 63, 8, 10],
    outElements: 5040,
    convs: 30,
  },
  k210demo_yolo20_voc_v3: {
    layers: 17,
    mainMem: 43752,
    output: [8752, 35000],
    input: QVGA,
    kpuLines: 29168,
    outShape: [1, 125, 7, 10],
    outElements: 8750,
    convs: 16,
  },
  maixpy_face_detect_0x300000_v3: {
    layers: 24,
    mainMem: 45000,
    output: [9000, 36000],
    input: QVGA,
    kpuLines: 29168,
    outShape: [1, 30, 15, 20],
    outElements: 9000,
    convs: 23,
  },
  maixpy_fans_mask_detect_v3: {
    layers: 10,
    mainMem: 97280,
    output: [83280, 11200],
    input: QVGA,
    kpuLines: 29168,
    outShape: [1, 35, 8, 10],
    outElements: 2800,
  },
  maixpy_fans_yolov2_fruit3_v3: {
    layers: 29,
    mainMem: 9800,
    output: [1960, 7840],
    input: [1, 3, 224, 224],
    kpuLines: 30080,
    outShape: [1, 40, 7, 7],
    outElements: 1960,
    convs: 28,
  },
  maixpy_mnist_v3: {
    layers: 11,
    mainMem: 14112,
    output: [14032, 40],
    input: [1, 1, 28, 28],
    kpuLines: 32740,
    outShape: [1, 10],
    outElements: 10,
    convs: 3,
  },
  nncase_iris_float_v3: {
    layers: 2,
    mainMem: 56,
    output: [0, 12],
    input: [1, 4],
    outShape: [1, 3],
    outElements: 3,
    convs: 0,
  },
  nncase_yolo20_voc_v3: {
    layers: 17,
    mainMem: 43752,
    output: [8752, 35000],
    input: QVGA,
    kpuLines: 29168,
    outShape: [1, 125, 7, 10],
    outElements: 8750,
    convs: 16,
    trailing: -4,
  },
};

const readModel = (name: string): Uint8Array => new Uint8Array(readFileSync(kmodelPath(name)));
const product = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

describe.skipIf(!HAS_SHARED)(`real v3 files (${SHARED_SKIP_REASON.replace('skipped: ', 'skipped when ')})`, () => {
  // The describe body runs at collection even when skipped: read the files only when they exist.
  const files = new Map(HAS_SHARED ? Object.keys(REAL).map((n) => [n, readModel(n)]) : []);
  const models = new Map<string, KmodelV3>();

  test('all 20 v3 files parse', () => {
    expect(files.size).toBe(20);
    for (const [name, bytes] of files) models.set(name, parse(bytes));
    expect(models.size).toBe(20);
  });

  test.each(Object.entries(REAL))('%s matches SOURCES.md and its golden info.txt', (name, e) => {
    const m = models.get(name) ?? parse(files.get(name)!);
    expect(m.version).toBe(3);
    expect(m.generation).toBe('nncase 0.1');
    expect(m.layers).toHaveLength(e.layers);
    expect(m.mainMemBytes).toBe(e.mainMem);
    expect(m.weightBits).toBe(8);
    expect(m.outputs).toHaveLength(1);
    expect([m.outputs[0].address, m.outputs[0].size]).toEqual(e.output);
    expect(m.outputs[0].dtype).toBe('float32');
    expect(m.outputs[0].bytes).toBe(e.output[1]);
    expect(product(m.outputs[0].shape)).toBe(e.outElements);
    if (e.outShape) expect(m.outputs[0].shape).toEqual(e.outShape);
    expect(m.inputs).toHaveLength(1);
    expect(m.inputs[0].shape).toEqual(e.input);
    if (e.kpuLines !== undefined) {
      expect(m.inputs[0]).toMatchObject({
        dtype: 'uint8',
        memory: 'kpu',
        address: e.kpuLines * 64,
        bytes: product(e.input),
      });
      expect(m.layers[0].type).toBe('K210_CONV');
    } else {
      expect(m.inputs[0]).toMatchObject({ dtype: 'float32', memory: 'main', bytes: 16 });
      expect(m.layers[0].type).toBe('FULLY_CONNECTED');
    }
    if (e.convs !== undefined) expect(m.layers.filter((l) => l.type === 'K210_CONV')).toHaveLength(e.convs);
    if (e.trailing !== undefined) expect(m.trailingBytes).toBe(e.trailing);

    // info.txt, read at test time: every header field it prints.
    const info = readFileSync(resolve(GOLDEN_DIR, 'v3-shared', name, 'const_128', 'info.txt'), 'utf8');
    const f = Object.fromEntries([...info.split('\n')[1].matchAll(/(\w+)=(\d+)/g)].map((x) => [x[1], Number(x[2])]));
    expect(m.header).toEqual({
      flags: f.flags,
      arch: f.arch,
      layers_length: f.layers,
      max_start_address: f.max_start_address,
      main_mem_usage: f.main_mem,
      output_count: f.outputs,
    });
    const out = /output0: offset=(\d+) size=(\d+)/.exec(info)!;
    expect([m.outputs[0].address, m.outputs[0].size]).toEqual([Number(out[1]), Number(out[2])]);
  });

  test('layer mixes stated in SOURCES.md', () => {
    const types = (n: string) => models.get(n)!.layers.map((l) => l.type);
    expect(types('maixpy_mnist_v3')).toEqual([
      'K210_CONV',
      'K210_CONV',
      'DEQUANTIZE',
      'TENSORFLOW_FLATTEN',
      'FULLY_CONNECTED',
      'QUANTIZE',
      'K210_ADD_PADDING',
      'K210_CONV',
      'K210_REMOVE_PADDING',
      'DEQUANTIZE',
      'SOFTMAX',
    ]);
    expect(types('canmv_face_ld5_landmark_v3').slice(7)).toEqual([
      'DEQUANTIZE',
      'GLOBAL_AVERAGE_POOL2D',
      'FULLY_CONNECTED',
      'FULLY_CONNECTED',
    ]);
    expect(types('nncase_yolo20_voc_v3').at(-1)).toBe('CHANNELWISE_DEQUANTIZE');
    expect(types('maixpy_fans_mask_detect_v3')).toContain('QUANTIZED_MAX_POOL2D');
    expect(types('maixpy_fans_mask_detect_v3')).toContain('K210_UPLOAD');
    expect(types('nncase_iris_float_v3')).toEqual(['FULLY_CONNECTED', 'FULLY_CONNECTED']);
    // The golden README's table of the v3 types that occur.
    const seen = new Set([...models.values()].flatMap((m) => m.layers.map((l) => l.code)));
    expect([...seen].sort((a, b) => a - b)).toEqual([5, 8, 11, 12, 15, 18, 20, 24, 10240, 10241, 10242, 10243]);
  });

  test('K210_CONV facts kpu-numerics §10.1 states for all 401 v3 conv layers', () => {
    const convs = [...models.values()].flatMap((m) =>
      m.layers.filter((l): l is V3K210ConvLayer => l.type === 'K210_CONV'),
    );
    expect(convs).toHaveLength(401);
    let shrW15 = 0;
    for (const l of convs) {
      const { arg, weights, batchNorm, activation, fileOffsets } = l.kpu;
      const oc = arg.o_ch_num + 1;
      const k = arg.kernel_type === 1 ? 3 : 1;
      expect(weights.length).toBe(oc * (arg.depth_wise_layer ? 1 : arg.i_ch_num + 1) * k * k);
      expect(batchNorm).toHaveLength(oc);
      expect(activation).toHaveLength(16);
      // kpu-numerics §2.7 block order and alignment: registers 8, weights 128, BN 128, activation 256.
      expect([
        fileOffsets.registers % 8,
        fileOffsets.weights % 128,
        fileOffsets.batchNorm % 128,
        fileOffsets.activation % 256,
      ]).toEqual([0, 0, 0, 0]);
      expect(
        fileOffsets.registers < fileOffsets.weights &&
          fileOffsets.weights < fileOffsets.batchNorm &&
          fileOffsets.batchNorm < fileOffsets.activation,
      ).toBe(true);
      // kpu-numerics §5.4: segment 0 is the compiler's sentinel.
      expect(activation[0]).toMatchObject({ x_start: -(2 ** 35), y_mul: 0, shift_number: 0 });
      expect(Math.max(...activation.map((s) => s.shift_number))).toBeLessThanOrEqual(20);
      // Fixed register values, and C5: v3 files store send_data_out = 0 and int_en = 0.
      expect(arg).toMatchObject({
        dma_burst_size: 15,
        load_para: 1,
        load_coor: 1,
        load_act: 1,
        pad_type: 0,
        first_stride: 0,
        bypass_conv: 0,
        full_add: 0,
        ram_flag: 0,
        send_data_out: 0,
        int_en: 0,
        shr_x: 15,
      });
      expect([arg.bwsx_base_addr, arg.para_start_addr, arg.active_addr]).toEqual([0, 0, 0]);
      if (arg.shr_w === 15) shrW15++;
      expect(l.unit).toBe('KPU');
      expect(l.kpu.words).toHaveLength(12);
    }
    // kpu-numerics §10 C13: shr_w = 15 in only 38 layers.
    expect(shrW15).toBe(38);
    // kpu-numerics §10 C5: 21 conv layers have body flags bit0 = 1.
    expect(convs.filter((l) => l.flags & 1)).toHaveLength(21);
  });

  test('CPU layer bodies of the smallest real models', () => {
    const iris = models.get('nncase_iris_float_v3')!;
    const fc0 = iris.layers[0];
    expect(fc0.type).toBe('FULLY_CONNECTED');
    if (fc0.type !== 'FULLY_CONNECTED') return;
    expect(fc0.in_channels).toBe(4);
    expect(fc0.weights).toHaveLength(fc0.in_channels * fc0.out_channels);
    expect(fc0.bias).toHaveLength(fc0.out_channels);
    expect(iris.layers[1]).toMatchObject({
      main_mem_in_address: fc0.main_mem_out_address,
      out_channels: 3,
      unit: 'CPU',
    });

    const mnist = models.get('maixpy_mnist_v3')!;
    const flat = mnist.layers[3];
    expect(flat).toMatchObject({ type: 'TENSORFLOW_FLATTEN', shape: { width: 7, height: 7, channels: 32 } });
    expect(flat.outputs[0].shape).toEqual([1, 7 * 7 * 32]);
    // A DEQUANTIZE after a conv with a main-memory output takes the conv's OC×OH×OW shape.
    expect(mnist.layers[2].inputs[0]).toMatchObject({ dtype: 'uint8', shape: [1, 32, 7, 7] });
    expect(mnist.layers[2].outputs[0]).toMatchObject({ dtype: 'float32', shape: [1, 32, 7, 7] });
    expect(mnist.layers[6]).toMatchObject({ type: 'K210_ADD_PADDING', channels: 32 });
    expect(mnist.layers[7].inputs[0].shape).toEqual([1, 32, 4, 4]);
  });

  test('results are frozen deeply', () => {
    const m = models.get('maixpy_mnist_v3')!;
    const conv = m.layers[0] as V3K210ConvLayer;
    for (const o of [
      m,
      m.header,
      m.layers,
      m.inputs,
      m.outputs,
      m.outputs[0].shape,
      conv,
      conv.inputs,
      conv.inputs[0].shape,
      conv.kpu,
      conv.kpu.words,
      conv.kpu.arg,
      conv.kpu.batchNorm,
      conv.kpu.batchNorm[0],
      conv.kpu.activation,
      conv.kpu.activation[3],
      conv.kpu.fileOffsets,
    ]) {
      expect(Object.isFrozen(o)).toBe(true);
    }
    expect(Object.isFrozen(m.layers[3])).toBe(true);
    expect(Object.isFrozen((m.layers[3] as Extract<V3Layer, { type: 'TENSORFLOW_FLATTEN' }>).shape)).toBe(true);
  });

  test('every proper prefix of the smallest real model fails with a KmodelError', () => {
    const iris = files.get('nncase_iris_float_v3')!;
    for (let n = 0; n < iris.length; n++) {
      const r = parseOrError(iris.subarray(0, n));
      expect(r, `prefix of ${n} bytes`).toBeInstanceOf(KmodelError);
    }
  });

  test('every truncation of mnist up to its third body fails with a KmodelError', () => {
    const mnist = files.get('maixpy_mnist_v3')!;
    for (let n = 0; n < 6400; n++) expect(parseOrError(mnist.subarray(0, n))).toBeInstanceOf(KmodelError);
  });

  test('random byte flips in real files: parsed or KmodelError, never another error', () => {
    const pick = ['maixpy_mnist_v3', 'nncase_iris_float_v3', 'canmv_face_ld5_landmark_v3'].map((n) => files.get(n)!);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 }),
        fc.array(
          fc.record({
            at: fc.oneof(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 1 << 20 })),
            v: fc.integer({ min: 0, max: 255 }),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        (which, flips) => {
          const bytes = pick[which].slice();
          for (const { at, v } of flips) if (at < bytes.length) bytes[at] = v;
          parseOrError(bytes);
        },
      ),
      { seed: 42, numRuns: 1000 },
    );
  });

  test('huge header counts and body sizes in a real file fail fast with a KmodelError', () => {
    const mnist = files.get('maixpy_mnist_v3')!;
    fc.assert(
      fc.property(
        fc.constantFrom(12, 24, 36 + 4, 36 + 8 * 5 + 4, 36 + 8 * 10 + 4),
        fc.integer({ min: 0x10000, max: 0xffffffff }),
        (at, v) => {
          const r = parseOrError(setU32(mnist, at, v));
          expect(r).toBeInstanceOf(KmodelError);
        },
      ),
      { seed: 42, numRuns: 200 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Synthetic files (test/fixtures/v3-builder.ts).
// ---------------------------------------------------------------------------------------------

describe('synthetic v3 files', () => {
  const tiny = buildV3(tinyModel());

  test('the tiny model parses into the expected layers', () => {
    const m = parse(tiny);
    expect(m.header).toEqual({
      flags: 1,
      arch: 0,
      layers_length: 3,
      max_start_address: 100,
      main_mem_usage: 252,
      output_count: 1,
    });
    expect(m.trailingBytes).toBe(0);
    expect(m.layers.map((l) => [l.type, l.code, l.unit])).toEqual([
      ['K210_CONV', 10240, 'KPU'],
      ['DEQUANTIZE', 12, 'CPU'],
      ['FULLY_CONNECTED', 18, 'CPU'],
    ]);
    expect(m.layers[0].offset).toBe(28 + 8 + 24);
    expect(m.layers[1].offset).toBe(m.layers[0].offset + m.layers[0].bodySize);
    expect(m.layers[2].bodySize).toBe(616);
    expect(m.inputs).toEqual([{ shape: [1, 2, 8, 8], dtype: 'uint8', bytes: 128, memory: 'kpu', address: 6400 }]);
    expect(m.outputs).toEqual([{ shape: [1, 3], dtype: 'float32', bytes: 12, address: 240, size: 12 }]);

    const conv = m.layers[0] as V3K210ConvLayer;
    expect(conv).toMatchObject({ flags: 1, main_mem_out_address: 0 });
    expect(conv.outputs[0]).toMatchObject({ shape: [1, 3, 4, 4], dtype: 'uint8', bytes: 48 });
    expect(conv.kpu.weightBits).toBe(8);
    expect(conv.kpu.weights).toEqual(Uint8Array.from({ length: 54 }, (_, i) => i));
    expect(conv.kpu.batchNorm).toEqual([0, 1, 2].map(bnEntry));
    expect(conv.kpu.activation).toEqual(activationSegments());
    expect(conv.kpu.arg).toMatchObject({
      i_ch_num: 1,
      o_ch_num: 2,
      pool_type: 1,
      kernel_type: 1,
      arg_w: -1234,
      arg_x: 5678,
      arg_add: -98765,
    });
    expect(conv.kpu.fileOffsets.registers).toBe(conv.layer_offset);

    expect(m.layers[1]).toMatchObject({
      main_mem_in_address: 0,
      main_mem_out_address: 48,
      count: 48,
      quant_param: { scale: 0.5, bias: -3 },
    });
    expect(m.layers[1].outputs[0]).toMatchObject({ shape: [1, 3, 4, 4], dtype: 'float32' });
    const fcl = m.layers[2];
    if (fcl.type !== 'FULLY_CONNECTED') throw new Error('expected FULLY_CONNECTED');
    expect(fcl).toMatchObject({ in_channels: 48, out_channels: 3, act: 1 });
    expect(fcl.weights[1 * 48 + 2]).toBeCloseTo(1.02, 6);
    expect(Array.from(fcl.bias)).toEqual([-0, -1, -2]);
  });

  test('kpu-numerics §10 C3: a last body without its padding, and extra bytes after it', () => {
    const short = buildV3(tinyModel({ dropLastPadding: true }));
    expect(short.length).toBe(tiny.length - 4);
    expect(parse(short).trailingBytes).toBe(-4);
    expect(parse(short).layers[2].bodySize).toBe(616);
    const long = buildV3(tinyModel({ trailing: 8 }));
    expect(parse(long).trailingBytes).toBe(8);
    expect(parse(buildV3(tinyModel({ trailing: 100_000 }))).layers).toHaveLength(3);
    // Missing more than the padding is truncation.
    // One byte of the FULLY_CONNECTED bias missing: the body reader has too few bytes for it.
    expectError(tiny.subarray(0, tiny.length - 5), 'BAD_COUNT', /layer 2 \(FULLY_CONNECTED\) body/);
    expectError(tiny.subarray(0, tiny.length - 12), 'TRUNCATED', /only its alignment padding/);
  });

  test('16-bit weights (header flags 0) read two bytes per weight', () => {
    const spec = { ic: 2, oc: 3, w: 8, h: 8, kernel: 3 as const, pool: 1, src: 100, dst: 200, weightBits: 16 as const };
    const m = parse(buildV3(tinyModel({ flags: 0 }, { spec })));
    const conv = m.layers[0] as V3K210ConvLayer;
    expect(m.weightBits).toBe(16);
    expect(conv.kpu.weightBits).toBe(16);
    expect(conv.kpu.weights).toHaveLength(2 * weightCount(spec));
  });

  test('depthwise and 1×1 convs size their weights as OC·K² and OC·IC', () => {
    const dw = parse(
      buildV3(
        tinyModel({}, { spec: { ic: 3, oc: 3, w: 8, h: 8, kernel: 3, depthwise: true, pool: 1, src: 100, dst: 200 } }),
      ),
    );
    expect((dw.layers[0] as V3K210ConvLayer).kpu.weights).toHaveLength(27);
    const pw = parse(
      buildV3(tinyModel({}, { spec: { ic: 5, oc: 3, w: 8, h: 8, kernel: 1, pool: 1, src: 100, dst: 200 } })),
    );
    expect((pw.layers[0] as V3K210ConvLayer).kpu.weights).toHaveLength(15);
  });

  test('every CPU body type reads its upstream fields', () => {
    const T = V3_TYPE;
    const shape = (w: number, h: number, c: number) => [w, h, c];
    const layers: FixtureModel['layers'] = [
      { type: T.FULLY_CONNECTED, body: fullyConnectedBody(0, 16, 4, 8) },
      { type: T.ADD, body: fieldsBody(1, 16, 16, 64, 8) },
      {
        type: T.QUANTIZED_ADD,
        body: fieldsBody(
          1,
          100,
          200,
          300,
          8,
          ...[-1, -2, -3, -4, -5, -6, -7, -8, -9].map((v) => ['i32', v] as ['i32', number]),
        ),
      },
      { type: T.GLOBAL_AVERAGE_POOL2D, body: fieldsBody(1, 400, 600, 4, 8) },
      { type: T.MAX_POOL2D, body: fieldsBody(1, 700, 800, ...shape(4, 2, 3), ...shape(2, 1, 3), 2, 2, 2, 2, 0, 0, 2) },
      {
        type: T.QUANTIZED_MAX_POOL2D,
        body: fieldsBody(1, 700, 800, ...shape(4, 2, 3), ...shape(2, 1, 3), 2, 2, 2, 2, 1, 0),
      },
      {
        type: T.AVERAGE_POOL2D,
        body: fieldsBody(1, 700, 800, ...shape(4, 2, 3), ...shape(2, 1, 3), 2, 2, 2, 2, 0, 1, 1),
      },
      { type: T.QUANTIZE, body: fieldsBody(0, 64, 900, 8, ['f32', 0.25], ['f32', -1]) },
      { type: T.DEQUANTIZE, body: fieldsBody(1, 900, 1000, 8, ['f32', 0.5], ['f32', 2]) },
      {
        type: T.REQUANTIZE,
        body: fieldsBody(
          1,
          900,
          1100,
          8,
          Uint8Array.from({ length: 256 }, (_, i) => 255 - i),
        ),
      },
      { type: T.L2_NORMALIZATION, body: fieldsBody(1, 1000, 1200, 8) },
      { type: T.SOFTMAX, body: fieldsBody(1, 1000, 1300, 8) },
      { type: T.CONCAT, body: fieldsBody(1, 1400, 2, 1000, 32, 1200, 32) },
      { type: T.QUANTIZED_CONCAT, body: fieldsBody(1, 1500, 2, 900, 8, 1100, 8) },
      { type: T.TENSORFLOW_FLATTEN, body: fieldsBody(1, 1600, 1700, ...shape(2, 2, 3)) },
      { type: T.QUANTIZED_TENSORFLOW_FLATTEN, body: fieldsBody(1, 1600, 1750, ...shape(2, 2, 3)) },
      { type: T.RESIZE_NEAREST_NEIGHBOR, body: fieldsBody(1, 1800, 1900, ...shape(2, 2, 3), 4, 4, 1) },
      { type: T.QUANTIZED_RESIZE_NEAREST_NEIGHBOR, body: fieldsBody(1, 1800, 2092, ...shape(2, 2, 3), 4, 4, 0) },
      {
        type: T.CHANNELWISE_DEQUANTIZE,
        body: fieldsBody(
          1,
          2100,
          2200,
          3,
          4,
          ['f32', 1],
          ['f32', -1],
          ['f32', 2],
          ['f32', -2],
          ['f32', 3],
          ['f32', -3],
        ),
      },
      { type: T.LOGISTIC, body: fieldsBody(1, 2200, 2300, 12) },
      { type: T.K210_ADD_PADDING, body: fieldsBody(0, 2400, 100, 8) },
      { type: T.K210_REMOVE_PADDING, body: fieldsBody(1, 2500, 2700, 8) },
      { type: T.K210_UPLOAD, body: fieldsBody(0, 2800, 200, 5, 4, 3) },
    ];
    const m = parse(buildV3({ mainMemUsage: 4096, outputs: [{ address: 2300, size: 48 }], layers }));
    const L = m.layers;
    expect(m.inputs).toEqual([{ shape: [1, 4], dtype: 'float32', bytes: 16, memory: 'main', address: 0 }]);
    expect(L[1]).toMatchObject({
      type: 'ADD',
      main_mem_in_a_address: 16,
      main_mem_in_b_address: 16,
      main_mem_out_address: 64,
      count: 8,
    });
    expect(L[1].outputs[0].shape).toEqual([1, 8]); // follows the FULLY_CONNECTED that wrote address 16
    expect(L[2]).toMatchObject({
      type: 'QUANTIZED_ADD',
      count: 8,
      in_a_offset: -1,
      in_a_mul: -2,
      in_a_shift: -3,
      in_b_offset: -4,
      in_b_mul: -5,
      in_b_shift: -6,
      out_offset: -7,
      out_mul: -8,
      out_shift: -9,
    });
    expect(L[3]).toMatchObject({ type: 'GLOBAL_AVERAGE_POOL2D', kernel_size: 4, channels: 8 });
    expect(L[3].outputs[0].shape).toEqual([1, 8]);
    const pool = {
      main_mem_in_address: 700,
      main_mem_out_address: 800,
      in_shape: { width: 4, height: 2, channels: 3 },
      out_shape: { width: 2, height: 1, channels: 3 },
      kernel_width: 2,
      kernel_height: 2,
      stride_width: 2,
      stride_height: 2,
    };
    expect(L[4]).toMatchObject({ type: 'MAX_POOL2D', ...pool, padding_width: 0, act: 2 });
    expect(L[5]).toMatchObject({ type: 'QUANTIZED_MAX_POOL2D', ...pool, padding_width: 1, padding_height: 0 });
    expect(L[5].inputs[0]).toMatchObject({ shape: [1, 3, 2, 4], dtype: 'uint8' });
    expect(L[6]).toMatchObject({ type: 'AVERAGE_POOL2D', ...pool, padding_height: 1, act: 1 });
    expect(L[6].outputs[0]).toMatchObject({ shape: [1, 3, 1, 2], dtype: 'float32' });
    expect(L[7]).toMatchObject({
      type: 'QUANTIZE',
      main_mem_in_address: 64,
      mem_out_address: 900,
      count: 8,
      quant_param: { scale: 0.25, bias: -1 },
    });
    expect(L[7].outputs[0]).toMatchObject({ shape: [1, 8], dtype: 'uint8' });
    expect(L[8]).toMatchObject({ type: 'DEQUANTIZE', quant_param: { scale: 0.5, bias: 2 } });
    const req = L[9];
    if (req.type !== 'REQUANTIZE') throw new Error('expected REQUANTIZE');
    expect(req.table[0]).toBe(255);
    expect(req.table[255]).toBe(0);
    expect(L[10]).toMatchObject({ type: 'L2_NORMALIZATION', channels: 8 });
    expect(L[11]).toMatchObject({ type: 'SOFTMAX', main_mem_out_address: 1300, channels: 8 });
    expect(L[12]).toMatchObject({
      type: 'CONCAT',
      main_mem_out_address: 1400,
      input_count: 2,
      inputs_mem: [
        { start: 1000, size: 32 },
        { start: 1200, size: 32 },
      ],
    });
    expect(L[12].outputs[0]).toMatchObject({ shape: [16], dtype: 'float32' });
    expect(L[13]).toMatchObject({
      type: 'QUANTIZED_CONCAT',
      inputs_mem: [
        { start: 900, size: 8 },
        { start: 1100, size: 8 },
      ],
    });
    expect(L[13].outputs[0]).toMatchObject({ shape: [16], dtype: 'uint8' });
    expect(L[14]).toMatchObject({ type: 'TENSORFLOW_FLATTEN', shape: { width: 2, height: 2, channels: 3 } });
    expect(L[14].outputs[0].shape).toEqual([1, 12]);
    expect(L[15].outputs[0]).toMatchObject({ shape: [1, 12], dtype: 'uint8' });
    expect(L[16]).toMatchObject({
      type: 'RESIZE_NEAREST_NEIGHBOR',
      in_shape: { width: 2, height: 2, channels: 3 },
      out_width: 4,
      out_height: 4,
      align_corners: 1,
    });
    expect(L[16].outputs[0]).toMatchObject({ shape: [1, 3, 4, 4], dtype: 'float32', bytes: 192 });
    expect(L[17].outputs[0]).toMatchObject({ shape: [1, 3, 4, 4], dtype: 'uint8' });
    expect(L[18]).toMatchObject({
      type: 'CHANNELWISE_DEQUANTIZE',
      channels: 3,
      channel_size: 4,
      quant_params: [
        { scale: 1, bias: -1 },
        { scale: 2, bias: -2 },
        { scale: 3, bias: -3 },
      ],
    });
    expect(L[19]).toMatchObject({ type: 'LOGISTIC', channels: 12 });
    expect(L[19].outputs[0].shape).toEqual([1, 3, 4]); // follows CHANNELWISE_DEQUANTIZE's [1, channels, channel_size]
    expect(L[20]).toMatchObject({
      type: 'K210_ADD_PADDING',
      main_mem_in_address: 2400,
      kpu_mem_out_address: 100,
      channels: 8,
    });
    expect(L[20].outputs[0].shape).toEqual([1, 8, 4, 4]);
    expect(L[21]).toMatchObject({ type: 'K210_REMOVE_PADDING', main_mem_out_address: 2700, channels: 8 });
    expect(L[22]).toMatchObject({ type: 'K210_UPLOAD', kpu_mem_out_address: 200, width: 5, height: 4, channels: 3 });
    expect(L[22].outputs[0].shape).toEqual([1, 3, 4, 5]);
    expect(m.outputs[0]).toEqual({ shape: [1, 3, 4], dtype: 'float32', bytes: 48, address: 2300, size: 48 });
    for (const l of L) expect(l.unit).toBe('CPU');
  });

  test('an output no layer writes falls back to [size/4] float32', () => {
    const m = parse(
      buildV3(
        tinyModel({
          outputs: [
            { address: 200, size: 40 },
            { address: 240, size: 12 },
          ],
        }),
      ),
    );
    expect(m.outputs.map((o) => [o.shape, o.dtype])).toEqual([
      [[10], 'float32'],
      [[1, 3], 'float32'],
    ]);
  });

  test('the layer type table has one row per enum value', () => {
    const codes = V3_LAYER_TYPES.map((t) => t.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes).toEqual([
      ...Array.from({ length: 26 }, (_, i) => i),
      1000,
      1001,
      1002,
      1003,
      10240,
      10241,
      10242,
      10243,
    ]);
    expect(V3_LAYER_TYPES.filter((t) => !t.parse).map((t) => t.code)).toEqual([
      0, 3, 4, 6, 10, 19, 1000, 1001, 1002, 1003,
    ]);
    expect(V3_LAYER_TYPES.find((t) => t.code === 12)?.name).toBe('DEQUANTIZE');
  });
});

describe('v3 errors', () => {
  const tiny = buildV3(tinyModel());
  const headersAt = 28 + 8; // one output descriptor
  const convRegs = (bytes: Uint8Array) => getU32(bytes, 60 + 8);

  test('header fields', () => {
    expectError(setU32(tiny, 0, 4), 'UNSUPPORTED_VERSION', /version = 4/, 0);
    expectError(setU32(tiny, 8, 1), 'BAD_VALUE', /arch = 1/, 8);
    expectError(setU32(tiny, 4, 3), 'BAD_VALUE', /flags/, 4);
    expectError(setU32(tiny, 16, 40000), 'BAD_VALUE', /max_start_address/, 16);
    expectError(setU32(tiny, 12, 0), 'BAD_COUNT', /layers_length = 0/);
    expectError(setU32(tiny, 24, 0), 'BAD_COUNT', /output_count = 0/);
    expectError(tiny.subarray(0, 20), 'TRUNCATED', /28-byte/);
    expectError(
      setU32(tiny, 28 + 4, 13),
      'BAD_VALUE',
      /output 0 \[240, 253\) lies outside the main buffer of 252 bytes/,
      28,
    );
  });

  test('huge counts fail fast without allocating', () => {
    for (const [at, v] of [
      [12, 0xffffffff],
      [24, 0xffffffff],
      [12, 0x10000000],
      [24, 0x08000000],
    ]) {
      expectError(setU32(tiny, at, v), 'BAD_COUNT', /needs \d+ bytes but only \d+ remain/, at);
    }
    expectError(
      setU32(tiny, headersAt + 4, 0xfffffff0),
      'TRUNCATED',
      /layer 0 \(K210_CONV\) body .* ends past the end of the file/,
      headersAt + 4,
    );
    expectError(setU32(tiny, headersAt + 8 * 2 + 4, 0xfffffff0), 'TRUNCATED', /last body/);
  });

  test('unknown type values and known types without a body layout fail differently', () => {
    const unknown = expectError(
      setU32(tiny, headersAt + 8, 999),
      'UNKNOWN_OPCODE',
      /layer 1 has unknown type 999 \(0x3e7\)/,
      headersAt + 8,
    );
    const netronOnly = expectError(
      setU32(tiny, headersAt + 8, 1000),
      'UNKNOWN_OPCODE',
      /type 1000 \(CONV\), a known v3 type whose body layout is undefined: only netron names it/,
    );
    expect(netronOnly.message).not.toBe(unknown.message);
    expectError(setU32(tiny, headersAt, 3), 'UNKNOWN_OPCODE', /GLOBAL_MAX_POOL2D.*SDK has no case/);
    expectError(setU32(tiny, headersAt, 0), 'UNKNOWN_OPCODE', /INVALID/);
    expectError(setU32(tiny, headersAt, 10244), 'UNKNOWN_OPCODE', /unknown type 10244/);
  });

  test('K210_CONV table offsets must lie inside the layer body', () => {
    expectError(
      buildV3(tinyModel({}, { offsets: (o) => ({ weights: o.weights + 100_000 }) })),
      'BAD_OFFSET',
      /layer 0 \(K210_CONV\): weights_offset = \d+: its 54 bytes/,
      60 + 12,
    );
    expectError(buildV3(tinyModel({}, { offsets: () => ({ layer: 4 }) })), 'BAD_OFFSET', /layer_offset = 4/, 60 + 8);
    expectError(buildV3(tinyModel({}, { offsets: (o) => ({ act: o.act + 8 }) })), 'BAD_OFFSET', /act_offset/, 60 + 20);
    expectError(buildV3(tinyModel({}, { offsets: (o) => ({ bn: o.act + 140 }) })), 'BAD_OFFSET', /bn_offset/);
    expect(convRegs(tiny) % 8).toBe(0);
  });

  test('inconsistent K210_CONV registers name the layer and the field', () => {
    const bad = (override: ConvBodyOptions['override'], msg: RegExp) =>
      expectError(buildV3(tinyModel({}, { override })), 'BAD_VALUE', msg);
    bad({ kernel_type: 2 }, /layer 0 \(K210_CONV\): register kernel_type: 2/);
    bad({ pool_type: 10 }, /register pool_type: 10/);
    bad({ depth_wise_layer: 1 }, /depthwise layer needs as many output as input channels/);
    bad({ o_ch_num_coef: 5 }, /o_ch_num_coef/);
    bad({ o_row_wid: 7 }, /output 8×4 does not match input 8×8 pooled with stride 2/);
    bad({ dma_total_byte: 10 }, /dma_total_byte: 10 \+ 1 ≠ o_ch·o_h·o_w = 48/);
    bad({ image_src_addr: 32767 }, /image_src_addr.*ends past the 2 MiB AI SRAM/);
    bad({ image_dst_addr: 32766 }, /image_dst_addr/);
    expectError(
      buildV3(tinyModel({}, { mainOut: 230 })),
      'BAD_VALUE',
      /main_mem_out_address \[230, 278\) lies outside the main buffer/,
    );
  });

  test('CPU body errors', () => {
    const withFirst = (layers: FixtureModel['layers'], mainMemUsage = 4096) =>
      buildV3({ mainMemUsage, outputs: [{ address: 0, size: 4 }], layers });
    const fcFirst = { type: V3_TYPE.FULLY_CONNECTED, body: fullyConnectedBody(0, 16, 1, 1) };
    expectError(
      withFirst([{ type: V3_TYPE.DEQUANTIZE, body: fieldsBody(1, 0, 4, 4, ['f32', 1], ['f32', 0]) }]),
      'BAD_VALUE',
      /first layer is DEQUANTIZE/,
    );
    expectError(
      withFirst([{ type: V3_TYPE.FULLY_CONNECTED, body: fullyConnectedBody(0, 16, 1, 1, 3) }]),
      'BAD_VALUE',
      /act = 3/,
    );
    expectError(
      withFirst([fcFirst, { type: V3_TYPE.DEQUANTIZE, body: fieldsBody(1, 0, 4090, 8, ['f32', 1], ['f32', 0]) }]),
      'BAD_VALUE',
      /layer 1 \(DEQUANTIZE\): main_mem_out_address \[4090, 4122\)/,
    );
    expectError(
      withFirst([fcFirst, { type: V3_TYPE.CONCAT, body: fieldsBody(1, 0, 0x7fffffff) }]),
      'BAD_COUNT',
      /input_count = 2147483647/,
    );
    expectError(
      withFirst([fcFirst, { type: V3_TYPE.CHANNELWISE_DEQUANTIZE, body: fieldsBody(1, 0, 4, 0xffffff, 1) }]),
      'BAD_COUNT',
    );
    expectError(
      withFirst([{ type: V3_TYPE.FULLY_CONNECTED, body: fieldsBody(0, 0, 16, 0x10000, 0x10000, 0) }]),
      'BAD_COUNT',
      /weights and bias/,
    );
    expectError(
      withFirst([fcFirst, { type: V3_TYPE.K210_UPLOAD, body: fieldsBody(0, 0, 32000, 320, 240, 3) }]),
      'BAD_VALUE',
      /K210_UPLOAD.*2 MiB AI SRAM/,
    );
    expectError(
      withFirst([
        fcFirst,
        { type: V3_TYPE.QUANTIZED_MAX_POOL2D, body: fieldsBody(1, 0, 100, 2, 2, 3, 1, 1, 4, 2, 2, 2, 2, 0, 0) },
      ]),
      'BAD_VALUE',
      /3 channels but out_shape has 4/,
    );
    // A body shorter than its fields: the reader limited to the body stops at its end.
    expectError(
      withFirst([fcFirst, { type: V3_TYPE.SOFTMAX, body: fieldsBody(1, 0, 16, 1), bodySize: 8 }, fcFirst]),
      'TRUNCATED',
      /layer 1 \(SOFTMAX\) body ends at byte/,
    );
  });
});

describe('v3 corruption (fast-check, fixed seed)', () => {
  const tiny = buildV3(tinyModel());
  const codes = V3_LAYER_TYPES.map((t) => t.code);

  test('random bytes after a v3 header', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), (tail) => {
        const bytes = new Uint8Array(4 + tail.length);
        bytes.set([3, 0, 0, 0]);
        bytes.set(tail, 4);
        parseOrError(bytes);
      }),
      { seed: 42, numRuns: 3000 },
    );
  });

  test('plausible headers, layer tables and random bodies', () => {
    fc.assert(
      fc.property(
        fc.record({
          flags: fc.constantFrom(0, 1),
          // Outputs always fit the main buffer, so most cases reach the body parsers.
          mainMem: fc.integer({ min: 4400, max: 1 << 20 }),
          outputs: fc.array(fc.tuple(fc.integer({ min: 0, max: 4000 }), fc.integer({ min: 0, max: 400 })), {
            minLength: 1,
            maxLength: 3,
          }),
          layers: fc.array(
            fc.tuple(
              fc.constantFrom(...codes),
              fc.oneof(fc.integer({ min: 0, max: 400 }), fc.constantFrom(16, 24, 32, 40, 64, 272)),
            ),
            { minLength: 1, maxLength: 6 },
          ),
          body: fc.uint8Array({ maxLength: 2000 }),
          small: fc.boolean(),
        }),
        ({ flags, mainMem, outputs, layers, body, small }) => {
          const head = new Uint8Array(28 + 8 * outputs.length + 8 * layers.length);
          const dv = new DataView(head.buffer);
          [3, flags, 0, layers.length, 0, mainMem, outputs.length].forEach((v, i) => dv.setUint32(4 * i, v, true));
          outputs.forEach(([a, s], i) => {
            dv.setUint32(28 + 8 * i, a, true);
            dv.setUint32(32 + 8 * i, s, true);
          });
          layers.forEach(([t, s], i) => {
            dv.setUint32(28 + 8 * outputs.length + 8 * i, t, true);
            dv.setUint32(32 + 8 * outputs.length + 8 * i, s, true);
          });
          // Small values make the random body fields look like real counts and offsets.
          const tail = small ? body.map((b, i) => (i % 4 === 0 ? b & 0x3f : 0)) : body;
          const bytes = new Uint8Array(head.length + tail.length);
          bytes.set(head);
          bytes.set(tail, head.length);
          parseOrError(bytes);
        },
      ),
      { seed: 42, numRuns: 4000 },
    );
  });

  test('every truncation point of the synthetic model', () => {
    let parsed = 0;
    for (let n = 0; n <= tiny.length; n++) {
      const r = parseOrError(tiny.subarray(0, n));
      if (!(r instanceof KmodelError)) parsed++;
    }
    // The full file, and the file without the last body's 4 padding bytes (kpu-numerics §10 C3).
    expect(parsed).toBe(5);
  });

  test('random byte flips in the synthetic model', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat(tiny.length - 1), v: fc.integer({ min: 0, max: 255 }) }), {
          minLength: 1,
          maxLength: 6,
        }),
        (flips) => {
          const bytes = tiny.slice();
          for (const { at, v } of flips) bytes[at] = v;
          parseOrError(bytes);
        },
      ),
      { seed: 42, numRuns: 4000 },
    );
  });

  test('huge values in any header or conv-offset word fail fast', () => {
    const words = [12, 16, 20, 24, 28, 32, headersAtOf(tiny) + 4, 60 + 4, 60 + 8, 60 + 12, 60 + 16, 60 + 20];
    fc.assert(
      fc.property(fc.constantFrom(...words), fc.integer({ min: 0x10000, max: 0xffffffff }), (at, v) => {
        parseOrError(setU32(tiny, at, v));
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});

function headersAtOf(bytes: Uint8Array): number {
  return 28 + 8 * getU32(bytes, 24);
}

describe('batch-norm words', () => {
  test('decodeBatchNorm gives the fields of kpu-numerics §5.3: norm_mul s24 at bit 0, norm_add s32 at 24, norm_shift u4 at 56', () => {
    const field = (w: bigint, lsb: number, width: number, signed: boolean): number => {
      const v = (w >> BigInt(lsb)) & ((1n << BigInt(width)) - 1n);
      return Number(signed && v >> BigInt(width - 1) === 1n ? v - (1n << BigInt(width)) : v);
    };
    const words = [
      0n,
      (1n << 64n) - 1n,
      1n << 23n,
      1n << 55n,
      0xf00000000000000n,
      0x8000007fffff80n,
      ...fc.sample(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { seed: 18, numRuns: 2000 }),
    ];
    for (const w of words)
      expect(decodeBatchNorm(w)).toEqual({
        norm_mul: field(w, 0, 24, true),
        norm_add: field(w, 24, 32, true),
        norm_shift: field(w, 56, 4, false),
      });
    expect(Object.keys(decodeBatchNorm(0n))).toEqual(['norm_mul', 'norm_add', 'norm_shift']);
    const e = { norm_mul: -5, norm_add: -123456789, norm_shift: 9 };
    expect(decodeBatchNorm(encodeBatchNorm(e))).toEqual(e);
  });
});
