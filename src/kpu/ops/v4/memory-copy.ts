/**
 * v4 memory_copy (0x09). The reference copies the input range as a span of floats
 * (`memory_at<float>`: size / 4 elements), so a range whose size is not a multiple of 4
 * loses its last 1–3 bytes; mirrored here. Pass the whole input and output ranges.
 */
export function memoryCopy(src: Uint8Array, dst: Uint8Array): void {
  const n = src.length & ~3;
  dst.set(src.subarray(0, n));
}
