/**
 * v3 K210_REMOVE_PADDING (10242): out[c] = in[16·c] — pixel (0,0) of each 4×4 channel of a
 * dense download (kpu-numerics §7.1).
 */
export function k210RemovePaddingV3(src: Uint8Array, dst: Uint8Array, channels: number): void {
  for (let c = 0; c < channels; c++) dst[c] = src[16 * c]!;
}
