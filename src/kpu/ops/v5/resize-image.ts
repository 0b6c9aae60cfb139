import { KpuFault } from '../../../errors.js';
import {
  alignStrides,
  copyElement,
  DT,
  elemSize,
  inside,
  rawElements,
  rows,
  view,
  type StridedTensor,
} from '../../v5/tensor.js';
import { cvtToInt32, cvtToInt64 } from '../../v5/number-formats.js';

const f32 = Math.fround;

/** `get_resize_scales`: in/out in float, or (in−1)/(out−1) with align_corners. */
function resizeScale(inSize: number, outSize: number, alignCorners: boolean): number {
  if (alignCorners && outSize > 1) return f32((inSize - 1) / (outSize - 1));
  return f32(inSize / outSize);
}

/** `get_nearest_neighbor`. */
export function nearestIndex(
  o: number,
  size: number,
  scale: number,
  alignCorners: boolean,
  halfPixel: boolean,
): number {
  const after = f32(f32(o + (halfPixel ? 0.5 : 0)) * scale);
  // roundf rounds half away from zero.
  const r = alignCorners ? Math.sign(after) * Math.floor(Math.abs(after) + 0.5) : Math.floor(after);
  let v = Math.min(cvtToInt32(r), size - 1);
  if (halfPixel) v = Math.max(0, v);
  return v;
}

/** `set_resize_bilinear`: the source coordinate and its two neighbours. */
function bilinearCoord(o: number, scale: number, halfPixel: boolean, size: number): [number, number, number] {
  const s = halfPixel ? f32(f32(f32(o + 0.5) * scale) - 0.5) : f32(o * scale);
  const v0 = Math.max(cvtToInt32(Math.floor(s)), 0);
  const v1 = Math.min(cvtToInt32(Math.ceil(s)), size - 1);
  return [s, v0, v1];
}

/**
 * `kernels::resize_bilinear` / `resize_nearest_neighbor` (NCHW). The optimized (dense) and
 * reference (strided) kernels compute the same values. Integer element types are handled as
 * unsigned of their width (nncase maps int8 to uint8, …), bilinear adds 0.5 and truncates.
 */
export function resizeImage(
  mode: number,
  input: StridedTensor,
  output: StridedTensor,
  outH: number,
  outW: number,
  alignCorners: boolean,
  halfPixel: boolean,
): number[] {
  const [N, C, H, W] = input.shape;
  if (!(outH > 0 && outW > 0)) throw new KpuFault('BAD_LAYER', `resize_image to ${outH}×${outW}`);
  const dt = input.datatype;
  const size = elemSize(dt);
  const isFloat = dt === DT.f32;
  if (!isFloat && (dt === DT.f16 || dt === DT.bf16 || dt === DT.f64))
    throw new KpuFault('UNSUPPORTED', `resize_image: datatype ${dt}`);
  const hs = resizeScale(H, outH, alignCorners);
  const wsc = resizeScale(W, outW, alignCorners);
  const is = alignStrides(input.shape, input.strides);
  const os = alignStrides([N, C, outH, outW], output.strides);
  const di = view(input);
  const dout = view(output);
  const uget = isFloat
    ? (at: number) => di.getFloat32(at, true)
    : size === 1
      ? (at: number) => di.getUint8(at)
      : size === 2
        ? (at: number) => di.getUint16(at, true)
        : (at: number) => di.getUint32(at, true);
  const uset = (at: number, v: number): void => {
    if (isFloat) dout.setFloat32(at, v, true);
    else if (size === 1) dout.setUint8(at, cvtToInt32(v) & 0xff);
    else if (size === 2) dout.setUint16(at, cvtToInt32(v) & 0xffff, true);
    else dout.setUint32(at, Number(BigInt.asUintN(32, cvtToInt64(v))), true);
  };
  const inAt = (n: number, c: number, y: number, x: number) =>
    input.offset + size * (n * is[0] + c * is[1] + y * is[2] + x * is[3]);
  if (mode === 1 && nearestRows(input, output, [N, C, outH, outW], is, os, hs, wsc, alignCorners, halfPixel)) {
    return [N, C, outH, outW];
  }
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          const to = output.offset + size * (n * os[0] + c * os[1] + oy * os[2] + ox * os[3]);
          if (mode === 1) {
            const y = nearestIndex(oy, H, hs, alignCorners, halfPixel);
            const x = nearestIndex(ox, W, wsc, alignCorners, halfPixel);
            copyElement(input.bytes, inAt(n, c, y, x), output.bytes, to, size);
            continue;
          }
          const [iy, y0, y1] = bilinearCoord(oy, hs, halfPixel, H);
          const [ix, x0, x1] = bilinearCoord(ox, wsc, halfPixel, W);
          const v0 = uget(inAt(n, c, y0, x0));
          const v1 = uget(inAt(n, c, y1, x0));
          const v2 = uget(inAt(n, c, y0, x1));
          const v3 = uget(inAt(n, c, y1, x1));
          const dy = f32(iy - y0);
          const dx = f32(ix - x0);
          const a0 = f32(f32(1 - dy) * f32(1 - dx));
          const a1 = f32(dy * f32(1 - dx));
          const a2 = f32(f32(1 - dy) * dx);
          const a3 = f32(dy * dx);
          let v = f32(f32(f32(f32(v0 * a0) + f32(v1 * a1)) + f32(v2 * a2)) + f32(v3 * a3));
          if (!isFloat) v = f32(v + 0.5);
          uset(to, v);
        }
      }
    }
  }
  return [N, C, outH, outW];
}

/**
 * Nearest-neighbour resize on typed arrays: the source row and column of each output row and column worked out once
 * (nearestIndex depends on nothing else), then element bits copied. False, having written nothing, where the
 * elements are not aligned or some index would leave the input; the element-wise loop then runs.
 */
function nearestRows(
  input: StridedTensor,
  output: StridedTensor,
  [N, C, outH, outW]: readonly number[],
  is: readonly number[],
  os: readonly number[],
  hs: number,
  wsc: number,
  alignCorners: boolean,
  halfPixel: boolean,
): boolean {
  const [, , H, W] = input.shape;
  const size = elemSize(input.datatype);
  const src = rawElements(input, size);
  const dst = rawElements(output, size);
  if (!src || !dst) return false;
  if (!inside(rows(input.shape, [is]), 0, input, size) || !inside(rows([N, C, outH, outW], [os]), 0, output, size))
    return false;
  const ys = Int32Array.from({ length: outH }, (_, oy) => nearestIndex(oy, H, hs, alignCorners, halfPixel));
  const xs = Int32Array.from({ length: outW }, (_, ox) => nearestIndex(ox, W, wsc, alignCorners, halfPixel));
  if (ys.some((y) => y < 0 || y >= H) || xs.some((x) => x < 0 || x >= W)) return false;
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let oy = 0; oy < outH; oy++) {
        const from = src.base + n * is[0] + c * is[1] + ys[oy] * is[2];
        const to = dst.base + n * os[0] + c * os[1] + oy * os[2];
        nearestRow(src.a, from, is[3], xs, dst.a, to, os[3], outW);
      }
  return true;
}

function nearestRow(
  S: Uint8Array | Uint16Array | Int32Array,
  from: number,
  sx: number,
  xs: Int32Array,
  D: Uint8Array | Uint16Array | Int32Array,
  to: number,
  ox: number,
  n: number,
): void {
  for (let k = 0; k < n; k++) D[to + k * ox] = S[from + xs[k] * sx];
}
