/**
 * The K210's fixed facts, in one place (docs/kpu-numerics.md §1): memory sizes, the KPU's line
 * size, the flash size and the clocks the SDK's and nncase's examples run at. The timing model's
 * parameters (src/kpu/timing/params.ts) start from the same clocks.
 */

export const MiB = 1024 * 1024;

/** General SRAM: MEM0 (4 MiB) + MEM1 (2 MiB); the model's main buffer must fit in it. */
export const MAIN_SRAM_BYTES = 6 * MiB;
/** AI SRAM (KPU RAM), addressed by the KPU in 64-byte lines: a 15-bit line index covers exactly 2 MiB. */
export const AI_SRAM_BYTES = 2 * MiB;
/** One KPU line. */
export const KPU_LINE_BYTES = 64;
/** The SPI flash of the usual K210 boards (MaixPy loads models from it by address). */
export const FLASH_BYTES = 16 * MiB;
/** CPU clock: PLL0 800 MHz / 2, as in every SDK example. */
export const CPU_MHZ = 400;
/** KPU clock: PLL1 400 MHz, divider 1, as in nncase's and the SDK's examples. */
export const KPU_MHZ = 400;
