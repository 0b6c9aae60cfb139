/**
 * v4 concat (0x01): for each outer index, for each input i, copy inner_size·dims[i] bytes
 * (inner_size is in bytes) from input i at outer·inner_size·dims[i] (kpu-numerics §7.2).
 */
export function concat(
  inputs: readonly Uint8Array[],
  dst: Uint8Array,
  dims: ArrayLike<number>,
  innerSize: number,
  outerSize: number,
): void {
  let o = 0;
  for (let oc = 0; oc < outerSize; oc++) {
    for (let i = 0; i < inputs.length; i++) {
      const size = innerSize * dims[i]!;
      const start = oc * size;
      dst.set(inputs[i]!.subarray(start, start + size), o);
      o += size;
    }
  }
}
