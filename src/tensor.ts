/** Small helpers over raw tensor bytes (little-endian, as the runtimes exchange them). */

/** A float32 view of little-endian bytes (copied when the bytes are not 4-byte aligned). */
export function asFloat32(bytes: Uint8Array): Float32Array {
  const n = bytes.length >> 2;
  if ((bytes.byteOffset & 3) === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, n);
  return new Float32Array(bytes.slice(0, n * 4).buffer);
}

/** Minimum and maximum of a tensor, for people (outputs.json). */
export function tensorStats(bytes: Uint8Array, dtype: string): { min: number; max: number } {
  const a: ArrayLike<number> = dtype === 'float32' ? asFloat32(bytes) : bytes;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min: a.length ? min : 0, max: a.length ? max : 0 };
}
