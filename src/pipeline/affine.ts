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
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0)
    throw new RangeError(`warp_affine_ai: output size must be positive integers, got ${width}×${height}`);
  if (T.length !== 9) throw new RangeError(`warp_affine_ai: the transform needs 9 values, got ${T.length}`);
  const [a, b, c, d, e, f] = T.map((v) => f32(v));
  const channels = src.channels;
  const W = src.width,
    H = src.height;
  const step = W,
    plane = W * H;
  const sbuf = src.data;
  const oob = opts.outOfBuffer ?? 0;
  const at = (i: number): number => (i < sbuf.length ? sbuf[i] : oob);
  const out = new Uint8Array(width * height * channels);
  const dplane = width * height;
  const c256 = f32(c * 256),
    f256 = f32(f * 256);
  for (let i = 0; i < height; i++) {
    for (let j = 0; j < width; j++) {
      let px = f32ToI32(f32(f32(f32(a * (j << 8)) + f32(b * (i << 8))) + c256));
      let py = f32ToI32(f32(f32(f32(d * (j << 8)) + f32(e * (i << 8))) + f256));
      const fy = py & 0xff;
      const fx = px & 0xff;
      px >>= 8;
      py >>= 8;
      if (px < 0 || px > W - 1 || py < 0 || py > H - 1) continue;
      for (let k = 0; k < channels; k++) {
        const base = k * plane;
        const c00 = at(py * step + px + base);
        const c10 = at(py * step + px + 1 + base);
        const c01 = at((py + 1) * step + px + base);
        const c11 = at((py + 1) * step + px + 1 + base);
        const v = (256 - fx) * (256 - fy) * c00 + fx * (256 - fy) * c10 + (256 - fx) * fy * c01 + fx * fy * c11;
        out[i * width + j + k * dplane] = v >> 16;
      }
    }
  }
  return { width, height, channels, data: out };
}
