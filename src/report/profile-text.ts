/**
 * The terminal view of a profile: a per-layer table in the columns of the SDK's KPU_DEBUG and
 * MaixPy (layer, type, KPU or CPU, ms, MACs, MAC/cycle utilisation, AI SRAM bytes), then the
 * `KPU: x ms` / `CPU: y ms` / `Model: z ms` lines, the fps, and the memory peaks.
 */
import type { Profile } from '../kpu/timing/profile.js';
import { fmtBytes, fmtCount, fmtInt, fmtMs, formatTable } from './table.js';

export function profileText(p: Profile): string {
  const rows = p.layers.map((l) => [
    String(l.index),
    l.type,
    l.unit,
    `${l.calibrated ? '' : '~'}${fmtMs(l.ms)}`,
    l.transfer_ms > 0 ? fmtMs(l.transfer_ms) : '',
    l.macs > 0 ? fmtCount(l.macs) : '',
    l.unit === 'KPU' && l.macs > 0 ? `${l.macs_per_cycle.toFixed(0)} (${(100 * l.utilisation).toFixed(1)}%)` : '',
    l.ai_sram_bytes > 0 ? fmtInt(l.ai_sram_bytes) : '',
  ]);
  const table = formatTable(
    [
      { header: 'layer', right: true },
      { header: 'type' },
      { header: 'unit' },
      { header: 'ms', right: true },
      { header: 'of which transfer', right: true },
      { header: 'MACs', right: true },
      { header: 'MAC/cycle (of 576)', right: true },
      { header: 'AI SRAM bytes', right: true },
    ],
    rows,
  );
  const m = p.memory;
  const lines = [
    table.trimEnd(),
    '',
    `KPU: ${fmtMs(p.kpu_ms)} ms`,
    `CPU: ${fmtMs(p.cpu_ms)} ms`,
    `Per run (runtime set-up, outside the layers): ${fmtMs(p.overhead_ms)} ms`,
    `Model: ${fmtMs(p.total_ms)} ms (${p.fps.toFixed(1)} fps) at KPU ${p.clocks.kpu_mhz} MHz, CPU ${p.clocks.cpu_mhz} MHz`,
    `AI SRAM peak: ${fmtInt(m.ai_sram_peak_bytes)} bytes (${fmtBytes(m.ai_sram_peak_bytes)}) at layer ${m.ai_sram_peak_layer}, of ${fmtBytes(m.ai_sram_limit_bytes)}`,
    `Main SRAM: ${fmtInt(m.main_bytes)} bytes (${fmtBytes(m.main_bytes)}: model ${fmtBytes(m.main.parts.model)}, working buffer ${fmtBytes(m.main.parts.working)}${m.main.workingEstimated ? ' (estimated, lower bound)' : ''}${m.main.parts.input ? `, input ${fmtBytes(m.main.parts.input)}` : ''}) of ${fmtBytes(m.main_limit_bytes)}, firmware not counted`,
  ];
  if (p.layers.some((l) => !l.calibrated))
    lines.push('~ : estimated CPU cost (no public board measurement for this op; see src/kpu/timing/params.ts)');
  for (const w of m.ai_sram.warnings) lines.push(`warning: ${w}`);
  lines.push(m.fits ? 'Memory: fits.' : `Memory: DOES NOT FIT: ${m.problems.join('; ')}`);
  return lines.join('\n') + '\n';
}
