/** v4 table_lookup1d (0x12): out[i] = table[in[i]] over uint8 (kpu-numerics §7.2). */
export function tableLookup1d(src: Uint8Array, dst: Uint8Array, table: Uint8Array): void {
  const n = src.length;
  for (let i = 0; i < n; i++) dst[i] = table[src[i]!]!;
}
