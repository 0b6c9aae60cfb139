/**
 * The fast KPU conv engine. It computes exactly what `runKpuConvReference` computes (a fast-check
 * property in test/kpu-conv.test.ts holds them equal, extreme parameters included), reorganised:
 *
 *   acc[o][i] = S[o][i] + Tx[i] + C[o]
 *     S  = Σ x·w           kernels for 1×1, 3×3 and depthwise, over channel planes of the input
 *     Tx = (arg_x·SX) >> shr_x   SX = Σ x does not depend on o (non-depthwise): once per batch
 *     C  = (arg_w·SW) >> shr_w + arg_add·G   SW sums all weights: a constant per channel
 *
 * Exactness of S: weights are split into 8-bit planes (16-bit weights: w = lo + 256·hi). The
 * kernels accumulate two output channels in one double (prepare.ts `JsWeightPlanes.packed`) over at most
 * `packChunk` input channels, where each channel's part stays below 2^26; wider layers add the
 * split partial sums chunk by chunk. S itself is < 2^38, acc < 2^53 (prepare.ts), and batch-norm
 * and activation run in Number for the channels prepare.ts proved exact, in BigInt (int64-wrapped,
 * as the reference) for the others.
 */
import { kernelRuntime } from '../wasm/runtime.js';
import { checkRunBuffers } from './reference.js';
import { runKpuConvWasm } from './wasm.js';
import {
  GOLDEN_NUMERICS,
  jsWeightPlanes,
  PACK,
  type KpuConvScratch,
  type KpuKernel,
  type KpuNumerics,
  type PreparedKpuConv,
} from './prepare.js';

const UNPACK = 1 / PACK;

const NONE_F64 = new Float64Array(0);
const NONE_I32 = new Int32Array(0);

/** Scratch of the layer, allocated on its first run and reused: only the buffers its path uses. */
function scratchFor(c: PreparedKpuConv): KpuConvScratch {
  if (c.fast.scratch) return c.fast.scratch;
  const { inChannels: IC, inWidth: W, inHeight: H, outWidth: OW, outHeight: OH } = c.geometry;
  const HW = W * H;
  const PP = (W + 2) * (H + 2);
  const inputStride = c.kernel === 3 ? IC * PP : IC * HW;
  const input = new Uint8Array(c.batches * inputStride);
  // 3×3: every plane is padded by one pixel of pad_value; the interior is overwritten by each run,
  // the border never, so it is filled once here.
  if (c.kernel === 3) input.fill(c.padValue);
  const wide = c.weightBits === 16;
  const dw = c.depthwise;
  const split = !dw && (wide || IC > c.fast.packChunk); // S summed into s[] rather than read packed
  const f64 = (need: boolean): Float64Array => (need ? new Float64Array(HW) : NONE_F64);
  const s: KpuConvScratch = {
    input,
    inputStride,
    pkA: f64(!dw),
    pkB: f64(!dw),
    dwLo: dw ? new Int32Array(HW) : NONE_I32,
    dwHi: dw && wide ? new Int32Array(HW) : NONE_I32,
    s: [f64(dw || split), f64(split), f64(split), f64(split)],
    sx: new Int32Array(Math.max(PP, HW)),
    tx: f64(true),
    act: new Uint8Array(HW),
    pooled: new Uint8Array(OW * OH),
  };
  c.fast.scratch = s;
  return s;
}

/** AI SRAM (kpu-numerics §6.8 layout) → scratch planes, all batches, before anything is written. */
function gatherInput(c: PreparedKpuConv, ram: Uint8Array, s: KpuConvScratch): void {
  const { inChannels: IC, inWidth: W, inHeight: H } = c.geometry;
  const { groups, rowPitch, rowLen } = c.fast.inLayout;
  const line = rowLen * 64;
  const inp = s.input;
  const padded = c.kernel === 3;
  const PW = W + 2;
  const PP = PW * (H + 2);
  const HW = W * H;
  for (let b = 0; b < c.batches; b++) {
    const base = c.input.address + b * c.input.rowsPerBatch * 64;
    const dstBase = b * s.inputStride;
    for (let ch = 0; ch < IC; ch++) {
      let src = base + Math.floor(ch / groups) * line * H + (ch % groups) * rowPitch;
      let d = padded ? dstBase + ch * PP + PW + 1 : dstBase + ch * HW;
      const dStep = padded ? PW : W;
      for (let y = 0; y < H; y++, src += line, d += dStep) for (let x = 0; x < W; x++) inp[d + x] = ram[src + x];
    }
  }
}

// ---- S kernels -------------------------------------------------------------------------------
// Each pass fills two accumulators that share every input load, and each accumulator holds two
// packed output channels, so a pass yields four (measured in V8: ≈ 5 GMAC/s, against ≈ 3 for two
// int32 channels per pass and ≈ 2 for one). For an odd tail, pair B repeats pair A.

/** 1×1, input channels [c0, c1): eight input planes per step, the weights of the step held in locals. */
function conv1x1Packed(
  inp: Uint8Array,
  inBase: number,
  c0: number,
  c1: number,
  HW: number,
  w: Float64Array,
  wa: number,
  wb: number,
  accA: Float64Array,
  accB: Float64Array,
): void {
  accA.fill(0, 0, HW);
  accB.fill(0, 0, HW);
  let ch = c0;
  for (; ch + 8 <= c1; ch += 8) {
    const k = wa + ch;
    const q = wb + ch;
    const w0 = w[k],
      w1 = w[k + 1],
      w2 = w[k + 2],
      w3 = w[k + 3],
      w4 = w[k + 4],
      w5 = w[k + 5],
      w6 = w[k + 6],
      w7 = w[k + 7];
    const v0 = w[q],
      v1 = w[q + 1],
      v2 = w[q + 2],
      v3 = w[q + 3],
      v4 = w[q + 4],
      v5 = w[q + 5],
      v6 = w[q + 6],
      v7 = w[q + 7];
    const b0 = inBase + ch * HW,
      b1 = b0 + HW,
      b2 = b1 + HW,
      b3 = b2 + HW,
      b4 = b3 + HW,
      b5 = b4 + HW,
      b6 = b5 + HW,
      b7 = b6 + HW;
    for (let i = 0; i < HW; i++) {
      const x0 = inp[b0 + i],
        x1 = inp[b1 + i],
        x2 = inp[b2 + i],
        x3 = inp[b3 + i],
        x4 = inp[b4 + i],
        x5 = inp[b5 + i],
        x6 = inp[b6 + i],
        x7 = inp[b7 + i];
      accA[i] += w0 * x0 + w1 * x1 + w2 * x2 + w3 * x3 + w4 * x4 + w5 * x5 + w6 * x6 + w7 * x7;
      accB[i] += v0 * x0 + v1 * x1 + v2 * x2 + v3 * x3 + v4 * x4 + v5 * x5 + v6 * x6 + v7 * x7;
    }
  }
  for (; ch < c1; ch++) {
    const wA = w[wa + ch];
    const wB = w[wb + ch];
    const b0 = inBase + ch * HW;
    for (let i = 0; i < HW; i++) {
      const x = inp[b0 + i];
      accA[i] += wA * x;
      accB[i] += wB * x;
    }
  }
}

/** 3×3, input channels [c0, c1): sliding window over the padded planes, 9 taps per pixel. */
function conv3x3Packed(
  inp: Uint8Array,
  inBase: number,
  c0: number,
  c1: number,
  W: number,
  H: number,
  w: Float64Array,
  wa: number,
  wb: number,
  accA: Float64Array,
  accB: Float64Array,
): void {
  const PW = W + 2;
  const PP = PW * (H + 2);
  accA.fill(0, 0, W * H);
  accB.fill(0, 0, W * H);
  for (let ch = c0; ch < c1; ch++) {
    const k = wa + ch * 9;
    const q = wb + ch * 9;
    const w0 = w[k],
      w1 = w[k + 1],
      w2 = w[k + 2],
      w3 = w[k + 3],
      w4 = w[k + 4],
      w5 = w[k + 5],
      w6 = w[k + 6],
      w7 = w[k + 7],
      w8 = w[k + 8];
    const v0 = w[q],
      v1 = w[q + 1],
      v2 = w[q + 2],
      v3 = w[q + 3],
      v4 = w[q + 4],
      v5 = w[q + 5],
      v6 = w[q + 6],
      v7 = w[q + 7],
      v8 = w[q + 8];
    const pb = inBase + ch * PP;
    for (let y = 0, ao = 0; y < H; y++, ao += W) {
      const p0 = pb + y * PW;
      const p1 = p0 + PW;
      const p2 = p1 + PW;
      let a0 = inp[p0],
        a1 = inp[p0 + 1],
        b0 = inp[p1],
        b1 = inp[p1 + 1],
        c0 = inp[p2],
        c1 = inp[p2 + 1];
      for (let x = 0; x < W; x++) {
        const a2 = inp[p0 + x + 2],
          b2 = inp[p1 + x + 2],
          c2 = inp[p2 + x + 2];
        accA[ao + x] += w0 * a0 + w1 * a1 + w2 * a2 + w3 * b0 + w4 * b1 + w5 * b2 + w6 * c0 + w7 * c1 + w8 * c2;
        accB[ao + x] += v0 * a0 + v1 * a1 + v2 * a2 + v3 * b0 + v4 * b1 + v5 * b2 + v6 * c0 + v7 * c1 + v8 * c2;
        a0 = a1;
        a1 = a2;
        b0 = b1;
        b1 = b2;
        c0 = c1;
        c1 = c2;
      }
    }
  }
}

/** Depthwise 3×3 on one padded plane; also the per-channel SX (window sum, padding included). */
function dw3x3(
  inp: Uint8Array,
  pb: number,
  W: number,
  H: number,
  w: Int32Array,
  k: number,
  acc: Int32Array,
  sx: Int32Array,
): void {
  const PW = W + 2;
  const w0 = w[k],
    w1 = w[k + 1],
    w2 = w[k + 2],
    w3 = w[k + 3],
    w4 = w[k + 4],
    w5 = w[k + 5],
    w6 = w[k + 6],
    w7 = w[k + 7],
    w8 = w[k + 8];
  for (let y = 0, ao = 0; y < H; y++, ao += W) {
    const p0 = pb + y * PW;
    const p1 = p0 + PW;
    const p2 = p1 + PW;
    let a0 = inp[p0],
      a1 = inp[p0 + 1],
      b0 = inp[p1],
      b1 = inp[p1 + 1],
      c0 = inp[p2],
      c1 = inp[p2 + 1];
    for (let x = 0; x < W; x++) {
      const a2 = inp[p0 + x + 2],
        b2 = inp[p1 + x + 2],
        c2 = inp[p2 + x + 2];
      acc[ao + x] = w0 * a0 + w1 * a1 + w2 * a2 + w3 * b0 + w4 * b1 + w5 * b2 + w6 * c0 + w7 * c1 + w8 * c2;
      sx[ao + x] = a0 + a1 + a2 + b0 + b1 + b2 + c0 + c1 + c2;
      a0 = a1;
      a1 = a2;
      b0 = b1;
      b1 = b2;
      c0 = c1;
      c1 = c2;
    }
  }
}

/** Depthwise 1×1: S = w·x, SX = x. */
function dw1x1(inp: Uint8Array, pb: number, HW: number, wv: number, acc: Int32Array, sx: Int32Array): void {
  for (let i = 0; i < HW; i++) {
    const x = inp[pb + i];
    acc[i] = wv * x;
    sx[i] = x;
  }
}

// ---- combining planes ------------------------------------------------------------------------

/**
 * Adds a packed partial sum into two channels' S: low = v − 2^26·floor(v/2^26), high =
 * floor(v/2^26) (both exact), each scaled by 1 (low weight byte) or 256 (high weight byte).
 */
function addSplit(acc: Float64Array, n: number, scale: number, lo: Float64Array, hi: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const v = acc[i];
    const h = Math.floor(v * UNPACK);
    hi[i] += scale * h;
    lo[i] += scale * (v - h * PACK);
  }
}

/** S = lo + 256·hi from the depthwise int32 plane results (hi absent for 8-bit weights). */
function widen(lo: Int32Array, hi: Int32Array | undefined, n: number, out: Float64Array): void {
  if (hi) for (let i = 0; i < n; i++) out[i] = lo[i] + 256 * hi[i];
  else for (let i = 0; i < n; i++) out[i] = lo[i];
}

// ---- SX and Tx -------------------------------------------------------------------------------

/** Tx[i] = floor(arg_x·SX[i]·2^−shr_x): arg_x·SX < 2^45 and the power-of-two scale are exact. */
function txFromSx(sx: Int32Array, n: number, argX: number, scale: number, tx: Float64Array): void {
  for (let i = 0; i < n; i++) tx[i] = Math.floor(argX * sx[i] * scale);
}

/** Non-depthwise 1×1 SX: the sum over input channels. */
function sumInput1x1(inp: Uint8Array, base: number, IC: number, HW: number, sx: Int32Array): void {
  sx.fill(0, 0, HW);
  for (let ch = 0; ch < IC; ch++) {
    const pb = base + ch * HW;
    for (let i = 0; i < HW; i++) sx[i] += inp[pb + i];
  }
}

/** Non-depthwise 3×3 Tx: channel sum of the padded planes, then its 3×3 box sum (≤ 1024·9·255 < 2^22). */
function sumInput3x3(
  inp: Uint8Array,
  base: number,
  IC: number,
  W: number,
  H: number,
  sx: Int32Array,
  argX: number,
  scale: number,
  tx: Float64Array,
): void {
  const PW = W + 2;
  const PP = PW * (H + 2);
  sx.fill(0, 0, PP);
  for (let ch = 0; ch < IC; ch++) {
    const pb = base + ch * PP;
    for (let i = 0; i < PP; i++) sx[i] += inp[pb + i];
  }
  for (let y = 0, o = 0; y < H; y++) {
    const r0 = y * PW;
    const r1 = r0 + PW;
    const r2 = r1 + PW;
    for (let x = 0; x < W; x++, o++) {
      const t =
        sx[r0 + x] +
        sx[r0 + x + 1] +
        sx[r0 + x + 2] +
        sx[r1 + x] +
        sx[r1 + x + 1] +
        sx[r1 + x + 2] +
        sx[r2 + x] +
        sx[r2 + x + 1] +
        sx[r2 + x + 2];
      tx[o] = Math.floor(argX * t * scale);
    }
  }
}

// ---- batch-norm and activation ---------------------------------------------------------------

/**
 * Where S of a channel is: 0 the value itself; 1 / 2 the low / high channel of a packed
 * accumulator v (8-bit weights), i.e. v − 2^26·floor(v/2^26) and floor(v/2^26), both exact.
 */
type Part = 0 | 1 | 2;

/** 1.5·2^52: for |y| < 2^51, (y + RNE_MAGIC) − RNE_MAGIC is y rounded to the nearest integer, ties to
 *  even — the one rounding of an IEEE addition whose result has ulp 1. */
const RNE_MAGIC = 1.5 * 2 ** 52;

/*
 * acc → bn → activation for channel o in Number arithmetic, only for channels prepare.ts proved
 * exact: |acc·norm_mul| < 2^52 and |t| < 2^51, so every value is an exact integer (or the exact
 * dyadic y), each floor(v·2^−s) is the reference's arithmetic shift, and nothing wraps at 64 bits.
 *
 * Both rounding variants of kpu-numerics §6.4 step 3, with y = t/2^s (exact: a power-of-two scaling):
 *   nncase02, t ≥ 0: round half to even = RNE(y);      nncase01, t ≥ 0: round half up = floor(y + ½)
 *   t < 0 (either): the reference moves away from q = floor(y) exactly when the t ≥ 0 rule would
 *   move up, so r = q − (R − q) = 2·floor(y) − R, with R the t ≥ 0 rounding of y.
 * Shift 0 needs no case: y = t, R = t, r = t.
 *
 * bnActGolden is the golden rule set (strict boundary, nncase02 rounding) on a non-decreasing
 * table, specialised because it is what real models run; bnActExact covers every combination.
 */
function bnActGolden(c: PreparedKpuConv, s: KpuConvScratch, o: number, S: Float64Array, part: Part, n: number): void {
  const f = c.fast;
  const { tx, act } = s;
  const cst = f.constTerm[o];
  const mul = f.bnMul[o];
  const bnScale = f.bnScale[o];
  const add = f.bnAdd[o];
  const xs = f.actStart;
  const ym = f.actMul;
  const sc = f.actScale;
  const bias = f.actBias;
  for (let i = 0; i < n; i++) {
    const v = S[i];
    const h = Math.floor(v * UNPACK);
    const bn = Math.floor(((part === 0 ? v : part === 1 ? v - h * PACK : h) + tx[i] + cst) * mul * bnScale) + add;
    // the highest k with start_x[k] < bn, else 0: on a non-decreasing table the predicate holds
    // on a prefix, so four halvings find it
    let k = xs[8] < bn ? 8 : 0;
    if (xs[k + 4] < bn) k += 4;
    if (xs[k + 2] < bn) k += 2;
    if (xs[k + 1] < bn) k += 1;
    const t = (bn - xs[k]) * ym[k];
    const y = t * sc[k];
    const R = y + RNE_MAGIC - RNE_MAGIC;
    const out = (t < 0 ? 2 * Math.floor(y) - R : R) + bias[k];
    act[i] = out < 0 ? 0 : out > 255 ? 255 : out;
  }
}

function bnActExact(
  c: PreparedKpuConv,
  s: KpuConvScratch,
  o: number,
  S: Float64Array,
  part: Part,
  n: number,
  strict: boolean,
  banker: boolean,
): void {
  const f = c.fast;
  const { tx, act } = s;
  const sorted = f.actSorted;
  const cst = f.constTerm[o];
  const mul = f.bnMul[o];
  const bnScale = f.bnScale[o];
  const add = f.bnAdd[o];
  const xs = f.actStart;
  const ym = f.actMul;
  const sc = f.actScale;
  const bias = f.actBias;
  for (let i = 0; i < n; i++) {
    const v = S[i];
    const h = Math.floor(v * UNPACK);
    const bn = Math.floor(((part === 0 ? v : part === 1 ? v - h * PACK : h) + tx[i] + cst) * mul * bnScale) + add;
    let k = 0;
    if (sorted) {
      if (strict) {
        if (xs[8] < bn) k = 8;
        if (xs[k + 4] < bn) k += 4;
        if (xs[k + 2] < bn) k += 2;
        if (xs[k + 1] < bn) k += 1;
      } else {
        if (xs[8] <= bn) k = 8;
        if (xs[k + 4] <= bn) k += 4;
        if (xs[k + 2] <= bn) k += 2;
        if (xs[k + 1] <= bn) k += 1;
      }
    } else {
      k = 15;
      if (strict) while (k > 0 && !(bn > xs[k])) k--;
      else while (k > 0 && !(bn >= xs[k])) k--;
    }
    const t = (bn - xs[k]) * ym[k];
    const y = t * sc[k];
    const R = banker ? y + RNE_MAGIC - RNE_MAGIC : Math.floor(y + 0.5);
    const out = (t < 0 ? 2 * Math.floor(y) - R : R) + bias[k];
    act[i] = out < 0 ? 0 : out > 255 ? 255 : out;
  }
}

const i64 = (v: bigint): bigint => BigInt.asIntN(64, v);

/** The same stages in BigInt with int64 wrapping, for channels whose Number bounds failed. */
function bnActBig(
  c: PreparedKpuConv,
  s: KpuConvScratch,
  o: number,
  S: Float64Array,
  part: Part,
  n: number,
  strict: boolean,
  banker: boolean,
): void {
  const f = c.fast;
  const B = f.big;
  const { tx, act } = s;
  const cst = f.constTerm[o];
  const mul = B.bnMul[o];
  const shift = B.bnShift[o];
  const add = B.bnAdd[o];
  for (let i = 0; i < n; i++) {
    const v = S[i];
    const h = Math.floor(v * UNPACK);
    const acc = BigInt((part === 0 ? v : part === 1 ? v - h * PACK : h) + tx[i] + cst); // exact: |acc| < 2^53
    const bn = i64(i64(i64(acc * mul) >> shift) + add);
    let k = 15;
    while (k > 0 && !(strict ? bn > B.actStart[k] : bn >= B.actStart[k])) k--;
    const t = i64(i64(bn - B.actStart[k]) * B.actMul[k]);
    const sk = B.actShift[k];
    let r = t;
    if (sk > 0) {
      const sb = BigInt(sk);
      if (banker) {
        const q = t >> sb;
        const fr = t - (q << sb);
        const h = 1n << (sb - 1n);
        r = fr < h ? q : fr > h || (q & 1n) === 1n ? i64(q + (t < 0n ? -1n : 1n)) : q;
      } else {
        const v = t >> (sb - 1n);
        r = (v & 1n) === 1n ? i64((v >> 1n) + (v < 0n ? -1n : 1n)) : v >> 1n;
      }
    }
    const out = i64(r + B.actBias[k]);
    act[i] = out < 0n ? 0 : out > 255n ? 255 : Number(out);
  }
}

// ---- pooling and write-back ------------------------------------------------------------------

/**
 * kpu-numerics §6.6 on the H×W activation plane into `dst` (OH×OW). Windows of the stride types never leave the map.
 */
function pool(src: Uint8Array, H: number, W: number, type: number, dst: Uint8Array): void {
  switch (type) {
    case 1:
    case 2: {
      // 2×2 stride 2, unrolled: max, or floor(sum/4) (a non-negative sum, so >> 2 floors)
      const OH = H >> 1;
      const OW = W >> 1;
      for (let oy = 0, d = 0; oy < OH; oy++) {
        const r0 = 2 * oy * W;
        const r1 = r0 + W;
        for (let ox = 0, x = 0; ox < OW; ox++, d++, x += 2) {
          const a = src[r0 + x],
            b = src[r0 + x + 1],
            e = src[r1 + x],
            g = src[r1 + x + 1];
          if (type === 2) dst[d] = (a + b + e + g) >> 2;
          else {
            const m = a > b ? a : b;
            const n = e > g ? e : g;
            dst[d] = m > n ? m : n;
          }
        }
      }
      return;
    }
    case 3: {
      const k = 4;
      const OH = Math.floor(H / k);
      const OW = Math.floor(W / k);
      for (let oy = 0, d = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++, d++) {
          let m = 0;
          for (let ky = 0; ky < k; ky++) {
            const r = (oy * k + ky) * W + ox * k;
            for (let kx = 0; kx < k; kx++) if (src[r + kx] > m) m = src[r + kx];
          }
          dst[d] = m;
        }
      }
      return;
    }
    case 4: {
      const k = 4;
      const shift = 4; // floor(sum / 16) for a non-negative sum
      const OH = Math.floor(H / k);
      const OW = Math.floor(W / k);
      for (let oy = 0, d = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++, d++) {
          let sum = 0;
          for (let ky = 0; ky < k; ky++) {
            const r = (oy * k + ky) * W + ox * k;
            for (let kx = 0; kx < k; kx++) sum += src[r + kx];
          }
          dst[d] = sum >> shift;
        }
      }
      return;
    }
    case 5:
    case 6:
    case 7: {
      const k = type === 7 ? 4 : 2;
      const dx = type === 6 ? 1 : 0;
      const OH = Math.floor(H / k);
      const OW = Math.floor(W / k);
      for (let oy = 0, d = 0; oy < OH; oy++) {
        const r = oy * k * W + dx;
        for (let ox = 0; ox < OW; ox++, d++) dst[d] = src[r + ox * k];
      }
      return;
    }
    case 8: // mean 2×2 stride 1, coordinates clamped to the last row / column
    case 9: {
      // max 2×2 stride 1; out-of-range elements are 0, the uint8 minimum, so they never win
      const mean = type === 8;
      for (let y = 0, d = 0; y < H; y++) {
        const r0 = y * W;
        const r1 = y + 1 < H ? r0 + W : r0;
        for (let x = 0; x < W; x++, d++) {
          const x1 = x + 1 < W ? x + 1 : x;
          const a = src[r0 + x],
            b = src[r0 + x1],
            cc = src[r1 + x],
            e = src[r1 + x1];
          if (mean) {
            dst[d] = (a + b + cc + e) >> 2;
          } else {
            // replicating the edge gives the same maximum as ignoring out-of-range elements
            let m = a > b ? a : b;
            if (cc > m) m = cc;
            if (e > m) m = e;
            dst[d] = m;
          }
        }
      }
      return;
    }
    default:
      dst.set(src.subarray(0, H * W));
  }
}

// ---- driver ----------------------------------------------------------------------------------

const STRICT = 1;
const BANKER = 2;
const GOLDEN = 4; // strict + banker on a non-decreasing table

/** S of output channel o is in `S` (see `Part`): batch-norm, activation, pool, write back. */
function finish(
  c: PreparedKpuConv,
  s: KpuConvScratch,
  ram: Uint8Array,
  mainOut: Uint8Array | undefined,
  rules: number,
  b: number,
  o: number,
  S: Float64Array,
  part: Part,
): void {
  const { outChannels: OC, inWidth: W, inHeight: H, outWidth: OW, outHeight: OH } = c.geometry;
  const HW = W * H;
  if (c.fast.exact[o] === 0)
    bnActBig(c, s, o, S, part, HW, (rules & (STRICT | GOLDEN)) !== 0, (rules & (BANKER | GOLDEN)) !== 0);
  else if (rules === GOLDEN) bnActGolden(c, s, o, S, part, HW);
  else bnActExact(c, s, o, S, part, HW, (rules & STRICT) !== 0, (rules & BANKER) !== 0);
  let source = s.act;
  if (c.poolType !== 0) {
    pool(s.act, H, W, c.poolType, s.pooled);
    source = s.pooled;
  }
  // plain loops rather than set(subarray): no view objects allocated per row
  const { groups, rowPitch, rowLen } = c.fast.outLayout;
  const line = rowLen * 64;
  let dst =
    c.output.address + b * c.output.rowsPerBatch * 64 + Math.floor(o / groups) * line * OH + (o % groups) * rowPitch;
  for (let y = 0, r = 0; y < OH; y++, dst += line, r += OW) for (let x = 0; x < OW; x++) ram[dst + x] = source[r + x];
  if (mainOut) for (let i = 0, d = (b * OC + o) * OH * OW; i < OH * OW; i++) mainOut[d + i] = source[i];
}

/** The kernel a run without an explicit `numerics.kernel` uses: 'wasm' where it compiles, else 'js'. */
export function defaultKpuKernel(): KpuKernel {
  return kernelRuntime() ? 'wasm' : 'js';
}

/**
 * Runs the layer on the kernel `numerics.kernel` names (default `defaultKpuKernel()`): input from
 * AI SRAM at image_src_addr·64 (+ batch·rows), result to AI SRAM at image_dst_addr·64
 * (+ batch·rows) and, when given, the dense N×OC×OH×OW copy to `mainOut`.
 */
export function runKpuConv(
  c: PreparedKpuConv,
  ram: Uint8Array,
  numerics: KpuNumerics = GOLDEN_NUMERICS,
  mainOut?: Uint8Array,
): void {
  if ((numerics.kernel ?? defaultKpuKernel()) === 'wasm') runKpuConvWasm(c, ram, numerics, mainOut);
  else runKpuConvJs(c, ram, numerics, mainOut);
}

/**
 * The TypeScript engine. Runs the layer: input from AI SRAM at image_src_addr·64 (+ batch·rows), result to AI SRAM at
 * image_dst_addr·64 (+ batch·rows) and, when given, the dense N×OC×OH×OW copy to `mainOut`.
 * All batches of the input are read before any output is written, as the reference does.
 */
export function runKpuConvJs(
  c: PreparedKpuConv,
  ram: Uint8Array,
  numerics: KpuNumerics = GOLDEN_NUMERICS,
  mainOut?: Uint8Array,
): void {
  checkRunBuffers(c, ram, mainOut);
  const s = scratchFor(c);
  gatherInput(c, ram, s);
  const { inChannels: IC, outChannels: OC, inWidth: W, inHeight: H } = c.geometry;
  const HW = W * H;
  const PP = (W + 2) * (H + 2);
  const f = c.fast;
  const { planes, packed } = jsWeightPlanes(c);
  const wide = planes.length === 2;
  const chunk = f.packChunk;
  const split = wide || IC > chunk;
  const strict = numerics.segmentBoundary === 'strict';
  const banker = numerics.activationRounding === 'nncase02';
  const perO = c.groupChannels * c.kernel * c.kernel;
  const txScale = 2 ** -c.shrX;
  const rules = strict && banker && f.actSorted ? GOLDEN : (strict ? STRICT : 0) | (banker ? BANKER : 0);
  const pkA = s.pkA,
    pkB = s.pkB;
  const s0 = s.s[0],
    s1 = s.s[1],
    s2 = s.s[2],
    s3 = s.s[3];
  if (c.argX === 0) s.tx.fill(0);

  for (let b = 0; b < c.batches; b++) {
    const inBase = b * s.inputStride;
    if (c.depthwise) {
      for (let o = 0; o < OC; o++) {
        for (let pl = 0; pl < planes.length; pl++) {
          const acc = pl === 0 ? s.dwLo : s.dwHi;
          if (c.kernel === 3) dw3x3(s.input, inBase + o * PP, W, H, planes[pl], o * 9, acc, s.sx);
          else dw1x1(s.input, inBase + o * HW, HW, planes[pl][o], acc, s.sx);
        }
        widen(s.dwLo, wide ? s.dwHi : undefined, HW, s0);
        if (c.argX !== 0) txFromSx(s.sx, HW, c.argX, txScale, s.tx);
        finish(c, s, ram, mainOut, rules, b, o, s0, 0);
      }
      continue;
    }
    if (c.argX !== 0) {
      if (c.kernel === 3) sumInput3x3(s.input, inBase, IC, W, H, s.sx, c.argX, txScale, s.tx);
      else {
        sumInput1x1(s.input, inBase, IC, HW, s.sx);
        txFromSx(s.sx, HW, c.argX, txScale, s.tx);
      }
    }
    // pairs p (channels 2p, 2p+1) two at a time: up to four output channels per pass
    const pairs = Math.ceil(OC / 2);
    for (let p = 0; p < pairs; p += 2) {
      const q = p + 1 < pairs ? p + 1 : p;
      const wa = p * perO;
      const wb = q * perO;
      if (!split) {
        // one chunk, 8-bit weights: the batch-norm stage splits the packed sums itself
        if (c.kernel === 3) conv3x3Packed(s.input, inBase, 0, IC, W, H, packed[0], wa, wb, pkA, pkB);
        else conv1x1Packed(s.input, inBase, 0, IC, HW, packed[0], wa, wb, pkA, pkB);
        finish(c, s, ram, mainOut, rules, b, 2 * p, pkA, 1);
        if (2 * p + 1 < OC) finish(c, s, ram, mainOut, rules, b, 2 * p + 1, pkA, 2);
        if (q !== p) {
          finish(c, s, ram, mainOut, rules, b, 2 * q, pkB, 1);
          if (2 * q + 1 < OC) finish(c, s, ram, mainOut, rules, b, 2 * q + 1, pkB, 2);
        }
        continue;
      }
      s0.fill(0);
      s1.fill(0);
      s2.fill(0);
      s3.fill(0);
      for (let pl = 0; pl < packed.length; pl++) {
        const scale = pl === 0 ? 1 : 256;
        for (let c0 = 0; c0 < IC; c0 += chunk) {
          const c1 = Math.min(IC, c0 + chunk);
          if (c.kernel === 3) conv3x3Packed(s.input, inBase, c0, c1, W, H, packed[pl], wa, wb, pkA, pkB);
          else conv1x1Packed(s.input, inBase, c0, c1, HW, packed[pl], wa, wb, pkA, pkB);
          addSplit(pkA, HW, scale, s0, s1);
          addSplit(pkB, HW, scale, s2, s3);
        }
      }
      finish(c, s, ram, mainOut, rules, b, 2 * p, s0, 0);
      if (2 * p + 1 < OC) finish(c, s, ram, mainOut, rules, b, 2 * p + 1, s1, 0);
      if (q !== p) {
        finish(c, s, ram, mainOut, rules, b, 2 * q, s2, 0);
        if (2 * q + 1 < OC) finish(c, s, ram, mainOut, rules, b, 2 * q + 1, s3, 0);
      }
    }
  }
}
