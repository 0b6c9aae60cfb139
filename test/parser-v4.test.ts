/**
 * kmodel v4 parser: the opcode table, every body layout on synthetic files, the format quirks of
 * kpu-numerics §10 (C3, C4, C7, C8, C14), errors, the 13 real v4 files against their goldens and
 * SOURCES.md, and corruption with fast-check (fixed seed).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { KmodelError } from '../src/errors.js';
import { BinaryReader } from '../src/kmodel-parser/binary-reader.js';
import { parseV4 } from '../src/kmodel-parser/v4/parse.js';
import { V4_OP_BY_CODE, V4_OPS } from '../src/ops/v4/index.js';
import type { KmodelV4, V4Node, V4NodeOfType, V4OpName } from '../src/kmodel-parser/v4/types.js';
import {
  body,
  buildV4,
  DT,
  kpuConv2dBody,
  kpuLines,
  MT,
  rng,
  tinyK210Model,
  W,
  type KpuConvSpec,
  type V4NodeSpec,
  type V4Spec,
} from './fixtures/v4-builder.js';
import { GOLDEN_DIR, HAS_SHARED, kmodelPath } from './shared.js';
import { thrown } from './fixtures/thrown.js';

const parse = (b: Uint8Array): KmodelV4 => parseV4(new BinaryReader(b));

const kmodelError = (fn: () => unknown): KmodelError => thrown(fn, KmodelError);

function expectError(b: Uint8Array, code: KmodelError['code'], ...patterns: RegExp[]): KmodelError {
  const e = kmodelError(() => parse(b));
  expect(e.code, e.message).toBe(code);
  for (const p of patterns) expect(e.message).toMatch(p);
  return e;
}

function node<K extends V4OpName>(m: KmodelV4, i: number, type: K): V4NodeOfType<K> {
  const n = m.layers[i];
  expect(n.type).toBe(type);
  return n as unknown as V4NodeOfType<K>;
}

/** Overwrites a u32 in a copy of `b`. */
function patchU32(b: Uint8Array, at: number, v: number): Uint8Array {
  const c = b.slice();
  new DataView(c.buffer).setUint32(at, v >>> 0, true);
  return c;
}

// ---------------------------------------------------------------------------------------------

describe('opcode table', () => {
  test('one row per opcode of kpu-numerics §3.2, with unique values and names', () => {
    const expected: [number, string][] = [
      [0x00, 'binary'],
      [0x01, 'concat'],
      [0x02, 'conv2d'],
      [0x03, 'dequantize'],
      [0x04, 'matmul'],
      [0x05, 'pad'],
      [0x06, 'quantize'],
      [0x07, 'reduce'],
      [0x08, 'reduce_window2d'],
      [0x09, 'memory_copy'],
      [0x0a, 'resize_image'],
      [0x0b, 'softmax'],
      [0x0c, 'transpose'],
      [0x0d, 'strided_slice'],
      [0x0e, 'unary'],
      [0x0f, 'quantized_conv2d'],
      [0x10, 'quantized_matmul'],
      [0x11, 'quantized_binary'],
      [0x12, 'table_lookup1d'],
      [0x13, 'conv2d_transpose'],
      [0x14, 'nnil_unary_method'],
      [0x1001, 'cpu_conv2d'],
      [0x1002, 'cpu_depthwise_conv2d'],
      [0x1003, 'cpu_reduce_window2d'],
      [0x1004, 'cpu_quantized_conv2d'],
      [0x1005, 'cpu_quantized_depthwise_conv2d'],
      [0x2001, 'kpu_upload'],
      [0x2002, 'kpu_conv2d'],
    ];
    const V4_OPCODES = Object.values(V4_OPS);
    expect(V4_OPCODES.map((r) => [r.code, r.name])).toEqual(expected);
    expect(new Set(V4_OPCODES.map((r) => r.traceName)).size).toBe(V4_OPCODES.length);
    expect(V4_OPCODES.filter((r) => r.unit === 'KPU').map((r) => r.name)).toEqual(['kpu_conv2d']);
  });

  test('trace names of the ops that occur in the goldens', () => {
    const seen: Record<number, string> = {
      0x0: 'Binary',
      0x1: 'Concat',
      0x2: 'Conv2D',
      0x3: 'Dequantize',
      0x4: 'MatMul',
      0x5: 'Pad',
      0x6: 'Quantize',
      0x7: 'Reduce',
      0x9: 'MemoryCopy',
      0xc: 'Transpose',
      0xe: 'Unary',
      0xf: 'QuantizedConv2D',
      0x11: 'QuantizedBinary',
      0x2001: 'KPUUpload',
      0x2002: 'KPUConv2D',
    };
    for (const [code, name] of Object.entries(seen)) expect(V4_OP_BY_CODE.get(Number(code))?.traceName).toBe(name);
  });
});

// ---------------------------------------------------------------------------------------------

describe('synthetic K210 model', () => {
  test('quantize → kpu_upload → kpu_conv2d → dequantize parses with shapes, tables and offsets', () => {
    const { bytes, bodyOffsets } = tinyK210Model();
    const m = parse(bytes);
    expect(m.version).toBe(4);
    expect(m.generation).toBe('nncase 0.2');
    expect(m.target).toBe('k210');
    expect(m.header.reserved0).toBe(0xcccccccc);
    expect(m.layers.map((l) => l.type)).toEqual(['quantize', 'kpu_upload', 'kpu_conv2d', 'dequantize']);
    expect(m.layers.map((l) => l.unit)).toEqual(['CPU', 'CPU', 'KPU', 'CPU']);
    expect(m.layers.map((l) => l.offset)).toEqual(bodyOffsets);
    expect(m.inputs[0].shape).toEqual([1, 2, 4, 5]);
    expect(m.inputs[0].dtype).toBe('float32');
    // The output shape comes from the dequantize, whose input is the conv's main_mem_output.
    expect(m.outputs[0].shape).toEqual([1, 3, 4, 5]);
    expect(m.outputs[0].bytes).toBe(4 * 60);

    const q = node(m, 0, 'quantize');
    expect(q.body.quant_param).toEqual({ zero_point: 128, scale: 127.5 });
    expect(q.outputs[0]).toMatchObject({
      shape: [1, 2, 4, 5],
      dtype: 'uint8',
      quant: { zeroPoint: 128, scale: 1 / 127.5 },
    });

    const up = node(m, 1, 'kpu_upload');
    expect(up.body.output).toEqual({ memory_type: 'kpu', datatype: 'uint8', start: 0, size: 64 * kpuLines(2, 4, 5) });

    const ref = kpuConv2dBody({ ic: 2, oc: 3, w: 5, h: 4, kernel: 3, src: 0, dst: 16, mainOut: 4 * 40 + 40 });
    const conv = node(m, 2, 'kpu_conv2d');
    expect(conv.kpu.arg.kernel_type).toBe(1);
    expect(conv.kpu.arg.arg_w).toBe(-128);
    expect(conv.kpu.arg.arg_add).toBe(1234567);
    expect(Array.from(conv.kpu.weights)).toEqual(Array.from(ref.weights));
    expect(conv.kpu.batchNorm).toEqual(ref.bn);
    expect(conv.kpu.activation).toEqual(ref.act);
    expect(conv.kpu.weightBits).toBe(8);
    expect(conv.batches).toBe(1);
    expect(conv.main_mem_output).toEqual({ memory_type: 'main', datatype: 'uint8', start: 200, size: 60 });
    expect(conv.body.kpu_output).toEqual({
      memory_type: 'kpu',
      datatype: 'uint8',
      start: 16 * 64,
      size: 64 * kpuLines(3, 4, 5),
    });
    expect(conv.inputs.map((t) => t.shape)).toEqual([[1, 2, 4, 5]]);
    expect(conv.outputs.map((t) => t.shape)).toEqual([
      [1, 3, 4, 5],
      [1, 3, 4, 5],
    ]);
    expect(conv.kpu.fileOffsets.registers).toBe(bodyOffsets[2] + 24);
    expect(conv.kpu.fileOffsets.batchNorm).toBe(bodyOffsets[2] + 120);
    expect(conv.kpu.fileOffsets.activation).toBe(bodyOffsets[2] + 120 + 24);
    expect(conv.kpu.fileOffsets.weights).toBe(bodyOffsets[2] + 120 + 24 + 144);
    expect(node(m, 3, 'dequantize').inputs[0].quant).toEqual({ zeroPoint: 3, scale: 4 });
  });

  test('everything returned is frozen', () => {
    const m = parse(tinyK210Model().bytes);
    const conv = m.layers[2] as V4NodeOfType<'kpu_conv2d'>;
    for (const o of [
      m,
      m.header,
      m.inputs,
      m.inputs[0],
      m.inputs[0].range,
      m.outputs[0],
      m.layers,
      conv,
      conv.body,
      conv.kpu,
      conv.kpu.arg,
      conv.kpu.batchNorm,
      conv.kpu.batchNorm[0],
      conv.kpu.activation[0],
      conv.kpu.words,
      conv.inputs[0].shape,
      conv.main_mem_output,
    ]) {
      expect(Object.isFrozen(o)).toBe(true);
    }
  });

  test('kpu-numerics §10 C4: skip counts are followed, tables need not be 256-aligned', () => {
    const skips = { bn: 13, act: 203, para: 5 };
    const { bytes, bodyOffsets } = tinyK210Model({ conv: { skips } });
    const conv = node(parse(bytes), 2, 'kpu_conv2d');
    const ref = kpuConv2dBody({ ic: 2, oc: 3, w: 5, h: 4, kernel: 3, skips });
    expect(conv.body.skips).toEqual({ bwsx_base_addr: 13, active_addr: 203, para_start_addr: 5 });
    expect(conv.kpu.fileOffsets.batchNorm).toBe(bodyOffsets[2] + 120 + 13);
    expect(conv.kpu.fileOffsets.activation).toBe(bodyOffsets[2] + 120 + 13 + 24 + 203);
    expect(conv.kpu.batchNorm).toEqual(ref.bn);
    expect(conv.kpu.activation).toEqual(ref.act);
    expect(Array.from(conv.kpu.weights)).toEqual(Array.from(ref.weights));
  });

  test('kpu_conv2d with several batches, depthwise, pooling and no main-memory copy', () => {
    const c = kpuConv2dBody({
      ic: 4,
      oc: 4,
      w: 40,
      h: 10,
      kernel: 3,
      depthwise: true,
      pool: 1,
      batches: 3,
      src: 0,
      dst: 500,
    });
    const m = parse(
      buildV4({
        main_mem: 64,
        inputs: [{ range: rng(MT.kpu, DT.uint8, 0, 3 * 64 * kpuLines(4, 10, 40)), shape: [3, 4, 10, 40] }],
        outputs: [rng(MT.kpu, DT.uint8, 500 * 64, 3 * 64 * kpuLines(4, 5, 20))],
        nodes: [{ opcode: 0x2002, body: c.body }],
      }).bytes,
    );
    const conv = node(m, 0, 'kpu_conv2d');
    expect(conv.batches).toBe(3);
    expect(conv.kpu.weights.length).toBe(4 * 9);
    expect(conv.main_mem_output.size).toBe(0);
    expect(conv.outputs.map((t) => t.shape)).toEqual([[3, 4, 5, 20]]);
    expect(m.inputs[0].bytes).toBe(3 * 4 * 10 * 40);
    expect(m.outputs[0].shape).toEqual([3, 4, 5, 20]);
  });

  test('kpu-numerics §10 C3: the last body may be up to 8 bytes short; trailing data is ignored', () => {
    const spec = (short: number, trailing?: Uint8Array) => {
      const nodes = [
        { opcode: 0x09, body: body((w) => w.range(MT.main, DT.uint8, 0, 8).range(MT.main, DT.uint8, 8, 8)) },
        { opcode: 0x09, body: body((w) => w.range(MT.main, DT.uint8, 8, 8).range(MT.main, DT.uint8, 16, 8)) },
      ];
      const nodes2: V4NodeSpec[] = nodes.map((n, i) => (i === 1 ? { ...n, bodySize: 32 + short } : n));
      return buildV4({
        main_mem: 24,
        inputs: [{ range: rng(MT.main, DT.uint8, 0, 8), shape: [1, 1, 2, 4] }],
        outputs: [rng(MT.main, DT.uint8, 16, 8)],
        nodes: nodes2,
        shortLast: short,
        trailing,
      }).bytes;
    };
    for (const short of [1, 4, 8]) {
      const m = parse(spec(short));
      expect(m.lastBodyShortfall).toBe(short);
      expect(m.layers[1].bodySize).toBe(32 + short);
      expect(m.outputs[0].shape).toEqual([1, 1, 2, 4]);
    }
    expectError(spec(9), 'TRUNCATED', /node 1 \(memory_copy\)/, /9 bytes past the end/);

    const flash = new Uint8Array(4096).fill(0xff);
    flash.set([0x4c, 0x44, 0x4d, 0x4b, 4, 0, 0, 0]);
    const m = parse(spec(0, flash));
    expect(m.trailingBytes).toBe(4096);
    expect(m.lastBodyShortfall).toBe(0);
  });

  test('a body that is not the last may not run past the file end', () => {
    const { bytes: ok, bodyOffsets } = buildV4({
      main_mem: 64,
      inputs: [{ range: rng(MT.main, DT.uint8, 0, 8), shape: [1, 1, 1, 8] }],
      outputs: [rng(MT.main, DT.uint8, 8, 8)],
      nodes: [
        { opcode: 0x09, body: body((w) => w.range(MT.main, DT.uint8, 0, 8).range(MT.main, DT.uint8, 8, 8)) },
        { opcode: 0x09, body: body((w) => w.range(MT.main, DT.uint8, 0, 8).range(MT.main, DT.uint8, 8, 8)) },
      ],
    });
    const sizeAt = bodyOffsets[0] - 16 + 4;
    const e = expectError(
      patchU32(ok, sizeAt, 1000),
      'TRUNCATED',
      /node 0 \(memory_copy\)/,
      /runs \d+ bytes past the end/,
    );
    expect(e.offset).toBe(sizeAt);
  });

  test('kpu-numerics §10 C14: reserved0 is garbage and ignored', () => {
    for (const reserved0 of [0, 0x10, 0xef, 0x176, 0x7ff8, 0x7fff, 0xcccccccc, 0xffffffff]) {
      expect(parse(tinyK210Model({ reserved0 }).bytes).header.reserved0).toBe(reserved0);
    }
  });

  test('kpu-numerics §10 C7: a KPU-memory input range has the padded layout size, not the dense size', () => {
    const mk = (size: number) =>
      buildV4({
        main_mem: 16,
        inputs: [{ range: rng(MT.kpu, DT.uint8, 0, size), shape: [1, 1, 112, 112] }],
        outputs: [rng(MT.main, DT.uint8, 0, 16)],
        nodes: [],
      }).bytes;
    const m = parse(mk(14336));
    expect(m.inputs[0]).toMatchObject({
      shape: [1, 1, 112, 112],
      bytes: 112 * 112,
      range: { memory_type: 'kpu', size: 14336 },
    });
    expectError(mk(112 * 112), 'BAD_VALUE', /input 0/, /AI SRAM layout size 14336/);
  });

  test('an output nobody writes falls back to a flat shape', () => {
    const m = parse(
      buildV4({
        main_mem: 64,
        inputs: [{ range: rng(MT.main, DT.float32, 0, 16), shape: [1, 1, 1, 4] }],
        outputs: [rng(MT.main, DT.float32, 16, 24)],
        nodes: [],
      }).bytes,
    );
    expect(m.outputs[0].shape).toEqual([6]);
    expect(m.layers).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

/** A model of one node reading/writing main memory (8 KiB) and a 512-byte constant blob. */
function oneNode(
  opcode: number,
  b: Uint8Array,
  out: { mt: number; dt: number; start: number; size: number },
  extra: Partial<V4Spec> = {},
): KmodelV4 {
  const constants = new Uint8Array(512).map((_, i) => i & 0xff);
  return parse(
    buildV4({
      main_mem: 8192,
      constants,
      inputs: [{ range: rng(MT.main, DT.float32, 0, 16), shape: [1, 1, 1, 4] }],
      outputs: [out],
      nodes: [{ opcode, body: b }],
      ...extra,
    }).bytes,
  );
}

const f32 =
  (n: number, f = (i: number) => i / 8) =>
  (w: W) => {
    for (let i = 0; i < n; i++) w.f32(f(i));
  };

describe('every body layout (synthetic)', () => {
  test('binary', () => {
    const out = rng(MT.main, DT.float32, 32, 16);
    const m = oneNode(
      0x00,
      body((w) =>
        w
          .range(MT.main, DT.float32, 0, 16)
          .range(MT.main, DT.float32, 16, 4)
          .range(out.mt, out.dt, out.start, out.size)
          .u32(2)
          .shape([1, 1, 1, 4])
          .shape([1, 1, 1, 1])
          .shape([1, 1, 1, 4])
          .f32(-Infinity)
          .f32(6),
      ),
      out,
    );
    const n = node(m, 0, 'binary');
    expect(n.body).toMatchObject({
      binary_op: 'mul',
      in_b_shape: [1, 1, 1, 1],
      fused_activation: { min: -Infinity, max: 6 },
    });
    expect(m.outputs[0].shape).toEqual([1, 1, 1, 4]);
  });

  test('concat (variable length) and its output shape', () => {
    const out = rng(MT.main, DT.uint8, 100, 12);
    const m = oneNode(
      0x01,
      body((w) =>
        w
          .range(out.mt, out.dt, out.start, out.size)
          .i32(2)
          .i32(2)
          .u32(2)
          .range(MT.main, DT.uint8, 200, 4)
          .range(MT.main, DT.uint8, 300, 8)
          .i32(1)
          .i32(2),
      ),
      out,
    );
    const n = node(m, 0, 'concat');
    expect(n.body).toMatchObject({ inner_size: 2, outer_size: 2, dims: [1, 2] });
    expect(n.body.inputs.map((r) => r.start)).toEqual([200, 300]);
    expect(m.outputs[0].shape).toEqual([2, 3, 2]);
  });

  test('conv2d (float)', () => {
    const out = rng(MT.main, DT.float32, 1000, 4 * 2 * 9);
    const m = oneNode(
      0x02,
      body((w) => {
        w.range(MT.main, DT.float32, 0, 72)
          .range(out.mt, out.dt, out.start, out.size)
          .shape([1, 2, 3, 3])
          .i32(1)
          .i32(2);
        w.i32(1).i32(1).i32(1).i32(1).i32(3).i32(3).i32(1).i32(1).i32(1).i32(1).f32(0).f32(6);
        f32(2 * 2 * 9)(w);
        w.f32(0.5).f32(-0.5);
      }),
      out,
    );
    const n = node(m, 0, 'conv2d');
    expect(n.body.weights.length).toBe(36);
    expect(n.body.weights[3]).toBe(3 / 8);
    expect(Array.from(n.body.bias)).toEqual([0.5, -0.5]);
    expect(n.body.padding_h).toEqual({ before: 1, after: 1 });
    expect(m.outputs[0].shape).toEqual([1, 2, 3, 3]);
  });

  test('matmul and quantized_matmul', () => {
    const out = rng(MT.main, DT.float32, 100, 32);
    const m = oneNode(
      0x04,
      body((w) =>
        w
          .range(MT.main, DT.float32, 0, 24)
          .range(MT.const, DT.float32, 0, 48)
          .range(out.mt, out.dt, out.start, out.size)
          .i32(2)
          .i32(3)
          .i32(4)
          .f32(-1)
          .f32(1)
          .f32(1)
          .f32(2)
          .f32(3)
          .f32(4),
      ),
      out,
    );
    expect(node(m, 0, 'matmul').body).toMatchObject({
      a_rows: 2,
      a_cols: 3,
      b_cols: 4,
      fused_activation: { min: -1, max: 1 },
    });
    expect(m.outputs[0].shape).toEqual([2, 4]);

    const qout = rng(MT.main, DT.uint8, 100, 8);
    const q = oneNode(
      0x10,
      body((w) =>
        w
          .range(MT.main, DT.uint8, 0, 6)
          .range(MT.const, DT.uint8, 0, 12)
          .range(qout.mt, qout.dt, qout.start, qout.size)
          .i32(2)
          .i32(3)
          .i32(4)
          .i32(-5)
          .i32(-6)
          .i32(1 << 30)
          .i32(33)
          .i32(7)
          .i32(1)
          .i32(-2)
          .i32(3)
          .i32(-4),
      ),
      qout,
    );
    const qn = node(q, 0, 'quantized_matmul');
    expect(qn.body).toMatchObject({
      input_a_offset: -5,
      input_b_offset: -6,
      output_mul: 1 << 30,
      output_shift: 33,
      output_offset: 7,
    });
    expect(Array.from(qn.body.bias)).toEqual([1, -2, 3, -4]);
  });

  test('kpu-numerics §10 C8: pad with negative paddings crops', () => {
    const out = rng(MT.main, DT.uint8, 100, 5);
    const m = oneNode(
      0x05,
      body((w) =>
        w
          .range(MT.main, DT.uint8, 0, 16)
          .range(out.mt, out.dt, out.start, out.size)
          .shape([1, 1, 4, 4])
          .i32(0)
          .i32(0)
          .i32(0)
          .i32(0)
          .i32(-1)
          .i32(2)
          .i32(0)
          .i32(-3)
          .u32(0)
          .u32(0),
      ),
      out,
    );
    const n = node(m, 0, 'pad');
    expect(n.body.paddings).toEqual([
      { before: 0, after: 0 },
      { before: 0, after: 0 },
      { before: -1, after: 2 },
      { before: 0, after: -3 },
    ]);
    expect(n.body.pad_value.type).toBe(0);
    expect(Array.from(n.body.pad_value.storage)).toEqual([0, 0, 0, 0]);
    expect(n.outputs[0].shape).toEqual([1, 1, 5, 1]);
    expectError(
      buildV4({
        main_mem: 8192,
        inputs: [{ range: rng(MT.main, DT.uint8, 0, 16), shape: [1, 1, 4, 4] }],
        outputs: [out],
        nodes: [
          {
            opcode: 0x05,
            body: body((w) =>
              w
                .range(MT.main, DT.uint8, 0, 16)
                .range(out.mt, out.dt, out.start, 1)
                .shape([1, 1, 4, 4])
                .zeros(16)
                .i32(-2)
                .i32(-2)
                .zeros(8)
                .u32(0)
                .u32(0),
            ),
          },
        ],
      }).bytes,
      'BAD_VALUE',
      /node 0 \(pad\)/,
      /paddings\[H\]/,
    );
  });

  test('reduce and reduce_window2d (and the cpu_ variant)', () => {
    const out = rng(MT.main, DT.float32, 200, 8);
    const m = oneNode(
      0x07,
      body((w) =>
        w
          .range(MT.main, DT.float32, 0, 96)
          .range(out.mt, out.dt, out.start, out.size)
          .u32(0)
          .shape([1, 2, 3, 4])
          .shape([1, 2, 1, 1])
          .f32(0),
      ),
      out,
    );
    expect(node(m, 0, 'reduce').body.reduce_op).toBe('mean');
    expect(m.outputs[0].shape).toEqual([1, 2, 1, 1]);

    const rw = (w: W) =>
      w
        .range(MT.main, DT.float32, 0, 64)
        .range(MT.main, DT.float32, 100, 16)
        .u32(2)
        .shape([1, 1, 4, 4])
        .i32(0)
        .i32(0)
        .i32(0)
        .i32(0)
        .i32(2)
        .i32(2)
        .i32(2)
        .i32(2)
        .i32(1)
        .i32(1)
        .f32(-Infinity)
        .f32(-Infinity)
        .f32(Infinity);
    for (const code of [0x08, 0x1003]) {
      const r = oneNode(code, body(rw), rng(MT.main, DT.float32, 100, 16));
      expect(r.layers[0].type).toBe(code === 0x08 ? 'reduce_window2d' : 'cpu_reduce_window2d');
      expect((r.layers[0].body as { reduce_op: string }).reduce_op).toBe('max');
      expect(r.outputs[0].shape).toEqual([1, 1, 2, 2]);
    }
  });

  test('memory_copy, unary and softmax keep the shape they read', () => {
    const seed = (w: W) => w.range(MT.main, DT.float32, 0, 16).range(MT.main, DT.float32, 100, 16).u32(7);
    const m = oneNode(0x0e, body(seed), rng(MT.main, DT.float32, 100, 16));
    expect(node(m, 0, 'unary').body.unary_op).toBe('rsqrt');
    expect(m.outputs[0].shape).toEqual([1, 1, 1, 4]);
    const s = oneNode(
      0x0b,
      body((w) => w.range(MT.main, DT.float32, 0, 16).range(MT.main, DT.float32, 100, 16).i32(4).i32(1).f32(1)),
      rng(MT.main, DT.float32, 100, 16),
    );
    expect(node(s, 0, 'softmax').body).toMatchObject({ inner_size: 4, outer_size: 1, beta: 1 });
    expect(s.outputs[0].shape).toEqual([1, 1, 1, 4]);
    const c = oneNode(
      0x09,
      body((w) => w.range(MT.main, DT.float32, 0, 16).range(MT.main, DT.float32, 100, 16)),
      rng(MT.main, DT.float32, 100, 16),
    );
    expect(c.outputs[0].shape).toEqual([1, 1, 1, 4]);
  });

  test('resize_image', () => {
    const out = rng(MT.main, DT.uint8, 100, 12);
    const m = oneNode(
      0x0a,
      body((w) =>
        w
          .range(MT.main, DT.uint8, 0, 4)
          .range(out.mt, out.dt, out.start, out.size)
          .shape([1, 1, 2, 2])
          .i32(4)
          .i32(3)
          .u32(1)
          .u8(1)
          .zeros(3),
      ),
      out,
    );
    expect(node(m, 0, 'resize_image').body).toMatchObject({
      out_h: 4,
      out_w: 3,
      mode: 'nearest_neighbor',
      align_corners: true,
    });
    expect(m.outputs[0].shape).toEqual([1, 1, 4, 3]);
  });

  test('transpose and strided_slice', () => {
    const t = oneNode(
      0x0c,
      body((w) =>
        w.range(MT.main, DT.float32, 0, 96).range(MT.main, DT.float32, 200, 96).shape([1, 2, 3, 4]).shape([0, 2, 3, 1]),
      ),
      rng(MT.main, DT.float32, 200, 96),
    );
    expect(t.outputs[0].shape).toEqual([1, 3, 4, 2]);
    const out = rng(MT.main, DT.float32, 200, 36);
    const s = oneNode(
      0x0d,
      body((w) =>
        w
          .range(MT.main, DT.float32, 0, 96)
          .range(out.mt, out.dt, out.start, out.size)
          .shape([1, 1, 4, 6])
          .shape([0, 0, 1, 0])
          .shape([1, 1, 4, 6])
          .shape([1, 1, 1, 2])
          .i32(0)
          .i32(0)
          .i32(0)
          .i32(0)
          .i32(0),
      ),
      out,
    );
    expect(node(s, 0, 'strided_slice').body.strides).toEqual([1, 1, 1, 2]);
    expect(s.outputs[0].shape).toEqual([1, 1, 3, 3]);
  });

  test('quantized_conv2d, quantized_binary', () => {
    const out = rng(MT.main, DT.uint8, 100, 2);
    const m = oneNode(
      0x0f,
      body((w) => {
        w.range(MT.main, DT.uint8, 0, 18).range(out.mt, out.dt, out.start, out.size).shape([1, 2, 3, 3]).i32(2).i32(2);
        w.i32(0).i32(0).i32(0).i32(0).i32(3).i32(3).i32(1).i32(1).i32(1).i32(1);
        w.i32(-128).i32(-120).i32(12345).i32(20).i32(3).i32(100).i32(-100);
        w.bytes(new Uint8Array(18).fill(9));
      }),
      out,
    );
    const n = node(m, 0, 'quantized_conv2d');
    expect(n.body).toMatchObject({
      groups: 2,
      input_offset: -128,
      filter_offset: -120,
      output_mul: 12345,
      output_shift: 20,
      output_offset: 3,
    });
    expect(Array.from(n.body.bias)).toEqual([100, -100]);
    expect(n.body.weights.length).toBe(18);
    expect(m.outputs[0].shape).toEqual([1, 2, 1, 1]);

    const qb = oneNode(
      0x11,
      body((w) => {
        w.range(MT.main, DT.uint8, 0, 8)
          .range(MT.main, DT.uint8, 8, 8)
          .range(MT.main, DT.uint8, 16, 8)
          .u32(3)
          .shape([1, 1, 2, 4])
          .shape([1, 1, 2, 4])
          .shape([1, 1, 2, 4]);
        for (let i = 0; i < 9; i++) w.i32(i - 4);
      }),
      rng(MT.main, DT.uint8, 16, 8),
    );
    expect(node(qb, 0, 'quantized_binary').body).toMatchObject({
      binary_op: 'div',
      input_a_offset: -4,
      input_b_shift: 1,
      output_shift: 4,
    });
  });

  test('table_lookup1d', () => {
    const m = oneNode(
      0x12,
      body((w) =>
        w.range(MT.main, DT.uint8, 0, 16).range(MT.const, DT.uint8, 256, 256).range(MT.main, DT.uint8, 16, 16),
      ),
      rng(MT.main, DT.uint8, 16, 16),
    );
    expect(node(m, 0, 'table_lookup1d').body.table).toEqual({
      memory_type: 'const',
      datatype: 'uint8',
      start: 256,
      size: 256,
    });
    expectError(
      buildV4({
        main_mem: 64,
        constants: new Uint8Array(512),
        inputs: [{ range: rng(MT.main, DT.uint8, 0, 16), shape: [1, 1, 1, 16] }],
        outputs: [rng(MT.main, DT.uint8, 16, 16)],
        nodes: [
          {
            opcode: 0x12,
            body: body((w) =>
              w.range(MT.main, DT.uint8, 0, 16).range(MT.const, DT.uint8, 0, 255).range(MT.main, DT.uint8, 16, 16),
            ),
          },
        ],
      }).bytes,
      'BAD_VALUE',
      /256 bytes/,
    );
  });

  test('conv2d_transpose', () => {
    const out = rng(MT.main, DT.float32, 100, 128);
    const m = oneNode(
      0x13,
      body((w) => {
        w.range(MT.main, DT.float32, 0, 16)
          .range(out.mt, out.dt, out.start, out.size)
          .shape([1, 1, 2, 2])
          .shape([1, 2, 4, 4])
          .i32(1);
        w.i32(0).i32(0).i32(0).i32(0).i32(2).i32(2).i32(2).i32(2).i32(1).i32(1).f32(-1).f32(1);
        f32(8)(w);
        w.f32(1).f32(2);
      }),
      out,
    );
    const n = node(m, 0, 'conv2d_transpose');
    expect(n.body.weights.length).toBe(8);
    expect(Array.from(n.body.bias)).toEqual([1, 2]);
    expect(m.outputs[0].shape).toEqual([1, 2, 4, 4]);
  });

  test('cpu_conv2d, cpu_depthwise_conv2d, cpu_quantized_conv2d, cpu_quantized_depthwise_conv2d', () => {
    const win = (w: W) => w.i32(1).i32(1).i32(1).i32(1).i32(3).i32(3).i32(1).i32(1).i32(1).i32(1);
    const a = oneNode(
      0x1001,
      body((w) => {
        w.range(MT.main, DT.float32, 0, 72).range(MT.main, DT.float32, 100, 72).shape([1, 2, 3, 3]).i32(2);
        win(w);
        w.f32(0).f32(6);
        f32(36)(w);
        f32(2)(w);
      }),
      rng(MT.main, DT.float32, 100, 72),
    );
    expect(node(a, 0, 'cpu_conv2d').body.weights.length).toBe(36);
    expect(a.outputs[0].shape).toEqual([1, 2, 3, 3]);

    const d = oneNode(
      0x1002,
      body((w) => {
        w.range(MT.main, DT.float32, 0, 72).range(MT.main, DT.float32, 100, 72).shape([1, 2, 3, 3]);
        win(w);
        w.f32(0).f32(6);
        f32(18)(w);
        f32(2)(w);
      }),
      rng(MT.main, DT.float32, 100, 72),
    );
    expect(node(d, 0, 'cpu_depthwise_conv2d').body).toMatchObject({ out_channels: 2 });
    expect(d.layers[0].body).toHaveProperty('weights.length', 18);

    const q = oneNode(
      0x1004,
      body((w) => {
        w.range(MT.main, DT.uint8, 0, 18).range(MT.main, DT.uint8, 100, 18).shape([1, 2, 3, 3]).i32(2);
        win(w);
        w.i32(-1).i32(-2).i32(3).i32(4).i32(5);
        w.bytes(new Uint8Array(36).fill(1));
        w.i32(10).i32(20);
      }),
      rng(MT.main, DT.uint8, 100, 18),
    );
    const qn = node(q, 0, 'cpu_quantized_conv2d');
    expect(qn.body.weights.length).toBe(36);
    expect(Array.from(qn.body.bias)).toEqual([10, 20]);

    const qd = oneNode(
      0x1005,
      body((w) => {
        w.range(MT.main, DT.uint8, 0, 18).range(MT.main, DT.uint8, 100, 18).shape([1, 2, 3, 3]);
        win(w);
        w.i32(-1).i32(-2).i32(3).i32(4).i32(5);
        w.bytes(new Uint8Array(18).fill(1));
        w.i32(10).i32(20);
      }),
      rng(MT.main, DT.uint8, 100, 18),
    );
    expect(Array.from(node(qd, 0, 'cpu_quantized_depthwise_conv2d').body.bias)).toEqual([10, 20]);
  });

  test('nnil_unary_method: bytecode kept as a view and decoded with validation', () => {
    const prog = (code: number[]) => (w: W) => {
      w.range(MT.main, DT.float32, 0, 16).range(MT.main, DT.float32, 100, 16);
      w.bytes(code);
    };
    const two = [0x00, 0x00, 0x00, 0x40];
    const six = [0x00, 0x00, 0xc0, 0x40];
    // clamp(x·2, 0, 6)
    const code = [0x03, 0x06, ...two, 0x42, 0x04, 0x06, ...six, 0x80, 0xa0];
    const m = oneNode(0x14, body(prog(code)), rng(MT.main, DT.float32, 100, 16));
    const n = node(m, 0, 'nnil_unary_method');
    expect(n.body.program.map((i) => i.name)).toEqual(['lda_0', 'ldc_r4', 'mul', 'ldc_r4_0', 'ldc_r4', 'clamp', 'ret']);
    expect(n.body.program.map((i) => i.value).filter((v) => v !== undefined)).toEqual([2, 6]);
    expect(n.body.max_stack).toBe(3);
    expect(Array.from(n.body.body.subarray(0, code.length))).toEqual(code);
    expect(n.body.program[0].offset).toBe(n.offset + 32);
    expect(m.outputs[0].shape).toEqual([1, 1, 1, 4]);

    // bodySize = the program's own length: no alignment padding after it
    const bad = (c: number[]) =>
      buildV4({
        main_mem: 8192,
        inputs: [{ range: rng(MT.main, DT.float32, 0, 16), shape: [1, 1, 1, 4] }],
        outputs: [rng(MT.main, DT.float32, 100, 16)],
        nodes: [{ opcode: 0x14, body: body(prog(c)), bodySize: 32 + c.length }],
      }).bytes;
    expectError(bad([0x03, 0x99, 0xa0]), 'BAD_VALUE', /node 0 \(nnil_unary_method\)/, /unknown opcode 0x99/);
    expectError(bad([0x03, 0x40, 0xa0]), 'BAD_VALUE', /pops 2 values but the stack holds 1/);
    expectError(bad([0x03, 0x26]), 'BAD_VALUE', /no ret/);
    expectError(bad([0x03, 0x06, 0x00, 0x00]), 'TRUNCATED', /nnil ldc_r4 immediate/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('errors name the node, the offset and what was expected', () => {
  const tiny = tinyK210Model();
  const nodesAt = tiny.bodyOffsets[0] - 8 * 4;

  test('header: magic, version, target', () => {
    expectError(patchU32(tiny.bytes, 0, 0x4c444d4b), 'BAD_MAGIC', /KMDL/);
    expectError(patchU32(tiny.bytes, 4, 5), 'UNSUPPORTED_VERSION', /version 5/);
    expect(expectError(patchU32(tiny.bytes, 12, 2), 'BAD_VALUE', /target 2/).offset).toBe(12);
    expectError(tiny.bytes.slice(0, 39), 'TRUNCATED', /40-byte/);
  });

  test('unknown opcode: value and offset of the node header', () => {
    const e = expectError(patchU32(tiny.bytes, nodesAt + 8 * 3, 0x15), 'UNKNOWN_OPCODE', /node 3/, /21 \(0x15\)/);
    expect(e.offset).toBe(nodesAt + 24);
  });

  test('huge header counts fail fast, before any allocation', () => {
    expectError(patchU32(tiny.bytes, 24, 0xffffffff), 'BAD_COUNT', /nodes/);
    expectError(patchU32(tiny.bytes, 28, 0xffffffff), 'BAD_COUNT', /inputs/);
    expectError(patchU32(tiny.bytes, 32, 0xffffffff), 'BAD_COUNT', /outputs/);
    expectError(patchU32(tiny.bytes, 16, 0xffffffff), 'TRUNCATED', /constant blob/);
  });

  test('memory ranges must lie inside their memory', () => {
    const qAt = tiny.bodyOffsets[0];
    // quantize output start past main_mem
    const e = expectError(
      patchU32(tiny.bytes, qAt + 16 + 8, 100000),
      'BAD_OFFSET',
      /node 0 \(quantize\)/,
      /output/,
      /main range \[100000, 100040\)/,
      /main_mem of \d+ bytes/,
    );
    expect(e.offset).toBe(qAt + 16);
    // kpu_upload output beyond 2 MiB
    const upAt = tiny.bodyOffsets[1];
    expectError(
      patchU32(tiny.bytes, upAt + 16 + 8, 2 * 1024 * 1024 - 64),
      'BAD_OFFSET',
      /node 1 \(kpu_upload\)/,
      /2 MiB AI SRAM/,
    );
    // input range turned into a const range past the (empty) constant blob
    expectError(patchU32(tiny.bytes, 40, 0), 'BAD_OFFSET', /input 0/, /constant blob of 0 bytes/);
    expectError(patchU32(tiny.bytes, qAt, 3), 'BAD_VALUE', /memory_type 3/);
    expectError(patchU32(tiny.bytes, qAt + 4, 2), 'BAD_VALUE', /datatype 2/);
    // a stated shape that does not fit the range
    expectError(patchU32(tiny.bytes, upAt + 12, 41), 'BAD_VALUE', /node 1 \(kpu_upload\)/, /expected 40 bytes/);
  });

  test('kpu_conv2d register validation', () => {
    const bad = (conv: Partial<KpuConvSpec>) => tinyK210Model({ conv }).bytes;
    expectError(bad({ arg: { kernel_type: 2 } }), 'BAD_VALUE', /node 2 \(kpu_conv2d\)/, /kernel_type = 2/);
    expectError(bad({ arg: { pool_type: 10 } }), 'BAD_VALUE', /node 2 \(kpu_conv2d\)/, /pool_type = 10/);
    expectError(bad({ depthwise: true }), 'BAD_VALUE', /depthwise/);
    expectError(bad({ arg: { o_row_wid: 1 } }), 'BAD_VALUE', /output 2×4/);
    expectError(bad({ dst: 32767 }), 'BAD_OFFSET', /image_dst_addr/, /2 MiB/);
    // para_start_addr (bits 32..63 of word 5) patched to a skip longer than the body
    expectError(
      patchU32(tiny.bytes, tiny.bodyOffsets[2] + 24 + 8 * 5 + 4, 100000),
      'BAD_OFFSET',
      /node 2 \(kpu_conv2d\)/,
      /para_start_addr skip of 100000 bytes runs past the body end/,
    );
    expectError(
      bad({ extra: 8 }),
      'BAD_VALUE',
      /\d+ bytes after its last field; expected at most 7 bytes of alignment padding/,
    );
    const e = expectError(
      bad({ arg: { o_ch_num: 1 } }),
      'BAD_VALUE',
      /main_mem_output size 60 is not the dense output/,
    );
    expect(e.offset).toBe(tiny.bodyOffsets[2] + 12);
  });

  test('a count inside a body is validated before allocation', () => {
    const out = rng(MT.main, DT.uint8, 100, 12);
    const b = body((w) => w.range(out.mt, out.dt, out.start, out.size).i32(2).i32(2).u32(0x7fffffff));
    expectError(
      buildV4({
        main_mem: 8192,
        inputs: [{ range: rng(MT.main, DT.uint8, 0, 4), shape: [1, 1, 1, 4] }],
        outputs: [out],
        nodes: [{ opcode: 0x01, body: b }],
      }).bytes,
      'BAD_COUNT',
      /inputs_count/,
    );
  });
});

// ---------------------------------------------------------------------------------------------

const V4_FILES = [
  'canmv_face_feature_extraction_v4',
  'canmv_mnist_cnn_v4',
  'canmv_mobilenet_0.25_features_v4',
  'canmv_yolo_face_detect_320x240_v4',
  'maixpy_asr_speech_v4',
  'nncase_iris_float_v4',
  'nncase_root_model4_v4',
  'nncase_root_model5_v4',
  'nncase_ulffd_landmark_v4',
  'nncase_ultraface_rfb320_2019-12-17_v4',
  'nncase_ultraface_rfb320_v4',
  'nncase_ultraface_slim320_v4',
  'nncase_yolo20_voc_v4',
] as const;

/**
 * From shared/kmodels/SOURCES.md: input shape and memory, and each output's shape with the
 * leading/unit dimensions left out (the doc gives e.g. "4420×4", "10×7 grid × 125 channels").
 * Where the doc gives only a byte count, `elements` is given instead.
 */
const FROM_SOURCES: Record<
  (typeof V4_FILES)[number],
  { input: number[]; inMem?: 'main' | 'kpu'; outputs: ({ squeezed: number[] } | { elements: number })[] }
> = {
  canmv_face_feature_extraction_v4: { input: [1, 3, 64, 64], inMem: 'kpu', outputs: [{ squeezed: [192] }] },
  canmv_mnist_cnn_v4: { input: [1, 1, 112, 112], outputs: [{ squeezed: [10] }] },
  'canmv_mobilenet_0.25_features_v4': { input: [1, 3, 224, 224], outputs: [{ squeezed: [256] }] },
  canmv_yolo_face_detect_320x240_v4: { input: [1, 3, 240, 320], inMem: 'main', outputs: [{ squeezed: [54, 8, 10] }] },
  maixpy_asr_speech_v4: { input: [1, 1, 28, 80], outputs: [{ elements: 3584 }] },
  nncase_iris_float_v4: { input: [1, 1, 1, 4], inMem: 'main', outputs: [{ squeezed: [3] }] },
  nncase_root_model4_v4: { input: [1, 3, 240, 320], inMem: 'main', outputs: [{ elements: 68096 / 4 }] },
  nncase_root_model5_v4: { input: [1, 3, 240, 320], inMem: 'main', outputs: [{ elements: 68096 / 4 }] },
  nncase_ulffd_landmark_v4: {
    input: [1, 3, 240, 320],
    outputs: [{ squeezed: [3160, 4] }, { squeezed: [3160, 10] }, { squeezed: [3160, 2] }],
  },
  'nncase_ultraface_rfb320_2019-12-17_v4': {
    input: [1, 3, 240, 320],
    inMem: 'kpu',
    outputs: [{ squeezed: [4420, 4] }, { squeezed: [4420, 2] }],
  },
  nncase_ultraface_rfb320_v4: {
    input: [1, 3, 240, 320],
    inMem: 'kpu',
    outputs: [{ squeezed: [4420, 4] }, { squeezed: [4420, 2] }],
  },
  nncase_ultraface_slim320_v4: {
    input: [1, 3, 240, 320],
    inMem: 'kpu',
    outputs: [{ squeezed: [4420, 2] }, { squeezed: [4420, 4] }],
  },
  nncase_yolo20_voc_v4: { input: [1, 3, 240, 320], inMem: 'kpu', outputs: [{ squeezed: [125, 7, 10] }] },
};

interface GoldenInfo {
  header: Record<string, number>;
  input: Record<string, number>;
  inputShape: number[];
  outputs: Record<string, number>[];
}

function readInfo(model: string): GoldenInfo {
  const text = readFileSync(resolve(GOLDEN_DIR, 'v4-shared', model, 'const_128', 'info.txt'), 'utf8');
  const kv = (line: string) =>
    Object.fromEntries(
      line
        .split(/\s+/)
        .filter((t) => t.includes('='))
        .map((t) => t.split('=') as [string, string]),
    );
  const lines = text.trim().split('\n');
  const num = (o: Record<string, string>) =>
    Object.fromEntries(
      Object.entries(o)
        .filter(([k]) => k !== 'shape' && k !== 'fnv1a64')
        .map(([k, v]) => [k, Number(v)]),
    );
  const header = num(kv(lines.find((l) => l.startsWith('version='))!));
  const inLine = kv(lines.find((l) => l.startsWith('input0:'))!);
  const outputs = lines.filter((l) => /^output\d+:/.test(l)).map((l) => num(kv(l)));
  return { header, input: num(inLine), inputShape: inLine.shape.split(',').map(Number), outputs };
}

function readTrace(model: string): string[] {
  const text = readFileSync(resolve(GOLDEN_DIR, 'v4-shared', model, 'const_128', 'trace.txt'), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((l) => l.split(/\s+/)[1]);
}

const MEMTYPE = { const: 0, main: 1, kpu: 2 } as const;
const DTYPE = { float32: 0, uint8: 1 } as const;

describe.skipIf(!HAS_SHARED)('the 13 real v4 files', () => {
  const files = new Map<string, Uint8Array>();
  const models = new Map<string, KmodelV4>();
  if (HAS_SHARED) {
    for (const f of V4_FILES) files.set(f, new Uint8Array(readFileSync(kmodelPath(f))));
    for (const f of V4_FILES) models.set(f, parse(files.get(f)!));
  }

  test.each(V4_FILES)('%s: header, inputs and outputs match the golden info.txt', (f) => {
    const m = models.get(f)!;
    const info = readInfo(f);
    expect({
      version: m.version,
      target: m.header.target,
      flags: m.header.flags,
      constants: m.header.constants,
      main_mem: m.mainMemBytes,
      nodes: m.layers.length,
      inputs: m.inputs.length,
      outputs: m.outputs.length,
    }).toEqual(info.header);
    expect(m.constants.length).toBe(info.header.constants);
    const i = m.inputs[0];
    expect({
      memtype: MEMTYPE[i.range.memory_type],
      dtype: DTYPE[i.range.datatype],
      start: i.range.start,
      size: i.range.size,
    }).toEqual({
      memtype: info.input.memtype,
      dtype: info.input.dtype,
      start: info.input.start,
      size: info.input.size,
    });
    expect(i.shape).toEqual(info.inputShape);
    expect(
      m.outputs.map((o) => ({
        memtype: MEMTYPE[o.range.memory_type],
        dtype: DTYPE[o.range.datatype],
        start: o.range.start,
        size: o.range.size,
      })),
    ).toEqual(info.outputs);
  });

  test.each(V4_FILES)('%s: opcode names and values equal the golden trace', (f) => {
    const m = models.get(f)!;
    expect(m.layers.map((l) => `${l.traceName}(0x${l.code.toString(16)})`)).toEqual(readTrace(f));
  });

  test.each(V4_FILES)('%s: input and output shapes agree with SOURCES.md', (f) => {
    const m = models.get(f)!;
    const want = FROM_SOURCES[f];
    expect(m.inputs[0].shape).toEqual(want.input);
    if (want.inMem) expect(m.inputs[0].range.memory_type).toBe(want.inMem);
    expect(m.outputs.length).toBe(want.outputs.length);
    want.outputs.forEach((w, k) => {
      const o = m.outputs[k];
      expect(o.shape.reduce((a, d) => a * d, 1) * 4).toBe(o.range.size);
      if ('squeezed' in w) expect(o.shape.filter((d) => d !== 1)).toEqual(w.squeezed);
      else expect(o.shape.reduce((a, d) => a * d, 1)).toBe(w.elements);
    });
  });

  test('kpu-numerics §10 C7: KPU-memory inputs use the padded layout size', () => {
    expect(models.get('canmv_mnist_cnn_v4')!.inputs[0]).toMatchObject({ bytes: 112 * 112, range: { size: 14336 } });
    expect(models.get('maixpy_asr_speech_v4')!.inputs[0]).toMatchObject({ bytes: 28 * 80, range: { size: 3584 } });
    expect(models.get('canmv_mobilenet_0.25_features_v4')!.inputs[0]).toMatchObject({
      bytes: 3 * 224 * 224,
      range: { start: 114688, size: 172032 },
    });
  });

  test('kpu-numerics §10 C3: short last bodies and trailing data', () => {
    const short = Object.fromEntries(
      V4_FILES.map((f) => [f, models.get(f)!.lastBodyShortfall]).filter(([, s]) => s !== 0),
    );
    expect(short).toEqual({ canmv_mnist_cnn_v4: 4, nncase_root_model4_v4: 4, nncase_ultraface_slim320_v4: 4 });
    const trailing = Object.fromEntries(
      V4_FILES.map((f) => [f, models.get(f)!.trailingBytes]).filter(([, s]) => s !== 0),
    );
    expect(trailing).toEqual({ canmv_face_feature_extraction_v4: 16, maixpy_asr_speech_v4: 997632 });
  });

  test('kpu-numerics §10 C4: root_model4/5 have BN tables that are not 256-aligned; activation tables always are; weights end at the body end', () => {
    let convs = 0;
    for (const f of V4_FILES) {
      for (const l of models.get(f)!.layers) {
        if (l.type !== 'kpu_conv2d') continue;
        convs++;
        expect(l.kpu.fileOffsets.activation % 256).toBe(0);
        expect(l.kpu.fileOffsets.weights + l.kpu.weights.length).toBe(l.offset + l.bodySize);
        // kpu-numerics §10 C5: v4 files set send_data_out exactly when there is a main-memory copy.
        expect(l.kpu.arg.send_data_out).toBe(l.main_mem_output.size !== 0 ? 1 : 0);
      }
    }
    expect(convs).toBe(328);
    for (const f of ['nncase_root_model4_v4', 'nncase_root_model5_v4'] as const) {
      const odd = models
        .get(f)!
        .layers.filter(
          (l) =>
            l.type === 'kpu_conv2d' && l.body.skips.bwsx_base_addr === 0 && l.kpu.fileOffsets.batchNorm % 256 !== 0,
        );
      expect(odd.length).toBeGreaterThan(0);
    }
  });

  test('every kpu_conv2d reads an AI SRAM range exactly as the input or an earlier node wrote it', () => {
    for (const f of V4_FILES) {
      const m = models.get(f)!;
      const written = new Set(
        m.inputs.filter((i) => i.range.memory_type === 'kpu').map((i) => `${i.range.start}+${i.range.size}`),
      );
      for (const l of m.layers) {
        if (l.type === 'kpu_conv2d')
          expect(written.has(`${l.body.kpu_input.start}+${l.body.kpu_input.size}`), `${f} node ${l.index}`).toBe(true);
        for (const r of l.outputRanges) if (r.memory_type === 'kpu') written.add(`${r.start}+${r.size}`);
      }
    }
  });

  test('kpu-numerics §10 C8: negative pad crops in canmv_face_feature_extraction_v4', () => {
    const pads = models
      .get('canmv_face_feature_extraction_v4')!
      .layers.filter((l): l is V4NodeOfType<'pad'> => l.type === 'pad');
    expect(pads.some((p) => p.body.paddings[2].after === -3 && p.body.paddings[3].after === -3)).toBe(true);
  });

  test('every node has typed inputs and outputs; layer shapes chain through main memory', () => {
    for (const f of V4_FILES) {
      for (const l of models.get(f)!.layers as readonly V4Node[]) {
        expect(l.inputs.length).toBe(l.inputRanges.length);
        expect(l.outputs.length).toBe(l.outputRanges.length);
        for (const t of [...l.inputs, ...l.outputs]) expect(t.shape.length).toBeGreaterThan(0);
      }
    }
    const mnist = models.get('canmv_mnist_cnn_v4')!;
    // dequantize after a kpu_conv2d that downloads to main memory inherits its NCHW shape
    const dq = mnist.layers.find((l) => l.type === 'dequantize')!;
    expect(dq.inputs[0].shape).toHaveLength(4);
  });
});

// ---------------------------------------------------------------------------------------------

/** Parses; any throw other than KmodelError fails the property. Returns true when parsing succeeded. */
function parsesOrKmodelError(b: Uint8Array): boolean {
  try {
    parse(b);
    return true;
  } catch (e) {
    if (e instanceof KmodelError) return false;
    throw e;
  }
}

describe('corruption (fast-check, fixed seed)', () => {
  const seed = 0x4b4d444c;
  const tiny = tinyK210Model({ conv: { skips: { bn: 24, act: 40, para: 8 } } }).bytes;
  const iris = HAS_SHARED ? new Uint8Array(readFileSync(kmodelPath('nncase_iris_float_v4'))) : undefined;

  test('random bytes after a v4 header only raise KmodelError', () => {
    const head = new Uint8Array([0x4c, 0x44, 0x4d, 0x4b, 4, 0, 0, 0]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1500 }), (rest) => {
        const b = new Uint8Array(head.length + rest.length);
        b.set(head);
        b.set(rest, head.length);
        parsesOrKmodelError(b);
      }),
      { seed, numRuns: 1000 },
    );
  });

  test('every truncation point of the synthetic K210 model (and of iris when present)', () => {
    for (const full of [tiny, ...(iris ? [iris] : [])]) {
      expect(parsesOrKmodelError(full)).toBe(true);
      for (let len = 0; len < full.length; len++) {
        const ok = parsesOrKmodelError(full.slice(0, len));
        // Only the last body's alignment padding may go missing.
        if (ok) expect(full.length - len).toBeLessThanOrEqual(8);
      }
    }
  });

  test('random byte flips only raise KmodelError', () => {
    const targets = [tiny, ...(iris ? [iris] : [])];
    fc.assert(
      fc.property(
        fc.nat(targets.length - 1),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        (which, flips) => {
          const b = targets[which].slice();
          for (const [i, v] of flips) b[i % b.length] = v;
          parsesOrKmodelError(b);
        },
      ),
      { seed, numRuns: 3000 },
    );
  });

  test.skipIf(!HAS_SHARED)(
    'byte flips in the structure of a real K210 model (root_model5) only raise KmodelError',
    () => {
      const file = new Uint8Array(readFileSync(kmodelPath('nncase_root_model5_v4')));
      const m = parse(file);
      // Header, node table and the first 400 bytes of every body (ranges, registers, skips, tables).
      const spans: [number, number][] = [
        [0, m.bodiesOffset],
        ...m.layers.map((l): [number, number] => [l.offset, Math.min(l.bodySize, 400)]),
      ];
      let parsed = 0;
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.nat(spans.length - 1), fc.nat(), fc.integer({ min: 0, max: 255 })), {
            minLength: 1,
            maxLength: 4,
          }),
          (flips) => {
            const b = file.slice();
            for (const [s, k, v] of flips) b[spans[s][0] + (k % spans[s][1])] = v;
            if (parsesOrKmodelError(b)) parsed++;
          },
        ),
        { seed, numRuns: 400 },
      );
      // Many flips hit values no check can judge (weights, BN entries, activation segments): both outcomes occur.
      expect(parsed).toBeGreaterThan(0);
      expect(parsed).toBeLessThan(400);
    },
  );

  test('huge header counts and sizes fail quickly with KmodelError', () => {
    fc.assert(
      fc.property(fc.constantFrom(16, 24, 28, 32), fc.integer({ min: 2 ** 16, max: 2 ** 32 - 1 }), (at, v) => {
        const e = kmodelError(() => parse(patchU32(tiny, at, v)));
        expect(['BAD_COUNT', 'TRUNCATED', 'BAD_OFFSET', 'BAD_VALUE', 'UNKNOWN_OPCODE']).toContain(e.code);
      }),
      { seed, numRuns: 400 },
    );
  });
});
