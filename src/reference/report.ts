/**
 * The comparison report: the summary numbers (worst layers, where the quantisation loss
 * happens) and the human rendering, a table with a bar per layer. Pure: the CLI composes.
 */
import { TOLERANCES } from '../tolerances.js';
import type { CompareRun, LayerComparison, OutputComparison } from './compare.js';
import { NOT_EXECUTED } from './graph.js';

/** nncase's acceptance bar for a quantised K210 model's output cosine against float. */
export const NNCASE_COSINE_BAR = 0.97;

export interface WorstIsolated {
  readonly index: number;
  readonly type: string;
  readonly max_lsb_diff: number | null;
  readonly mismatch_fraction: number;
  readonly cosine: number;
}

export interface QuantLoss {
  readonly index: number;
  readonly type: string;
  readonly snr_in_db: number | null;
  readonly snr_db: number | null;
  readonly snr_drop_db: number | null;
}

export interface CompareSummary {
  readonly kpu_conv_layers: number;
  /** KPU conv layers meeting ≤ 1 LSB and cosine ≥ 0.999 in isolation. */
  readonly kpu_conv_pass: number;
  readonly isolated_worst_lsb: number | null;
  readonly isolated_worst_cosine: number | null;
  /** Layers failing the isolated bar (any unit), worst first, then the worst others. */
  readonly worst_isolated: readonly WorstIsolated[];
  /** Layers adding the most quantisation noise (largest noise-to-signal increase). */
  readonly largest_losses: readonly QuantLoss[];
  readonly sparkline: string;
}

const nsr = (snr: number | null | undefined): number => (snr === null || snr === undefined ? 0 : 10 ** (-snr / 10));

export function isolatedPasses(l: LayerComparison): boolean {
  const iso = l.isolated;
  if (!iso) return false;
  const t = TOLERANCES.referenceIsolatedU8;
  if (iso.max_lsb_diff === null) return iso.mismatch_fraction === 0 || iso.cosine >= t.cosine;
  return iso.max_lsb_diff <= t.maxLsb && iso.cosine >= t.cosine;
}

const BLOCKS = ' ▁▂▃▄▅▆▇█';

/** One character per layer: cumulative SNR from 0 (▁) to 60 dB (█); exact '█', none ' '. */
export function snrSparkline(layers: readonly LayerComparison[]): string {
  return layers
    .map((l) => {
      const s = l.cumulative?.snr_db;
      if (s === undefined) return ' ';
      if (s === null) return '█';
      const k = Math.round((Math.max(0, Math.min(60, s)) / 60) * 7) + 1;
      return BLOCKS[k];
    })
    .join('');
}

export function summarize(run: CompareRun): CompareSummary {
  const kpu = run.layers.filter((l) => l.unit === 'KPU' && l.isolated);
  const lsbs = kpu.map((l) => l.isolated!.max_lsb_diff ?? 0);
  const coss = kpu.map((l) => l.isolated!.cosine);
  const iso = run.layers.filter((l) => l.isolated);
  const order = (a: LayerComparison, b: LayerComparison) =>
    Number(isolatedPasses(a)) - Number(isolatedPasses(b)) ||
    (b.isolated!.max_lsb_diff ?? 0) - (a.isolated!.max_lsb_diff ?? 0) ||
    a.isolated!.cosine - b.isolated!.cosine ||
    b.isolated!.mismatch_fraction - a.isolated!.mismatch_fraction;
  const worst = [...iso].sort(order).slice(0, 3);
  const losses: (QuantLoss & { add: number })[] = run.layers
    .filter((l) => l.cumulative)
    .map((l) => {
      // snr_drop_db was taken against the worst producer over the whole model (not only the
      // reported range); null means the inputs were exact.
      const out = l.cumulative!.snr_db;
      const drop = l.cumulative!.snr_drop_db;
      const inSnr = drop === null || out === null ? null : out + drop;
      return {
        index: l.index,
        type: l.type,
        snr_in_db: inSnr,
        snr_db: out,
        snr_drop_db: drop,
        add: nsr(out) - nsr(inSnr),
      };
    })
    .filter((l) => l.add > 0)
    .sort((a, b) => b.add - a.add)
    .slice(0, 3);
  return {
    kpu_conv_layers: kpu.length,
    kpu_conv_pass: kpu.filter(isolatedPasses).length,
    isolated_worst_lsb: lsbs.length ? Math.max(...lsbs) : null,
    isolated_worst_cosine: coss.length ? Math.min(...coss) : null,
    worst_isolated: worst.map((l) => ({ index: l.index, type: l.type, ...l.isolated! })),
    largest_losses: losses.map(({ add: _add, ...l }) => l),
    sparkline: snrSparkline(run.layers),
  };
}

// ---- human form ---------------------------------------------------------------------------

const fmtSnr = (s: number | null | undefined) => (s === undefined ? '' : s === null ? 'exact' : s.toFixed(1));
const fmtCos = (c: number | undefined) => (c === undefined ? '' : c.toFixed(6));
const pct = (f: number) => (f === 0 ? '0' : f < 0.0001 ? '<0.01%' : `${(100 * f).toFixed(2)}%`);
const fmtNum = (v: number) =>
  v === 0 ? '0' : Math.abs(v) >= 1000 || Math.abs(v) < 0.001 ? v.toExponential(2) : Number(v.toPrecision(4)).toString();

/** A bar of 20 cells for an SNR from 0 to 60 dB (eighth blocks). */
export function snrBar(s: number | null | undefined, width = 20): string {
  if (s === undefined) return '';
  if (s === null) return '█'.repeat(width) + ' exact';
  const cells = (Math.max(0, Math.min(60, s)) / 60) * width;
  const full = Math.floor(cells);
  const part = Math.round((cells - full) * 8);
  return '█'.repeat(full) + (part > 0 && full < width ? '▏▎▍▌▋▊▉█'[part - 1] : '');
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

export interface RenderHeader {
  readonly model: string;
  readonly input: string;
  readonly backend: string;
  readonly statement: string;
}

export function renderLayers(layers: readonly LayerComparison[]): string {
  const typeW = Math.max(4, ...layers.map((l) => l.type.length));
  const idxW = Math.max(2, ...layers.map((l) => String(l.index).length));
  let t = `${pad('', idxW + typeW + 8)}isolated (reference fed the emulator's input)  cumulative (float model from the input)\n`;
  t += `${pad('#', idxW, true)}  ${pad('type', typeW)}  unit  ${pad('max LSB', 7, true)}  ${pad('differ', 7, true)}  ${pad('cosine', 8, true)}    ${pad('cosine', 8, true)}  ${pad('SNR dB', 6, true)}  ${pad('max |err|', 12, true)}  SNR 0─────────60 dB\n`;
  for (const l of layers) {
    const i = l.isolated;
    const c = l.cumulative;
    const isoCells = i
      ? `${pad(i.max_lsb_diff === null ? 'float' : String(i.max_lsb_diff), 7, true)}  ${pad(pct(i.mismatch_fraction), 7, true)}  ${pad(fmtCos(i.cosine), 8, true)}${isolatedPasses(l) ? ' ' : '!'}`
      : `${pad('—', 7, true)}  ${pad('', 7)}  ${pad('', 8)} `;
    const err = c ? `${fmtNum(c.max_abs)}${c.max_abs_unit === 'lsb' ? ' LSB' : ''}` : '';
    const cumCells = c
      ? `${pad(fmtCos(c.cosine), 8, true)}  ${pad(fmtSnr(c.snr_db), 6, true)}  ${pad(err, 12, true)}  ${snrBar(c.snr_db)}`
      : '';
    const why =
      l.note === NOT_EXECUTED
        ? `  (${NOT_EXECUTED})`
        : l.reference === 'emulator'
          ? '  (no float counterpart: emulator result carried on)'
          : '';
    t += `${pad(String(l.index), idxW, true)}  ${pad(l.type, typeW)}  ${pad(l.unit, 4)}  ${isoCells}   ${cumCells}${why}\n`;
  }
  return t;
}

export function renderOutputs(outputs: readonly OutputComparison[], shapes: readonly string[]): string {
  let t = '';
  for (const o of outputs) {
    const flag = o.cosine < NNCASE_COSINE_BAR ? `  below nncase's ${NNCASE_COSINE_BAR} bar` : '';
    t += `  output ${o.index} ${shapes[o.index] ?? ''}: cosine ${o.cosine.toFixed(5)}, centred ${o.centred_cosine.toFixed(5)}, SNR ${fmtSnr(o.snr_db)} dB, max |err| ${fmtNum(o.max_abs)}${flag}\n`;
  }
  return t;
}

export function renderSummary(s: CompareSummary, run: CompareRun): string {
  let t = '';
  if (s.kpu_conv_layers) {
    t += `isolated check, KPU conv layers (expect ≤ ${TOLERANCES.referenceIsolatedU8.maxLsb} LSB and cosine ≥ ${TOLERANCES.referenceIsolatedU8.cosine}): ${s.kpu_conv_pass}/${s.kpu_conv_layers} pass; worst ${s.isolated_worst_lsb} LSB, lowest cosine ${fmtCos(s.isolated_worst_cosine ?? undefined)}\n`;
  }
  if (s.worst_isolated.length) {
    t +=
      '  worst isolated layers: ' +
      s.worst_isolated
        .map(
          (w) =>
            `${w.index} ${w.type} (${w.max_lsb_diff === null ? 'float' : `${w.max_lsb_diff} LSB`} on ${pct(w.mismatch_fraction)}, cosine ${w.cosine.toFixed(6)})`,
        )
        .join('; ') +
      '\n';
  }
  if (s.largest_losses.length) {
    t +=
      '  largest quantisation losses: ' +
      s.largest_losses
        .map(
          (l) =>
            `${l.index} ${l.type} (SNR ${l.snr_in_db === null ? 'exact' : l.snr_in_db.toFixed(1)} → ${fmtSnr(l.snr_db)} dB)`,
        )
        .join('; ') +
      '\n';
  }
  t += `  SNR profile by layer (▁ 0 dB … █ 60 dB): ${s.sparkline}\n`;
  const low = run.outputs.filter((o) => o.cosine < NNCASE_COSINE_BAR);
  if (low.length && s.largest_losses.length) {
    const l = s.largest_losses[0];
    t += `  output ${low.map((o) => o.index).join(', ')} below ${NNCASE_COSINE_BAR}: the cumulative profile loses most at layer ${l.index} (${l.type}), SNR ${l.snr_in_db === null ? 'exact' : `${l.snr_in_db.toFixed(1)} dB`} → ${fmtSnr(l.snr_db)} dB\n`;
  }
  return t;
}

export function renderCompare(
  h: RenderHeader,
  run: CompareRun,
  summary: CompareSummary,
  shapes: readonly string[],
  emulatorMs: number,
): string {
  let t = `${h.model}\ninput: ${h.input}\nreference: TensorFlow.js float model (${h.backend} backend)\n${h.statement}\n\n`;
  t += renderLayers(run.layers);
  t += '\noutputs, emulator vs float model:\n' + renderOutputs(run.outputs, shapes);
  t += '\n' + renderSummary(summary, run);
  if (run.notes?.length) t += run.notes.map((n) => `  note: ${n}\n`).join('');
  t += `time: ${(run.timings.total_ms / 1000).toFixed(2)} s (emulator ${(emulatorMs / 1000).toFixed(2)} s, reference ${(run.timings.reference_ms / 1000).toFixed(2)} s)\n`;
  return t;
}
