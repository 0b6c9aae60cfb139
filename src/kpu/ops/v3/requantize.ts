/** v3 REQUANTIZE (13): out[i] = table[in[i]] with the body's 256-byte table (kpu-numerics §7.1). */
export function requantizeV3(src: Uint8Array, dst: Uint8Array, table: Uint8Array): void {
  const n = src.length;
  for (let i = 0; i < n; i++) dst[i] = table[src[i]!]!;
}
