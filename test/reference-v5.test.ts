/**
 * The float reference of kmodel v5 (nncase 1.x), piece by piece:
 * - the KPU's activation rounding in the isolated re-quantisation (hand-computed decreasing
 *   segment, then a fast-check property against the emulator's engine with tables that have
 *   decreasing segments, as nncase 1.x's SiLU tables do);
 * - the float counterparts of the stackvm tensor ops against the emulator's kernels on small
 *   hand-made views;
 * - the shadow memory (KPU layout positions, fallback to the emulator's bytes, tags);
 * - the op hook of kpu/v5 on the real yolox model, and `onLayer` through the interpreter.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ActivationSegment, type BatchNormEntry } from '../src/kmodel-parser/kpu-layer-argument.js';
import type { KpuConvParams } from '../src/kmodel-parser/model.js';
import type { StackvmInstruction } from '../src/kmodel-parser/v5/stackvm/isa.js';
import type { KmodelV5 } from '../src/kmodel-parser/v5/types.js';
import { GOLDEN_NUMERICS, prepareKpuConv, runKpuConv } from '../src/kpu/conv/index.js';
import { prepare } from '../src/kpu/interpreter.js';
import { kpuDownload, kpuUpload } from '../src/kpu/layout.js';
import { AI_SRAM_BYTES } from '../src/chip.js';
import type { V5LayerStep } from '../src/kpu/v5/prepare.js';
import type { V5OpStep, V5View } from '../src/kpu/v5/hooks.js';
import { binary } from '../src/kpu/ops/v5/binary.js';
import { pad, padOutputShape } from '../src/kpu/ops/v5/pad.js';
import { dequantize, quantize } from '../src/kpu/ops/v5/quantize.js';
import { reduceWindow2d } from '../src/kpu/ops/v5/reduce-window2d.js';
import { resizeImage } from '../src/kpu/ops/v5/resize-image.js';
import { slice, sliceOutputShape } from '../src/kpu/ops/v5/slice.js';
import { transpose } from '../src/kpu/ops/v5/transpose.js';
import { unary } from '../src/kpu/ops/v5/unary.js';
import { defaultStrides, elementCount, elemSize, type StridedTensor } from '../src/kpu/v5/tensor.js';
import { memBlock } from '../src/kpu/v5/memory.js';
import { runV5 } from '../src/kpu/v5/run.js';
import { loadKmodel } from '../src/load.js';
import { initReferenceBackend } from '../src/reference/backend.js';
import { prepareKpuConvFloat } from '../src/reference/kpu-conv.js';
import { ShadowSpace, viewPositions } from '../src/reference/v5-memory.js';
import { floatOp } from '../src/reference/v5-ops.js';
import { HAS_SHARED, KMODELS_DIR, kmodelPath } from './shared.js';
import { SENTINEL, seg, synthKpuLayer, type SynthLayerSpec } from './fixtures/kpu-layer.js';
import { Lcg } from './lcg.js';

beforeAll(async () => {
  await initReferenceBackend('wasm');
});

// ---- KPU layers built field by field ----------------------------------------------------------

type Spec = Pick<
  SynthLayerSpec,
  'IC' | 'OC' | 'W' | 'H' | 'kernel' | 'depthwise' | 'poolType' | 'weights' | 'bn' | 'act'
> & {
  zx?: number;
  zw?: number;
};

/** nncase 1.x style registers: arg_x = −zw, arg_w = −zx, shifts 0, arg_add = K²·zx·zw, pad = zx. */
function params(s: Spec): KpuConvParams {
  const zx = s.zx ?? 0;
  const zw = s.zw ?? 0;
  return synthKpuLayer({
    ...s,
    dst: 2048,
    padValue: zx,
    argW: -zx,
    argX: -zw,
    argAdd: s.kernel * s.kernel * zx * zw,
    encodeTables: true,
  });
}

const RAM = new Uint8Array(AI_SRAM_BYTES);
function emulator(s: Spec, input: Uint8Array): Uint8Array {
  const c = prepareKpuConv(params(s), 1, { layer: 0, type: 'k210:kpu_conv2d' });
  RAM.fill(0);
  kpuUpload(input, [1, s.IC, s.H, s.W], RAM, c.input.address);
  runKpuConv(c, RAM, GOLDEN_NUMERICS);
  const out = new Uint8Array(c.denseOutputBytes);
  kpuDownload(RAM, c.output.address, c.output.shape, out);
  return out;
}

function kpuRounded(s: Spec, input: Uint8Array): { values: number[]; quirk: number } {
  const f = prepareKpuConvFloat(params(s), 1);
  try {
    const r = f.runKpuRounded(Float32Array.from(input), GOLDEN_NUMERICS);
    return { values: Array.from(r.values), quirk: r.quirk };
  } finally {
    f.dispose();
  }
}

describe('isolated re-quantisation: the KPU activation rounding of nncase 1.x tables', () => {
  // 1×1 identity conv (w = 1, no offsets), bn = x − 101; segment 1 from −100 with slope −3·2^−2
  // and bias 50. x = 1..4 → bn = −100 (not above −100: the sentinel, 0), −99, −98, −97:
  //   t = (bn + 100)·(−3) = −3, −6, −9;  t/4 = −0.75, −1.5, −2.25
  //   −0.75: floor −1, fraction 0.25 < ½ → −1 → 49      (nearest: −1 → 49)
  //   −1.5:  floor −2, fraction ½, −2 even → −2 → 48     (half to even: −2 → 48)
  //   −2.25: floor −3, fraction 0.75 > ½ → −3 + sgn(t) = −4 → 46  (nearest would be −2 → 48)
  const spec: Spec = {
    IC: 1,
    OC: 1,
    W: 4,
    H: 1,
    kernel: 1,
    weights: Uint8Array.of(1),
    bn: [{ norm_mul: 1, norm_shift: 0, norm_add: -101 }],
    act: [SENTINEL, seg(-100, -3, 2, 50)],
  };
  const input = Uint8Array.of(1, 2, 3, 4);

  it('hand-computed: a decreasing segment rounds −2.25 to −4 (2 LSB from the nearest integer)', () => {
    expect(kpuRounded(spec, input)).toEqual({ values: [0, 49, 48, 46], quirk: 1 });
  });

  it("the emulator's engine computes the same", () => {
    expect(Array.from(emulator(spec, input))).toEqual([0, 49, 48, 46]);
  });

  it('the float model keeps the unrounded values', () => {
    const f = prepareKpuConvFloat(params(spec), 1);
    try {
      expect(Array.from(f.run(Float32Array.from(input)))).toEqual([0, 49.25, 48.5, 47.75]);
    } finally {
      f.dispose();
    }
  });

  /**
   * Random nncase 1.x style layers: integer zero points, batch-norm multipliers that are integer
   * multiples of 2^shift (so the KPU's floors lose nothing), and continuous tables whose segments
   * may decrease (negative y_mul). The KPU-rounded reference then reproduces the engine exactly,
   * except mean pools (real mean vs the KPU's floor: ≤ 1 LSB).
   */
  const layerArb = fc
    .record({
      IC: fc.integer({ min: 1, max: 4 }),
      OC: fc.integer({ min: 1, max: 4 }),
      W: fc.integer({ min: 4, max: 40 }),
      H: fc.integer({ min: 4, max: 8 }),
      kernel: fc.constantFrom<1 | 3>(1, 3),
      depthwise: fc.boolean(),
      pool: fc.integer({ min: 0, max: 9 }),
      zx: fc.integer({ min: 0, max: 255 }),
      zw: fc.integer({ min: 0, max: 255 }),
      seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      segments: fc.integer({ min: 1, max: 15 }),
    })
    .map((r) => {
      const lcg = new Lcg(r.seed);
      const rnd = () => lcg.unit();
      const int = (lo: number, hi: number) => lcg.int(lo, hi);
      const IC = r.depthwise ? r.OC : r.IC;
      const G = r.depthwise ? 1 : IC;
      const weights = Uint8Array.from({ length: r.OC * G * r.kernel * r.kernel }, () => int(0, 255));
      const bn: BatchNormEntry[] = [];
      for (let o = 0; o < r.OC; o++) {
        const shift = int(0, 12);
        bn.push({ norm_mul: int(1, 3) * 2 ** shift, norm_shift: shift, norm_add: int(-5000, 5000) });
      }
      const bnMax = 255 * 255 * G * r.kernel * r.kernel * 3 + 5000;
      const starts = Array.from({ length: r.segments }, () => Math.round((rnd() * 2 - 1) * bnMax)).sort(
        (a, b) => a - b,
      );
      const act: ActivationSegment[] = [SENTINEL];
      let prev = { xs: -(2 ** 35), slope: 0, bias: 0 };
      for (const xs of starts) {
        const target = (rnd() * 2 - 1) * (300 / bnMax);
        let shift = 0;
        while (shift < 40 && Math.abs(target) * 2 ** (shift + 1) < 32767) shift++;
        const y_mul = Math.trunc(target * 2 ** shift);
        const at = (xs - prev.xs) * prev.slope + prev.bias;
        const bias = Math.max(0, Math.min(255, Math.round(act.length === 1 ? 128 : at)));
        act.push(seg(xs, y_mul, shift, bias));
        prev = { xs, slope: y_mul * 2 ** -shift, bias };
      }
      const spec: Spec = {
        IC,
        OC: r.OC,
        W: r.W,
        H: r.H,
        kernel: r.kernel,
        depthwise: r.depthwise,
        poolType: r.pool,
        zx: r.zx,
        zw: r.zw,
        weights,
        bn,
        act,
      };
      return { spec, input: Uint8Array.from({ length: IC * r.H * r.W }, () => int(0, 255)) };
    });

  it('fast-check: random layers with decreasing segments agree with the engine (exactly, but for mean pools)', () => {
    fc.assert(
      fc.property(layerArb, ({ spec, input }) => {
        const emu = emulator(spec, input);
        const { values } = kpuRounded(spec, input);
        expect(values.length).toBe(emu.length);
        const mean = [2, 4, 8].includes(spec.poolType ?? 0);
        let worst = 0;
        for (let i = 0; i < emu.length; i++)
          worst = Math.max(worst, Math.abs((mean ? Math.round(values[i]) : values[i]) - emu[i]));
        expect(worst).toBeLessThanOrEqual(mean ? 1 : 0);
      }),
      { numRuns: 120 },
    );
  });
});

// ---- stackvm tensor ops: float counterparts against the emulator's kernels ---------------------

const F32 = 9;
const U8 = 4;

/** A dense view over a fresh buffer holding `values`. */
function dense(datatype: number, shape: number[], values: readonly number[] = []): V5View & { t: StridedTensor } {
  const size = elemSize(datatype);
  const bytes = new Uint8Array(elementCount(shape) * size);
  const dv = new DataView(bytes.buffer);
  values.forEach((v, i) => (datatype === F32 ? dv.setFloat32(4 * i, v, true) : dv.setUint8(i, v)));
  const strides = defaultStrides(shape);
  return {
    block: memBlock('test', bytes),
    offset: 0,
    datatype,
    shape,
    strides,
    layout: 'strided',
    t: { bytes, offset: 0, datatype, shape, strides },
  };
}

function step(
  type: string,
  inputs: V5View[],
  outputs: V5View[],
  args: Record<string, number> = {},
  params: V5OpStep['params'] = {},
): V5OpStep {
  const instruction = {
    pc: 0,
    fileOffset: 0,
    size: 0,
    opcode: 0x5e,
    name: 'TENSOR',
    tensorName: type,
    args,
  } as StackvmInstruction;
  return {
    index: 0,
    type: `stackvm:${type}`,
    unit: 'CPU',
    module: 0,
    function: 0,
    inputs,
    outputs,
    params,
    instruction,
  };
}

const noKpu = {
  kpuConv: () => {
    throw new Error('no KPU layer here');
  },
  kpuRules: GOLDEN_NUMERICS,
};
const shadow = new ShadowSpace();
const values = (v: V5View) => Array.from(shadow.readEmulator(v));
const lcg = (n: number, seed: number, scale = 1) => {
  const g = new Lcg(seed);
  return Array.from({ length: n }, () => Math.fround((g.unit() - 0.5) * scale));
};

describe('float counterparts of the stackvm tensor ops (v5-ops.ts)', () => {
  it('SLICE: begin 1, stride 2 on H and W (the Focus layer of YOLOX)', () => {
    const x = dense(F32, [1, 2, 4, 6], lcg(48, 3));
    const begins = [0, 0, 1, 1];
    const ends = [1, 2, 4, 6];
    const strides = [1, 1, 2, 2];
    const y = dense(F32, sliceOutputShape(x.shape, begins, ends, strides));
    slice(x.t, y.t, begins, ends, strides);
    const r = floatOp(step('SLICE', [x], [y], {}, { begins, ends, strides }), noKpu)!.run([shadow.readEmulator(x)]);
    expect(y.shape).toEqual([1, 2, 2, 3]);
    expect(Array.from(r[0])).toEqual(values(y));
  });

  it('TRANSPOSE 1×85×N → 1×N×85', () => {
    const x = dense(F32, [1, 5, 7], lcg(35, 5));
    const y = dense(F32, [1, 7, 5]);
    transpose(x.t, y.t, [0, 2, 1]);
    const r = floatOp(step('TRANSPOSE', [x], [y], {}, { perm: [0, 2, 1] }), noKpu)!.run([shadow.readEmulator(x)]);
    expect(Array.from(r[0])).toEqual(values(y));
  });

  it('BINARY sub and div with a per-channel operand broadcast over H×W (input normalisation)', () => {
    for (const op of [1, 3]) {
      const a = dense(F32, [1, 3, 4, 5], lcg(60, 7, 255));
      const b = dense(F32, [1, 3, 1, 1], [0.4, 57.5, 1.25]);
      const y = dense(F32, [1, 3, 4, 5]);
      binary(op, a.t, b.t, y.t, -Infinity, Infinity);
      const args = { binary_op: op, fused_clamp_low: -Infinity, fused_clamp_high: Infinity };
      const r = floatOp(step('BINARY', [a, b], [y], args), noKpu)!.run([
        shadow.readEmulator(a),
        shadow.readEmulator(b),
      ]);
      const e = values(y);
      r[0].forEach((v, i) => expect(v).toBeCloseTo(e[i], 3));
    }
  });

  it('REDUCE_WINDOW2D max 5×5, stride 1, padding 2 (the SPP block)', () => {
    const x = dense(F32, [1, 2, 7, 7], lcg(98, 11));
    const y = dense(F32, [1, 2, 7, 7]);
    const p = { before: 2, after: 2 };
    const win = {
      filterH: 5,
      filterW: 5,
      strideH: 1,
      strideW: 1,
      dilationH: 1,
      dilationW: 1,
      paddingH: p,
      paddingW: p,
    };
    reduceWindow2d(2, x.t, y.t, -Infinity, win, -Infinity, Infinity);
    const args = {
      reduce_op: 2,
      filter_h: 5,
      filter_w: 5,
      stride_h: 1,
      stride_w: 1,
      dilation_h: 1,
      dilation_w: 1,
      fused_clamp_low: -Infinity,
      fused_clamp_high: Infinity,
    };
    const r = floatOp(step('REDUCE_WINDOW2D', [x], [y], args, { init: -Infinity, padH: p, padW: p }), noKpu)!.run([
      shadow.readEmulator(x),
    ]);
    expect(Array.from(r[0])).toEqual(values(y));
  });

  it('RESIZE_IMAGE nearest neighbour ×2 (the FPN upsampling)', () => {
    const x = dense(F32, [1, 2, 3, 5], lcg(30, 13));
    const y = dense(F32, [1, 2, 6, 10]);
    resizeImage(1, x.t, y.t, 6, 10, false, false);
    const args = { image_resize_mode: 1, align_corners: 0, half_pixel_centers: 0 };
    const r = floatOp(step('RESIZE_IMAGE', [x], [y], args, { outH: 6, outW: 10 }), noKpu)!.run([
      shadow.readEmulator(x),
    ]);
    expect(Array.from(r[0])).toEqual(values(y));
  });

  it('QUANTIZE keeps the unrounded value (saturated), DEQUANTIZE is q·scale + bias', () => {
    const x = dense(F32, [1, 6], [-1, 0, 0.1, 0.3, 2, 9]);
    const q = dense(U8, [1, 6]);
    quantize(x.t, q.t, 40, 10);
    const rq = floatOp(step('QUANTIZE', [x], [q], {}, { scale: 40, bias: 10 }), noKpu)!.run([
      shadow.readEmulator(x),
    ])[0];
    expect(Array.from(rq)).toEqual([0, 10, 14, 22, 90, 255]);
    expect(values(q)).toEqual([0, 10, 14, 22, 90, 255]);
    const d = dense(F32, [1, 6]);
    dequantize(q.t, d.t, 0.025, -0.25);
    const rd = floatOp(step('DEQUANTIZE', [q], [d], {}, { scale: 0.025, bias: -0.25 }), noKpu)!.run([
      shadow.readEmulator(q),
    ])[0];
    values(d).forEach((v, i) => expect(rd[i]).toBeCloseTo(v, 6));
  });

  it('UNARY: hand-computed values, and every op nncase runs agrees with the emulator kernel', () => {
    const run = (op: number, xs: number[]) => {
      const x = dense(F32, [1, xs.length], xs);
      return Array.from(floatOp(step('UNARY', [x], [x], { unary_op: op }), noKpu)!.run([shadow.readEmulator(x)])[0]);
    };
    expect(run(0, [-1.5, 0.25, 4])).toEqual([1.5, 0.25, 4]); // abs
    expect(run(7, [-2.5, -0.5, 0.5, 1.5])).toEqual([-3, -1, 1, 2]); // round: halfway cases away from zero
    expect(run(10, [0.25, 4, 9])).toEqual([0.5, 2, 3]); // sqrt
    expect(run(8, [0.25, 4])).toEqual([2, 0.5]); // rsqrt
    expect(run(11, [-3, 0.5])).toEqual([9, 0.25]); // square
    expect(run(6, [2, -0.5])).toEqual([-2, 0.5]); // neg
    const xs = lcg(12, 17, 4).map((v) => Math.fround(Math.abs(v) + 0.125));
    for (let op = 0; op <= 12; op++) {
      const x = dense(F32, [3, 4], xs);
      const y = dense(F32, [3, 4]);
      unary(op, x.t, y.t);
      const r = floatOp(step('UNARY', [x], [y], { unary_op: op }), noKpu)!.run([shadow.readEmulator(x)])[0];
      values(y).forEach((v, i) => expect(r[i]).toBeCloseTo(v, 5));
    }
  });

  it('PAD: hand-computed constant, crop, reflect, symmetric and edge pads', () => {
    const run = (mode: number, xs: number[], shape: number[], before: number[], after: number[], value = 0) => {
      const x = dense(F32, shape, xs);
      const params = { before, after, pad_mode: mode, value };
      return Array.from(floatOp(step('PAD', [x], [x], {}, params), noKpu)!.run([shadow.readEmulator(x)])[0]);
    };
    // 2×2 → 3×3 with one row above and one column to the right, value 7.
    expect(run(0, [1, 2, 3, 4], [1, 1, 2, 2], [0, 0, 1, 0], [0, 0, 0, 1], 7)).toEqual([7, 7, 7, 1, 2, 7, 3, 4, 7]);
    expect(run(0, [1, 2, 3], [3], [-1], [1])).toEqual([2, 3, 0]); // crop one, pad one
    expect(run(1, [1, 2, 3], [3], [2], [1])).toEqual([3, 2, 1, 2, 3, 2]); // reflect: mirrored without the edge
    expect(run(2, [1, 2, 3], [3], [2], [1])).toEqual([2, 1, 1, 2, 3, 3]); // symmetric: mirrored with it
    expect(run(3, [1, 2, 3], [3], [2], [1])).toEqual([1, 1, 1, 2, 3, 3]); // edge
  });

  it('PAD on a uint8 map agrees with the emulator kernel exactly in every mode', () => {
    const g = new Lcg(23);
    const xs = Array.from({ length: 2 * 3 * 4 }, () => Math.floor(g.unit() * 256));
    const paddings = [
      { before: 0, after: 0 },
      { before: 0, after: 0 },
      { before: 1, after: 2 },
      { before: 2, after: 1 },
    ];
    for (let mode = 0; mode < 4; mode++) {
      const x = dense(U8, [1, 2, 3, 4], xs);
      const y = dense(U8, padOutputShape(x.shape, paddings));
      pad(x.t, y.t, paddings, mode, Uint8Array.of(9));
      const params = {
        before: paddings.map((q) => q.before),
        after: paddings.map((q) => q.after),
        pad_mode: mode,
        value: 9,
      };
      const op = floatOp(step('PAD', [x], [y], {}, params), noKpu)!;
      expect(op.sameQuant).toBe(true);
      expect(Array.from(op.run([shadow.readEmulator(x)])[0])).toEqual(values(y));
    }
  });

  it('ops the reference has no counterpart for say so (undefined)', () => {
    const x = dense(F32, [4]);
    // bitwise_not: nncase's float unary kernel refuses it too.
    expect(floatOp(step('UNARY', [x], [x], { unary_op: 13 }), noKpu)).toBeUndefined();
    // A mirror pad wider than the input allows.
    const params = { before: [4], after: [0], pad_mode: 1, value: 0 };
    expect(floatOp(step('PAD', [x], [x], {}, params), noKpu)).toBeUndefined();
  });
});

// ---- the shadow memory --------------------------------------------------------------------------

describe('shadow memory (v5-memory.ts)', () => {
  it('KPU-layout views address the kpu-numerics §6.8 layout (read back what kpuUpload wrote)', () => {
    for (const [C, H, W] of [
      [6, 3, 8],
      [3, 2, 20],
      [2, 3, 70],
    ]) {
      const ram = new Uint8Array(64 * 1024);
      const src = Uint8Array.from({ length: C * H * W }, (_, i) => (i * 7 + 3) & 255);
      kpuUpload(src, [1, C, H, W], ram, 1024);
      const v: V5View = {
        block: memBlock('kpu', ram),
        offset: 1024,
        datatype: U8,
        shape: [1, C, H, W],
        strides: [],
        layout: 'kpu',
      };
      expect(Array.from(new ShadowSpace().readEmulator(v))).toEqual(Array.from(src));
    }
  });

  it('unwritten elements read as the emulator has them; writes set values and tags; windows share the shadow', () => {
    const bytes = Uint8Array.of(1, 2, 3, 4, 5, 6);
    const whole = memBlock('pool', bytes);
    const win = memBlock('window', bytes.subarray(2, 6), true, whole);
    const s = new ShadowSpace();
    const all: V5View = { block: whole, offset: 0, datatype: U8, shape: [6], strides: [1], layout: 'strided' };
    const part: V5View = { block: win, offset: 1, datatype: U8, shape: [2], strides: [1], layout: 'strided' };
    s.write(part, [0.5, 7.25], 9);
    expect(Array.from(s.readShadow(all))).toEqual([1, 2, 3, 0.5, 7.25, 6]);
    expect(Array.from(s.readEmulator(all))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(s.tags(all).sort()).toEqual([0, 9]);
    expect(s.unwritten(all)).toBe(4);
    expect(Array.from(viewPositions(part))).toEqual([3, 4]);
  });
});

// ---- the op hook on the real model ------------------------------------------------------------

describe.skipIf(!HAS_SHARED)('v5 op hook on nncase_yolox_nano_224_k210_v5', () => {
  const load = () => loadKmodel(kmodelPath('nncase_yolox_nano_224_k210_v5')).model as KmodelV5;
  const input = () => new Uint8Array(readFileSync(`${KMODELS_DIR}/expected/nncase_yolox_input_224x224_chw_u8.bin`));

  it('before/after nest (a CALL around its K210 ops), every layer once, views where the registers say', () => {
    const model = load();
    const open: V5OpStep[] = [];
    const done: number[] = [];
    let callDepthMax = 0;
    const plain = runV5(model, input()).outputs[0];
    const hooked = runV5(model, input(), {
      onOp: (phase, s, mem) => {
        if (phase === 'before') {
          open.push(s);
          callDepthMax = Math.max(callDepthMax, open.filter((o) => o.type === 'stackvm:CALL').length);
          if (s.type === 'k210:kpu_conv2d') {
            const a = s.k210Op!.name === 'kpu_conv2d' ? s.k210Op!.kpu.arg : undefined;
            expect(s.inputs[0].layout).toBe('kpu');
            expect(s.inputs[0].offset).toBe(a!.image_src_addr * 64);
            expect(s.outputs[0].offset).toBe(a!.image_dst_addr * 64);
            expect(s.inputs[0].block.bytes).toBe(mem.kpu);
            expect(open.at(-2)?.type).toBe('stackvm:CALL');
          }
          return;
        }
        const b = open.pop()!;
        expect(b.index).toBe(s.index);
        done.push(s.index);
      },
    }).outputs[0];
    expect(Buffer.compare(Buffer.from(plain), Buffer.from(hooked))).toBe(0);
    expect(open).toHaveLength(0);
    expect(callDepthMax).toBe(1);
    expect([...done].sort((x, y) => x - y)).toEqual([...model.layers.keys()]);
  });

  it('prepare(model).run passes onLayer through: one call per op, after it ran, with the memories', () => {
    const model = load();
    const steps: V5LayerStep[] = [];
    let sawKpu = false;
    prepare(model).run([input()], {
      onLayer: (s, state) => {
        steps.push(s as V5LayerStep);
        expect(state.ai.length).toBe(AI_SRAM_BYTES);
        expect(state.main.length).toBe(model.modules[0].dataPoolSize);
        if (s.type === 'k210:kpu_conv2d') sawKpu = true;
      },
    });
    expect(steps.map((s) => s.type)).toEqual(model.layers.map((l) => l.type));
    expect(steps.every((s) => s.v5.index === s.index)).toBe(true);
    expect(sawKpu).toBe(true);
  });
});
