/**
 * A comparison over many inputs: per-input results and the summary (mean, worst, and which
 * inputs are worst).
 */

export interface DatasetOutputMetrics {
  readonly index: number;
  readonly cosine: number;
  readonly centred_cosine: number;
  readonly snr_db: number | null;
  readonly max_abs: number;
}

export interface DatasetItem {
  readonly input: string;
  readonly outputs: readonly DatasetOutputMetrics[];
  /** Single-model runs: worst isolated LSB over the KPU conv layers, and whether all passed. */
  readonly isolated_worst_lsb?: number | null;
  readonly isolated_pass?: boolean;
  readonly error?: string;
}

export interface DatasetOutputSummary {
  readonly index: number;
  readonly mean_cosine: number;
  readonly worst_cosine: number;
  readonly worst_input: string;
  readonly mean_centred_cosine: number;
  /** Mean over inputs with a finite SNR (identical outputs excluded). */
  readonly mean_snr_db: number | null;
  readonly worst_snr_db: number | null;
}

export interface DatasetSummary {
  readonly inputs: number;
  readonly failed_inputs: number;
  readonly outputs: readonly DatasetOutputSummary[];
  /** Lowest output cosine first. */
  readonly worst_inputs: readonly { readonly input: string; readonly cosine: number }[];
  readonly isolated_worst_lsb: number | null;
  readonly isolated_failures: number;
}

export function summarizeDataset(items: readonly DatasetItem[], worstCount = 3): DatasetSummary {
  const ok = items.filter((i) => !i.error && i.outputs.length);
  const nOut = ok.length ? Math.max(...ok.map((i) => i.outputs.length)) : 0;
  const outputs: DatasetOutputSummary[] = [];
  for (let k = 0; k < nOut; k++) {
    const rows = ok.map((i) => ({ input: i.input, m: i.outputs[k] })).filter((r) => r.m);
    if (!rows.length) continue;
    const worst = rows.reduce((a, b) => (b.m.cosine < a.m.cosine ? b : a));
    const snrs = rows.map((r) => r.m.snr_db).filter((v): v is number => v !== null);
    outputs.push({
      index: k,
      mean_cosine: rows.reduce((a, r) => a + r.m.cosine, 0) / rows.length,
      worst_cosine: worst.m.cosine,
      worst_input: worst.input,
      mean_centred_cosine: rows.reduce((a, r) => a + r.m.centred_cosine, 0) / rows.length,
      mean_snr_db: snrs.length ? snrs.reduce((a, b) => a + b, 0) / snrs.length : null,
      worst_snr_db: snrs.length ? Math.min(...snrs) : null,
    });
  }
  const worstInputs = ok
    .map((i) => ({ input: i.input, cosine: Math.min(...i.outputs.map((o) => o.cosine)) }))
    .sort((a, b) => a.cosine - b.cosine)
    .slice(0, worstCount);
  const lsbs = ok.map((i) => i.isolated_worst_lsb).filter((v): v is number => typeof v === 'number');
  return {
    inputs: items.length,
    failed_inputs: items.length - ok.length,
    outputs,
    worst_inputs: worstInputs,
    isolated_worst_lsb: lsbs.length ? Math.max(...lsbs) : null,
    isolated_failures: ok.filter((i) => i.isolated_pass === false).length,
  };
}

export function renderDataset(items: readonly DatasetItem[], s: DatasetSummary): string {
  const w = Math.max(5, ...items.map((i) => i.input.length));
  let t = `${'input'.padEnd(w)}  min output cosine  min SNR dB  isolated worst LSB\n`;
  for (const i of items) {
    if (i.error) {
      t += `${i.input.padEnd(w)}  ${i.error}\n`;
      continue;
    }
    const cos = Math.min(...i.outputs.map((o) => o.cosine));
    const snrs = i.outputs.map((o) => o.snr_db).filter((v): v is number => v !== null);
    const lsb =
      i.isolated_worst_lsb === undefined
        ? ''
        : i.isolated_worst_lsb === null
          ? '—'
          : String(i.isolated_worst_lsb) + (i.isolated_pass === false ? ' !' : '');
    t += `${i.input.padEnd(w)}  ${cos.toFixed(5).padStart(17)}  ${(snrs.length ? Math.min(...snrs).toFixed(1) : 'exact').padStart(10)}  ${lsb.padStart(18)}\n`;
  }
  t += `\nsummary over ${s.inputs} input(s)${s.failed_inputs ? `, ${s.failed_inputs} failed` : ''}:\n`;
  for (const o of s.outputs) {
    t += `  output ${o.index}: cosine mean ${o.mean_cosine.toFixed(5)}, worst ${o.worst_cosine.toFixed(5)} (${o.worst_input}); centred mean ${o.mean_centred_cosine.toFixed(5)}; SNR mean ${o.mean_snr_db === null ? 'exact' : `${o.mean_snr_db.toFixed(1)} dB`}, worst ${o.worst_snr_db === null ? 'exact' : `${o.worst_snr_db.toFixed(1)} dB`}\n`;
  }
  if (s.worst_inputs.length)
    t += `  worst inputs: ${s.worst_inputs.map((i) => `${i.input} (${i.cosine.toFixed(5)})`).join(', ')}\n`;
  if (s.isolated_worst_lsb !== null)
    t += `  isolated check: worst ${s.isolated_worst_lsb} LSB; ${s.isolated_failures} input(s) with a KPU conv layer over the bar\n`;
  return t;
}
