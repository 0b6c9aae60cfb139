/**
 * v3 GLOBAL_MAX_POOL2D (3, float). NOT BOARD-VERIFIED: the SDK does not implement it.
 * Obvious semantics mirroring GLOBAL_AVERAGE_POOL2D's body (kernel_size = H·W values per
 * channel, CHW): the maximum, starting from −∞ (`>` comparison: NaN inputs are skipped).
 */
export function globalMaxPool2dV3(src: Float32Array, dst: Float32Array, kernelSize: number, channels: number): void {
  let k = 0;
  for (let c = 0; c < channels; c++) {
    let v = -Infinity;
    for (let i = 0; i < kernelSize; i++) {
      const s = src[k++]!;
      if (s > v) v = s;
    }
    dst[c] = v;
  }
}
