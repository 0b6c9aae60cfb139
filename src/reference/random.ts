/**
 * Seeded random model inputs for comparisons that should not depend on a picture: uniform
 * bytes for uint8 inputs, uniform [0, 1) for float32 inputs (a 32-bit LCG, reproducible).
 */
import type { TensorDesc } from '../kmodel-parser/model.js';

export function randomInput(desc: TensorDesc, seed: number): Uint8Array {
  const bytes = new Uint8Array(desc.bytes);
  let s = seed >>> 0 || 1;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
  if (desc.dtype === 'float32') {
    const f = new Float32Array(bytes.buffer);
    for (let i = 0; i < f.length; i++) f[i] = (next() >>> 8) / 2 ** 24;
  } else {
    for (let i = 0; i < bytes.length; i++) bytes[i] = next() >>> 24;
  }
  return bytes;
}
