/**
 * Real-valued meaning of every uint8 tensor: real = (q − zero point) · scale.
 *
 * The file states quantisation in several places, none of them complete:
 * - v4 `dequantize` / `quantize` bodies: zero point and scale exactly (q = x·scale + zp, so
 *   real per quantum is 1/scale); v3 DEQUANTIZE / QUANTIZE / CHANNELWISE_DEQUANTIZE: real =
 *   q·scale + bias, so zero point −bias/scale and scale exactly (per channel for the last).
 * - a KPU conv's input offset: nncase 0.2 writes arg_w = −zx (shr_w 0), the input zero point
 *   exactly; nncase 0.1 writes arg_w ≈ bias_x·2^shr_w with a 24-bit mantissa, so −arg_w·2^−shr_w
 *   is the zero point to that precision (its pad_value, round(−bias_x), only to the integer).
 * - quantized_binary / quantized_conv2d / v3 QUANTIZED_ADD offsets: integer zero points.
 * A tensor shares its quantisation with the tensor it was copied from (uploads, pads,
 * transposes, concat, K210_ADD_PADDING, a conv's main-memory copy) and with every layer that
 * reads what it wrote; facts are pooled over such a group.
 *
 * What no part of the file states is the scale of a map that only ever flows from one KPU layer
 * into another: nncase folds the input scale, the weight scale and the output scale of a layer
 * into one batch-norm multiplier (and, for a positively homogeneous activation such as ReLU, the
 * network computes the same function for any such scale). For those maps the scale is left
 * unknown and their errors are reported in quanta (LSB) of the map; cosine and SNR do not
 * depend on it. A zero point no fact gives is taken as the value the layer's activation table
 * gives real zero when nncase 0.2 built it (its batch-norm domain puts real 0 at bn = 0) — the
 * output for bn = 0 — and otherwise as 0, and is flagged as a guess.
 */
import type { ReferenceModel } from './graph.js';
import type { QuantFact } from './graph.js';
import { refSpan, type TensorRef } from './tensors.js';

export interface MapQuant {
  /** Real units per quantum, per channel (length 1 for a per-tensor quantisation). */
  readonly scale: Float64Array;
  readonly zeroPoint: Float64Array;
  /** Elements per channel when per-channel. */
  readonly channelSize: number;
  /** False when the scale is unknown (then 1: values are in quanta). */
  readonly scaleKnown: boolean;
  /** False when no fact gave the zero point. */
  readonly zeroPointKnown: boolean;
  /** Where the scale and zero point come from. */
  readonly source: string;
}

export const UNIT_QUANT: MapQuant = Object.freeze({
  scale: Float64Array.of(1),
  zeroPoint: Float64Array.of(0),
  channelSize: 1,
  scaleKnown: false,
  zeroPointKnown: false,
  source: 'none',
}) as MapQuant;

/** Real values of a tensor's values (uint8 tensors through their quantisation). */
export function realValues(ref: TensorRef, values: Float32Array): Float64Array {
  const out = new Float64Array(values.length);
  if (ref.dtype !== 'uint8') {
    for (let i = 0; i < values.length; i++) out[i] = values[i];
    return out;
  }
  const q = ref.quant ?? UNIT_QUANT;
  const nch = q.scale.length;
  if (nch === 1) {
    const s = q.scale[0];
    const z = q.zeroPoint[0];
    for (let i = 0; i < values.length; i++) out[i] = (values[i] - z) * s;
    return out;
  }
  for (let i = 0; i < values.length; i++) {
    const c = Math.floor(i / q.channelSize) % nch;
    out[i] = (values[i] - q.zeroPoint[c]) * q.scale[c];
  }
  return out;
}

class UnionFind {
  private readonly parent: number[] = [];
  add(): number {
    this.parent.push(this.parent.length);
    return this.parent.length - 1;
  }
  find(i: number): number {
    while (this.parent[i] !== i) {
      this.parent[i] = this.parent[this.parent[i]];
      i = this.parent[i];
    }
    return i;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

interface Write {
  readonly memory: string;
  readonly start: number;
  readonly end: number;
  readonly ref: TensorRef;
  readonly layer: number;
}

const asArray = (v: number | readonly number[]): number[] => (typeof v === 'number' ? [v] : [...v]);

/**
 * Links every layer input to the most recent earlier write that overlaps it (the dataflow the
 * emulator follows through memory), pools facts over same-quantisation groups and sets
 * `ref.quant` on every uint8 tensor. Fills `model.producers`. `fallbackZeroPoint` gives the
 * zero point of a KPU output no fact covers (see the file comment).
 */
export function inferQuant(model: ReferenceModel, fallbackZeroPoint?: (layer: number) => number | undefined): void {
  const uf = new UnionFind();
  const ids = new Map<TensorRef, number>();
  const id = (r: TensorRef): number => {
    let v = ids.get(r);
    if (v === undefined) {
      v = uf.add();
      ids.set(r, v);
    }
    return v;
  };
  const writes: Write[] = [];
  const producerOfRef = new Map<TensorRef, number>();
  const write = (r: TensorRef, layer: number) => {
    writes.push({ memory: r.memory, start: r.address, end: r.address + refSpan(r), ref: r, layer });
    producerOfRef.set(r, layer);
  };
  for (const r of model.inputs) {
    id(r);
    write(r, -1);
  }
  model.producers = [];
  for (const l of model.layers) {
    const from: number[] = [];
    for (const r of l.inputs) {
      id(r);
      const start = r.address;
      const end = r.address + refSpan(r);
      let found: Write | undefined;
      if (r.memory !== 'const') {
        for (let k = writes.length - 1; k >= 0; k--) {
          const w = writes[k];
          if (w.memory === r.memory && w.start < end && start < w.end) {
            found = w;
            break;
          }
        }
      }
      from.push(found ? found.layer : -1);
      if (found && found.ref.dtype === r.dtype) uf.union(id(found.ref), id(r));
    }
    model.producers.push(from);
    for (const g of l.sameQuant ?? []) for (let k = 1; k < g.length; k++) uf.union(id(g[0]), id(g[k]));
    for (const r of l.outputs) {
      id(r);
      write(r, l.index);
    }
  }

  const facts = new Map<number, QuantFact[]>();
  for (const l of model.layers) {
    for (const f of l.quantFacts ?? []) {
      const root = uf.find(id(f.ref));
      const list = facts.get(root) ?? [];
      list.push(f);
      facts.set(root, list);
    }
  }
  const resolved = new Map<number, MapQuant>();
  for (const [r, i] of ids) {
    if (r.dtype !== 'uint8') continue;
    const root = uf.find(i);
    let q = resolved.get(root);
    if (!q) {
      q = resolve(facts.get(root) ?? [], () => {
        const p = producerOfRef.get(r);
        return p !== undefined && p >= 0 && fallbackZeroPoint ? fallbackZeroPoint(p) : undefined;
      });
      resolved.set(root, q);
    }
    r.quant = q;
  }
}

function resolve(facts: readonly QuantFact[], fallback: () => number | undefined): MapQuant {
  // Exact facts first, then in file order.
  const ordered = [...facts].sort((a, b) => Number(b.exact) - Number(a.exact));
  const zf = ordered.find((f) => f.zeroPoint !== undefined);
  const sf = ordered.find((f) => f.scale !== undefined);
  let zeroPoint: number[];
  let zeroPointKnown = true;
  if (zf) zeroPoint = asArray(zf.zeroPoint!);
  else {
    const z = fallback();
    zeroPoint = [z ?? 0];
    zeroPointKnown = false;
  }
  const scale = sf ? asArray(sf.scale!) : [1];
  const n = Math.max(zeroPoint.length, scale.length);
  const widen = (v: number[]) => (v.length === n ? v : Array.from({ length: n }, () => v[0]));
  const channelSize =
    (n > 1
      ? sf?.scale !== undefined && typeof sf.scale !== 'number'
        ? sf.channelSize
        : zf?.channelSize
      : undefined) ?? 1;
  const parts: string[] = [];
  if (zf) parts.push(`zero point from ${zf.source}${zf.exact ? '' : ' (approximate)'}`);
  else parts.push(zeroPointKnown ? '' : 'zero point not stated (guessed)');
  parts.push(sf ? `scale from ${sf.source}` : 'scale not stated in the file (values in quanta)');
  return {
    scale: Float64Array.from(widen(scale)),
    zeroPoint: Float64Array.from(widen(zeroPoint)),
    channelSize,
    scaleKnown: sf !== undefined,
    zeroPointKnown,
    source: parts.filter(Boolean).join('; '),
  };
}
