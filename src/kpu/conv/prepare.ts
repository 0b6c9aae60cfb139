/**
 * Validation and precomputation of one KPU conv layer (kpu-numerics §6, corrected by §10). Every
 * semantic check happens here, once; `runKpuConv` and `runKpuConvReference` then run blind.
 *
 * Exactness plan for the fast path (design "Numbers that bite"): JavaScript Numbers are exact
 * integers below 2^53. For every output channel this file computes, in BigInt, the range the
 * accumulator, the batch-norm product and the activation product can reach for ANY input map,
 * and marks the channel `exact` only when |acc·norm_mul| < 2^52 and |t| < 2^51 (`channelIsExact`).
 * Unmarked channels take a per-element BigInt path in the fast engine. With field widths as
 * decoded, the accumulator itself always fits (|acc| < 5.7·10^15 < 2^53, see `prepareFast`), so
 * only the batch-norm and activation stages can ever need BigInt. All 849 conv layers of the
 * shared kmodel corpus are exact on every channel.
 */
import { KpuFault } from '../../errors.js';
import type { KpuConvGeometry, KpuConvParams } from '../../kmodel-parser/model.js';
import { kpuConvGeometry } from '../../kmodel-parser/model.js';
import { AI_SRAM_BYTES } from '../../chip.js';
import { kpuRowLayout, kpuRows, type RowLayout } from '../layout.js';

/** Where the goldens' reference (nncase 0.2) and the older nncase 0.1 / SDK rules differ (kpu-numerics §6.4). */
export interface KpuNumerics {
  /**
   * nncase02: "banker" variant of kpu-numerics §6.4 step 3 (the golden default); nncase01: SDK `kpu_carry_shift`, round
   * half up.
   */
  activationRounding: 'nncase02' | 'nncase01';
  /** strict: the highest segment with bn > start_x (golden default); inclusive: bn ≥ start_x (nncase 0.1). */
  segmentBoundary: 'strict' | 'inclusive';
  /**
   * Which implementation runs the layer; results are identical (fast-check and the goldens hold
   * every engine to the reference). Default: 'wasm' (WebAssembly SIMD) where this JavaScript
   * engine compiles it, else 'js' (the TypeScript kernels).
   */
  kernel?: KpuKernel;
}

export type KpuKernel = 'wasm' | 'js';

/** nncase 0.2 rules: they reproduce every golden, v3 models included (kpu-numerics §10 C10). */
export const GOLDEN_NUMERICS: KpuNumerics = Object.freeze({
  activationRounding: 'nncase02',
  segmentBoundary: 'strict',
});
/** The nncase 0.1 C# emulator / SDK rules, for comparison runs. */
export const NNCASE01_NUMERICS: KpuNumerics = Object.freeze({
  activationRounding: 'nncase01',
  segmentBoundary: 'inclusive',
});

/** A feature map in AI SRAM: byte address, total bytes of all batch items, lines per item. */
export interface KpuMapRegion {
  readonly address: number;
  readonly bytes: number;
  readonly rowsPerBatch: number;
  /** N, C, H, W */
  readonly shape: readonly [number, number, number, number];
}

/** Pool window and stride per pool_type (kpu-numerics §6.6); `size` 1 for bypass and the select types. */
export const POOL_GEOMETRY: readonly { readonly size: number; readonly stride: number }[] = [
  { size: 1, stride: 1 }, // 0 bypass
  { size: 2, stride: 2 }, // 1 max_2_s2
  { size: 2, stride: 2 }, // 2 mean_2_s2
  { size: 4, stride: 4 }, // 3 max_4_s4
  { size: 4, stride: 4 }, // 4 mean_4_s4
  { size: 1, stride: 2 }, // 5 left_top_2_s2
  { size: 1, stride: 2 }, // 6 right_top_2_s2
  { size: 1, stride: 4 }, // 7 left_top_4_s4
  { size: 2, stride: 1 }, // 8 mean_2_s1
  { size: 2, stride: 1 }, // 9 max_2_s1
];

/** The JavaScript kernels' copies of a layer's weights. */
export interface JsWeightPlanes {
  /** Weight values as 8-bit planes, source order ([o][c][ky][kx], depthwise [o][ky][kx]):
   *  one plane for 8-bit weights; [low byte, high byte] for 16-bit weights (w = 256·hi + lo). */
  readonly planes: readonly Int32Array[];
  /**
   * Non-depthwise layers: the same planes with output channels 2p and 2p+1 packed into one double,
   * w[2p] + 2^26·w[2p+1] (a missing last channel packs as 0), so one multiply-add accumulates both
   * channels. Exact as long as each channel's partial sum stays below 2^26 — then the low part never
   * carries into the high part and S_low + 2^26·S_high < 2^53 — which the kernels guarantee by
   * summing at most `packChunk` input channels before splitting the halves apart. Empty for
   * depthwise layers.
   */
  readonly packed: readonly Float64Array[];
}

/** State of the fast engine: packed parameters, exactness flags and reusable scratch. */
export interface KpuConvFastState {
  /** kpu-numerics §6.8 row layouts of the input and output maps. */
  readonly inLayout: RowLayout;
  readonly outLayout: RowLayout;
  /**
   * The JavaScript kernels' weight planes (`jsWeightPlanes`), made on their first run: the
   * WebAssembly engine packs its own from the layer's weight bytes, and copies of a large model's
   * weights (one Int32Array, one Float64Array per byte plane) are most of what preparing it costs.
   */
  jsPlanes?: JsWeightPlanes;
  /**
   * Input channels per packed partial sum: floor((2^26 − 1) / (255·255·K²)), i.e. 114 for 3×3 and
   * 1032 for 1×1 (so a 1×1 layer, ≤ 1024 channels, is always one chunk). Per plane a chunk sums
   * S ≤ 255·255·K²·chunk < 2^26 for any weights and input.
   */
  readonly packChunk: number;
  /** Per output channel: floor(arg_w·SW >> shr_w) + arg_add·G, exact (< 2^53). */
  readonly constTerm: Float64Array;
  readonly bnMul: Float64Array;
  /** 2^−norm_shift: multiplying by it is exact, and floor() of the result is the arithmetic shift. */
  readonly bnScale: Float64Array;
  readonly bnAdd: Float64Array;
  /** 1 when every intermediate of bn and activation is proven exact in Number for this channel. */
  readonly exact: Uint8Array;
  readonly exactChannels: number;
  readonly actStart: Float64Array;
  /** start_x is non-decreasing over the 16 segments (true of every real table, kpu-numerics §10 C9). */
  readonly actSorted: boolean;
  readonly actMul: Float64Array;
  /** 2^−shift: t·2^−shift is exact (a power-of-two scaling, no underflow for shift ≤ 255). */
  readonly actScale: Float64Array;
  readonly actBias: Float64Array;
  /** Per output channel: the accumulator's range over every possible input map (padding included), exact (< 2^53). */
  readonly accLo: Float64Array;
  readonly accHi: Float64Array;
  /** BigInt copies for the channels that are not `exact` (made when first read). */
  readonly big: {
    readonly bnMul: readonly bigint[];
    readonly bnShift: readonly bigint[];
    readonly bnAdd: readonly bigint[];
    readonly actStart: readonly bigint[];
    readonly actMul: readonly bigint[];
    readonly actShift: readonly number[];
    readonly actBias: readonly bigint[];
    /** Per output channel: the accumulator's range over every possible input map (padding included). */
    readonly accLo: readonly bigint[];
    readonly accHi: readonly bigint[];
  };
  /** Scratch, allocated on the first run and reused (`run` allocates nothing afterwards). */
  scratch?: KpuConvScratch;
  /** The WebAssembly engine's packed weights, tables and memory plan (src/kpu/conv/wasm.ts), built on its first run. */
  wasm?: unknown;
}

export interface KpuConvScratch {
  /** All batches of the input as channel planes; 3×3 planes are padded by one pixel of pad_value. */
  readonly input: Uint8Array;
  readonly inputStride: number;
  /** Packed kernel accumulators of pairs A and B (non-depthwise). */
  readonly pkA: Float64Array;
  readonly pkB: Float64Array;
  /** Depthwise kernel results of the low and high weight planes. */
  readonly dwLo: Int32Array;
  readonly dwHi: Int32Array;
  /** S of up to four output channels, exact integers < 2^38 (when not read straight from pkA/pkB). */
  readonly s: readonly Float64Array[];
  readonly sx: Int32Array;
  readonly tx: Float64Array;
  readonly act: Uint8Array;
  readonly pooled: Uint8Array;
}

export interface PreparedKpuConv {
  readonly where: { readonly layer: number; readonly type: string };
  readonly params: KpuConvParams;
  readonly geometry: KpuConvGeometry;
  readonly batches: number;
  readonly kernel: 1 | 3;
  readonly depthwise: boolean;
  /** Input channels summed per output channel (IC, or 1 when depthwise). */
  readonly groupChannels: number;
  readonly poolType: number;
  readonly poolStride: number;
  readonly weightBits: 8 | 16;
  /** Bytes of weights the layer uses (OC·G·K²·bytesPerWeight). */
  readonly weightBytes: number;
  readonly padValue: number;
  readonly argX: number;
  readonly shrX: number;
  readonly argW: number;
  readonly shrW: number;
  /** Signed 40-bit, exact as a Number. */
  readonly argAdd: number;
  readonly input: KpuMapRegion;
  readonly output: KpuMapRegion;
  /** Bytes of the dense N×OC×OH×OW copy (`mainOut`). */
  readonly denseOutputBytes: number;
  /** Multiply-accumulates of one run, all batches (N·OC·H·W·G·K²). */
  readonly macs: number;
  /** Register fields the reference ignores but that look unusual (kpu-numerics §5.2, §9 item 7). */
  readonly warnings: readonly string[];
  readonly fast: KpuConvFastState;
}

/** Spacing of two output channels packed in one double (see JsWeightPlanes.packed). */
export const PACK = 2 ** 26;
const TWO53 = 1n << 53n;
const abs = (v: bigint): bigint => (v < 0n ? -v : v);
const bmin = (a: bigint, b: bigint): bigint => (a < b ? a : b);
const bmax = (a: bigint, b: bigint): bigint => (a > b ? a : b);

export function poolOutputSize(size: number, poolType: number): number {
  return Math.floor(size / POOL_GEOMETRY[poolType].stride);
}

/**
 * Validates the layer and precomputes everything the two engines need. Throws KpuFault with
 * phase 'prepare' naming the layer (and address/size for memory faults).
 */
export function prepareKpuConv(
  p: KpuConvParams,
  batches: number,
  where: { layer: number; type: string },
): PreparedKpuConv {
  const ctx = { layer: where.layer, type: where.type };
  const fault = (
    code: 'BAD_LAYER' | 'UNSUPPORTED' | 'OUT_OF_RANGE',
    detail: string,
    extra: { address?: number; size?: number } = {},
  ): never => {
    throw new KpuFault(code, detail, { ...ctx, ...extra }, 'prepare');
  };
  const a = p.arg;
  const g = kpuConvGeometry(a);
  if (!Number.isSafeInteger(batches) || batches < 1)
    fault('BAD_LAYER', `batch count ${batches} is not a positive integer`);
  if (a.kernel_type !== 0 && a.kernel_type !== 1)
    fault('UNSUPPORTED', `kernel_type ${a.kernel_type} (only 0 = 1×1 and 1 = 3×3 exist)`);
  if (a.pool_type > 9) fault('UNSUPPORTED', `pool_type ${a.pool_type} (0..9 are defined)`);
  if (p.weightBits !== 8 && p.weightBits !== 16) fault('BAD_LAYER', `weight width ${String(p.weightBits)} bits`);
  const {
    inChannels: IC,
    outChannels: OC,
    inWidth: W,
    inHeight: H,
    outWidth: OW,
    outHeight: OH,
    kernel: K,
    depthwise,
  } = g;
  const pool = POOL_GEOMETRY[a.pool_type];
  const expOW = poolOutputSize(W, a.pool_type);
  const expOH = poolOutputSize(H, a.pool_type);
  if (expOW < 1 || expOH < 1)
    fault('BAD_LAYER', `${W}×${H} input is smaller than the stride ${pool.stride} of pool_type ${a.pool_type}`);
  if (OW !== expOW || OH !== expOH) {
    fault(
      'BAD_LAYER',
      `output ${OW}×${OH} does not match pool_type ${a.pool_type} on a ${W}×${H} input (expected ${expOW}×${expOH})`,
    );
  }
  if (depthwise && IC !== OC)
    fault('BAD_LAYER', `depthwise layer with ${IC} input and ${OC} output channels (they must be equal)`);
  const G = depthwise ? 1 : IC;
  const K2 = K * K;
  const bytesPerWeight = p.weightBits / 8;
  const nWeights = OC * G * K2;
  const weightBytes = nWeights * bytesPerWeight;
  if (p.weights.length < weightBytes) {
    fault(
      'BAD_LAYER',
      `weights have ${p.weights.length} bytes, ${OC}×${G}×${K}×${K} ${p.weightBits}-bit weights need ${weightBytes}`,
    );
  }
  if (p.batchNorm.length < OC)
    fault('BAD_LAYER', `batch-norm table has ${p.batchNorm.length} entries for ${OC} output channels`);
  if (p.activation.length !== 16)
    fault('BAD_LAYER', `activation table has ${p.activation.length} segments (16 expected)`);

  const rowsIn = kpuRows(W, H, IC);
  const rowsOut = kpuRows(OW, OH, OC);
  const input: KpuMapRegion = {
    address: a.image_src_addr * 64,
    bytes: batches * rowsIn * 64,
    rowsPerBatch: rowsIn,
    shape: [batches, IC, H, W],
  };
  const output: KpuMapRegion = {
    address: a.image_dst_addr * 64,
    bytes: batches * rowsOut * 64,
    rowsPerBatch: rowsOut,
    shape: [batches, OC, OH, OW],
  };
  for (const [what, r] of [
    ['input map', input],
    ['output map', output],
  ] as const) {
    if (r.address + r.bytes > AI_SRAM_BYTES) {
      fault(
        'OUT_OF_RANGE',
        `${what} ${r.shape.join('×')} at AI SRAM byte ${r.address} needs ${r.bytes} bytes and ends at ${r.address + r.bytes}, past the ${AI_SRAM_BYTES}-byte AI SRAM`,
        { address: r.address, size: r.bytes },
      );
    }
  }

  const warnings: string[] = [];
  for (const f of ['ram_flag', 'full_add', 'first_stride', 'bypass_conv'] as const) {
    if (a[f] !== 0) warnings.push(`${f} = ${a[f]} is set; its meaning is unknown and the reference ignores it`);
  }
  const li = kpuRowLayout(W);
  const lo = kpuRowLayout(OW);
  const regs: [string, number, number][] = [
    ['row_switch_addr', a.row_switch_addr, li.rowLen],
    ['coef_group', a.coef_group, li.groups],
    ['channel_switch_addr', a.channel_switch_addr, li.rowLen * H],
    ['wb_row_switch_addr', a.wb_row_switch_addr, lo.rowLen],
    ['wb_group', a.wb_group, lo.groups],
    ['wb_channel_switch_addr', a.wb_channel_switch_addr, lo.rowLen * OH],
  ];
  for (const [name, got, want] of regs) {
    if (got !== want)
      warnings.push(
        `${name} = ${got} but the ${name.startsWith('wb') ? 'output' : 'input'} width implies ${want}; the width-derived layout is used (kpu-numerics §10 C12)`,
      );
  }

  // The fast engines' state is made on first use: a model loaded but never run (MaixPy scripts
  // load models they may not run) pays only for validation. Its one fault is raised here when the
  // cheap bound cannot rule it out, so every fault a layer can raise is still raised by prepare.
  let fast = accumulatorMayOverflow(p, G, K2) ? prepareFast(p, g, G, K2, ctx) : undefined;
  const prepared: PreparedKpuConv = {
    where: { layer: where.layer, type: where.type },
    params: p,
    geometry: g,
    batches,
    kernel: K,
    depthwise,
    groupChannels: G,
    poolType: a.pool_type,
    poolStride: pool.stride,
    weightBits: p.weightBits,
    weightBytes,
    padValue: a.pad_value,
    argX: a.arg_x,
    shrX: a.shr_x,
    argW: a.arg_w,
    shrW: a.shr_w,
    argAdd: a.arg_add,
    input,
    output,
    denseOutputBytes: batches * OC * OH * OW,
    macs: batches * OC * H * W * G * K2,
    warnings,
    get fast(): KpuConvFastState {
      return (fast ??= prepareFast(p, g, G, K2, ctx));
    },
  };
  return prepared;
}

/**
 * False when no output channel's accumulator bound can reach 2^53, the one fault `prepareFast`
 * raises: a bound over every channel from the register fields alone, in doubles. Each term is
 * below 2^53 in magnitude and rounds by at most a relative 2^−53, so a computed sum below 2^52
 * proves the exact bound below 2^53. (With decoded register fields it always is; see prepareFast.)
 */
function accumulatorMayOverflow(p: KpuConvParams, G: number, K2: number): boolean {
  const a = p.arg;
  // Σ of one channel's weights: G·K² weights of at most 255 (8-bit) or 65535 (16-bit)
  const swMax = G * K2 * (p.weightBits === 8 ? 255 : 65535);
  const c = Math.abs(a.arg_w) * swMax * 2 ** -a.shr_w + 1 + Math.abs(a.arg_add) * G;
  const tx = Math.abs(a.arg_x) * 255 * G * K2 * 2 ** -a.shr_x + 1;
  return !(c + 255 * swMax + tx < 2 ** 52);
}

function prepareFast(
  p: KpuConvParams,
  g: KpuConvGeometry,
  G: number,
  K2: number,
  ctx: { layer: number; type: string },
): KpuConvFastState {
  const a = p.arg;
  const OC = g.outChannels;
  // Σ of the weights of channel o: ≤ 1024·9·65535 < 2^30 (w = lo + 256·hi for 16-bit weights)
  const sw = new Float64Array(OC);
  const w = p.weights;
  const per = G * K2;
  const step = p.weightBits === 8 ? 1 : 2;
  for (let o = 0; o < OC; o++) {
    const at = o * per * step;
    const end = at + per * step;
    // (integer sums below 2^53: exact in any order)
    sw[o] = step === 1 ? byteSum(w, at, end, 1) : byteSum(w, at, end, 2) + 256 * byteSum(w, at + 1, end, 2);
  }
  const packChunk = Math.floor((PACK - 1) / (255 * 255 * K2));

  const segs = p.activation;
  const actStart = new Float64Array(16);
  const actMul = new Float64Array(16);
  const actScale = new Float64Array(16);
  const actBias = new Float64Array(16);
  for (let k = 0; k < 16; k++) {
    const s = segs[k];
    actStart[k] = s.x_start;
    actMul[k] = s.y_mul;
    actScale[k] = 2 ** -s.shift_number;
    actBias[k] = s.bias;
  }

  // Accumulator bounds over every possible input (x ∈ [0, 255], padding included):
  //   S  = Σ x·w           ∈ [0, 255·SW]                       (weights are unsigned)
  //   Tx = (arg_x·SX) >> shr_x, SX ∈ [0, 255·G·K²], monotone in SX, so between Tx(0) = 0 and Tx(max)
  //   C  = (arg_w·SW) >> shr_w + arg_add·G                    (constant per channel)
  // |S| ≤ 1024·9·255·65535 ≈ 2^37.2, |Tx| ≤ 2^23·2^21.2 ≈ 2^44.2, |C| ≤ 2^23·2^29.2 + 2^39·2^10 ≈ 2^52.3,
  // so |acc| < 5.7·10^15 < 2^53 for every layer the registers can describe: Number-exact.
  const txMax = (BigInt(a.arg_x) * BigInt(255 * G * K2)) >> BigInt(a.shr_x);
  const txLo = bmin(0n, txMax);
  const txHi = bmax(0n, txMax);
  const constTerm = new Float64Array(OC);
  const bnMul = new Float64Array(OC);
  const bnScale = new Float64Array(OC);
  const bnAdd = new Float64Array(OC);
  const accLoA = new Float64Array(OC);
  const accHiA = new Float64Array(OC);
  const exact = new Uint8Array(OC);
  const xs = segs.map((s) => s.x_start);
  const ym = segs.map((s) => s.y_mul);
  // whether the table's fields are within their register widths (the same for every channel)
  const fit = fieldsFit(xs, ym);
  // Below the bound of `accumulatorMayOverflow` (2^52), every term and partial sum of C, accLo and
  // accHi is an integer below 2^52 in magnitude, and so is arg_w·Σw before its scaling by 2^−shr_w:
  // the doubles below are exact. Otherwise BigInt.
  const inDoubles =
    !accumulatorMayOverflow(p, G, K2) && Math.abs(a.arg_w) * G * K2 * (p.weightBits === 8 ? 255 : 65535) < 2 ** 52;
  const argWn = a.arg_w * 2 ** -a.shr_w;
  const argAddGn = a.arg_add * G;
  const txLoN = Number(txLo);
  const txHiN = Number(txHi);
  const argW = BigInt(a.arg_w);
  const argAddG = BigInt(a.arg_add) * BigInt(G);
  let exactChannels = 0;
  for (let o = 0; o < OC; o++) {
    const bn = p.batchNorm[o];
    if (inDoubles) {
      // floor(arg_w·Σw·2^−shr_w) is the arithmetic shift: the product is exact and the scaling a power of two
      const c = Math.floor(argWn * sw[o]) + argAddGn;
      constTerm[o] = c;
      accLoA[o] = c + txLoN;
      accHiA[o] = c + 255 * sw[o] + txHiN;
    } else {
      const swo = BigInt(sw[o]);
      const c = ((argW * swo) >> BigInt(a.shr_w)) + argAddG;
      const accLo = c + txLo;
      const accHi = c + 255n * swo + txHi;
      if (abs(accLo) >= TWO53 || abs(accHi) >= TWO53) {
        // Unreachable with decoded register fields (see above); kept as a guard for hand-made params.
        throw new KpuFault(
          'UNSUPPORTED',
          `output channel ${o}: accumulator bound ${accHi} exceeds 2^53`,
          ctx,
          'prepare',
        );
      }
      constTerm[o] = Number(c);
      accLoA[o] = Number(accLo);
      accHiA[o] = Number(accHi);
    }
    bnMul[o] = bn.norm_mul;
    bnScale[o] = 2 ** -bn.norm_shift;
    bnAdd[o] = bn.norm_add;
    if (channelIsExact(accLoA[o], accHiA[o], bn.norm_mul, bn.norm_shift, bn.norm_add, xs, ym, fit)) {
      exact[o] = 1;
      exactChannels++;
    }
  }
  let big: KpuConvFastState['big'] | undefined;
  return {
    inLayout: kpuRowLayout(g.inWidth),
    outLayout: kpuRowLayout(g.outWidth),
    packChunk,
    constTerm,
    bnMul,
    bnScale,
    bnAdd,
    exact,
    exactChannels,
    actStart,
    actSorted: segs.every((sg, k) => k === 0 || segs[k - 1].x_start <= sg.x_start),
    actMul,
    actScale,
    actBias,
    accLo: accLoA,
    accHi: accHiA,
    get big() {
      return (big ??= {
        bnMul: p.batchNorm.slice(0, OC).map((e) => BigInt(e.norm_mul)),
        bnShift: p.batchNorm.slice(0, OC).map((e) => BigInt(e.norm_shift)),
        bnAdd: p.batchNorm.slice(0, OC).map((e) => BigInt(e.norm_add)),
        actStart: segs.map((s) => BigInt(s.x_start)),
        actMul: segs.map((s) => BigInt(s.y_mul)),
        actShift: segs.map((s) => s.shift_number),
        actBias: segs.map((s) => BigInt(s.bias)),
        accLo: Array.from(accLoA, (v) => BigInt(v)),
        accHi: Array.from(accHiA, (v) => BigInt(v)),
      });
    },
  };
}

/**
 * Σ of w[i] for i = from, from + step, … below `to`: a small function of its own, which V8 optimises
 * after a few channels (a loop inside prepareFast waited for on-stack replacement on a layer's
 * first run).
 */
function byteSum(w: Uint8Array, from: number, to: number, step: number): number {
  let s = 0;
  for (let i = from; i < to; i += step) s += w[i];
  return s;
}

/** The JavaScript kernels' weight planes of a layer (`JsWeightPlanes`), made on first use and kept. */
export function jsWeightPlanes(c: PreparedKpuConv): JsWeightPlanes {
  const f = c.fast;
  if (f.jsPlanes) return f.jsPlanes;
  const w = c.params.weights;
  const OC = c.geometry.outChannels;
  const per = c.groupChannels * c.kernel * c.kernel;
  const n = OC * per;
  const lo = new Int32Array(n);
  let hi: Int32Array | undefined;
  if (c.weightBits === 8) {
    lo.set(w.subarray(0, n));
  } else {
    hi = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      lo[i] = w[2 * i];
      hi[i] = w[2 * i + 1];
    }
  }
  const planes = hi ? [lo, hi] : [lo];
  const packed: Float64Array[] = [];
  if (!c.depthwise) {
    const pairs = Math.ceil(OC / 2);
    for (const plane of planes) {
      const pk = new Float64Array(pairs * per);
      for (let p = 0; p < pairs; p++) {
        for (let j = 0; j < per; j++) {
          const b = 2 * p + 1 < OC ? plane[(2 * p + 1) * per + j] : 0;
          pk[p * per + j] = plane[2 * p * per + j] + PACK * b;
        }
      }
      packed.push(pk);
    }
  }
  return (f.jsPlanes = { planes, packed });
}

/**
 * True when, for every acc in [accLo, accHi], the Number evaluation of bn and activation is exact
 * and nothing wraps at 64 bits:
 *  - |acc·norm_mul| < 2^52, so the product is exact, floor(·2^−shift) is the arithmetic shift, and
 *    adding the 32-bit norm_add stays below 2^53;
 *  - for every segment k that can be chosen, |t| = |bn − start_x[k]|·|y_mul[k]| < 2^51, so t is exact,
 *    y = t·2^−s is exact for any shift 0..255 (no underflow), and the rounding of y in fast.ts
 *    (nearest-even by adding 1.5·2^52, or floor(y + ½)) is exact; r + bias is then exact too.
 * A segment k ≥ 1 can only be chosen when bn ≥ start_x[k] (either boundary rule), so then
 * bn − start_x[k] ≥ 0; segment 0 is also the default when none qualifies, so it takes the full range.
 *
 * Evaluated in doubles, with the answers of exact arithmetic: accLo and accHi are integers below
 * 2^53. A product is compared with a power of two, and rounding is monotone, so |round(p)| ≥ 2^52
 * exactly when |p| ≥ 2^52; below that it is exact, and so are bn's ends (|bn| < 2^52 + 2^31) and
 * their differences with a 36-bit start_x (below 2^53). The product d·|y_mul| is compared with 2^51
 * the same way. That holds for fields within their register widths (norm_mul 24 bits, norm_shift
 * 4, norm_add 32, start_x 36, y_mul 16); hand-made fields past them are evaluated in BigInt
 * (`channelIsExactBig`, the specification, which test/kpu-load-split.test.ts holds this to).
 * `fit` is whether xs and ym are within those widths (`fieldsFit`), given by a caller that asks for
 * many channels of one table.
 */
export function channelIsExact(
  accLo: number,
  accHi: number,
  mul: number,
  shift: number,
  add: number,
  xs: readonly number[],
  ym: readonly number[],
  fit: boolean = fieldsFit(xs, ym),
): boolean {
  if (!(Math.abs(mul) <= 2 ** 23 && shift >= 0 && shift <= 15 && Math.abs(add) <= 2 ** 31 && fit))
    return channelIsExactBig(
      BigInt(accLo),
      BigInt(accHi),
      mul,
      shift,
      add,
      xs.map((x) => BigInt(x)),
      ym.map((y) => BigInt(y)),
    );
  const p1 = accLo * mul;
  const p2 = accHi * mul;
  if (Math.abs(p1) >= TWO52N || Math.abs(p2) >= TWO52N) return false;
  const s = 2 ** -shift;
  const bnLo = Math.floor(Math.min(p1, p2) * s) + add;
  const bnHi = Math.floor(Math.max(p1, p2) * s) + add;
  for (let k = 0; k < 16; k++) {
    if (ym[k] === 0) continue; // t = 0 whatever d is
    let dLo = bnLo - xs[k];
    const dHi = bnHi - xs[k];
    if (k > 0) {
      if (dHi < 0) continue; // never chosen
      dLo = Math.max(dLo, 0);
    }
    const d = Math.max(Math.abs(dLo), Math.abs(dHi));
    if (d * Math.abs(ym[k]) >= TWO51N) return false;
  }
  return true;
}

const TWO51N = 2 ** 51;
const TWO52N = 2 ** 52;

function fieldsFit(xs: readonly number[], ym: readonly number[]): boolean {
  for (let k = 0; k < 16; k++) if (!(Math.abs(xs[k]) <= 2 ** 35 && Math.abs(ym[k]) <= 2 ** 15)) return false;
  return true;
}

/** `channelIsExact` in BigInt: the specification. */
export function channelIsExactBig(
  accLo: bigint,
  accHi: bigint,
  mul: number,
  shift: number,
  add: number,
  xs: readonly bigint[],
  ym: readonly bigint[],
): boolean {
  const m = BigInt(mul);
  const p1 = accLo * m;
  const p2 = accHi * m;
  if (abs(p1) >= 2n ** 52n || abs(p2) >= 2n ** 52n) return false;
  const s = BigInt(shift);
  const bnLo = (bmin(p1, p2) >> s) + BigInt(add);
  const bnHi = (bmax(p1, p2) >> s) + BigInt(add);
  for (let k = 0; k < 16; k++) {
    if (ym[k] === 0n) continue; // t = 0 whatever d is
    let dLo = bnLo - xs[k];
    const dHi = bnHi - xs[k];
    if (k > 0) {
      if (dHi < 0n) continue; // never chosen
      dLo = bmax(dLo, 0n);
    }
    const d = bmax(abs(dLo), abs(dHi));
    if (d * abs(ym[k]) >= 2n ** 51n) return false;
  }
  return true;
}
