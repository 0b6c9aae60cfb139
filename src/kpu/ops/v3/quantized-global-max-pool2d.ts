/**
 * v3 QUANTIZED_GLOBAL_MAX_POOL2D (4, uint8). NOT BOARD-VERIFIED: the SDK does not implement
 * it. Obvious semantics: per channel (CHW, kernel_size = H·W values), the maximum from 0.
 */
export function quantizedGlobalMaxPool2dV3(
  src: Uint8Array,
  dst: Uint8Array,
  kernelSize: number,
  channels: number,
): void {
  let k = 0;
  for (let c = 0; c < channels; c++) {
    let v = 0;
    for (let i = 0; i < kernelSize; i++) {
      const s = src[k++]!;
      if (s > v) v = s;
    }
    dst[c] = v;
  }
}
