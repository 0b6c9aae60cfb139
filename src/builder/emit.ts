/**
 * kmodel v3 output: memory planning (AI SRAM lines, main-buffer bytes) and the file itself, laid
 * out the way the Kendryte SDK's `kpu_load_kmodel` reads it (kpu-numerics §2): a 28-byte header, the
 * output descriptors, one (type, body_size) pair per layer, then the bodies, each starting on an
 * 8-byte file position; a K210_CONV body holds its 12 register words (8-aligned), weights
 * (128-aligned), batch-norm table (128-aligned) and activation table (256-aligned), with absolute
 * file offsets in its header.
 */
import {
  encodeActivationTable,
  encodeBatchNorm,
  encodeKpuLayerArgument,
  KPU_LAYER_ARGUMENT_WORDS,
  type KpuFieldName,
  type KpuLayerArgument,
} from '../kmodel-parser/kpu-layer-argument.js';
import { kpuRowLayout, kpuRows } from '../kpu/layout.js';
import { BuildError } from './errors.js';
import { opInputs, opOutputs, type Plan, type PlanTensor } from './plan.js';
import type { QuantizedConv, QuantizedPlan, QuantParam } from './quantize.js';

/** v3 layer type values (SDK `kpu_model_layer_type_t`). */
export const V3 = {
  ADD: 1,
  GLOBAL_AVERAGE_POOL2D: 5,
  QUANTIZE: 11,
  DEQUANTIZE: 12,
  L2_NORMALIZATION: 14,
  QUANTIZED_CONCAT: 17,
  FULLY_CONNECTED: 18,
  QUANTIZED_RESIZE_NEAREST_NEIGHBOR: 23,
  CHANNELWISE_DEQUANTIZE: 24,
  K210_CONV: 10240,
  K210_ADD_PADDING: 10241,
  K210_REMOVE_PADDING: 10242,
  K210_UPLOAD: 10243,
} as const;

const AI_LINES = 32768;
const MAIN_ALIGN = 8;
const WEIGHT_CHUNK_LIMIT = 30 * 1024;

const alignUp = (x: number, a: number): number => Math.ceil(x / a) * a;

/** A growable little-endian byte writer. */
export class ByteWriter {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`u32 out of range: ${v}`);
    this.room(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
    return this;
  }
  f32(v: number): this {
    this.room(4);
    this.view.setFloat32(this.length, v, true);
    this.length += 4;
    return this;
  }
  u64(v: bigint): this {
    this.room(8);
    this.view.setBigUint64(this.length, v, true);
    this.length += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }
  /** Zero bytes up to absolute position `n`. */
  zeroTo(n: number): this {
    if (n < this.length) throw new RangeError(`cannot pad backwards (${n} < ${this.length})`);
    this.room(n - this.length);
    this.buf.fill(0, this.length, n);
    this.length = n;
    return this;
  }
  setU32(at: number, v: number): void {
    this.view.setUint32(at, v, true);
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

export interface MemoryPlan {
  /** AI SRAM line index of every KPU tensor (undefined for main tensors). */
  readonly kpuLine: readonly (number | undefined)[];
  /** Main-buffer byte offset of every main tensor. */
  readonly mainAddress: readonly (number | undefined)[];
  readonly mainBytes: number;
  /** Lines from the top of AI SRAM the plan uses (32768 − max_start_address). */
  readonly aiLines: number;
  /** Peak bytes of AI SRAM live at once. */
  readonly aiPeakBytes: number;
}

interface Block {
  members: number[];
  size: number;
  start: number;
  end: number;
}

/** First-fit placement of blocks over their lifetimes (inclusive op-index intervals). */
function place(blocks: Block[], align: number): { at: number[]; extent: number } {
  const order = blocks
    .map((_, i) => i)
    .sort((a, b) => blocks[a].start - blocks[b].start || blocks[b].size - blocks[a].size || a - b);
  const at = new Array<number>(blocks.length).fill(-1);
  let extent = 0;
  const placed: number[] = [];
  for (const i of order) {
    const b = blocks[i];
    const busy = placed
      .filter((j) => blocks[j].start <= b.end && b.start <= blocks[j].end)
      .map((j) => [at[j], at[j] + blocks[j].size] as [number, number])
      .sort((x, y) => x[0] - y[0]);
    let pos = 0;
    for (const [s, e] of busy) {
      if (pos + b.size <= s) break;
      pos = Math.max(pos, alignUp(e, align));
    }
    at[i] = pos;
    extent = Math.max(extent, pos + b.size);
    placed.push(i);
  }
  return { at, extent };
}

export function tensorBytes(t: PlanTensor): number {
  return t.c * t.h * t.w * (t.dtype === 'f32' ? 4 : 1);
}

export function planMemory(plan: Plan): MemoryPlan {
  const n = plan.tensors.length;
  const first = new Array<number>(n).fill(Infinity);
  const last = new Array<number>(n).fill(-Infinity);
  first[plan.input] = 0;
  last[plan.input] = 0;
  plan.ops.forEach((op, i) => {
    for (const t of opOutputs(op)) {
      first[t] = Math.min(first[t], i);
      last[t] = Math.max(last[t], i);
    }
    for (const t of opInputs(op)) last[t] = Math.max(last[t], i);
  });
  last[plan.output] = plan.ops.length;
  // Concatenated KPU inputs must sit side by side: group them.
  const groupOf = new Map<number, number[]>();
  const seqs = plan.ops.filter((o) => o.kind === 'kpu-conv' && o.inputs.length > 1).map((o) => [...opInputs(o)]);
  seqs.sort((a, b) => b.length - a.length);
  const groups: number[][] = [];
  for (const s of seqs) {
    const hit = groups.find((g) => s.some((t) => g.includes(t)));
    if (!hit) {
      groups.push(s);
      continue;
    }
    const at = hit.indexOf(s[0]);
    if (at < 0 || s.some((t, j) => hit[at + j] !== t)) {
      throw new BuildError(
        `${plan.name}: tensors ${s.map((t) => plan.tensors[t].name).join(', ')} must be adjacent in AI SRAM in two different orders`,
      );
    }
  }
  for (const g of groups) for (const t of g) groupOf.set(t, g);
  // AI SRAM blocks (lines).
  const kpuBlocks: Block[] = [];
  const seen = new Set<number>();
  for (const t of plan.tensors) {
    if (t.memory !== 'kpu' || seen.has(t.id)) continue;
    const members = groupOf.get(t.id) ?? [t.id];
    members.forEach((m) => seen.add(m));
    for (let j = 0; j + 1 < members.length; j++) {
      const m = plan.tensors[members[j]];
      const g = kpuRowLayout(m.w).groups;
      if (m.c % g !== 0)
        throw new BuildError(
          `${plan.name}: ${m.name} (${m.c} channels, ${m.w} wide) cannot be followed by another map in one KPU read: its channel count is not a multiple of ${g}`,
        );
    }
    kpuBlocks.push({
      members,
      size: members.reduce((a, m) => a + kpuRows(plan.tensors[m].w, plan.tensors[m].h, plan.tensors[m].c), 0),
      start: Math.min(...members.map((m) => first[m])),
      end: Math.max(...members.map((m) => last[m])),
    });
  }
  const kp = place(kpuBlocks, 1);
  if (kp.extent > AI_LINES)
    throw new BuildError(
      `${plan.name}: the feature maps need ${kp.extent * 64} bytes of AI SRAM at once; the KPU has ${AI_LINES * 64}`,
    );
  const kpuLine: (number | undefined)[] = new Array(n).fill(undefined);
  kpuBlocks.forEach((b, i) => {
    // Allocate downward from the top of AI SRAM, as nncase does: virtual offset v → line 32768 − v − size.
    let at = AI_LINES - kp.at[i] - b.size;
    for (const m of b.members) {
      kpuLine[m] = at;
      at += kpuRows(plan.tensors[m].w, plan.tensors[m].h, plan.tensors[m].c);
    }
  });
  // Peak of live bytes.
  let aiPeak = 0;
  for (let i = 0; i < plan.ops.length; i++) {
    const live = kpuBlocks.filter((b) => b.start <= i && i <= b.end).reduce((a, b) => a + b.size * 64, 0);
    aiPeak = Math.max(aiPeak, live);
  }
  // Main buffer blocks (bytes; a DMA'd conv result writes up to 7 bytes past its end, hence the 8-byte rounding).
  const mainTensors = plan.tensors.filter((t) => t.memory === 'main');
  const mainBlocks: Block[] = mainTensors.map((t) => ({
    members: [t.id],
    size: alignUp(tensorBytes(t), MAIN_ALIGN),
    start: first[t.id],
    end: last[t.id],
  }));
  const mp = place(mainBlocks, MAIN_ALIGN);
  const mainAddress: (number | undefined)[] = new Array(n).fill(undefined);
  mainBlocks.forEach((b, i) => (mainAddress[b.members[0]] = mp.at[i]));
  return { kpuLine, mainAddress, mainBytes: mp.extent, aiLines: kp.extent, aiPeakBytes: aiPeak };
}

function zeroArgument(): Record<KpuFieldName, number> {
  return Object.fromEntries(KPU_LAYER_ARGUMENT_WORDS.flatMap((w) => w.fields.map((f) => [f[0], 0]))) as Record<
    KpuFieldName,
    number
  >;
}

/** The 12 register words of a conv (kpu-numerics §5.1), with the SDK's run-time addresses left 0. */
export function convRegisters(q: QuantizedConv, srcLine: number, dstLine: number): KpuLayerArgument {
  const a = zeroArgument();
  const k = q.op.kernel;
  const inL = kpuRowLayout(q.inW);
  const outL = kpuRowLayout(q.outW);
  const oneChannel = k * k * (q.op.depthwise ? 1 : q.inC);
  const ocOneTime = q.op.depthwise ? q.outC : Math.min(q.outC, Math.floor(WEIGHT_CHUNK_LIMIT / oneChannel));
  if (ocOneTime < 1)
    throw new BuildError(
      `layer ${q.op.name}: one output channel has ${oneChannel} weight bytes, more than a ${WEIGHT_CHUNK_LIMIT}-byte KPU weight load`,
    );
  const loads = Math.ceil(q.outC / ocOneTime);
  if (loads > 64)
    throw new BuildError(`layer ${q.op.name}: needs ${loads} weight loads; the KPU's load_time field counts 64`);
  Object.assign(a, {
    depth_wise_layer: q.op.depthwise ? 1 : 0,
    image_src_addr: srcLine,
    image_dst_addr: dstLine,
    i_ch_num: q.inC - 1,
    o_ch_num: q.outC - 1,
    o_ch_num_coef: ocOneTime - 1,
    i_row_wid: q.inW - 1,
    i_col_high: q.inH - 1,
    o_row_wid: q.outW - 1,
    o_col_high: q.outH - 1,
    kernel_type: k === 3 ? 1 : 0,
    pool_type: q.op.pool,
    load_para: 1,
    dma_burst_size: 15,
    pad_value: q.padValue,
    load_coor: 1,
    load_time: loads - 1,
    para_size: q.op.depthwise ? q.outC * oneChannel : ocOneTime * oneChannel,
    channel_switch_addr: inL.rowLen * q.inH,
    row_switch_addr: inL.rowLen,
    coef_group: inL.groups,
    load_act: 1,
    wb_channel_switch_addr: outL.rowLen * q.outH,
    wb_row_switch_addr: outL.rowLen,
    wb_group: outL.groups,
    shr_w: q.shrW,
    shr_x: q.shrX,
    arg_w: q.argW,
    arg_x: q.argX,
    arg_add: q.argAdd,
    send_data_out: 0,
    channel_byte_num: q.outW * q.outH - 1,
    dma_total_byte: q.outW * q.outH * q.outC - 1,
  });
  return a as KpuLayerArgument;
}

interface LayerBody {
  readonly type: number;
  readonly write: (w: ByteWriter) => void;
}

export interface EmittedModel {
  readonly bytes: Uint8Array;
  readonly memory: MemoryPlan;
  /** Weight, table and body bytes per layer, for the report. */
  readonly layers: readonly { readonly name: string; readonly type: number; readonly bytes: number }[];
}

/** Writes the quantised plan as a kmodel v3 file. */
export function emitKmodelV3(qp: QuantizedPlan): EmittedModel {
  const plan = qp.plan;
  const mem = planMemory(plan);
  const main = (t: number): number => {
    const a = mem.mainAddress[t];
    if (a === undefined) throw new Error(`internal: ${plan.tensors[t].name} has no main-memory address`);
    return a;
  };
  const line = (t: number): number => {
    const a = mem.kpuLine[t];
    if (a === undefined) throw new Error(`internal: ${plan.tensors[t].name} has no AI SRAM address`);
    return a;
  };
  const bodies: LayerBody[] = plan.ops.map((op, i): LayerBody => {
    switch (op.kind) {
      case 'kpu-conv': {
        const q = qp.convs.get(i)!;
        const regs = encodeKpuLayerArgument(convRegisters(q, line(op.inputs[0]), line(op.output)));
        return {
          type: V3.K210_CONV,
          write: (w) => {
            const start = w.length;
            const layerAt = alignUp(start + 24, 8);
            const weightsAt = alignUp(layerAt + 96, 128);
            const bnAt = alignUp(weightsAt + q.weights.length, 128);
            const actAt = alignUp(bnAt + 8 * q.outC, 256);
            w.u32(op.mainCopy !== undefined ? 1 : 0).u32(op.mainCopy !== undefined ? main(op.mainCopy) : 0);
            w.u32(layerAt).u32(weightsAt).u32(bnAt).u32(actAt);
            w.zeroTo(layerAt);
            for (const word of regs) w.u64(word);
            w.zeroTo(weightsAt).bytes(q.weights);
            w.zeroTo(bnAt);
            for (const e of q.bn) w.u64(encodeBatchNorm(e));
            w.zeroTo(actAt);
            for (const word of encodeActivationTable(q.act)) w.u64(word);
          },
        };
      }
      case 'resize': {
        const a = plan.tensors[op.input];
        const b = plan.tensors[op.output];
        return {
          type: V3.QUANTIZED_RESIZE_NEAREST_NEIGHBOR,
          write: (w) =>
            void w.u32(0).u32(main(op.input)).u32(main(op.output)).u32(a.w).u32(a.h).u32(a.c).u32(b.w).u32(b.h).u32(0),
        };
      }
      case 'flip': {
        const t = plan.tensors[op.input];
        return {
          type: V3.QUANTIZED_CONCAT,
          write: (w) => {
            w.u32(0)
              .u32(main(op.output))
              .u32(t.c * t.h);
            for (let c = 0; c < t.c; c++)
              for (let y = t.h - 1; y >= 0; y--) w.u32(main(op.input) + (c * t.h + y) * t.w).u32(t.w);
          },
        };
      }
      case 'upload': {
        const t = plan.tensors[op.input];
        return {
          type: V3.K210_UPLOAD,
          write: (w) => void w.u32(0).u32(main(op.input)).u32(line(op.output)).u32(t.w).u32(t.h).u32(t.c),
        };
      }
      case 'dequantize': {
        const t = plan.tensors[op.input];
        const q = qp.quant[op.input];
        if (!q) throw new Error(`internal: ${t.name} is not quantised`);
        const plane = t.h * t.w;
        if (!Array.isArray(q) && !op.signs) {
          const p = q as QuantParam;
          return {
            type: V3.DEQUANTIZE,
            write: (w) =>
              void w
                .u32(0)
                .u32(main(op.input))
                .u32(main(op.output))
                .u32(t.c * plane)
                .f32(p.scale)
                .f32(-p.zeroPoint * p.scale),
          };
        }
        const per = (c: number): QuantParam => (Array.isArray(q) ? (q as readonly QuantParam[])[c] : (q as QuantParam));
        return {
          type: V3.CHANNELWISE_DEQUANTIZE,
          write: (w) => {
            w.u32(0).u32(main(op.input)).u32(main(op.output)).u32(t.c).u32(plane);
            for (let c = 0; c < t.c; c++) {
              const s = op.signs ? op.signs[c] : 1;
              const p = per(c);
              w.f32(s * p.scale).f32(-s * p.zeroPoint * p.scale);
            }
          },
        };
      }
      case 'gap': {
        const t = plan.tensors[op.input];
        return {
          type: V3.GLOBAL_AVERAGE_POOL2D,
          write: (w) =>
            void w
              .u32(0)
              .u32(main(op.input))
              .u32(main(op.output))
              .u32(t.h * t.w)
              .u32(t.c),
        };
      }
      case 'fc': {
        const nIn = plan.tensors[op.input].c;
        const nOut = op.bias.length;
        return {
          type: V3.FULLY_CONNECTED,
          write: (w) => {
            w.u32(0).u32(main(op.input)).u32(main(op.output)).u32(nIn).u32(nOut).u32(0);
            for (const v of op.weights) w.f32(v);
            for (const v of op.bias) w.f32(v);
          },
        };
      }
      case 'fold': {
        const t = plan.tensors[op.input];
        const half = (t.c * t.h * t.w) / 2;
        return {
          type: V3.ADD,
          write: (w) =>
            void w
              .u32(0)
              .u32(main(op.input))
              .u32(main(op.input) + 4 * half)
              .u32(main(op.output))
              .u32(half),
        };
      }
      case 'quantize': {
        const t = plan.tensors[op.input];
        const q = qp.quant[op.output] as QuantParam;
        return {
          type: V3.QUANTIZE,
          write: (w) =>
            void w
              .u32(0)
              .u32(main(op.input))
              .u32(main(op.output))
              .u32(t.c * t.h * t.w)
              .f32(q.scale)
              .f32(-q.zeroPoint * q.scale),
        };
      }
      case 'pad-vector': {
        const t = plan.tensors[op.input];
        return {
          type: V3.K210_ADD_PADDING,
          write: (w) => void w.u32(0).u32(main(op.input)).u32(line(op.output)).u32(t.c),
        };
      }
      case 'unpad-vector': {
        const t = plan.tensors[op.output];
        return {
          type: V3.K210_REMOVE_PADDING,
          write: (w) => void w.u32(0).u32(main(op.input)).u32(main(op.output)).u32(t.c),
        };
      }
      case 'l2norm': {
        const t = plan.tensors[op.input];
        return {
          type: V3.L2_NORMALIZATION,
          write: (w) =>
            void w
              .u32(0)
              .u32(main(op.input))
              .u32(main(op.output))
              .u32(t.c * t.h * t.w),
        };
      }
    }
  });
  const out = plan.tensors[plan.output];
  const w = new ByteWriter();
  w.u32(3)
    .u32(1)
    .u32(0)
    .u32(bodies.length)
    .u32(AI_LINES - mem.aiLines)
    .u32(mem.mainBytes)
    .u32(1);
  w.u32(main(plan.output)).u32(tensorBytes(out));
  const headersAt = w.length;
  w.zeroTo(headersAt + 8 * bodies.length);
  const layers: { name: string; type: number; bytes: number }[] = [];
  bodies.forEach((b, i) => {
    const start = w.length;
    b.write(w);
    w.zeroTo(alignUp(w.length, 8));
    w.setU32(headersAt + 8 * i, b.type);
    w.setU32(headersAt + 8 * i + 4, w.length - start);
    layers.push({ name: plan.ops[i].name, type: b.type, bytes: w.length - start });
  });
  return { bytes: w.done(), memory: mem, layers };
}
