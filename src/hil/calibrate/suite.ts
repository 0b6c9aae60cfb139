/**
 * The calibration suite: small kmodel v3 files, written by kpusim's builder (plan → quantise → emit),
 * each isolating a few parameters of the timing model (src/kpu/timing/params.ts), so that board
 * times of the whole suite determine every parameter it reaches:
 *
 * - KPU convs over the shapes of Sipeed's sweep (3×3, 128→128, maps 4×4 … 64×64) and of the real
 *   models (1×1 and 3×3, depthwise, channel counts 8 … 512, the three row layouts: w ≤ 16, ≤ 32 and
 *   > 32), weight loads of one to several chunks, small maps with many input channels (where the
 *   weight fetch, not the line stream, sets the pace), and the pool types the builder emits (1, 5,
 *   6, 9; the timing model prices every pool type alike);
 * - the input upload of several sizes, by DMA (width a multiple of 64) and by CPU copy, and KPU
 *   results of several sizes sent to main memory (the v3 DMA output);
 * - every CPU layer type the builder emits, each at two sizes (so its fixed and per-unit costs
 *   separate): DEQUANTIZE, CHANNELWISE_DEQUANTIZE, QUANTIZE, QUANTIZED_RESIZE_NEAREST_NEIGHBOR,
 *   QUANTIZED_CONCAT, K210_UPLOAD, GLOBAL_AVERAGE_POOL2D, FULLY_CONNECTED, ADD,
 *   L2_NORMALIZATION, K210_ADD_PADDING, K210_REMOVE_PADDING.
 *
 * Models with one conv, two convs and three convs separate the per-launch cost from the per-run
 * overhead. Weights are pseudo-random (timing does not depend on values). Not covered, because the
 * builder writes only kmodel v3 with 8-bit weights: 16-bit weights, pool types 2/3/4/7/8, and the
 * nncase 0.2 (v4) runtime's CPU ops and CPU download; their parameters keep the built-in values and
 * the fit reports them as not fitted.
 */
import type { Activation } from '../../builder/graph.js';
import { emitKmodelV3 } from '../../builder/emit.js';
import { tensor3, type Tensor3 } from '../../builder/float-eval.js';
import { poolOutput, type KpuConvOp, type Plan, type PlanOp, type PlanTensor } from '../../builder/plan.js';
import { quantizePlan } from '../../builder/quantize.js';

export interface SuiteModel {
  /** Short unique name, also the file name on the board (`<name>.kmodel`). */
  readonly name: string;
  /** What the case isolates, for the report. */
  readonly group: 'kpu' | 'upload' | 'download' | 'cpu';
  readonly kmodel: Uint8Array;
  /** The model input (u8, planar): `forward` takes a c-channel w×h image. */
  readonly input: { readonly c: number; readonly h: number; readonly w: number };
}

const RELU: Activation = Object.freeze({ fn: 'relu' });

/** A deterministic pseudo-random sequence in [−0.5, 0.5) (timing does not depend on values). */
function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

export interface ConvSpec {
  readonly oc: number;
  readonly k: 1 | 3;
  readonly dw?: boolean;
  readonly pool?: number;
  /** Also send the result to main memory (the v3 DMA output). */
  readonly main?: boolean;
}

/** A small plan under construction. */
export class PlanBuilder {
  readonly tensors: PlanTensor[] = [];
  readonly ops: PlanOp[] = [];
  private readonly rnd: () => number;
  readonly input: number;

  constructor(
    readonly name: string,
    c: number,
    h: number,
    w: number,
  ) {
    this.rnd = lcg(name.split('').reduce((a, ch) => Math.imul(a, 31) + ch.charCodeAt(0), 7));
    this.input = this.tensor('input', c, h, w, 'kpu', 'u8', true);
  }

  tensor(name: string, c: number, h: number, w: number, memory: 'kpu' | 'main', dtype: 'u8' | 'f32', raw = false) {
    this.tensors.push(Object.freeze({ id: this.tensors.length, name, c, h, w, memory, dtype, raw }));
    return this.tensors.length - 1;
  }

  conv(input: number, s: ConvSpec): { out: number; main?: number } {
    const x = this.tensors[input];
    const ic = x.c;
    const oc = s.dw ? ic : s.oc;
    const pool = s.pool ?? 0;
    const { h, w } = poolOutput(pool, x.h, x.w);
    const name = `conv${this.ops.length}`;
    const out = this.tensor(name, oc, h, w, 'kpu', 'u8');
    const main = s.main ? this.tensor(`${name}_main`, oc, h, w, 'main', 'u8') : undefined;
    const n = s.dw ? oc * s.k * s.k : oc * ic * s.k * s.k;
    // Weights scaled so that outputs stay in range whatever the fan-in.
    const fan = s.dw ? s.k * s.k : ic * s.k * s.k;
    const weights = Float64Array.from({ length: n }, () => this.rnd() / Math.sqrt(fan));
    const bias = Float64Array.from({ length: oc }, () => 0.1 * this.rnd());
    const op: KpuConvOp = {
      kind: 'kpu-conv',
      name,
      inputs: [input],
      output: out,
      ...(main !== undefined ? { mainCopy: main } : {}),
      kernel: s.k,
      depthwise: s.dw ?? false,
      weights,
      bias,
      act: RELU,
      pool,
      padValue: 0,
      perChannelOutput: false,
      identity: false,
      source: name,
    };
    this.ops.push(op);
    return { out, ...(main !== undefined ? { main } : {}) };
  }

  /** A CPU op from `input` to a new tensor of the given shape and placement. */
  cpu(
    kind: Exclude<PlanOp['kind'], 'kpu-conv' | 'fc'>,
    input: number,
    shape: { c: number; h: number; w: number },
    memory: 'kpu' | 'main',
    dtype: 'u8' | 'f32',
    extra: Record<string, unknown> = {},
  ): number {
    const out = this.tensor(`${kind}${this.ops.length}`, shape.c, shape.h, shape.w, memory, dtype);
    this.ops.push({ kind, name: `${kind}${this.ops.length}`, input, output: out, ...extra } as PlanOp);
    return out;
  }

  fc(input: number, outC: number): number {
    const nIn = this.tensors[input].c * this.tensors[input].h * this.tensors[input].w;
    const out = this.tensor(`fc${this.ops.length}`, outC, 1, 1, 'main', 'f32');
    const weights = Float64Array.from({ length: nIn * outC }, () => this.rnd() / Math.sqrt(nIn));
    const bias = Float64Array.from({ length: outC }, () => 0.1 * this.rnd());
    this.ops.push({ kind: 'fc', name: `fc${this.ops.length}`, input, output: out, weights, bias });
    return out;
  }

  build(output: number): SuiteModel['kmodel'] {
    const plan: Plan = {
      name: this.name,
      tensors: this.tensors,
      ops: this.ops,
      input: this.input,
      output,
      notes: [],
      flipped: false,
    };
    const x = this.tensors[this.input];
    const cal: Tensor3 = tensor3(x.c, x.h, x.w);
    const r = lcg(12345);
    for (let i = 0; i < cal.data.length; i++) cal.data[i] = Math.floor((r() + 0.5) * 256);
    return emitKmodelV3(quantizePlan(plan, [cal])).bytes;
  }
}

interface CaseDef {
  readonly name: string;
  readonly group: SuiteModel['group'];
  readonly make: () => { b: PlanBuilder; out: number };
}

/**
 * A conv model: `first` from the 3-channel input, then `rest` (the measured layers, `times` over),
 * then a 1×1 conv to 2 channels (2×2 max pool where the map allows) sends a small result to main
 * memory, so the measured layers, not the output DMA, dominate the case. With `direct` the last
 * measured layer sends its own result to main memory (the download cases).
 */
function convCase(
  name: string,
  input: { h: number; w: number; c?: number },
  first: ConvSpec,
  rest: readonly ConvSpec[] = [],
  opts: { group?: SuiteModel['group']; times?: number; direct?: boolean } = {},
): CaseDef {
  return {
    name,
    group: opts.group ?? 'kpu',
    make: () => {
      const b = new PlanBuilder(name, input.c ?? 3, input.h, input.w);
      const specs: ConvSpec[] = [first];
      for (let i = 0; i < (opts.times ?? 1); i++) specs.push(...rest);
      if (!opts.direct) {
        const shrunk = specs.reduce((hw, s) => poolOutput(s.pool ?? 0, hw.h, hw.w), { h: input.h, w: input.w });
        specs.push({ oc: 2, k: 1, pool: shrunk.h >= 8 && shrunk.w >= 8 ? 1 : 0 });
      }
      let t = b.input;
      let main: number | undefined;
      specs.forEach((s, i) => {
        const r = b.conv(t, { ...s, main: i === specs.length - 1 });
        t = r.out;
        main = r.main;
      });
      return { b, out: main! };
    },
  };
}

/** A model ending in CPU layers: conv 3→c at h×w to main memory, then `tail` from that u8 tensor. */
function cpuCase(name: string, c: number, h: number, w: number, tail: (b: PlanBuilder, x: number) => number): CaseDef {
  return {
    name,
    group: 'cpu',
    make: () => {
      const b = new PlanBuilder(name, 3, Math.max(h, 4), Math.max(w, 4));
      const r = b.conv(b.input, { oc: c, k: 1, main: true });
      return { b, out: tail(b, r.main!) };
    },
  };
}

const deq = (b: PlanBuilder, x: number) => {
  const t = b.tensors[x];
  return b.cpu('dequantize', x, t, 'main', 'f32');
};

function caseDefs(size: 'full' | 'small'): CaseDef[] {
  const full = size === 'full';
  const defs: CaseDef[] = [];
  // --- KPU convs ---
  // Sipeed's sweep: 3×3 128→128 (16-bit in Sipeed's post; 8-bit here), after a 1×1 3→128.
  const sweep = full ? [4, 8, 16, 32, 64] : [4, 8];
  for (const s of sweep)
    defs.push(convCase(`sweep3x3_128_${s}x${s}`, { h: s, w: s }, { oc: 128, k: 1 }, [{ oc: 128, k: 3 }]));
  // Channel classes and the three row layouts (w ≤ 16: 4 channels per line, ≤ 32: 2, > 32: ceil(w/64) lines per row).
  const maps: [number, number][] = full
    ? [
        [8, 8],
        [20, 15],
        [40, 30],
        [80, 60],
        [64, 64],
      ]
    : [
        [8, 8],
        [20, 15],
        [40, 30],
      ];
  const chans = full ? [8, 32, 128] : [8, 32];
  for (const [w, h] of maps) {
    for (const c of chans) {
      defs.push(convCase(`conv1x1_${c}_${w}x${h}`, { h, w }, { oc: c, k: 1 }, [{ oc: c, k: 1 }], { times: 2 }));
      defs.push(convCase(`conv3x3_${c}_${w}x${h}`, { h, w }, { oc: c, k: 1 }, [{ oc: c, k: 3 }], { times: 2 }));
      defs.push(convCase(`dw3x3_${c}_${w}x${h}`, { h, w }, { oc: c, k: 1 }, [{ oc: c, k: 3, dw: true }], { times: 4 }));
    }
  }
  // Many input channels on a small map: the weight fetch sets the pace.
  defs.push(convCase('fetch3x3_256_4x4', { h: 4, w: 4 }, { oc: 256, k: 1 }, [{ oc: 32, k: 3 }]));
  defs.push(convCase('fetch3x3_512_4x4', { h: 4, w: 4 }, { oc: 512, k: 1 }, [{ oc: 16, k: 3 }]));
  // Weight loads of several chunks (30 KiB each): 3×3 64→64 = 36 KiB, 128→128 = 144 KiB, 1×1 256→256 = 64 KiB.
  defs.push(convCase('chunks3x3_64', { h: 8, w: 8 }, { oc: 64, k: 1 }, [{ oc: 64, k: 3 }]));
  defs.push(convCase('chunks3x3_128', { h: 8, w: 8 }, { oc: 128, k: 1 }, [{ oc: 128, k: 3 }]));
  defs.push(convCase('chunks1x1_256', { h: 8, w: 8 }, { oc: 256, k: 1 }, [{ oc: 256, k: 1 }]));
  // Pool types the builder emits, on the 3-channel input itself: one packed channel group, so the
  // pooling unit's cost per row line is a large share of the layer's time.
  for (const pool of [1, 5, 6, 9]) {
    defs.push(convCase(`pool${pool}_3_16x240`, { h: 240, w: 16 }, { oc: 16, k: 1, pool }));
    defs.push(convCase(`pool${pool}_3_16x64`, { h: 64, w: 16 }, { oc: 32, k: 1, pool }));
  }
  // One, two and three launches of the same small layer: the per-launch cost against the per-run overhead.
  for (const n of [1, 2, 3]) {
    const rest = Array.from({ length: n - 1 }, () => ({ oc: 8, k: 1 as const }));
    defs.push(convCase(`launches${n}`, { h: 8, w: 8 }, { oc: 8, k: 1 }, rest, { direct: true }));
  }
  // --- uploads: DMA (w % 64 = 0) and CPU copy, several sizes; a tiny conv so the upload dominates ---
  const uploads: [number, number][] = full
    ? [
        [64, 16],
        [128, 64],
        [320, 192],
        [40, 16],
        [100, 60],
        [320, 240],
      ]
    : [
        [64, 16],
        [128, 32],
        [40, 16],
        [100, 30],
      ];
  for (const [w, h] of uploads)
    defs.push(convCase(`upload_${w}x${h}`, { h, w }, { oc: 4, k: 1, pool: 1 }, [], { group: 'upload', direct: true }));
  // --- downloads: conv results of several sizes to main memory (the input kept small) ---
  const downs = full ? [16, 64, 256] : [16, 64];
  for (const c of downs)
    defs.push(
      convCase(`download_${c}_32x32`, { h: 32, w: 32 }, { oc: c, k: 1 }, [], { group: 'download', direct: true }),
    );
  // --- CPU layers, two sizes each ---
  const sizes: [number, number, number][] = full
    ? [
        [8, 8, 8],
        [32, 30, 40],
      ]
    : [
        [4, 8, 8],
        [16, 20, 20],
      ];
  for (const [c, h, w] of sizes) {
    const tag = `${c}x${h}x${w}`;
    defs.push(cpuCase(`dequantize_${tag}`, c, h, w, (b, x) => deq(b, x)));
    defs.push(
      cpuCase(`chdequantize_${tag}`, c, h, w, (b, x) =>
        b.cpu('dequantize', x, b.tensors[x], 'main', 'f32', {
          signs: Int8Array.from({ length: c }, (_, i) => (i % 2 ? -1 : 1)),
        }),
      ),
    );
    defs.push(cpuCase(`quantize_${tag}`, c, h, w, (b, x) => b.cpu('quantize', deq(b, x), b.tensors[x], 'main', 'u8')));
    defs.push(cpuCase(`resize_${tag}`, c, h, w, (b, x) => b.cpu('resize', x, { c, h: 2 * h, w: 2 * w }, 'main', 'u8')));
    defs.push(cpuCase(`concat_${tag}`, c, h, w, (b, x) => b.cpu('flip', x, b.tensors[x], 'main', 'u8')));
    defs.push(
      cpuCase(`kpuupload_${tag}`, c, h, w, (b, x) => {
        const up = b.cpu('upload', x, b.tensors[x], 'kpu', 'u8');
        return b.conv(up, { oc: 4, k: 1, main: true }).main!;
      }),
    );
    defs.push(
      cpuCase(`kpuupload64_${c}x${h}`, c, h, 64, (b, x) => {
        const up = b.cpu('upload', x, b.tensors[x], 'kpu', 'u8');
        return b.conv(up, { oc: 4, k: 1, main: true }).main!;
      }),
    );
    defs.push(cpuCase(`gap_${tag}`, c, h, w, (b, x) => b.cpu('gap', deq(b, x), { c, h: 1, w: 1 }, 'main', 'f32')));
    defs.push(
      cpuCase(`fc_${tag}`, c, h, w, (b, x) => b.fc(b.cpu('gap', deq(b, x), { c, h: 1, w: 1 }, 'main', 'f32'), 4 * c)),
    );
    defs.push(cpuCase(`add_${tag}`, 2 * c, h, w, (b, x) => b.cpu('fold', deq(b, x), { c, h, w }, 'main', 'f32')));
    defs.push(cpuCase(`l2norm_${tag}`, c, h, w, (b, x) => b.cpu('l2norm', deq(b, x), b.tensors[x], 'main', 'f32')));
    // K210_ADD_PADDING / K210_REMOVE_PADDING: a vector to pixel (0, 0) of 4×4 maps and back.
    defs.push(
      cpuCase(`padding_${c * 4}`, c * 4, 4, 4, (b, x) => {
        const v = b.cpu('unpad-vector', x, { c: c * 4, h: 1, w: 1 }, 'main', 'u8');
        const p = b.cpu('pad-vector', v, { c: c * 4, h: 4, w: 4 }, 'kpu', 'u8');
        return b.conv(p, { oc: 4, k: 1, main: true }).main!;
      }),
    );
  }
  return defs;
}

/** The suite's models, built (a few seconds for the full suite). */
export function calibrationSuite(size: 'full' | 'small' = 'full'): SuiteModel[] {
  return caseDefs(size).map((d) => {
    const { b, out } = d.make();
    const x = b.tensors[b.input];
    return { name: d.name, group: d.group, kmodel: b.build(out), input: { c: x.c, h: x.h, w: x.w } };
  });
}
