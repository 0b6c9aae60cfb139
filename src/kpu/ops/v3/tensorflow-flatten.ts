/**
 * v3 TENSORFLOW_FLATTEN (20): CHW → HWC, out in (y, x, c) order of in[(c·h + y)·w + x].
 * The uint8 variant is QUANTIZED_TENSORFLOW_FLATTEN (21), NOT BOARD-VERIFIED (the SDK lacks
 * it; Netron parses the same body): the same permutation on bytes.
 */
export function tensorflowFlattenV3<T extends Float32Array | Uint8Array>(
  src: T,
  dst: T,
  width: number,
  height: number,
  channels: number,
): void {
  let o = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) dst[o++] = src[(c * height + y) * width + x]!;
    }
  }
}
