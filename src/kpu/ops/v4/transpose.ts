/**
 * v4 transpose (0x0C): out_shape[i] = in_shape[perm[i]]; out[o] = in[i] with i[perm[k]] = o[k]
 * (kpu-numerics §7.2). Raw bytes, `elemBytes` ∈ {1, 2, 4}.
 */
import { offset4, type Shape4 } from '../common.js';

export function transposeOutputShape(inShape: Shape4, perm: Shape4): [number, number, number, number] {
  return [inShape[perm[0]!]!, inShape[perm[1]!]!, inShape[perm[2]!]!, inShape[perm[3]!]!];
}

export function transpose(src: Uint8Array, dst: Uint8Array, elemBytes: number, inShape: Shape4, perm: Shape4): void {
  const out = transposeOutputShape(inShape, perm);
  const i = [0, 0, 0, 0];
  const p0 = perm[0]!,
    p1 = perm[1]!,
    p2 = perm[2]!,
    p3 = perm[3]!;
  for (let o0 = 0; o0 < out[0]; o0++) {
    i[p0] = o0;
    for (let o1 = 0; o1 < out[1]; o1++) {
      i[p1] = o1;
      for (let o2 = 0; o2 < out[2]; o2++) {
        i[p2] = o2;
        for (let o3 = 0; o3 < out[3]; o3++) {
          i[p3] = o3;
          const to = offset4(out, o0, o1, o2, o3) * elemBytes;
          const from = offset4(inShape, i[0]!, i[1]!, i[2]!, i[3]!) * elemBytes;
          for (let k = 0; k < elemBytes; k++) dst[to + k] = src[from + k]!;
        }
      }
    }
  }
}
