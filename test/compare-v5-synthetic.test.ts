/**
 * `compare` on a small synthetic kmodel v5 (no shared corpus needed): a stackvm function that
 * dequantizes its uint8 input, re-quantizes it, CALLs a K210 function (kpu_upload, a 3×3
 * kpu_conv2d whose activation table has a decreasing segment, kpu_download) and dequantizes the
 * result into the float output; a second K210 function is never called. The whole path runs
 * through the op hook, the float counterparts and the quantisation learned from the dataflow.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { BinaryReader } from '../src/kmodel-parser/binary-reader.js';
import {
  KPU_LAYER_ARGUMENT_WORDS,
  encodeActivationTable,
  encodeBatchNorm,
  encodeKpuLayerArgument,
  type ActivationSegment,
  type KpuLayerArgument,
} from '../src/kmodel-parser/kpu-layer-argument.js';
import { kpuRowLayout, kpuRows } from '../src/kpu/layout.js';
import { parseV5 } from '../src/kmodel-parser/v5/parse.js';
import { encodeStackvm, type AsmInstruction } from '../src/kmodel-parser/v5/stackvm/encode.js';
import { NUMBERINGS } from '../src/kmodel-parser/v5/stackvm/isa.js';
import { buildV5, stackvmModuleSpec, type ModuleSpec } from '../src/kmodel-parser/v5/write.js';
import { prepare } from '../src/kpu/interpreter.js';
import { defaultStrides } from '../src/kpu/v5/tensor.js';
import { buildReference, compareOnce, initReferenceBackend } from '../src/reference/index.js';
import { NOT_EXECUTED } from '../src/reference/graph.js';
import { summarize } from '../src/reference/report.js';
import { Lcg } from './lcg.js';

const N = NUMBERINGS[0];
const U8 = 4;
const F32 = 9;
const IN: [number, number, number, number] = [1, 2, 4, 8];
const OUT: [number, number, number, number] = [1, 3, 4, 8];
const count = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

const lea = (location: number, offset = 0): AsmInstruction => ({
  op: 'LEA_BUFFER',
  args: { location, subres_id: 0, offset },
});
const i4 = (imm: number): AsmInstruction => ({ op: 'LDC_I4', args: { imm } });
const r4 = (imm: number): AsmInstruction => ({ op: 'LDC_R4', args: { imm } });
const shape = (reg: number, dims: readonly number[]): AsmInstruction[] => [
  ...dims.map(i4),
  { op: 'STSHAPE', args: { rshape: reg, rank: dims.length } },
];
const tensor = (name: string, args: Record<string, number>): AsmInstruction => ({ op: 'TENSOR', tensor: name, args });
const quantOp = (name: string, from: number, to: number): AsmInstruction =>
  tensor(name, { in_datatype: from, dst_datatype: to, rshape_src: 0, rstride_src: 1, rstride_dest: 1 });

// data pool: f32 copy of the input at 0, its re-quantised u8 at 256, the conv result at 512
const PROGRAM: AsmInstruction[] = [
  ...shape(0, IN),
  ...shape(1, defaultStrides(IN)),
  lea(0),
  lea(3, 0),
  r4(0.5),
  r4(-10),
  quantOp('DEQUANTIZE', U8, F32), // x = q/2 − 10
  lea(3, 0),
  lea(3, 256),
  r4(1.6),
  r4(30),
  quantOp('QUANTIZE', F32, U8), // q' = 1.6x + 30 (rounded)
  lea(3, 256),
  i4(U8),
  i4(0),
  i4(1),
  lea(3, 512),
  i4(U8),
  i4(2),
  i4(3),
  ...shape(2, OUT),
  ...shape(3, defaultStrides(OUT)),
  tensor('CALL', { function_id: 0, module_id: 1, num_src: 1, num_dst: 1 }),
  ...shape(0, OUT),
  ...shape(1, defaultStrides(OUT)),
  lea(3, 512),
  lea(1),
  r4(0.1),
  r4(-0.7),
  quantOp('DEQUANTIZE', U8, F32),
  { op: 'RET' },
];

function mr(dv: DataView, at: number, location: number, datatype: number, start: number, size: number): void {
  dv.setUint8(at, location);
  dv.setUint8(at + 1, datatype);
  dv.setUint32(at + 4, start, true);
  dv.setUint32(at + 8, size, true);
}

function exchange(
  opcode: 0 | 1,
  from: [number, number, number],
  to: [number, number, number],
  s: readonly number[],
): Uint8Array {
  const b = new Uint8Array(44);
  const dv = new DataView(b.buffer);
  dv.setUint8(0, opcode);
  mr(dv, 4, from[0], U8, from[1], from[2]);
  mr(dv, 16, to[0], U8, to[1], to[2]);
  s.forEach((v, i) => dv.setUint32(28 + 4 * i, v, true));
  return b;
}

const SRC_LINE = 0;
const DST_LINE = 64;
const seg = (x_start: number, y_mul: number, shift_number: number, bias: number): ActivationSegment => ({
  x_start,
  y_mul,
  shift_number,
  bias,
});
/** SiLU-like: decreasing below −500, then rising. */
const ACT = [
  seg(-(2 ** 35), 0, 0, 0),
  seg(-2000, -4, 8, 40),
  seg(-500, 10, 8, 17),
  seg(1000, 30, 8, 76),
  ...Array.from({ length: 12 }, () => seg(2 ** 35 - 1, 0, 0, 0)),
];
const ZX = 30;
const ZW = 128;

/** The K210 module: function 0 = upload, 3×3 conv 2 → 3 channels, download; function 1 = an upload no one calls. */
function k210Module(): ModuleSpec {
  const [, C, H, W] = IN;
  const OC = OUT[1];
  const rdata = new Uint8Array(512);
  const rdv = new DataView(rdata.buffer);
  rdata.set(new Lcg(12345).bytes(OC * C * 9));
  [0, 1, 2].forEach((o) =>
    rdv.setBigUint64(
      64 + 8 * o,
      encodeBatchNorm({ norm_mul: 1 + o, norm_shift: 8, norm_add: [-1300, 0, 600][o] }),
      true,
    ),
  );
  encodeActivationTable(ACT).forEach((w, i) => rdv.setBigUint64(256 + 8 * i, w, true));
  const f: Record<string, number> = {};
  for (const w of KPU_LAYER_ARGUMENT_WORDS) for (const [n] of w.fields) f[n] = 0;
  const li = kpuRowLayout(W);
  Object.assign(f, {
    image_src_addr: SRC_LINE,
    image_dst_addr: DST_LINE,
    i_ch_num: C - 1,
    o_ch_num: OC - 1,
    o_ch_num_coef: OC - 1,
    i_row_wid: W - 1,
    i_col_high: H - 1,
    o_row_wid: W - 1,
    o_col_high: H - 1,
    kernel_type: 1,
    load_para: 1,
    dma_burst_size: 15,
    pad_value: ZX,
    load_coor: 1,
    row_switch_addr: li.rowLen,
    coef_group: li.groups,
    channel_switch_addr: li.rowLen * H,
    load_act: 1,
    wb_row_switch_addr: li.rowLen,
    wb_group: li.groups,
    wb_channel_switch_addr: li.rowLen * H,
    arg_w: -ZX,
    arg_x: -ZW,
    arg_add: 9 * ZX * ZW,
    channel_byte_num: W * H - 1,
    dma_total_byte: W * H * OC - 1,
  });
  const conv = new Uint8Array(152);
  const cdv = new DataView(conv.buffer);
  cdv.setUint8(0, 2);
  mr(cdv, 4, 2, U8, 0, OC * C * 9);
  mr(cdv, 16, 2, 7, 64, 8 * OC);
  mr(cdv, 28, 2, U8, 256, 144);
  cdv.setUint32(52, 1, true);
  encodeKpuLayerArgument(f as KpuLayerArgument).forEach((w, i) => cdv.setBigUint64(56 + 8 * i, w, true));
  const inBytes = 64 * kpuRows(W, H, C);
  const outBytes = 64 * kpuRows(W, H, OC);
  const text0 = new Uint8Array([
    ...exchange(0, [0, 0, count(IN)], [64, SRC_LINE * 64, inBytes], IN),
    ...conv,
    ...exchange(1, [64, DST_LINE * 64, outBytes], [1, 0, count(OUT)], OUT),
  ]);
  const text1 = exchange(0, [0, 0, count(IN)], [64, SRC_LINE * 64, inBytes], IN);
  const t = (location: number, sh: readonly number[]) => ({
    range: { location, datatype: U8, start: 0, size: count(sh) },
    shape: sh,
  });
  return {
    type: 'k210',
    mempools: [
      { location: 2, size: rdata.length },
      { location: 3, size: 0 },
      { location: 64, size: 2 * 1024 * 1024 },
    ],
    functions: [
      { inputs: [t(0, IN)], outputs: [t(1, OUT)], text: text0 },
      { inputs: [t(0, IN)], outputs: [t(1, IN)], text: text1 },
    ],
    sections: [{ name: '.rdata', body: rdata }],
  };
}

function model() {
  const text = encodeStackvm(PROGRAM, N);
  const bytes = buildV5({
    modules: [
      stackvmModuleSpec(text, {
        inputs: [{ datatype: U8, shape: IN }],
        outputs: [{ datatype: F32, shape: OUT }],
        dataPool: 1024,
      }),
      k210Module(),
    ],
  });
  return parseV5(new BinaryReader(bytes), { stackvmNumbering: N.id });
}

describe('compare on a synthetic v5 model (stackvm + K210)', () => {
  beforeAll(async () => {
    await initReferenceBackend('wasm');
  });

  it('the layers are the file order; the uncalled function is reported as not run', () => {
    const m = model();
    expect(m.layers.map((l) => l.type)).toEqual([
      'stackvm:DEQUANTIZE',
      'stackvm:QUANTIZE',
      'k210:kpu_upload',
      'k210:kpu_conv2d',
      'k210:kpu_download',
      'stackvm:CALL',
      'stackvm:DEQUANTIZE',
      'k210:kpu_upload',
    ]);
    const ref = buildReference(m);
    try {
      const input = Uint8Array.from({ length: count(IN) }, (_, i) => (i * 37 + 11) & 255);
      const run = compareOnce(prepare(m), ref, [input]);
      expect(run.layers.map((l) => l.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(run.layers[7]).toMatchObject({ type: 'k210:kpu_upload', note: NOT_EXECUTED });
      expect(run.layers[7].cumulative).toBeUndefined();
      expect(run.notes!.join('\n')).toMatch(/1 layer of the file did not run/);

      // every executed op has a float counterpart
      expect(run.layers.slice(0, 7).every((l) => l.reference === 'float')).toBe(true);
      // isolated: the conv within 1 LSB, data movement exact, float ops to float precision
      const conv = run.layers[3];
      expect(conv.unit).toBe('KPU');
      expect(conv.isolated!.max_lsb_diff).toBeLessThanOrEqual(1);
      expect(conv.isolated!.cosine).toBeGreaterThanOrEqual(0.999);
      expect(summarize(run)).toMatchObject({ kpu_conv_layers: 1, kpu_conv_pass: 1 });
      // channel 0 sits on the decreasing segment: nncase's rounding of negative products shows
      expect(conv.note).toMatch(/round away from the nearest integer .*§6\.4/);
      expect(run.notes!.join('\n')).toMatch(/1 of 1 KPU conv layers have values it moves/);
      for (const i of [1, 2, 4]) expect(run.layers[i].isolated!.max_lsb_diff).toBe(0);
      for (const i of [0, 6]) expect(run.layers[i].isolated!.cosine).toBeGreaterThan(0.999999);
      expect(run.layers[5].isolated).toBeUndefined(); // the CALL: its ops are checked one by one

      // cumulative: the DEQUANTIZE of the input is exact, the QUANTIZE loses its rounding only
      expect(run.layers[0].cumulative!.snr_db).toBeNull();
      expect(run.layers[1].cumulative!.max_abs).toBeLessThanOrEqual(0.5 / 1.6 + 1e-6);
      expect(run.layers[1].cumulative!.max_abs_unit).toBe('real');
      // quantisation from the dataflow: the conv input's zero point from arg_w and its scale from
      // the QUANTIZE; the conv output's from the last DEQUANTIZE (zero point 7 = 0.7 / 0.1)
      expect(run.layers[2].output!.quant).toMatch(
        /^zero point 30, scale 0\.625: zero point from layer 1 stackvm:QUANTIZE; scale from layer 1/,
      );
      expect(run.layers[3].output!.quant).toMatch(
        /^zero point 7, scale 0\.1: zero point from layer 6 stackvm:DEQUANTIZE/,
      );
      expect(run.layers[5].cumulative!.cosine).toBe(run.layers[4].cumulative!.cosine);
      expect(run.outputs).toHaveLength(1);
      expect(run.outputs[0].cosine).toBeGreaterThan(0.99);
    } finally {
      ref.dispose();
    }
  });
});
