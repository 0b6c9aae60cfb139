/**
 * v3 CONCAT / QUANTIZED_CONCAT (16/17): the byte ranges are copied one after another to the
 * output (memcpy; the body's second field is a byte count, kpu-numerics §2.6).
 */
export function concatV3(inputs: readonly Uint8Array[], dst: Uint8Array): void {
  let o = 0;
  for (const src of inputs) {
    dst.set(src, o);
    o += src.length;
  }
}
