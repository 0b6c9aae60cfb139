/**
 * The builder on small synthetic networks: the lowering is exact in real numbers, the quantised
 * kmodel v3 parses back and runs on the emulator close to the float graph, the build is
 * deterministic, and what the KPU cannot do is refused with a message naming the layer.
 */
import { describe, expect, it } from 'vitest';
import { BuildError } from '../src/builder/errors.js';
import { emitKmodelV3, planMemory } from '../src/builder/emit.js';
import { evalGraph, tensor3, type Tensor3 } from '../src/builder/float-eval.js';
import { type Activation, type Graph, GraphBuilder } from '../src/builder/graph.js';
import { lower, stridePhase } from '../src/builder/lower.js';
import { foldSigns } from '../src/builder/nets/faceres.js';
import { evalPlan } from '../src/builder/plan.js';
import { activationTable, quantizePlan, rangeQuant, roundSignificant } from '../src/builder/quantize.js';
import { decodeWeights, halfToFloat } from '../src/builder/tfjs-weights.js';
import { parseKmodel } from '../src/kmodel-parser/parse.js';
import { prepare } from '../src/kpu/interpreter.js';
import { Lcg } from './lcg.js';

/** Seeded numbers in [−1, 1). */
function rng(seed: number): () => number {
  const lcg = new Lcg(seed);
  return () => 2 * lcg.unit() - 1;
}
const randArray = (n: number, r: () => number, scale = 1) =>
  Float32Array.from({ length: n }, () => Math.fround(r() * scale));
const randImage = (c: number, h: number, w: number, seed: number): Tensor3 => {
  const r = rng(seed);
  // Smooth-ish pictures: a gradient plus noise, so ranges resemble photos.
  return tensor3(
    c,
    h,
    w,
    Float64Array.from({ length: c * h * w }, (_, i) =>
      Math.max(0, Math.min(255, Math.round(128 + 60 * Math.sin(i / 7) + 50 * r()))),
    ),
  );
};
const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0,
    na = 0,
    nb = 0;
  for (let i = 0; i < a.length; i++) {
    s += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return s / Math.sqrt(na * nb);
};

function conv(
  b: GraphBuilder,
  name: string,
  input: number,
  ic: number,
  oc: number,
  k: number,
  stride: number,
  r: () => number,
  depthwise = false,
  padding: 'same' | 'valid' = 'same',
): number {
  const n = depthwise ? k * k * ic : k * k * ic * oc;
  return b.add({
    op: 'conv',
    name,
    input,
    kernel: k,
    stride,
    padding,
    depthwise,
    outChannels: depthwise ? ic : oc,
    filters: randArray(n, r, 1 / Math.sqrt(k * k * (depthwise ? 1 : ic))),
  });
}
function bn(b: GraphBuilder, name: string, input: number, c: number, r: () => number): number {
  return b.add({
    op: 'affine',
    name,
    input,
    mul: Float64Array.from({ length: c }, () => 1 + 0.5 * r()),
    add: Float64Array.from({ length: c }, () => 0.2 * r()),
  });
}
function act(b: GraphBuilder, name: string, input: number, a: Activation): number {
  return b.add({ op: 'act', name, input, act: a });
}

/**
 * A vector-output net: normalise, conv-bn-relu, max pool, stride-2 depthwise, pointwise + leaky, a skip add, mean,
 * dense, fold, l2, Hadamard spread.
 */
function vectorNet(seed: number): Graph {
  const r = rng(seed);
  const b = new GraphBuilder('synthetic-vector');
  let x = b.add({ op: 'input', name: 'in', c: 3, h: 32, w: 32 });
  x = b.add({
    op: 'affine',
    name: 'norm',
    input: x,
    mul: new Float64Array(3).fill(1 / 128),
    add: new Float64Array(3).fill(-1),
  });
  x = act(b, 'c1/relu', bn(b, 'c1/bn', conv(b, 'c1', x, 3, 8, 3, 1, r), 8, r), { fn: 'relu' });
  x = b.add({ op: 'maxpool', name: 'p1', input: x, size: 2, stride: 2, padding: 'same' });
  x = act(b, 'dw/relu6', bn(b, 'dw/bn', conv(b, 'dw', x, 8, 8, 3, 2, r, true), 8, r), { fn: 'relu6' });
  const y = act(b, 'pw/leaky', bn(b, 'pw/bn', conv(b, 'pw', x, 8, 16, 1, 1, r), 16, r), { fn: 'leaky', alpha: 0.1 });
  const d = conv(b, 'skip/dw', y, 16, 16, 3, 1, r, true);
  const z = bn(b, 'skip/bias', conv(b, 'skip/pw', d, 16, 16, 1, 1, r), 16, r);
  x = act(b, 'sum/relu', b.add({ op: 'add', name: 'sum', inputs: [y, z] }), { fn: 'relu' });
  x = b.add({ op: 'mean', name: 'gap', input: x });
  x = b.add({
    op: 'dense',
    name: 'fc',
    input: x,
    weights: Float64Array.from(randArray(16 * 8, r)),
    bias: Float64Array.from(randArray(8, r)),
    outChannels: 8,
  });
  x = b.add({ op: 'pairfold', name: 'fold', input: x, signs: foldSigns(8, 7) });
  x = b.add({ op: 'l2norm', name: 'l2', input: x });
  x = b.add({ op: 'hadamard', name: 'spread', input: x });
  return b.done(b.add({ op: 'l2norm', name: 'l2-again', input: x }));
}

/** A map-output net like the detector: bordered VALID conv, leaky, 2×2 stride-1 max pool, 1×1 head. */
function mapNet(seed: number): Graph {
  const r = rng(seed);
  const b = new GraphBuilder('synthetic-map');
  let x = b.add({ op: 'input', name: 'in', c: 3, h: 24, w: 32 });
  x = b.add({ op: 'resize', name: 'stretch', input: x, h: 32, w: 32 });
  x = b.add({ op: 'pad', name: 'border', input: x, top: 1, bottom: 1, left: 1, right: 1, value: 0 });
  x = b.add({
    op: 'affine',
    name: 'norm',
    input: x,
    mul: Float64Array.from([1 / 255, 1 / 255, 1 / 255]),
    add: Float64Array.from([-0.5, -0.45, -0.4]),
  });
  x = act(b, 'c0/leaky', bn(b, 'c0/bias', conv(b, 'c0', x, 3, 8, 3, 1, r, false, 'valid'), 8, r), {
    fn: 'leaky',
    alpha: 0.1,
  });
  x = b.add({ op: 'maxpool', name: 'p0', input: x, size: 2, stride: 2, padding: 'same' });
  x = act(
    b,
    'c1/leaky',
    bn(b, 'c1/bias', conv(b, 'c1', conv(b, 'c1/dw', x, 8, 8, 3, 1, r, true), 8, 16, 1, 1, r), 16, r),
    { fn: 'leaky', alpha: 0.1 },
  );
  x = b.add({ op: 'maxpool', name: 'p1', input: x, size: 2, stride: 1, padding: 'same' });
  return b.done(bn(b, 'head/bias', conv(b, 'head', x, 16, 6, 1, 1, r), 6, r));
}

describe('lowering', () => {
  it('is exact in real numbers (vector net, run upside down)', () => {
    const g = vectorNet(1);
    const plan = lower(g);
    expect(plan.flipped).toBe(true);
    expect(plan.ops[0].kind).toBe('kpu-conv');
    expect(plan.ops.map((o) => o.kind)).toContain('flip');
    const x = randImage(3, 32, 32, 5);
    const a = evalGraph(g, x).at(-1)!.data;
    const b = evalPlan(plan, x)[plan.output].data;
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-9);
    // The skip add became one 1×1 conv over two adjacent tensors.
    const sum = plan.ops.find((o) => o.kind === 'kpu-conv' && o.name === 'sum/relu');
    expect(sum && sum.kind === 'kpu-conv' && sum.inputs.length).toBe(2);
    // The Walsh–Hadamard spread runs as a 1×1 KPU conv on a vector padded into 4×4 maps.
    expect(plan.ops.slice(-6).map((o) => o.kind)).toEqual([
      'quantize',
      'pad-vector',
      'kpu-conv',
      'unpad-vector',
      'dequantize',
      'l2norm',
    ]);
  });
  it('is exact in real numbers (map net: border, stretch, stride-1 pool)', () => {
    const g = mapNet(2);
    const plan = lower(g);
    expect(plan.flipped).toBe(false);
    const x = randImage(3, 24, 32, 6);
    const a = evalGraph(g, x).at(-1)!.data;
    const b = evalPlan(plan, x)[plan.output].data;
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-9);
    expect(plan.ops.filter((o) => o.kind === 'kpu-conv').map((o) => (o.kind === 'kpu-conv' ? o.pool : -1))).toEqual([
      0, 1, 0, 9, 0,
    ]);
  });
  it('places stride-2 outputs as TensorFlow does', () => {
    // SAME, even size: first output centred on row 1 (odd) → even after flipping.
    expect(stridePhase(16, 3, 'same', false)).toBe(1);
    expect(stridePhase(16, 3, 'same', true)).toBe(0);
    expect(stridePhase(16, 1, 'same', false)).toBe(0);
    // SAME on an odd size gives ceil(H/2) rows; the select pools give floor(H/2).
    expect(stridePhase(15, 3, 'same', false)).toBeUndefined();
  });
  it('refuses what the KPU cannot do, naming the layer', () => {
    const r = rng(3);
    const one = (f: (b: GraphBuilder, x: number) => number): Graph => {
      const b = new GraphBuilder('bad');
      const x = b.add({ op: 'input', name: 'in', c: 3, h: 16, w: 16 });
      return b.done(f(b, x));
    };
    const cases: [Graph, RegExp][] = [
      [one((b, x) => conv(b, 'big', x, 3, 4, 5, 1, r)), /layer big: a 5×5 kernel/],
      [one((b, x) => conv(b, 'shrink', x, 3, 4, 3, 1, r, false, 'valid')), /layer shrink: a VALID 3×3 conv/],
      [
        one((b, x) =>
          b.add({
            op: 'maxpool',
            name: 'mp3',
            input: conv(b, 'c', x, 3, 4, 3, 1, r),
            size: 3,
            stride: 2,
            padding: 'same',
          }),
        ),
        /layer mp3: a 3×3 stride-2/,
      ],
      [one((b, x) => conv(b, 's3', x, 3, 4, 3, 3, r)), /layer s3: stride 3/],
      [
        one((b, x) => b.add({ op: 'resize', name: 'late', input: conv(b, 'c', x, 3, 4, 3, 1, r), h: 8, w: 8 })),
        /layer late: a resize is supported only on the model input/,
      ],
    ];
    for (const [g, msg] of cases) {
      expect(() => lower(g)).toThrow(BuildError);
      expect(() => lower(g)).toThrow(msg);
    }
    const odd = new GraphBuilder('odd');
    const i = odd.add({ op: 'input', name: 'in', c: 3, h: 15, w: 16 });
    expect(() => lower(odd.done(conv(odd, 'half', i, 3, 4, 3, 2, r)))).toThrow(
      /layer half: a stride-2 3×3 SAME conv on 15 rows gives 8 rows/,
    );
  });
});

describe('quantisation and kmodel v3 output', () => {
  for (const [name, make, h, w] of [
    ['vector', vectorNet, 32, 32],
    ['map', mapNet, 24, 32],
  ] as const) {
    it(`${name} net: parses back, runs on the emulator close to the float graph, and builds deterministically`, () => {
      const g = make(11);
      const plan = lower(g);
      const cal = [1, 2, 3, 4, 5, 6].map((s) => randImage(3, h, w, 100 + s));
      for (const activations of ['per-tensor', 'channel-scales'] as const) {
        const qp = quantizePlan(plan, cal, { activations });
        const a = emitKmodelV3(qp).bytes;
        const b = emitKmodelV3(quantizePlan(lower(make(11)), cal, { activations })).bytes;
        expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
        const model = parseKmodel(a, `${name}.kmodel`);
        expect(model.version).toBe(3);
        const pm = prepare(model);
        for (const s of [201, 202, 203]) {
          const x = randImage(3, h, w, s);
          const out = pm.run([Uint8Array.from(x.data)]).outputs[0];
          const got = new Float32Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.length));
          const ref = evalGraph(g, x).at(-1)!.data;
          expect(got.length).toBe(ref.length);
          expect(cosine(got, ref)).toBeGreaterThan(0.98);
        }
      }
    });
  }
  it('keeps concatenated inputs adjacent in AI SRAM and within 2 MiB', () => {
    const plan = lower(vectorNet(4));
    const mem = planMemory(plan);
    const sum = plan.ops.find((o) => o.kind === 'kpu-conv' && o.inputs.length === 2);
    if (!sum || sum.kind !== 'kpu-conv') throw new Error('no concatenating conv');
    const [t0, t1] = sum.inputs.map((i) => plan.tensors[i]);
    const lines0 = Math.ceil(t0.c / 2) * t0.h; // 8×8 maps of 16 channels: 4 per 64-byte line
    expect(mem.kpuLine[t1.id]! - mem.kpuLine[t0.id]!).toBe(t0.w <= 16 ? Math.ceil(t0.c / 4) * t0.h : lines0);
    expect(mem.aiPeakBytes).toBeLessThanOrEqual(2 * 1024 * 1024);
  });
  it('activation tables: sentinels first, exact slopes', () => {
    const relu = activationTable({ fn: 'relu' }, 10, 0);
    expect(relu).toHaveLength(16);
    expect(relu.slice(0, 15).every((s) => s.x_start === -(2 ** 35) && s.y_mul === 0 && s.bias === 0)).toBe(true);
    expect(relu[15]).toEqual({ shift_number: 10, y_mul: 1, x_start: 0, bias: 0 });
    const lin = activationTable({ fn: 'linear' }, 8, 100);
    expect(lin[15]).toEqual({ shift_number: 8, y_mul: 1, x_start: -100 * 256, bias: 0 });
    const leaky = activationTable({ fn: 'leaky', alpha: 0.1 }, 8, 20);
    expect(leaky[15]).toEqual({ shift_number: 8, y_mul: 1, x_start: 0, bias: 20 });
    const neg = leaky[14];
    expect(neg.bias).toBe(0);
    expect(Math.abs(neg.y_mul / 2 ** neg.shift_number / (0.1 / 256) - 1)).toBeLessThan(1e-4);
    expect(neg.x_start).toBe(Math.floor((-20 * 256) / 0.1));
  });
  it('ranges: rounded outward to 12 significant bits, zero exactly representable', () => {
    expect(roundSignificant(1.23456789, 12, 1)).toBeGreaterThanOrEqual(1.23456789);
    expect(roundSignificant(1.23456789, 12, 1) - 1.23456789).toBeLessThan(2 ** -11);
    expect(roundSignificant(-3.3, 12, -1)).toBeLessThanOrEqual(-3.3);
    const q = rangeQuant(-1, 3);
    expect(q.zeroPoint).toBe(64);
    expect(rangeQuant(0.5, 2).zeroPoint).toBe(0); // widened to contain 0
  });
});

describe('TensorFlow.js weights', () => {
  it('decodes float16 exactly and uint8-quantised entries as fround(min + q·scale)', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0x7bff)).toBe(65504);
    const shard = new Uint8Array([0, 128, 255, 0x00, 0x3c, 0x00, 0xc0]);
    const w = decodeWeights(
      [
        {
          paths: ['a.bin'],
          weights: [
            { name: 'q', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
            { name: 'h', shape: [2], dtype: 'float32', quantization: { dtype: 'float16' } },
          ],
        },
      ],
      () => shard,
      'test',
    );
    expect(Array.from(w.get('q')!.data)).toEqual([-1, 63, 126.5]);
    expect(Array.from(w.get('h')!.data)).toEqual([1, -2]);
    expect(() =>
      decodeWeights(
        [{ paths: ['a.bin'], weights: [{ name: 'x', shape: [4], dtype: 'float32' }] }],
        () => shard,
        'test',
      ),
    ).toThrow(/runs past the end/);
  });
  it('fold signs are a fixed sequence', () => {
    const s = foldSigns(1024);
    expect(Array.from(s.slice(0, 16))).toEqual(Array.from(foldSigns(16)));
    expect(s.reduce((a, b) => a + b, 0)).toBeLessThan(100);
    expect(new Set(s)).toEqual(new Set([1, -1]));
  });
});
