/**
 * v4 softmax (0x0B), per outer index over inner_size floats (kpu-numerics §7.2): m = the first maximal
 * element (std::max_element, `<` comparisons); e_i = expf((x_i − m)·beta); sum from 0 in order;
 * out_i = e_i / sum. expf: see common.ts. Not exercised by any golden model (kpu-numerics §10.3).
 */
import { expf, f32 } from '../common.js';

export function softmax(
  src: Float32Array,
  dst: Float32Array,
  beta: number,
  outerSize: number,
  innerSize: number,
): void {
  const b = f32(beta);
  for (let batch = 0; batch < outerSize; batch++) {
    const base = batch * innerSize;
    let max = src[base]!;
    for (let i = 1; i < innerSize; i++) if (max < src[base + i]!) max = src[base + i]!;
    let sum = 0;
    for (let i = 0; i < innerSize; i++) {
      const v = expf(f32(f32(src[base + i]! - max) * b));
      sum = f32(sum + v);
      dst[base + i] = v;
    }
    for (let i = 0; i < innerSize; i++) dst[base + i] = f32(dst[base + i]! / sum);
  }
}
