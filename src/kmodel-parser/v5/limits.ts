/**
 * What a kmodel v5 may ask of the chip: every size and count the file declares (mempools,
 * function pools, tensor shapes and ranges, K210 op shapes) is checked against the memory it
 * lives in before anything is allocated or looped over, as v3 and v4 models are. A size beyond
 * these is not a model a K210 can run, so the parser refuses it with the byte offset.
 */
import { AI_SRAM_BYTES, MAIN_SRAM_BYTES } from '../../chip.js';
import { MEM_KPU, MEM_RDATA } from './types.js';

/** The K210's SPI flash: the most `.rdata` (part of the model file) can hold. */
export const FLASH_BYTES = 16 * 1024 * 1024;

export interface MemoryLimit {
  readonly bytes: number;
  readonly memory: string;
}

export const MAIN_SRAM: MemoryLimit = { bytes: MAIN_SRAM_BYTES, memory: "the K210's 6 MiB of main SRAM" };
export const AI_SRAM: MemoryLimit = { bytes: AI_SRAM_BYTES, memory: "the K210's 2 MiB of AI SRAM" };
export const FLASH: MemoryLimit = { bytes: FLASH_BYTES, memory: "the K210's 16 MiB of flash" };

/** The memory a `memory_location_t` lives in: KPU RAM, the model file (rdata), else main SRAM. */
export function locationLimit(location: number): MemoryLimit {
  if (location === MEM_KPU) return AI_SRAM;
  if (location === MEM_RDATA) return FLASH;
  return MAIN_SRAM;
}

/**
 * Bytes of a dense tensor of `shape` with `elemBytes`-byte elements, or null when it exceeds
 * `limit` (computed without overflow: stops as soon as the product passes the limit).
 */
export function boundedTensorBytes(shape: readonly number[], elemBytes: number, limit: number): number | null {
  if (shape.some((d) => d === 0)) return 0;
  let n = elemBytes;
  for (const d of shape) {
    n *= d;
    if (n > limit) return null;
  }
  return n;
}
