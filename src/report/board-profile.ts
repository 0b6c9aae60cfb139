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
const ms = (v: number | null | undefined) => (v === null || v === undefined ? '' : fmtMs(v));

export function boardProfileText(p: BoardProfile): string {
  const rows = p.layers.map((l) => [
    String(l.index),
    l.type,
    l.unit,
    fmtMs(l.predicted_ms),
    l.board_ms === null ? 'not measured' : fmtMs(l.board_ms),
    ms(l.spread_ms),
    l.board_ms === null ? '' : pct(l.error_pct),
    l.correction_ms !== 0 ? fmtMs(l.correction_ms) : '',
    l.priced_ms ? fmtMs(l.priced_ms) : '',
  ]);
  const lm = p.method === 'layer-models';
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
      ...(lm ? [{ header: 'priced', right: true }] : []),
    ],
    lm ? rows : rows.map((r) => r.slice(0, -1)),
  );
  const t = p.total;
  const err = t.board_ms !== null && t.board_ms > 0 ? (100 * (t.predicted_ms - t.board_ms)) / t.board_ms : null;
  const model =
    t.board_ms === null
      ? `Model: predicted ${fmtMs(t.predicted_ms)} ms; not timed whole: ${t.reason ?? 'no reason given'}`
      : `Model: predicted ${fmtMs(t.predicted_ms)} ms, board ${fmtMs(t.board_ms)} ms (spread ${ms(t.spread_ms)}), error ${pct(err)}`;
  const unmeasured = p.layers.filter((l) => l.board_ms === null);
  const reasons = [...new Set(unmeasured.map((l) => l.reason ?? ''))].map((r) => {
    const of = unmeasured.filter((l) => (l.reason ?? '') === r);
    return `  ${of.length === 1 ? 'layer' : 'layers'} ${of.map((l) => `${l.index} ${l.type}`).join(', ')}: ${r}`;
  });
  const lines = [table.trimEnd(), '', model];
  if (lm) {
    lines.push(
      `Measured layers: ${t.measured_layers} of ${p.layers.length}, predicted ${fmtMs(t.layers_predicted_ms)} ms, board ${fmtMs(t.layers_board_ms)} ms`,
      `method: single-layer models (${p.repeats} repeats each). board ms: the median of a v3 model written by kpusim's builder`,
      'with a replica of the layer (after a 1×1 conv feeding its input shape), minus the median of that feeder alone (the',
      'trivial model), minus the correction: what the timing model says the two models differ in beyond the layer (their',
      "downloads); plus priced: the layer's own transfers, which the replica does not run, priced by the timing model.",
    );
    if (reasons.length) lines.push('not measured:', ...reasons);
  } else
    lines.push(
      `board ms: difference of the medians of kpu.set_layers prefixes n and n − 1 (${p.repeats} repeats each), minus the correction;`,
      "spread: the two prefixes' max − min added. correction: what the timing model says a prefix run adds beyond its layers",
      "(the per-run overhead in layer 0; the firmware's download of a prefix's last conv output when it stays in KPU memory).",
    );
  return lines.join('\n') + '\n';
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
  'priced_ms',
  'reason',
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
      // A layer without a board time keeps its predicted duration on the board track (marked in its args).
      const d = Math.max(0, l[key] ?? l.predicted_ms);
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
          ...(l.board_ms === null ? { not_measured: l.reason ?? true } : {}),
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
      layers_board_ms: p.total.layers_board_ms,
    },
  };
}
