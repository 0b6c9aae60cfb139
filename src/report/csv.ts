/** CSV (RFC 4180): one header row, one row per layer; fields quoted only when they need it. */
import type { Profile } from '../kpu/timing/profile.js';

export function csvField(v: string | number | boolean): string {
  const s = typeof v === 'number' ? (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(9)))) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(header: readonly string[], rows: readonly (readonly (string | number | boolean)[])[]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

export const PROFILE_CSV_COLUMNS = [
  'index',
  'type',
  'unit',
  'ms',
  'cycles',
  'kpu_cycles',
  'macs',
  'macs_per_cycle',
  'utilisation',
  'ai_sram_bytes',
  'compute_ms',
  'transfer_ms',
  'calibrated',
] as const;

/** The profile's layers as CSV, columns as in `--json`. */
export function profileCsv(p: Profile): string {
  return toCsv(
    PROFILE_CSV_COLUMNS,
    p.layers.map((l) => PROFILE_CSV_COLUMNS.map((c) => l[c])),
  );
}
