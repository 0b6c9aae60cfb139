/**
 * The specification path of the KPU conv engine: kpu-numerics §6.2–6.6 (with §10) written out
 * literally, one output element at a time, in BigInt wherever the golden simulator uses 64-bit
 * integers. It is slow on purpose and must stay plain: the fast engine is tested against it.
 *
 * 64-bit semantics: nncase 0.2's simulator (the goldens) computes the accumulator, the batch-norm
 * product and the activation product in int64_t. Every such step is wrapped to two's complement
 * 64 bits here (`i64`), which is what that code does on x86 when a pathological layer overflows.
 * Real layers never come near: nncase 1.x asserts |acc|, |bn| < 2^35 (36-bit hardware width; what
 * the silicon does beyond that is unknown, kpu-numerics §9 item 3).
 */
import type { ActivationSegment, BatchNormEntry } from '../../kmodel-parser/kpu-layer-argument.js';
import { KpuFault } from '../../errors.js';
import { kpuOffset } from '../layout.js';
import { GOLDEN_NUMERICS, type KpuNumerics, type PreparedKpuConv } from './prepare.js';

const i64 = (v: bigint): bigint => BigInt.asIntN(64, v);

/** The weight w[o][c][ky][kx] (depthwise: w[o][ky][kx], pass c = 0): u8, or u16 little-endian in 16-bit mode. */
function weightAt(c: PreparedKpuConv, o: number, ch: number, ky: number, kx: number): number {
  const K = c.kernel;
  const idx = ((o * c.groupChannels + ch) * K + ky) * K + kx;
  const w = c.params.weights;
  return c.weightBits === 8 ? w[idx] : w[2 * idx] | (w[2 * idx + 1] << 8);
}

/**
 * kpu-numerics §6.3: bn = (acc · norm_mul) >> norm_shift, then + norm_add; the shift is an arithmetic (floor) shift.
 */
export function referenceBatchNorm(acc: bigint, bn: BatchNormEntry): bigint {
  return i64(i64(i64(acc * BigInt(bn.norm_mul)) >> BigInt(bn.norm_shift)) + BigInt(bn.norm_add));
}

/**
 * kpu-numerics §6.4 step 3. nncase02 ("banker" variant): q = floor(t/2^s), f = t − q·2^s, h = 2^(s−1); below h
 * keep q, above h move by sgn(t), at h move by sgn(t) only when q is odd. For t ≥ 0 that is round
 * half to even; for t < 0 the move goes the wrong way (a quirk of the reference, kept).
 * nncase01 (SDK kpu_carry_shift): v = t >> (s−1); odd v → (v >> 1) ± 1 by the sign of v, even v → v >> 1.
 * Shifts are arithmetic (floor). For s ≥ 64 the C code is undefined; the exact floor is used here.
 */
export function referenceRoundShift(t: bigint, s: number, rounding: KpuNumerics['activationRounding']): bigint {
  if (s === 0) return t;
  const sb = BigInt(s);
  if (rounding === 'nncase02') {
    const q = t >> sb;
    const f = t - (q << sb);
    const h = 1n << (sb - 1n);
    const sgn = t < 0n ? -1n : 1n;
    if (f < h) return q;
    if (f > h) return i64(q + sgn);
    return (q & 1n) === 1n ? i64(q + sgn) : q;
  }
  const v = t >> (sb - 1n);
  if ((v & 1n) === 1n) return v < 0n ? i64((v >> 1n) - 1n) : i64((v >> 1n) + 1n);
  return v >> 1n;
}

/** kpu-numerics §6.4: segment choice, t = (bn − start_x)·y_mul, rounding shift, + bias, clamp to 0..255. */
export function referenceActivation(bn: bigint, segs: readonly ActivationSegment[], numerics: KpuNumerics): number {
  let k = 0; // no segment qualifies → segment 0 (undefined in the reference; kpu-numerics §6.4)
  for (let i = 15; i >= 0; i--) {
    const start = BigInt(segs[i].x_start);
    if (numerics.segmentBoundary === 'strict' ? bn > start : bn >= start) {
      k = i;
      break;
    }
  }
  const seg = segs[k];
  const t = i64(i64(bn - BigInt(seg.x_start)) * BigInt(seg.y_mul));
  const r = i64(referenceRoundShift(t, seg.shift_number, numerics.activationRounding) + BigInt(seg.bias));
  return r < 0n ? 0 : r > 255n ? 255 : Number(r);
}

/** kpu-numerics §6.6 on one channel plane A (H×W) → OH×OW. */
export function referencePool(
  A: Uint8Array,
  H: number,
  W: number,
  poolType: number,
): { out: Uint8Array; OH: number; OW: number } {
  const stride = [1, 2, 2, 4, 4, 2, 2, 4, 1, 1][poolType];
  const size = [1, 2, 2, 4, 4, 1, 1, 1, 2, 2][poolType];
  const OH = Math.floor(H / stride);
  const OW = Math.floor(W / stride);
  const out = new Uint8Array(OH * OW);
  const at = (y: number, x: number): number => (y < 0 || y >= H || x < 0 || x >= W ? 0 : A[y * W + x]);
  const clampY = (y: number): number => Math.min(Math.max(y, 0), H - 1);
  const clampX = (x: number): number => Math.min(Math.max(x, 0), W - 1);
  for (let oy = 0; oy < OH; oy++) {
    for (let ox = 0; ox < OW; ox++) {
      const y0 = oy * stride;
      const x0 = ox * stride;
      let v = 0;
      switch (poolType) {
        case 0:
          v = A[y0 * W + x0];
          break;
        case 1:
        case 3:
        case 9: // max; out-of-range elements count as the uint8 minimum 0, i.e. are ignored
          for (let ky = 0; ky < size; ky++) for (let kx = 0; kx < size; kx++) v = Math.max(v, at(y0 + ky, x0 + kx));
          break;
        case 2:
        case 4:
        case 8: {
          // mean: coordinates clamped to the map (edge replicated), floor of sum / window area
          let sum = 0;
          for (let ky = 0; ky < size; ky++)
            for (let kx = 0; kx < size; kx++) sum += A[clampY(y0 + ky) * W + clampX(x0 + kx)];
          v = Math.floor(sum / (size * size));
          break;
        }
        case 5:
        case 7:
          v = at(y0, x0);
          break;
        case 6:
          v = at(y0, x0 + 1);
          break;
        default:
          throw new KpuFault('UNSUPPORTED', `pool_type ${poolType}`);
      }
      out[oy * OW + ox] = v;
    }
  }
  return { out, OH, OW };
}

/**
 * Runs the layer by the specification: reads the input map from AI SRAM at image_src_addr·64
 * (batch b at + b·rows), writes the result at image_dst_addr·64 in the kpu-numerics §6.8 layout, and the dense
 * N×OC×OH×OW copy into `mainOut` when given.
 */
export function runKpuConvReference(
  c: PreparedKpuConv,
  ram: Uint8Array,
  numerics: KpuNumerics = GOLDEN_NUMERICS,
  mainOut?: Uint8Array,
): void {
  const g = c.geometry;
  const { inChannels: IC, outChannels: OC, inWidth: W, inHeight: H, outWidth: OW, outHeight: OH } = g;
  const K = c.kernel;
  const pad = (K - 1) / 2;
  const G = c.groupChannels;
  checkRunBuffers(c, ram, mainOut);

  // The whole input is read before anything is written (nncase downloads it to a temporary first).
  const X: Uint8Array[] = [];
  for (let b = 0; b < c.batches; b++) {
    const base = c.input.address + b * c.input.rowsPerBatch * 64;
    const xb = new Uint8Array(IC * H * W);
    for (let ch = 0; ch < IC; ch++)
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) xb[(ch * H + y) * W + x] = ram[base + kpuOffset(W, H, ch, y, x)];
    X.push(xb);
  }

  const argX = BigInt(c.argX);
  const argW = BigInt(c.argW);
  const shrX = BigInt(c.shrX);
  const shrW = BigInt(c.shrW);
  const argAdd = BigInt(c.argAdd);
  for (let b = 0; b < c.batches; b++) {
    const xb = X[b];
    const outBase = c.output.address + b * c.output.rowsPerBatch * 64;
    for (let o = 0; o < OC; o++) {
      const A = new Uint8Array(H * W);
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          // kpu-numerics §6.2. S, SX, SW are sums of at most 1024·9 terms of ≤ 255·65535, below 2^38: exact Numbers.
          let S = 0;
          let SX = 0;
          let SW = 0;
          for (let gi = 0; gi < G; gi++) {
            const ch = c.depthwise ? o : gi;
            for (let ky = 0; ky < K; ky++) {
              for (let kx = 0; kx < K; kx++) {
                const yy = y + ky - pad;
                const xx = x + kx - pad;
                const xv = yy >= 0 && yy < H && xx >= 0 && xx < W ? xb[(ch * H + yy) * W + xx] : c.padValue;
                const wv = weightAt(c, o, gi, ky, kx);
                S += xv * wv;
                SX += xv;
                SW += wv;
              }
            }
          }
          const acc = i64(
            BigInt(S) +
              i64(i64(argX * BigInt(SX)) >> shrX) +
              i64(i64(argW * BigInt(SW)) >> shrW) +
              i64(argAdd * BigInt(G)),
          );
          const bn = referenceBatchNorm(acc, c.params.batchNorm[o]);
          A[y * W + x] = referenceActivation(bn, c.params.activation, numerics);
        }
      }
      const { out } = referencePool(A, H, W, c.poolType);
      for (let y = 0; y < OH; y++) {
        for (let x = 0; x < OW; x++) {
          const v = out[y * OW + x];
          ram[outBase + kpuOffset(OW, OH, o, y, x)] = v;
          if (mainOut) mainOut[((b * OC + o) * OH + y) * OW + x] = v;
        }
      }
    }
  }
}

/** Run-time buffer checks shared by both engines: once per run, never per element. */
export function checkRunBuffers(c: PreparedKpuConv, ram: Uint8Array, mainOut?: Uint8Array): void {
  if (
    c.input.address + c.input.bytes <= ram.length &&
    c.output.address + c.output.bytes <= ram.length &&
    (!mainOut || mainOut.length >= c.denseOutputBytes)
  )
    return;
  const ctx = { layer: c.where.layer, type: c.where.type };
  const end = Math.max(c.input.address + c.input.bytes, c.output.address + c.output.bytes);
  if (end > ram.length) {
    const r = c.input.address + c.input.bytes === end ? c.input : c.output;
    throw new KpuFault(
      'OUT_OF_RANGE',
      `KPU map at byte ${r.address} (+${r.bytes}) does not fit in a ${ram.length}-byte AI SRAM`,
      { ...ctx, address: r.address, size: r.bytes },
    );
  }
  if (mainOut && mainOut.length < c.denseOutputBytes) {
    throw new KpuFault(
      'OUT_OF_RANGE',
      `main-memory output has ${mainOut.length} bytes, the layer writes ${c.denseOutputBytes}`,
      { ...ctx, size: c.denseOutputBytes },
    );
  }
}
