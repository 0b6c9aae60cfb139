/** v3 ADD (1): out[i] = a[i] + b[i] in float32 for the `count` elements of the views (kpu-numerics §7.1). */
import { f32 } from '../common.js';

export function addV3(a: Float32Array, b: Float32Array, out: Float32Array): void {
  const n = out.length;
  for (let i = 0; i < n; i++) out[i] = f32(a[i]! + b[i]!);
}
