/**
 * v3 K210_ADD_PADDING (10241): one byte per channel from main memory to pixel (0,0) of a
 * 4×4 map in the w ≤ 16 AI SRAM layout (kpu-numerics §6.8: 4 channels per 64-byte line, 16-byte pitch,
 * 4 lines per channel group): channel c → byte (c div 4)·256 + (c mod 4)·16. The other 15
 * pixels are left as they are. `dst` is AI SRAM from byte kpu_mem_out_address·64 on.
 */
export function k210AddPaddingV3(src: Uint8Array, dst: Uint8Array, channels: number): void {
  for (let c = 0; c < channels; c++) dst[(c >>> 2) * 256 + (c & 3) * 16] = src[c]!;
}
