/**
 * `image.get_affine_transform` and `image.warp_affine_ai` (face-pipeline §5, MaixPy's `affine.c`, also used
 * unchanged by CanMV).
 *
 * The transform is the least-squares similarity (Umeyama: rotation, uniform scale, translation)
 * from the **template** (second argument) to the **camera points** (first argument), so it maps
 * output-face pixels to frame pixels, which is what the inverse-mapping warp needs. It is
 * evaluated as the firmware does: binary32 means, deviations and covariance; a closed-form 2×2
 * SVD whose `sqrt`/`pow`/`atan2`/`sin` run in double on float inputs; no reflection correction
 * (a mirrored point set gives an exact reflection where Umeyama would give a rotation).
 */
import { f32, f32ToI32 } from './f32.js';
import type { PlanarImage, Point } from './types.js';

/** A 3×3 row-major matrix of binary32 values; the last row is (0, 0, 1). */
export type Affine3x3 = readonly [number, number, number, number, number, number, number, number, number];

export interface AffineOptions {
  /**
   * MaixPy reads each coordinate with `mp_obj_get_int` into a `uint16_t`, so a negative landmark
   * wraps to 65536 + v and ruins the fit. Default true (board behaviour).
   */
  readonly wrapUint16?: boolean;
}

/** `svd22` of affine.c: a = (a00, a01, a10, a11). Returns U, S, V (V already transposed). */
function svd22(a: readonly number[]): { u: number[]; s: number[]; v: number[] } {
  // Each pow(x, 2) takes a float x to double; x·x is exact in double, so Math's double ops
  // reproduce the C expression; the results are stored to float.
  const d1 = f32(a[0] - a[3]),
    e1 = f32(a[1] + a[2]);
  const d2 = f32(a[0] + a[3]),
    e2 = f32(a[1] - a[2]);
  const r1 = Math.sqrt(d1 * d1 + e1 * e1);
  const r2 = Math.sqrt(d2 * d2 + e2 * e2);
  const s0 = f32((r1 + r2) / 2);
  const s1 = f32(Math.abs(s0 - r1));
  let v2 = 0;
  if (s0 > s1) {
    const num = f32(2 * f32(f32(a[0] * a[1]) + f32(a[2] * a[3])));
    const den = f32(f32(f32(f32(a[0] * a[0]) - f32(a[1] * a[1])) + f32(a[2] * a[2])) - f32(a[3] * a[3]));
    v2 = f32(Math.sin(Math.atan2(num, den) / 2));
  }
  let v0 = f32(Math.sqrt(f32(1 - f32(v2 * v2))));
  const v1 = -v2;
  const v3 = v0;
  const u0 = s0 !== 0 ? f32(-f32(f32(a[0] * v0) + f32(a[1] * v2)) / s0) : 1;
  const u2 = s0 !== 0 ? f32(-f32(f32(a[2] * v0) + f32(a[3] * v2)) / s0) : 0;
  const u1 = s1 !== 0 ? f32(f32(f32(a[0] * v1) + f32(a[1] * v3)) / s1) : -u2;
  const u3 = s1 !== 0 ? f32(f32(f32(a[2] * v1) + f32(a[3] * v3)) / s1) : u0;
  v0 = -v0;
  v2 = -v2;
  return { u: [u0, u1, u2, u3], s: [s0, s1], v: [v0, v1, v2, v3] };
}

/**
 * `image.get_affine_transform(src_points, dst_points)`: `src` are the landmarks in the camera
 * frame, `dst` the template in the output face; the returned matrix maps dst → src. Both lists
 * must have the same length, 1…10 integer points.
 */
export function getAffineTransform(src: readonly Point[], dst: readonly Point[], opts: AffineOptions = {}): Affine3x3 {
  if (src.length !== dst.length) throw new RangeError('get_affine_transform: src len must equal dst len');
  if (src.length === 0 || src.length > 10)
    throw new RangeError(`get_affine_transform: 1…10 points needed, got ${src.length}`);
  const wrap = opts.wrapUint16 ?? true;
  const coord = (v: number): number => {
    if (!Number.isInteger(v)) throw new RangeError(`get_affine_transform: coordinates must be integers, got ${v}`);
    return wrap ? v & 0xffff : v;
  };
  const img = src.map(([x, y]) => [coord(x), coord(y)]);
  const tpl = dst.map(([x, y]) => [coord(x), coord(y)]);
  const cnt = src.length;

  // Means (accumulated in float, then divided by the count).
  let tm0 = 0,
    tm1 = 0,
    im0 = 0,
    im1 = 0;
  for (let i = 0; i < cnt; i++) {
    tm0 = f32(tm0 + tpl[i][0]);
    tm1 = f32(tm1 + tpl[i][1]);
    im0 = f32(im0 + img[i][0]);
    im1 = f32(im1 + img[i][1]);
  }
  tm0 = f32(tm0 / cnt);
  tm1 = f32(tm1 / cnt);
  im0 = f32(im0 / cnt);
  im1 = f32(im1 / cnt);
  const td = tpl.map(([x, y]) => [f32(x - tm0), f32(y - tm1)]);
  const id = img.map(([x, y]) => [f32(x - im0), f32(y - im1)]);

  // Covariance A[i][k] = (1/n)·Σ img_dev[i]·tpl_dev[k].
  const A = [0, 0, 0, 0];
  for (let i = 0; i < 2; i++) {
    for (let k = 0; k < 2; k++) {
      let acc = 0;
      for (let j = 0; j < cnt; j++) acc = f32(acc + f32(id[j][i] * td[j][k]));
      A[2 * i + k] = f32(acc / cnt);
    }
  }

  const { u, s, v } = svd22(A);
  let t00 = f32(f32(u[0] * v[0]) + f32(u[1] * v[2]));
  let t01 = f32(f32(u[0] * v[1]) + f32(u[1] * v[3]));
  let t10 = f32(f32(u[2] * v[0]) + f32(u[3] * v[2]));
  let t11 = f32(f32(u[2] * v[1]) + f32(u[3] * v[3]));

  // Population variance of the template deviations.
  let mean0 = 0,
    mean1 = 0;
  for (let i = 0; i < cnt; i++) {
    mean0 = f32(mean0 + td[i][0]);
    mean1 = f32(mean1 + td[i][1]);
  }
  mean0 = f32(mean0 / cnt);
  mean1 = f32(mean1 / cnt);
  let var0 = 0,
    var1 = 0;
  for (let i = 0; i < cnt; i++) {
    const a = f32(mean0 - td[i][0]);
    const b = f32(mean1 - td[i][1]);
    var0 = f32(var0 + f32(a * a));
    var1 = f32(var1 + f32(b * b));
  }
  var0 = f32(var0 / cnt);
  var1 = f32(var1 / cnt);
  const scale = f32(f32(1 / f32(var0 + var1)) * f32(s[0] + s[1]));
  const t02 = f32(im0 - f32(scale * f32(f32(t00 * tm0) + f32(t01 * tm1))));
  const t12 = f32(im1 - f32(scale * f32(f32(t10 * tm0) + f32(t11 * tm1))));
  t00 = f32(t00 * scale);
  t01 = f32(t01 * scale);
  t10 = f32(t10 * scale);
  t11 = f32(t11 * scale);
  return [t00, t01, t02, t10, t11, t12, 0, 0, 1];
}

export interface WarpOptions {
  /** Byte read past the source buffer (board: unknown heap bytes; see `warpAffineAi`). Default 0. */
  readonly outOfBuffer?: number;
}

/**
 * `image.warp_affine_ai(src, dst, T)`: fills a new `width`×`height` AI image (cleared to 0) by
 * mapping each output pixel (column j, row i) through T and sampling the source's AI planes
 * bilinearly with 8-bit fixed-point weights:
 *   pre_x = (int)(T00·(j·256) + T01·(i·256) + T02·256) (binary32, truncated), same for pre_y;
 *   fx = pre_x & 255, X = pre_x >> 8; pixels with X ∉ [0, W−1] or Y ∉ [0, H−1] stay 0;
 *   v = ((256−fx)(256−fy)·p(X,Y) + fx(256−fy)·p(X+1,Y) + (256−fx)fy·p(X,Y+1) + fx·fy·p(X+1,Y+1)) >> 16.
 * Quirk kept: X = W−1 / Y = H−1 pass the test and read X+1 / Y+1 by flat index: the next row's
 * first pixel, the next plane's first row, or past the buffer (`outOfBuffer`) for the last plane.
 */
export function warpAffineAi(
  src: PlanarImage,
  width: number,
  height: number,
  T: readonly number[],
  opts: WarpOptions = {},
): PlanarImage {
  const out: PlanarImage = { width, height, channels: src.channels, data: new Uint8Array(0) };
  checkWarp(out, T);
  const into = { ...out, data: new Uint8Array(width * height * src.channels) };
  warpAffineAiInto(src, into, T, opts);
  return into;
}

function checkWarp(dst: PlanarImage, T: readonly number[]): void {
  const { width, height } = dst;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0)
    throw new RangeError(`warp_affine_ai: output size must be positive integers, got ${width}×${height}`);
  if (T.length !== 9) throw new RangeError(`warp_affine_ai: the transform needs 9 values, got ${T.length}`);
}

/**
 * `warpAffineAi` into the first `channels·width·height` bytes of an existing AI image `into` (its
 * size and `src`'s channel count; its bytes must not overlap `src`'s): every one of those bytes is
 * written, 0 for pixels that map outside the source.
 */
export function warpAffineAiInto(
  src: PlanarImage,
  into: PlanarImage,
  T: readonly number[],
  opts: WarpOptions = {},
): void {
  checkWarp(into, T);
  const width = into.width,
    height = into.height;
  const channels = src.channels;
  if (into.channels !== channels) throw new RangeError('warp_affine_ai: the images have different channel counts');
  if (into.data.length < channels * width * height)
    throw new RangeError('warp_affine_ai: the target buffer is smaller than its planes');
  const a = f32(T[0]),
    b = f32(T[1]),
    c = f32(T[2]),
    d = f32(T[3]),
    e = f32(T[4]),
    f = f32(T[5]);
  const W = src.width,
    H = src.height;
  const plane = W * H;
  const sbuf = src.data;
  const oob = opts.outOfBuffer ?? 0;
  const out = into.data;
  const dplane = width * height;
  const c256 = f32(c * 256),
    f256 = f32(f * 256);
  // The column terms T00·(j·256) and T10·(j·256) do not depend on the row.
  const aj = new Float64Array(width),
    dj = new Float64Array(width);
  for (let j = 0; j < width; j++) {
    aj[j] = f32(a * (j << 8));
    dj[j] = f32(d * (j << 8));
  }
  // The farthest byte a pixel reads lies W + 1 past its top-left corner in the last plane.
  const farthest = W + 1 + (channels - 1) * plane;
  const g: WarpGeometry = { W, H, plane, channels, dplane, farthest, c256, f256, oob };
  for (let i = 0; i < height; i++) warpRow(out, i * width, aj, dj, f32(b * (i << 8)), f32(e * (i << 8)), sbuf, g);
}

interface WarpGeometry {
  readonly W: number;
  readonly H: number;
  readonly plane: number;
  readonly channels: number;
  readonly dplane: number;
  readonly farthest: number;
  readonly c256: number;
  readonly f256: number;
  readonly oob: number;
}

/**
 * One output row of `warpAffineAiInto` (a function of its own, called once per row, so that V8
 * optimises it as a whole from complete type feedback). `bi`, `ei`: the row terms T01·(i·256),
 * T11·(i·256); `aj`, `dj`: the column terms.
 */
function warpRow(
  out: Uint8Array,
  o: number,
  aj: Float64Array,
  dj: Float64Array,
  bi: number,
  ei: number,
  sbuf: Uint8Array,
  g: WarpGeometry,
): void {
  const { W, H, plane, channels, dplane, farthest, c256, f256 } = g;
  const len = sbuf.length,
    width = aj.length;
  for (let j = 0; j < width; j++, o++) {
    let px = f32ToI32(f32(f32(aj[j] + bi) + c256));
    let py = f32ToI32(f32(f32(dj[j] + ei) + f256));
    const fy = py & 0xff;
    const fx = px & 0xff;
    px >>= 8;
    py >>= 8;
    // A pixel with X ∉ [0, W−1] or Y ∉ [0, H−1] stays 0: it takes weights 0 and reads at 0, so every
    // pixel runs the same code (a branch V8 saw rarely would cost a re-compilation when first taken).
    const m = px >= 0 && px < W && py >= 0 && py < H ? 1 : 0;
    const w00 = m * (256 - fx) * (256 - fy),
      w10 = m * fx * (256 - fy),
      w01 = m * (256 - fx) * fy,
      w11 = m * fx * fy;
    const p = (py * W + px) & -m;
    if (p + farthest >= len) {
      warpPixelChecked(out, o, p, w00, w10, w01, w11, sbuf, g);
      continue;
    }
    for (let k = 0; k < channels; k++) {
      const q = p + k * plane;
      out[o + k * dplane] = (w00 * sbuf[q] + w10 * sbuf[q + 1] + w01 * sbuf[q + W] + w11 * sbuf[q + W + 1]) >> 16;
    }
  }
}

/** A pixel near the end of the source: the quirk's reads past the buffer give `outOfBuffer`. */
function warpPixelChecked(
  out: Uint8Array,
  o: number,
  p: number,
  w00: number,
  w10: number,
  w01: number,
  w11: number,
  sbuf: Uint8Array,
  g: WarpGeometry,
): void {
  const len = sbuf.length;
  const at = (q: number): number => (q < len ? sbuf[q] : g.oob);
  for (let k = 0; k < g.channels; k++) {
    const q = p + k * g.plane;
    out[o + k * g.dplane] = (w00 * at(q) + w10 * at(q + 1) + w01 * at(q + g.W) + w11 * at(q + g.W + 1)) >> 16;
  }
}
