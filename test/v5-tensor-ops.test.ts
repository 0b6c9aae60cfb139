/**
 * The stackvm tensor functions the real v5 files use, each through bytecode on a synthetic
 * model (so operand order, shape registers and strides are exercised), with values worked
 * out by hand; plus TENSOR CALL into a synthetic K210 module (upload, download, copy).
 */
import { describe, expect, it } from 'vitest';
import { KpuFault } from '../src/errors.js';
import { BinaryReader } from '../src/kmodel-parser/binary-reader.js';
import { parseV5 } from '../src/kmodel-parser/v5/parse.js';
import { encodeStackvm, type AsmInstruction } from '../src/kmodel-parser/v5/stackvm/encode.js';
import { NUMBERINGS } from '../src/kmodel-parser/v5/stackvm/isa.js';
import { buildV5, stackvmModuleSpec, type ModuleSpec, type TensorSpec } from '../src/kmodel-parser/v5/write.js';
import { convert } from '../src/kpu/ops/v5/convert.js';
import { quantize } from '../src/kpu/ops/v5/quantize.js';
import { sliceOutputShape } from '../src/kpu/ops/v5/slice.js';
import type { StridedTensor } from '../src/kpu/v5/tensor.js';
import { runV5 } from '../src/kpu/v5/run.js';

const N = NUMBERINGS[0];
const U8 = 4;
const F32 = 9;

const lea = (location: number, offset = 0): AsmInstruction => ({
  op: 'LEA_BUFFER',
  args: { location, subres_id: 0, offset },
});
const i4 = (imm: number): AsmInstruction => ({ op: 'LDC_I4', args: { imm } });
const r4 = (imm: number): AsmInstruction => ({ op: 'LDC_R4', args: { imm } });
const shape = (reg: number, dims: number[]): AsmInstruction[] => [
  ...dims.map(i4),
  { op: 'STSHAPE', args: { rshape: reg, rank: dims.length } },
];
const tensor = (name: string, args: Record<string, number>): AsmInstruction => ({ op: 'TENSOR', tensor: name, args });
const f32bytes = (v: number[]) => new Uint8Array(Float32Array.from(v).buffer);
const asF32 = (b: Uint8Array) => [...new Float32Array(b.buffer, b.byteOffset, b.length / 4)];

function run(
  prog: AsmInstruction[],
  inputs: { spec: TensorSpec; bytes: Uint8Array }[],
  outputs: TensorSpec[],
  extra: ModuleSpec[] = [],
  trace?: string[],
): Uint8Array[] {
  const text = encodeStackvm([...prog, { op: 'RET' }], N);
  const bytes = buildV5({
    modules: [stackvmModuleSpec(text, { inputs: inputs.map((i) => i.spec), outputs }), ...extra],
  });
  const model = parseV5(new BinaryReader(bytes), { stackvmNumbering: N.id });
  return runV5(model, inputs[0].bytes, {
    moreInputs: inputs.length > 1 ? inputs.slice(1).map((i) => i.bytes) : undefined,
    trace: trace ? (l) => trace.push(l) : undefined,
  }).outputs;
}

describe('DEQUANTIZE and QUANTIZE', () => {
  it('dequantize: q·scale + bias, pops bias then scale', () => {
    const [o] = run(
      [
        lea(0),
        lea(1),
        ...shape(0, [4]),
        ...shape(1, [1]),
        r4(0.5),
        r4(-1),
        tensor('DEQUANTIZE', { in_datatype: U8, dst_datatype: F32, rshape_src: 0, rstride_src: 1, rstride_dest: 1 }),
      ],
      [{ spec: { datatype: U8, shape: [4] }, bytes: Uint8Array.from([0, 1, 2, 255]) }],
      [{ datatype: F32, shape: [4] }],
    );
    expect(asF32(o)).toEqual([-1, -0.5, 0, 126.5]);
  });
  it('dequantize rounds the product and the sum separately (no FMA)', () => {
    const scale = Math.fround(0.1);
    const bias = Math.fround(0.3);
    const [o] = run(
      [
        lea(0),
        lea(1),
        ...shape(0, [1]),
        ...shape(1, [0]),
        r4(scale),
        r4(bias),
        tensor('DEQUANTIZE', { in_datatype: U8, dst_datatype: F32, rshape_src: 0, rstride_src: 1, rstride_dest: 1 }),
      ],
      [{ spec: { datatype: U8, shape: [1] }, bytes: Uint8Array.from([7]) }],
      [{ datatype: F32, shape: [1] }],
    );
    expect(asF32(o)[0]).toBe(Math.fround(Math.fround(7 * scale) + bias));
  });
  it('quantize: round half to even, clamp to uint8', () => {
    const [o] = run(
      [
        lea(0),
        lea(1),
        ...shape(0, [6]),
        ...shape(1, [1]),
        r4(1),
        r4(0),
        tensor('QUANTIZE', { in_datatype: F32, dst_datatype: U8, rshape_src: 0, rstride_src: 1, rstride_dest: 1 }),
      ],
      [{ spec: { datatype: F32, shape: [6] }, bytes: f32bytes([0.5, 1.5, 2.5, -3, 300, 127.5]) }],
      [{ datatype: U8, shape: [6] }],
    );
    expect([...o]).toEqual([0, 2, 2, 0, 255, 128]);
  });
  it('quantize beyond ±2^31: the contiguous path (nearbyintf → int32) and the strided one (lrintf) differ, as upstream', () => {
    // nncase calls a view contiguous only when its strides equal the default ones, which are 0 on size-1 axes.
    const x: StridedTensor = { bytes: f32bytes([5e9, 0]), offset: 0, datatype: F32, shape: [2], strides: [1] };
    const dense = new Uint8Array(2);
    quantize(x, { bytes: dense, offset: 0, datatype: U8, shape: [2], strides: [1] }, 1, 0);
    const strided = new Uint8Array(1);
    quantize(
      { ...x, shape: [1], strides: [1] },
      { bytes: strided, offset: 0, datatype: U8, shape: [1], strides: [1] },
      1,
      0,
    );
    expect(dense[0]).toBe(0);
    expect(strided[0]).toBe(255);
  });
});

describe('CONVERT, COPY, SLICE, TRANSPOSE', () => {
  it('convert f32 → u8 truncates through int32 and keeps the low byte; f32 → bf16 rounds to nearest even', () => {
    const [o] = run(
      [
        lea(0),
        lea(1),
        ...shape(0, [4]),
        ...shape(1, [1]),
        tensor('CONVERT', { in_datatype: F32, dst_datatype: U8, rshape_src: 0, rstride_src: 1, rstride_dest: 1 }),
      ],
      [{ spec: { datatype: F32, shape: [4] }, bytes: f32bytes([1.9, 255.9, 256.5, -1]) }],
      [{ datatype: U8, shape: [4] }],
    );
    expect([...o]).toEqual([1, 255, 0, 255]);
    const bf = new Uint8Array(2);
    convert(
      { bytes: f32bytes([1 + 3 * 2 ** -9]), offset: 0, datatype: F32, shape: [1], strides: [1] },
      { bytes: bf, offset: 0, datatype: 11, shape: [1], strides: [1] },
    );
    expect(bf[0] | (bf[1] << 8)).toBe(0x3f81);
  });
  it('copy follows both stride sets', () => {
    const [o] = run(
      [
        lea(0),
        lea(1),
        ...shape(0, [2, 2]),
        ...shape(1, [4, 1]),
        ...shape(2, [2, 1]),
        tensor('COPY', { datatype: U8, rshape: 0, rstride_src: 1, rstride_dest: 2 }),
      ],
      [{ spec: { datatype: U8, shape: [8] }, bytes: Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]) }],
      [{ datatype: U8, shape: [4] }],
    );
    expect([...o]).toEqual([0, 1, 4, 5]);
  });
  it('slice with begins, ends and strides', () => {
    const [o] = run(
      [
        lea(0),
        lea(1),
        ...shape(0, [3, 4]),
        ...shape(1, [4, 1]),
        ...shape(2, [2, 1]),
        ...shape(3, [1, 1]),
        ...shape(4, [3, 4]),
        ...shape(5, [1, 2]),
        tensor('SLICE', {
          datatype: U8,
          rshape_src: 0,
          rstride_src: 1,
          rstride_dest: 2,
          rbegins: 3,
          rends: 4,
          rstrides: 5,
        }),
      ],
      [{ spec: { datatype: U8, shape: [12] }, bytes: Uint8Array.from({ length: 12 }, (_, i) => i) }],
      [{ datatype: U8, shape: [4] }],
    );
    expect([...o]).toEqual([5, 7, 9, 11]);
    expect(sliceOutputShape([10], [8], [2 ** 64 - 1], [-3])).toEqual([0]);
    expect(sliceOutputShape([10], [8], [1], [-3])).toEqual([3]);
  });
  it('transpose by perm', () => {
    const [o] = run(
      [
        lea(0),
        lea(1),
        ...shape(0, [2, 3]),
        ...shape(1, [3, 1]),
        ...shape(2, [2, 1]),
        ...shape(3, [1, 0]),
        tensor('TRANSPOSE', { datatype: U8, rshape_src: 0, rstride_src: 1, rstride_dest: 2, rshape_perm: 3 }),
      ],
      [{ spec: { datatype: U8, shape: [6] }, bytes: Uint8Array.from([0, 1, 2, 3, 4, 5]) }],
      [{ datatype: U8, shape: [6] }],
    );
    expect([...o]).toEqual([0, 3, 1, 4, 2, 5]);
  });
});

describe('BINARY', () => {
  const prog = (op: number, lo: number, hi: number): AsmInstruction[] => [
    lea(0, 0),
    lea(0, 16),
    lea(1),
    ...shape(0, [2, 2]),
    ...shape(1, [2, 1]),
    ...shape(2, [2]),
    ...shape(3, [1]),
    tensor('BINARY', {
      datatype: F32,
      rshape_src1: 0,
      rstride_src1: 1,
      rshape_src2: 2,
      rstride_src2: 3,
      rstride_dest: 1,
      binary_op: op,
      fused_clamp_low: lo,
      fused_clamp_high: hi,
    }),
  ];
  const ins = [
    { spec: { datatype: F32, shape: [2, 2] }, bytes: f32bytes([1, 2, 3, 4]) },
    { spec: { datatype: F32, shape: [2] }, bytes: f32bytes([10, 20]) },
  ];
  const out = [{ datatype: F32, shape: [2, 2] }];
  it('add broadcasts the trailing axis; the fused clamp applies', () => {
    expect(asF32(run(prog(0, -Infinity, Infinity), ins, out)[0])).toEqual([11, 22, 13, 24]);
    expect(asF32(run(prog(0, 12, 23), ins, out)[0])).toEqual([12, 22, 13, 23]);
  });
  it('sub, mul, div, min, max', () => {
    expect(asF32(run(prog(1, -Infinity, Infinity), ins, out)[0])).toEqual([-9, -18, -7, -16]);
    expect(asF32(run(prog(2, -Infinity, Infinity), ins, out)[0])).toEqual([10, 40, 30, 80]);
    expect(asF32(run(prog(3, -Infinity, Infinity), ins, out)[0])).toEqual([0.1, 0.1, 0.3, 0.2].map(Math.fround));
    expect(asF32(run(prog(4, -Infinity, Infinity), ins, out)[0])).toEqual([1, 2, 3, 4]);
    expect(asF32(run(prog(5, -Infinity, Infinity), ins, out)[0])).toEqual([10, 20, 10, 20]);
  });
});

describe('REDUCE_WINDOW2D, RESIZE_IMAGE, CONV2D', () => {
  const nine = { spec: { datatype: F32, shape: [1, 1, 3, 3] }, bytes: f32bytes([1, 2, 3, 4, 5, 6, 7, 8, 9]) };
  const rw = (op: number, f: number, s: number, pad: number, out: number[]): AsmInstruction[] => [
    lea(0),
    r4(op === 2 ? -Infinity : 0),
    lea(1),
    i4(pad),
    i4(pad),
    i4(pad),
    i4(pad),
    ...shape(0, [1, 1, 3, 3]),
    ...shape(1, [0, 0, 3, 1]),
    ...shape(2, [0, 0, out[3], 1]),
    tensor('REDUCE_WINDOW2D', {
      datatype: F32,
      reduce_op: op,
      rshape_src: 0,
      rstride_src: 1,
      rstride_dest: 2,
      filter_h: f,
      filter_w: f,
      stride_h: s,
      stride_w: s,
      dilation_h: 1,
      dilation_w: 1,
      fused_clamp_low: -Infinity,
      fused_clamp_high: Infinity,
    }),
  ];
  it('mean and max over 2×2 windows, stride 1', () => {
    expect(asF32(run(rw(0, 2, 1, 0, [1, 1, 2, 2]), [nine], [{ datatype: F32, shape: [1, 1, 2, 2] }])[0])).toEqual([
      3, 4, 6, 7,
    ]);
    expect(asF32(run(rw(2, 2, 1, 0, [1, 1, 2, 2]), [nine], [{ datatype: F32, shape: [1, 1, 2, 2] }])[0])).toEqual([
      5, 6, 8, 9,
    ]);
  });
  it('mean with padding divides by the valid taps only', () => {
    expect(asF32(run(rw(0, 2, 2, 1, [1, 1, 2, 2]), [nine], [{ datatype: F32, shape: [1, 1, 2, 2] }])[0])).toEqual([
      1, 2.5, 5.5, 7,
    ]);
  });
  it('resize nearest 2×2 → 4×4', () => {
    const [o] = run(
      [
        i4(4),
        i4(4),
        lea(0),
        lea(1),
        ...shape(0, [1, 1, 2, 2]),
        ...shape(1, [0, 0, 2, 1]),
        ...shape(2, [0, 0, 4, 1]),
        tensor('RESIZE_IMAGE', {
          datatype: F32,
          rshape_src: 0,
          rstride_src: 1,
          rstride_dest: 2,
          align_corners: 0,
          half_pixel_centers: 0,
          image_resize_mode: 1,
        }),
      ],
      [{ spec: { datatype: F32, shape: [1, 1, 2, 2] }, bytes: f32bytes([1, 2, 3, 4]) }],
      [{ datatype: F32, shape: [1, 1, 4, 4] }],
    );
    expect(asF32(o)).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  });
  it('resize bilinear on uint8 adds 0.5 and truncates', () => {
    const [o] = run(
      [
        i4(1),
        i4(4),
        lea(0),
        lea(1),
        ...shape(0, [1, 1, 1, 2]),
        ...shape(1, [0, 0, 0, 1]),
        ...shape(2, [0, 0, 0, 1]),
        tensor('RESIZE_IMAGE', {
          datatype: U8,
          rshape_src: 0,
          rstride_src: 1,
          rstride_dest: 2,
          align_corners: 0,
          half_pixel_centers: 0,
          image_resize_mode: 0,
        }),
      ],
      [{ spec: { datatype: U8, shape: [1, 1, 1, 2] }, bytes: Uint8Array.from([0, 255]) }],
      [{ datatype: U8, shape: [1, 1, 1, 4] }],
    );
    expect([...o]).toEqual([0, 128, 255, 255]);
  });
  it('conv2d: bias + Σ in·w over valid taps, fused clamp', () => {
    const prog = (hi: number): AsmInstruction[] => [
      lea(0, 0),
      lea(0, 36),
      lea(0, 52),
      lea(1),
      i4(0),
      i4(0),
      i4(0),
      i4(0),
      ...shape(0, [1, 1, 3, 3]),
      ...shape(1, [0, 0, 3, 1]),
      ...shape(2, [1, 1, 2, 2]),
      ...shape(3, [0, 0, 2, 1]),
      ...shape(4, [0]),
      ...shape(5, [0, 0, 2, 1]),
      tensor('CONV2D', {
        datatype: F32,
        rshape_src: 0,
        rstride_src: 1,
        rshape_kernel: 2,
        rstride_kernel: 3,
        rstride_bias: 4,
        rstride_dest: 5,
        groups: 1,
        stride_h: 1,
        stride_w: 1,
        dilation_h: 1,
        dilation_w: 1,
        fused_clamp_low: -Infinity,
        fused_clamp_high: hi,
      }),
    ];
    const ins = [
      nine,
      { spec: { datatype: F32, shape: [4] }, bytes: f32bytes([1, 1, 1, 1]) },
      { spec: { datatype: F32, shape: [1] }, bytes: f32bytes([0.5]) },
    ];
    expect(asF32(run(prog(Infinity), ins, [{ datatype: F32, shape: [1, 1, 2, 2] }])[0])).toEqual([
      12.5, 16.5, 24.5, 28.5,
    ]);
    expect(asF32(run(prog(20), ins, [{ datatype: F32, shape: [1, 1, 2, 2] }])[0])).toEqual([12.5, 16.5, 20, 20]);
  });
});

// ---- CALL into a K210 module ---------------------------------------------------------------------

function mr(location: number, datatype: number, start: number, size: number, dv: DataView, at: number): void {
  dv.setUint8(at, location);
  dv.setUint8(at + 1, datatype);
  dv.setUint16(at + 2, 0, true);
  dv.setUint32(at + 4, start, true);
  dv.setUint32(at + 8, size, true);
}

function k210Record(
  opcode: number,
  input: [number, number, number],
  output: [number, number, number],
  inShape: number[],
  inStrides?: number[],
  outStrides?: number[],
): Uint8Array {
  const b = new Uint8Array(opcode === 3 ? 76 : 44);
  const dv = new DataView(b.buffer);
  dv.setUint8(0, opcode);
  mr(input[0], U8, input[1], input[2], dv, 4);
  mr(output[0], U8, output[1], output[2], dv, 16);
  [...inShape, ...(inStrides ?? []), ...(outStrides ?? [])].forEach((v, i) => dv.setUint32(28 + 4 * i, v, true));
  return b;
}

function k210Module(text: Uint8Array): ModuleSpec {
  const t = { range: { location: 0, datatype: U8, start: 0, size: 16 }, shape: [1, 1, 4, 4] };
  return {
    type: 'k210',
    mempools: [
      { location: 2, size: 0 },
      { location: 3, size: 0 },
      { location: 64, size: 2 * 1024 * 1024 },
    ],
    functions: [{ inputs: [t], outputs: [{ ...t, range: { ...t.range, location: 1 } }], text }],
    sections: [{ name: '.rdata', body: new Uint8Array(0) }],
  };
}

const callProg: AsmInstruction[] = [
  lea(0),
  i4(U8),
  i4(0),
  i4(1),
  lea(1),
  i4(U8),
  i4(0),
  i4(1),
  ...shape(0, [1, 1, 4, 4]),
  ...shape(1, [0, 0, 4, 1]),
  tensor('CALL', { function_id: 0, module_id: 1, num_src: 1, num_dst: 1 }),
];
const img = { spec: { datatype: U8, shape: [1, 1, 4, 4] }, bytes: Uint8Array.from({ length: 16 }, (_, i) => 10 + i) };

describe('UNARY and PAD', () => {
  const unary = (op: number, x: number[], dims = [x.length], inStrides = [1], outStrides = [1]) =>
    asF32(
      run(
        [
          lea(0),
          lea(1),
          ...shape(0, dims),
          ...shape(1, inStrides),
          ...shape(2, outStrides),
          tensor('UNARY', { datatype: F32, rshape_src: 0, rstride_src: 1, rstride_dest: 2, unary_op: op }),
        ],
        [{ spec: { datatype: F32, shape: [x.length] }, bytes: f32bytes(x) }],
        [{ datatype: F32, shape: [x.length] }],
      )[0],
    );
  it('abs, neg, round (halfway away from zero, as C roundf), rsqrt, square', () => {
    const x = [-2.5, 0.5, 4, -1.25];
    expect(unary(0, x)).toEqual([2.5, 0.5, 4, 1.25]);
    expect(unary(6, x)).toEqual([2.5, -0.5, -4, 1.25]);
    expect(unary(7, x)).toEqual([-3, 1, 4, -1]);
    expect(unary(8, [4, 0.25, 16, 1])).toEqual([0.5, 2, 0.25, 1]);
    expect(unary(11, x)).toEqual([6.25, 0.25, 16, 1.5625]);
  });
  it('exp and floor round once to float32; the input is read through its strides', () => {
    expect(unary(3, [0, 1])).toEqual([1, Math.fround(Math.E)]);
    // [2, 2] read column by column (strides [1, 2]), written row by row.
    expect(unary(4, [1.5, -1.5, 2.5, -2.5], [2, 2], [1, 2], [2, 1])).toEqual([1, 2, -2, -3]);
  });
  it('bitwise_not is refused, as by the float kernel upstream', () => {
    expect(() => unary(13, [1])).toThrow(/bitwise_not/);
  });

  /** Pads a u8 [rows, cols] tensor; `p` is [before, after] per axis. */
  const padU8 = (x: number[], rows: number, cols: number, p: [number, number][], mode: number, value = 0) => {
    const outR = rows + p[0][0] + p[0][1];
    const outC = cols + p[1][0] + p[1][1];
    const [o] = run(
      [
        lea(0),
        lea(1),
        ...shape(0, [rows, cols]),
        ...shape(1, [cols, 1]),
        ...shape(2, [outC, 1]),
        ...p.flat().map(i4),
        { op: 'STPADDINGS', args: { rpaddings: 0, rank: 2 } },
        i4(value),
        tensor('PAD', { datatype: U8, rshape_src: 0, rstride_src: 1, rstride_dest: 2, rpaddings: 0, pad_mode: mode }),
      ],
      [{ spec: { datatype: U8, shape: [x.length] }, bytes: Uint8Array.from(x) }],
      [{ datatype: U8, shape: [outR * outC] }],
    );
    return [...o];
  };
  it('constant padding with the value on top of the stack', () => {
    // prettier-ignore
    expect(padU8([1, 2, 3, 4, 5, 6], 2, 3, [[1, 0], [1, 2]], 0, 9)).toEqual([
      9, 9, 9, 9, 9, 9,
      9, 1, 2, 3, 9, 9,
      9, 4, 5, 6, 9, 9,
    ]);
  });
  it('reflect, symmetric and edge mirror as numpy.pad does; a negative padding crops', () => {
    expect(
      padU8(
        [1, 2, 3],
        1,
        3,
        [
          [0, 0],
          [2, 1],
        ],
        1,
      ),
    ).toEqual([3, 2, 1, 2, 3, 2]);
    expect(
      padU8(
        [1, 2, 3],
        1,
        3,
        [
          [0, 0],
          [2, 1],
        ],
        2,
      ),
    ).toEqual([2, 1, 1, 2, 3, 3]);
    expect(
      padU8(
        [1, 2, 3],
        1,
        3,
        [
          [0, 0],
          [2, 1],
        ],
        3,
      ),
    ).toEqual([1, 1, 1, 2, 3, 3]);
    expect(
      padU8(
        [1, 2, 3, 4, 5, 6],
        2,
        3,
        [
          [0, 0],
          [-1, 0],
        ],
        0,
      ),
    ).toEqual([2, 3, 5, 6]);
  });
  it('a float32 pad value is written as float32; reflecting past the input is a fault', () => {
    const [o] = run(
      [
        lea(0),
        lea(1),
        ...shape(0, [2]),
        ...shape(1, [1]),
        ...[1, 1].map(i4),
        { op: 'STPADDINGS', args: { rpaddings: 0, rank: 1 } },
        r4(-1.5),
        tensor('PAD', { datatype: F32, rshape_src: 0, rstride_src: 1, rstride_dest: 1, rpaddings: 0, pad_mode: 0 }),
      ],
      [{ spec: { datatype: F32, shape: [2] }, bytes: f32bytes([7, 8]) }],
      [{ datatype: F32, shape: [4] }],
    );
    expect(asF32(o)).toEqual([-1.5, 7, 8, -1.5]);
    expect(() =>
      padU8(
        [1, 2],
        1,
        2,
        [
          [0, 0],
          [3, 0],
        ],
        1,
      ),
    ).toThrow(KpuFault);
  });
});

describe('CALL into a K210 module', () => {
  it('kpu_upload then kpu_download returns the input; K210 lines come before the CALL line', () => {
    const text = new Uint8Array([
      ...k210Record(0, [0, 0, 16], [64, 0, 16 * 64], [1, 1, 4, 4]),
      ...k210Record(1, [64, 0, 16 * 64], [1, 0, 16], [1, 1, 4, 4]),
    ]);
    const trace: string[] = [];
    const [o] = run(callProg, [img], [{ datatype: U8, shape: [1, 1, 4, 4] }], [k210Module(text)], trace);
    expect([...o]).toEqual([...img.bytes]);
    expect(trace.map((l) => l.split(' ')[1])).toEqual([
      'k210:kpu_upload(0x00)',
      'k210:kpu_download(0x01)',
      'stackvm:CALL(0x0003)',
    ]);
    // The upload wrote 4 rows of 4 bytes at the start of 64-byte lines (w ≤ 16 packs 4 channels at pitch 16).
    expect(trace[0]).toMatch(
      /^0 k210:kpu_upload\(0x00\) m0\.data=14650fb0739d0383 m1\.data=14650fb0739d0383 kpu=[0-9a-f]{16}$/,
    );
    expect(trace[0].split('kpu=')[1]).not.toBe('16369f44951d0383');
  });
  it('the K210 copy op follows its element strides', () => {
    const text = k210Record(3, [0, 0, 16], [1, 0, 16], [1, 1, 4, 4], [0, 0, 1, 4], [0, 0, 4, 1]);
    const [o] = run(callProg, [img], [{ datatype: U8, shape: [1, 1, 4, 4] }], [k210Module(text)]);
    const want = Array.from({ length: 16 }, (_, k) => 10 + (k % 4) * 4 + Math.floor(k / 4));
    expect([...o]).toEqual(want);
  });
  it('a CALL whose tensor shape differs from the callee is a KpuFault', () => {
    const bad = [...callProg];
    bad.splice(8, 5, ...shape(0, [1, 1, 2, 8]));
    const text = k210Record(1, [64, 0, 16 * 64], [1, 0, 16], [1, 1, 4, 4]);
    expect(() => run(bad, [img], [{ datatype: U8, shape: [1, 1, 4, 4] }], [k210Module(text)])).toThrow(KpuFault);
  });
});
