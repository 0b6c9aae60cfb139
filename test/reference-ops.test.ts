/**
 * The float reference's CPU-layer geometry (tfjs convolution with nncase paddings, grouped and
 * depthwise; window reductions; pad/crop), its tensor placement in the emulated memories, and
 * the comparison metrics. Expected values are worked out by hand next to each case.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { kpuUpload } from '../src/kpu/layout.js';
import { initReferenceBackend, tf } from '../src/reference/backend.js';
import { centredCosine, cosine, lsbAgreement, maxAbsDiff, requantizeU8, snrDb } from '../src/reference/metrics.js';
import { conv2dFloat, padCrop, reduceWindowFloat, windowedSize, type Window } from '../src/reference/ops.js';
import { readBytes, readShadow, tensorRef, writeShadow } from '../src/reference/tensors.js';

beforeAll(async () => {
  await initReferenceBackend('wasm');
});

const win = (f: number, s: number, pb = 0, pa = 0, qb = pb, qa = pa, d = 1): Window => ({
  filterH: f,
  filterW: f,
  strideH: s,
  strideW: s,
  dilationH: d,
  dilationW: d,
  paddingH: { before: pb, after: pa },
  paddingW: { before: qb, after: qa },
});
const ramp = (n: number) => Float32Array.from({ length: n }, (_, i) => i);

describe('conv2dFloat', () => {
  it('2×2 ones, stride 2: block sums plus bias', () => {
    // 0..15 in a 4×4 plane; blocks: 0+1+4+5, 2+3+6+7, 8+9+12+13, 10+11+14+15
    const { values, shape } = conv2dFloat(ramp(16), [1, 1, 4, 4], [1, 1, 1, 1], [1], 1, 1, win(2, 2));
    expect(shape).toEqual([1, 1, 2, 2]);
    expect(Array.from(values)).toEqual([11, 19, 43, 51]);
  });

  it('padding pads with zero, negative padding crops', () => {
    // 3×3 plane 0..8, 1×1 kernel 1: H padded by one row on top, W cropped by one column at the end
    const w: Window = { ...win(1, 1), paddingH: { before: 1, after: 0 }, paddingW: { before: 0, after: -1 } };
    const { values, shape } = conv2dFloat(ramp(9), [1, 1, 3, 3], [1], [0], 1, 1, w);
    expect(shape).toEqual([1, 1, 4, 2]);
    expect(Array.from(values)).toEqual([0, 0, 0, 1, 3, 4, 6, 7]);
  });

  it('3×3 with dilation 2 and pad 2 keeps the size; the centre tap alone is the identity', () => {
    const k = [0, 0, 0, 0, 1, 0, 0, 0, 0];
    const { values, shape } = conv2dFloat(ramp(25), [1, 1, 5, 5], k, [0], 1, 1, win(3, 1, 2, 2, 2, 2, 2));
    expect(shape).toEqual([1, 1, 5, 5]);
    expect(Array.from(values)).toEqual(Array.from(ramp(25)));
  });

  it('groups: each output group sees only its input channels', () => {
    // 4 channels of one pixel: 1, 2, 3, 4; groups 2, 2 outputs, 1×1 weights [1, 10] and [100, 1000]
    const { values } = conv2dFloat(
      Float32Array.of(1, 2, 3, 4),
      [1, 4, 1, 1],
      [1, 10, 100, 1000],
      [0, 0],
      2,
      2,
      win(1, 1),
    );
    expect(Array.from(values)).toEqual([21, 4300]);
  });

  it('depthwise with multiplier 2: output channel c·2 + j uses input channel c', () => {
    // channels 1, 2; weights per output 2, 3, 5, 7 → 2, 3, 10, 14
    const { values } = conv2dFloat(Float32Array.of(1, 2), [1, 2, 1, 1], [2, 3, 5, 7], [0, 0, 0, 0], 2, 4, win(1, 1));
    expect(Array.from(values)).toEqual([2, 3, 10, 14]);
  });

  it('stride together with dilation', () => {
    // 1×1×5×5 ramp, 2×2 kernel dilation 2 (taps at offsets 0 and 2), stride 2: out (0,0) = 0+2+10+12
    const { values, shape } = conv2dFloat(ramp(25), [1, 1, 5, 5], [1, 1, 1, 1], [0], 1, 1, win(2, 2, 0, 0, 0, 0, 2));
    expect(shape).toEqual([1, 1, windowedSize(5, 2, 2, 2, { before: 0, after: 0 }), 2]);
    expect(values[0]).toBe(24);
    expect(values[3]).toBe(12 + 14 + 22 + 24);
  });
});

describe('reduceWindowFloat and padCrop', () => {
  it('mean counts only in-range taps', () => {
    // [[1, 2], [3, 4]], 2×2 window stride 1 with one row/column of padding before
    const { values, shape } = reduceWindowFloat(Float32Array.of(1, 2, 3, 4), [1, 1, 2, 2], 'mean', 0, win(2, 1, 1, 0));
    expect(shape).toEqual([1, 1, 2, 2]);
    expect(Array.from(values)).toEqual([1, 1.5, 2, 2.5]);
  });
  it('max starts from the init value', () => {
    const { values } = reduceWindowFloat(Float32Array.of(-5, -2, -3, -4), [1, 1, 2, 2], 'max', -1, win(2, 2));
    expect(Array.from(values)).toEqual([-1]);
  });
  it('pad with a value and crop in one call', () => {
    const y = tf.tidy(() => Array.from(padCrop(tf.tensor1d([1, 2, 3]), [{ before: 2, after: -1 }], 9).dataSync()));
    expect(y).toEqual([9, 9, 1, 2]);
  });
});

describe('tensor placement', () => {
  it('a KPU map in the shadow sits at the same byte addresses as kpuUpload puts it', () => {
    // 5 channels of 3×20 (w ≤ 32: two channels per 64-byte line)
    const shape = [1, 5, 3, 20] as const;
    const ref = tensorRef('ai', 'uint8', 128, shape, 'kpu');
    const n = 5 * 3 * 20;
    const values = Float32Array.from({ length: n }, (_, i) => (i * 7) % 256);
    const ai = new Uint8Array(8192);
    kpuUpload(Uint8Array.from(values), [...shape], ai, 128);
    const shadow = { main: new Float32Array(0), ai: new Float32Array(8192) };
    writeShadow(ref, shadow, values);
    for (let a = 0; a < 8192; a++) if (shadow.ai[a] !== 0) expect(shadow.ai[a]).toBe(ai[a]);
    expect(Array.from(readShadow(ref, shadow, new Uint8Array(0)))).toEqual(Array.from(values));
    expect(Array.from(readBytes(ref, { main: new Uint8Array(0), ai, const: new Uint8Array(0) }))).toEqual(
      Array.from(values),
    );
  });

  it('K210_ADD_PADDING targets: channel c at (c div 4)·256 + (c mod 4)·16', () => {
    const ref = tensorRef('ai', 'uint8', 64, [6], 'kpu00');
    const shadow = { main: new Float32Array(0), ai: new Float32Array(1024) };
    writeShadow(ref, shadow, [1, 2, 3, 4, 5, 6]);
    expect([64, 80, 96, 112, 320, 336].map((a) => shadow.ai[a])).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('float32 tensors keep their value in the first byte slot of each element', () => {
    const ref = tensorRef('main', 'float32', 8, [3]);
    const shadow = { main: new Float32Array(32), ai: new Float32Array(0) };
    writeShadow(ref, shadow, [1.5, -2, 3]);
    expect([shadow.main[8], shadow.main[12], shadow.main[16]]).toEqual([1.5, -2, 3]);
    const bytes = new Uint8Array(32);
    new DataView(bytes.buffer).setFloat32(12, -2, true);
    expect(readBytes(ref, { main: bytes, ai: new Uint8Array(0), const: new Uint8Array(0) })[1]).toBe(-2);
  });
});

describe('metrics', () => {
  it('cosine, centred cosine, SNR, max abs', () => {
    expect(cosine([1, 0], [0, 1])).toBe(0);
    expect(cosine([0, 0], [0, 0])).toBe(1);
    expect(cosine([1, 2], [2, 4])).toBeCloseTo(1, 12);
    // a constant offset inflates the raw cosine, not the centred one
    expect(cosine([101, 99, 101, 99], [99, 101, 99, 101])).toBeGreaterThan(0.999);
    expect(centredCosine([101, 99, 101, 99], [99, 101, 99, 101])).toBeCloseTo(-1, 12);
    // signal power 1+4 = 5, error power 0.01 → 10·log10(500)
    expect(snrDb([1, 2], [1.1, 2])).toBeCloseTo(10 * Math.log10(500), 6);
    expect(snrDb([1, 2], [1, 2])).toBeNull();
    expect(maxAbsDiff([1, 5], [2, 2])).toBe(3);
  });
  it('re-quantisation rounds half to even and saturates', () => {
    expect([2.5, 3.5, 3.4999, -1, 300, NaN].map(requantizeU8)).toEqual([2, 4, 3, 0, 255, 0]);
    expect(lsbAgreement([1, 2, 3, 4], [1, 3, 3, 6])).toEqual({ maxLsbDiff: 2, mismatchFraction: 0.5 });
  });
});
