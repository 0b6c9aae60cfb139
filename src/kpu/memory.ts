/**
 * The two on-chip memories the emulator models (kpu-numerics §1.1): 6 MiB of general SRAM (MEM0 +
 * MEM1) and the 2 MiB AI SRAM the KPU reads and writes in 64-byte lines. Both start zero-filled,
 * as in the golden simulator (its `kpu=` hashes assume a zeroed KPU RAM; padding lanes of the
 * kpu-numerics §6.8 layout stay 0 unless something writes them).
 */
import { AI_SRAM_BYTES, MAIN_SRAM_BYTES } from '../chip.js';
import { KpuFault } from '../errors.js';

export type MemoryName = 'main' | 'ai';

export class Machine {
  readonly mainSram: Uint8Array = new Uint8Array(MAIN_SRAM_BYTES);
  readonly aiSram: Uint8Array = new Uint8Array(AI_SRAM_BYTES);

  /** Back to the power-on state of the simulator: every byte 0. */
  reset(): void {
    this.mainSram.fill(0);
    this.aiSram.fill(0);
  }

  memory(name: MemoryName): Uint8Array {
    return name === 'main' ? this.mainSram : this.aiSram;
  }
}

/**
 * Throws a typed fault unless [address, address + size) lies inside a memory of `limit` bytes.
 * Used by `prepare` steps (phase 'prepare') and by the few run-time helpers that take caller
 * addresses (phase 'run'); never inside a hot loop.
 */
export function checkRange(
  what: string,
  address: number,
  size: number,
  limit: number,
  context: { layer?: number; type?: string } = {},
  phase: 'prepare' | 'run' = 'run',
): void {
  if (
    !Number.isSafeInteger(address) ||
    !Number.isSafeInteger(size) ||
    address < 0 ||
    size < 0 ||
    address + size > limit
  ) {
    throw new KpuFault(
      'OUT_OF_RANGE',
      `${what} at byte ${address} (+${size} bytes) does not fit in ${limit} bytes`,
      { ...context, address, size },
      phase,
    );
  }
}
