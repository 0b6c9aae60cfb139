/** Budgets a user's CI can enforce on a profile (`kpusim check`). */
import type { Profile } from './profile.js';

export interface Budget {
  readonly maxMs?: number;
  readonly maxMainBytes?: number;
  readonly maxAiSramBytes?: number;
}

/** One sentence per violation: the budget's limits, and the chip's own (2 MiB AI SRAM, 6 MiB main SRAM). */
export function budgetViolations(p: Profile, b: Budget): string[] {
  const v: string[] = [];
  if (b.maxMs !== undefined && p.total_ms > b.maxMs)
    v.push(
      `time: ${p.total_ms.toFixed(3)} ms per run is over the budget of ${b.maxMs} ms (KPU ${p.kpu_ms.toFixed(3)} ms, CPU ${p.cpu_ms.toFixed(3)} ms)`,
    );
  if (b.maxMainBytes !== undefined && p.memory.main_bytes > b.maxMainBytes)
    v.push(`main memory: ${p.memory.main_bytes} bytes is over the budget of ${b.maxMainBytes} bytes`);
  if (b.maxAiSramBytes !== undefined && p.memory.ai_sram_peak_bytes > b.maxAiSramBytes) {
    v.push(
      `AI SRAM: peak ${p.memory.ai_sram_peak_bytes} bytes at layer ${p.memory.ai_sram_peak_layer} is over the budget of ${b.maxAiSramBytes} bytes`,
    );
  }
  for (const problem of p.memory.problems) v.push(`does not fit the K210: ${problem}`);
  return v;
}
