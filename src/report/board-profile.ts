/**
 * `kpusim board profile` reports: the profile table with a board column beside the prediction and
 * the error per layer, its CSV, and a Chrome trace with two processes (the board's measured layers
 * and the timing model's predicted ones) on one time axis, so the two timelines line up in Perfetto.
 */
import type { BoardProfile } from '../hil/calibrate/board-profile.js';
import type { TraceEvent } from './chrome-trace.js';
import { toCsv } from './csv.js';
import { fmtMs, formatTable } from './table.js';

const pct = (v: number | null) => (v === null ? 'n/a' : `${v >= 0 ? '+' : ''}${v.toFixed(1)}%`);

export function boardProfileText(p: BoardProfile): string {
  const rows = p.layers.map((l) => [
    String(l.index),
    l.type,
    l.unit,
    fmtMs(l.predicted_ms),
    fmtMs(l.board_ms),
    fmtMs(l.spread_ms),
    pct(l.error_pct),
    l.correction_ms !== 0 ? fmtMs(l.correction_ms) : '',
  ]);
  const table = formatTable(
    [
      { header: 'layer', right: true },
      { header: 'type' },
      { header: 'unit' },
      { header: 'predicted ms', right: true },
      { header: 'board ms', right: true },
      { header: 'spread', right: true },
      { header: 'error', right: true },
      { header: 'correction', right: true },
    ],
    rows,
  );
  const t = p.total;
  const err = t.board_ms > 0 ? (100 * (t.predicted_ms - t.board_ms)) / t.board_ms : null;
  return (
    [
      table.trimEnd(),
      '',
      `Model: predicted ${fmtMs(t.predicted_ms)} ms, board ${fmtMs(t.board_ms)} ms (spread ${fmtMs(t.spread_ms)}), error ${pct(err)}`,
      `board ms: difference of the medians of kpu.set_layers prefixes n and n − 1 (${p.repeats} repeats each), minus the correction;`,
      "spread: the two prefixes' max − min added. correction: what the timing model says a prefix run adds beyond its layers",
      "(the per-run overhead in layer 0; the firmware's download of a prefix's last conv output when it stays in KPU memory).",
    ].join('\n') + '\n'
  );
}

export const BOARD_PROFILE_CSV_COLUMNS = [
  'index',
  'type',
  'unit',
  'predicted_ms',
  'board_ms',
  'spread_ms',
  'error_pct',
  'raw_ms',
  'correction_ms',
] as const;

export function boardProfileCsv(p: BoardProfile): string {
  return toCsv(
    BOARD_PROFILE_CSV_COLUMNS,
    p.layers.map((l) => BOARD_PROFILE_CSV_COLUMNS.map((c) => l[c] ?? '')),
  );
}

const us = (ms: number) => Math.round(ms * 1000 * 1000) / 1000;

/** Chrome trace: process 1 the board (measured), process 2 the timing model (predicted); layers back to back. */
export function boardProfileTrace(p: BoardProfile, name = 'model'): Record<string, unknown> {
  const ev: TraceEvent[] = [];
  const track = (pid: number, label: string, key: 'board_ms' | 'predicted_ms') => {
    ev.push({ name: 'process_name', ph: 'M', pid, args: { name: label } });
    ev.push({ name: 'process_sort_index', ph: 'M', pid, args: { sort_index: pid } });
    ev.push({ name: 'thread_name', ph: 'M', pid, tid: 1, args: { name: 'KPU' } });
    ev.push({ name: 'thread_name', ph: 'M', pid, tid: 2, args: { name: 'CPU' } });
    let t = 0;
    for (const l of p.layers) {
      const d = Math.max(0, l[key]);
      ev.push({
        name: `${l.index} ${l.type}`,
        cat: l.unit,
        ph: 'X',
        pid,
        tid: l.unit === 'KPU' ? 1 : 2,
        ts: us(t),
        dur: us(d),
        args: {
          index: l.index,
          type: l.type,
          predicted_ms: l.predicted_ms,
          board_ms: l.board_ms,
          spread_ms: l.spread_ms,
          error_pct: l.error_pct,
        },
      });
      t += d;
    }
  };
  const b = p.board;
  track(
    1,
    `board: ${name} on ${b.virtual ? "kpusim's virtual board" : b.firmware}${b.version ? ` ${b.version}` : ''} (measured)`,
    'board_ms',
  );
  track(2, `kpusim timing model: ${name} (predicted, KPU ${b.kpuMhz} MHz, CPU ${b.cpuMhz} MHz)`, 'predicted_ms');
  return {
    traceEvents: ev,
    displayTimeUnit: 'ms',
    otherData: {
      generator: 'kpusim board profile',
      method: p.method,
      repeats: p.repeats,
      predicted_ms: p.total.predicted_ms,
      board_ms: p.total.board_ms,
    },
  };
}
