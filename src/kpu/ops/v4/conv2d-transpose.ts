/**
 * v4 conv2d_transpose (0x13), float NCHW (kpu-numerics §7.2, `kernels::neutral::conv2d_transpose` at
 * v0.2.0-beta4): the output is zero-filled; every input element (n, ic, iy, ix) scatters
 * out[oc][iy·stride − pad + dilation·ky][...] += in·w[oc][ic][ky][kx] over the taps that land
 * inside the output, for every oc of the group.
 * - The bias is NOT added: beta4 reads bias[oc] into a local that is never used. Mirrored.
 * - The fused clamp is applied only when it differs from value_range::full() =
 *   [−FLT_MAX, FLT_MAX] (so ±∞ survive an unclamped node).
 * board: `out += in*w` contracts to fmadd.s (kpu-numerics §7.0 (b)).
 * Weights [out_C][C/groups][fh][fw]. Not exercised by any golden model (kpu-numerics §10.3).
 */
import {
  FLT_MAX,
  cxxClamp,
  f32,
  mulAdd,
  shapeSize,
  tapEnd,
  tapStart,
  type CpuNumerics,
  type Shape4,
  type Window2d,
} from '../common.js';

export function conv2dTranspose(
  src: Float32Array,
  dst: Float32Array,
  weights: Float32Array,
  _bias: Float32Array,
  inShape: Shape4,
  outShape: Shape4,
  groups: number,
  win: Window2d,
  clampMin: number,
  clampMax: number,
  mode: CpuNumerics,
): void {
  const size = shapeSize(outShape);
  dst.fill(0, 0, size);
  const [N, C, H, W] = [inShape[0]!, inShape[1]!, inShape[2]!, inShape[3]!];
  const OC = outShape[1]!,
    OH = outShape[2]!,
    OW = outShape[3]!;
  const gIc = Math.trunc(C / groups);
  const gOc = Math.trunc(OC / groups);
  const fh = win.filterH,
    fw = win.filterW;
  let i = 0;
  for (let n = 0; n < N; n++) {
    const outBatch = n * OC * OH * OW;
    for (let g = 0; g < groups; g++) {
      const outGroup = outBatch + g * gOc * OH * OW;
      const wGroup = g * gOc * gIc * fh * fw;
      for (let ic = 0; ic < gIc; ic++) {
        for (let iy = 0; iy < H; iy++) {
          for (let ix = 0; ix < W; ix++) {
            const yo = iy * win.strideH - win.paddingH.before;
            const xo = ix * win.strideW - win.paddingW.before;
            const y0 = tapStart(yo, win.dilationH),
              y1 = tapEnd(yo, OH, fh, win.dilationH);
            const x0 = tapStart(xo, win.dilationW),
              x1 = tapEnd(xo, OW, fw, win.dilationW);
            const v = src[i++]!;
            for (let oc = 0; oc < gOc; oc++) {
              const outC = outGroup + oc * OH * OW;
              const wIc = wGroup + oc * gIc * fh * fw + ic * fh * fw;
              for (let ky = y0; ky < y1; ky++) {
                const row = outC + (yo + win.dilationH * ky) * OW + xo;
                for (let kx = x0; kx < x1; kx++) {
                  const at = row + win.dilationW * kx;
                  dst[at] = mulAdd(v, weights[wIc + ky * fw + kx]!, dst[at]!, mode);
                }
              }
            }
          }
        }
      }
    }
  }
  const lo = f32(clampMin),
    hi = f32(clampMax);
  if (lo !== -FLT_MAX || hi !== FLT_MAX) {
    for (let k = 0; k < size; k++) dst[k] = cxxClamp(dst[k]!, lo, hi);
  }
}
