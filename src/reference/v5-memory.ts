/**
 * The float reference's memory for kmodel v5: a shadow of every buffer the run touches, keyed
 * by the underlying ArrayBuffer (so a callee's window of its caller's tensor and the caller's
 * own view meet in the same shadow), with the same convention as the v3/v4 shadow (tensors.ts):
 * one Float32 slot per byte address; an integer element at byte p holds its unrounded value in
 * its quantised domain in slot p, a float element its real value in slot p.
 *
 * Elements no op of the reference has written read as the emulator has them (the model input,
 * constants in `.rdata`, memory the model never writes). Each written byte also carries a tag:
 * which op output wrote it, for the dataflow (producers, shared quantisation).
 */
import { kpuRowLayout, kpuRows } from '../kpu/layout.js';
import { alignStrides, elementCount, elemSize, forEach2, getter, isContiguous } from '../kpu/v5/tensor.js';
import type { V5View } from '../kpu/v5/hooks.js';

/** Byte positions (in the underlying ArrayBuffer) of a view's elements, in row-major order. */
export function viewPositions(v: V5View): Int32Array {
  const base = v.block.bytes.byteOffset + v.offset;
  const n = elementCount(v.shape);
  const out = new Int32Array(n);
  if (v.layout === 'kpu') {
    const [N, C, H, W] = v.shape;
    const { groups, rowPitch, rowLen } = kpuRowLayout(W);
    const line = rowLen * 64;
    const item = kpuRows(W, H, C) * 64;
    let i = 0;
    for (let b = 0; b < N; b++) {
      for (let c = 0; c < C; c++) {
        let row = base + b * item + Math.floor(c / groups) * line * H + (c % groups) * rowPitch;
        for (let y = 0; y < H; y++, row += line) for (let x = 0; x < W; x++) out[i++] = row + x;
      }
    }
    return out;
  }
  const size = elemSize(v.datatype);
  if (isContiguous(v.shape, v.strides)) {
    for (let i = 0; i < n; i++) out[i] = base + size * i;
    return out;
  }
  const st = alignStrides(v.shape, v.strides);
  let k = 0;
  forEach2(v.shape, st, st, (a) => {
    out[k++] = base + size * a;
  });
  return out;
}

interface Plane {
  readonly buffer: ArrayBufferLike;
  readonly u8: Uint8Array;
  readonly dv: DataView;
  /** Lazily created on the first write. */
  vals?: Float32Array;
  written?: Uint8Array;
  tags?: Int32Array;
}

const DT_U8 = 4;
const DT_F32 = 9;

export class ShadowSpace {
  private readonly planes = new Map<ArrayBufferLike, Plane>();

  private plane(bytes: Uint8Array): Plane {
    let p = this.planes.get(bytes.buffer);
    if (!p) {
      const u8 = new Uint8Array(bytes.buffer);
      p = { buffer: bytes.buffer, u8, dv: new DataView(bytes.buffer) };
      this.planes.set(bytes.buffer, p);
    }
    return p;
  }

  /** The emulator's values of a view (integers as they are, floats decoded). */
  readEmulator(v: V5View, pos = viewPositions(v)): Float32Array {
    const p = this.plane(v.block.bytes);
    return decode(p, v.datatype, pos);
  }

  /** The reference's values: the shadow where the reference wrote, else the emulator's bytes. */
  readShadow(v: V5View, pos = viewPositions(v)): Float32Array {
    const p = this.plane(v.block.bytes);
    const out = decode(p, v.datatype, pos);
    const w = p.written;
    const vals = p.vals;
    if (!w || !vals) return out;
    for (let i = 0; i < pos.length; i++) if (w[pos[i]]) out[i] = vals[pos[i]];
    return out;
  }

  /** Number of the view's elements no op of the reference has written. */
  unwritten(v: V5View, pos = viewPositions(v)): number {
    const w = this.plane(v.block.bytes).written;
    if (!w) return pos.length;
    let k = 0;
    for (let i = 0; i < pos.length; i++) if (!w[pos[i]]) k++;
    return k;
  }

  write(v: V5View, values: ArrayLike<number>, tag: number, pos = viewPositions(v)): void {
    if (values.length < pos.length)
      throw new RangeError(`reference: ${values.length} values for a tensor of ${pos.length}`);
    const p = this.plane(v.block.bytes);
    const len = p.u8.length;
    p.vals ??= new Float32Array(len);
    p.written ??= new Uint8Array(len);
    p.tags ??= new Int32Array(len);
    const { vals, written, tags } = p;
    for (let i = 0; i < pos.length; i++) {
      const at = pos[i];
      vals[at] = values[i];
      written[at] = 1;
      tags[at] = tag;
    }
  }

  /** Distinct tags of the ops that last wrote the view's elements (0: none). */
  tags(v: V5View, pos = viewPositions(v)): number[] {
    const t = this.plane(v.block.bytes).tags;
    if (!t) return pos.length ? [0] : [];
    const seen = new Set<number>();
    let last = -1;
    for (let i = 0; i < pos.length; i++) {
      const x = t[pos[i]];
      if (x !== last) {
        seen.add(x);
        last = x;
      }
    }
    return [...seen];
  }
}

function decode(p: Plane, datatype: number, pos: Int32Array): Float32Array {
  const out = new Float32Array(pos.length);
  const u8 = p.u8;
  if (datatype === DT_U8) {
    for (let i = 0; i < pos.length; i++) out[i] = u8[pos[i]];
    return out;
  }
  const dv = p.dv;
  if (datatype === DT_F32) {
    for (let i = 0; i < pos.length; i++) out[i] = dv.getFloat32(pos[i], true);
    return out;
  }
  const get = getter(datatype);
  for (let i = 0; i < pos.length; i++) out[i] = get(dv, pos[i]);
  return out;
}
