/**
 * v3 FULLY_CONNECTED (18), SDK `kpu_kmodel_fully_connected`: for each output o,
 * sum = 0; sum += in[i]·W[o·in + i] for i in order (the 8× unrolled loop keeps the order);
 * out = sum + bias[o]; then the activation (0 linear, 1 relu, 2 relu6) with the SDK's
 * macros max(a,b) = a > b ? a : b, min(a,b) = a < b ? a : b.
 * golden: each product and each sum rounded (the goldens pin this order, kpu-numerics §10.1).
 * board: `sum += i*w` contracts to fmadd.s under -ffp-contract=fast (kpu-numerics §7.0 (b)).
 */
import { f32, fmaf, type CpuNumerics } from '../common.js';

export const FcActivationV3 = { Linear: 0, Relu: 1, Relu6: 2 } as const;

export function fullyConnectedV3(
  src: Float32Array,
  dst: Float32Array,
  weights: Float32Array,
  bias: Float32Array,
  inChannels: number,
  outChannels: number,
  activation: number,
  mode: CpuNumerics,
): void {
  for (let oc = 0; oc < outChannels; oc++) {
    const w0 = oc * inChannels;
    let sum = 0;
    if (mode === 'board') {
      for (let ic = 0; ic < inChannels; ic++) sum = fmaf(src[ic]!, weights[w0 + ic]!, sum);
    } else {
      for (let ic = 0; ic < inChannels; ic++) sum = f32(sum + f32(src[ic]! * weights[w0 + ic]!));
    }
    dst[oc] = f32(sum + bias[oc]!);
  }
  if (activation === FcActivationV3.Relu) {
    for (let i = 0; i < outChannels; i++) {
      const v = dst[i]!;
      dst[i] = v > 0 ? v : 0;
    }
  } else if (activation === FcActivationV3.Relu6) {
    for (let i = 0; i < outChannels; i++) {
      let v = dst[i]!;
      v = v > 0 ? v : 0;
      dst[i] = v < 6 ? v : 6;
    }
  }
}
