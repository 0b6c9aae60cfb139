/**
 * A self-contained SVG of a profile: time per layer (KPU and CPU bars, the part spent on
 * transfers shaded) above AI SRAM occupancy per layer with the 2 MiB line. The two panels share
 * the layer axis, so a slow layer and the memory it holds line up. No scripts, no external fonts.
 */
import type { Profile } from '../kpu/timing/profile.js';

export function xmlEscape(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** About four round tick values (1, 2, 5 × 10^k) from 0 to at least `max`. */
export function niceTicks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = 0; v < max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

const COLORS = {
  KPU: '#2f6fd0',
  CPU: '#e07b2a',
  transfer: '#7a3e9d',
  sram: '#2a9d8f',
  limit: '#d62828',
  grid: '#dddddd',
  text: '#222222',
};

const n2 = (x: number) => (Math.round(x * 100) / 100).toString();

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(bytes >= 1024 * 1024 ? 2 : 3)} MiB`;
}

export function profileSvg(p: Profile, title = 'model'): string {
  const n = Math.max(1, p.layers.length);
  const barW = Math.max(3, 780 / n);
  const left = 78;
  const right = 24;
  const plotW = barW * n;
  const width = Math.ceil(left + plotW + right);
  const top1 = 88;
  const h1 = 220;
  const top2 = top1 + h1 + 56;
  const h2 = 170;
  const height = top2 + h2 + 74;
  const out: string[] = [];
  const text = (x: number, y: number, s: string, attrs = '') =>
    out.push(`<text x="${n2(x)}" y="${n2(y)}"${attrs ? ' ' + attrs : ''}>${xmlEscape(s)}</text>`);

  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11" fill="${COLORS.text}">`,
  );
  out.push(`<title>${xmlEscape(`kpusim profile: ${title}`)}</title>`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  text(left, 24, title, 'font-size="15" font-weight="bold"');
  text(
    left,
    43,
    `${p.total_ms.toFixed(2)} ms per run (${p.fps.toFixed(1)} fps): KPU ${p.kpu_ms.toFixed(2)} ms + CPU ${p.cpu_ms.toFixed(2)} ms + per run ${p.overhead_ms.toFixed(2)} ms, at KPU ${p.clocks.kpu_mhz} MHz / CPU ${p.clocks.cpu_mhz} MHz`,
    'font-size="13"',
  );
  text(
    left,
    60,
    `AI SRAM peak ${mib(p.memory.ai_sram_peak_bytes)} at layer ${p.memory.ai_sram_peak_layer}; main SRAM ${mib(p.memory.main_bytes)} of 6 MiB${p.memory.fits ? '' : ' — DOES NOT FIT'} (kpusim cycle-approximate timing model)`,
    `fill="#555555"`,
  );

  // ---- panel 1: time per layer ----
  const maxMs = Math.max(...p.layers.map((l) => l.ms), 1e-6);
  const t1 = niceTicks(maxMs);
  const y1max = t1[t1.length - 1];
  const y1 = (ms: number) => top1 + h1 - (ms / y1max) * h1;
  text(left, top1 - 10, 'time per layer (ms)', 'font-weight="bold"');
  for (const v of t1) {
    out.push(
      `<line x1="${left}" y1="${n2(y1(v))}" x2="${n2(left + plotW)}" y2="${n2(y1(v))}" stroke="${COLORS.grid}" stroke-width="1"/>`,
    );
    text(left - 6, y1(v) + 4, v.toString(), 'text-anchor="end"');
  }
  out.push(`<g id="time">`);
  p.layers.forEach((l, i) => {
    const x = left + i * barW;
    const w = Math.max(1, barW - (barW > 6 ? 2 : 1));
    const tip = `layer ${l.index} ${l.type} (${l.unit}): ${l.ms.toFixed(3)} ms${l.transfer_ms > 0 ? `, of which transfers ${l.transfer_ms.toFixed(3)} ms` : ''}${l.calibrated ? '' : ' (estimated CPU cost)'}`;
    const yc = y1(l.compute_ms);
    out.push(`<g><title>${xmlEscape(tip)}</title>`);
    out.push(
      `<rect x="${n2(x)}" y="${n2(yc)}" width="${n2(w)}" height="${n2(top1 + h1 - yc)}" fill="${COLORS[l.unit]}"${l.calibrated ? '' : ' fill-opacity="0.55"'}/>`,
    );
    if (l.transfer_ms > 0) {
      const yt = y1(l.ms);
      out.push(`<rect x="${n2(x)}" y="${n2(yt)}" width="${n2(w)}" height="${n2(yc - yt)}" fill="${COLORS.transfer}"/>`);
    }
    out.push(`</g>`);
  });
  out.push(`</g>`);
  out.push(`<line x1="${left}" y1="${top1 + h1}" x2="${n2(left + plotW)}" y2="${top1 + h1}" stroke="#888888"/>`);

  // ---- panel 2: AI SRAM occupancy ----
  const limit = p.memory.ai_sram_limit_bytes;
  const peak = p.memory.ai_sram_peak_bytes;
  const t2 = niceTicks((Math.max(limit, peak) * 1.08) / (1024 * 1024));
  const y2max = t2[t2.length - 1] * 1024 * 1024;
  const y2 = (b: number) => top2 + h2 - (b / y2max) * h2;
  text(left, top2 - 10, 'AI SRAM in use per layer (MiB, real layout)', 'font-weight="bold"');
  for (const v of t2) {
    out.push(
      `<line x1="${left}" y1="${n2(y2(v * 1024 * 1024))}" x2="${n2(left + plotW)}" y2="${n2(y2(v * 1024 * 1024))}" stroke="${COLORS.grid}" stroke-width="1"/>`,
    );
    text(left - 6, y2(v * 1024 * 1024) + 4, v.toString(), 'text-anchor="end"');
  }
  out.push(`<g id="ai-sram">`);
  p.layers.forEach((l, i) => {
    if (l.ai_sram_bytes <= 0) return;
    const x = left + i * barW;
    const w = Math.max(1, barW - (barW > 6 ? 2 : 1));
    const y = y2(l.ai_sram_bytes);
    const over = l.ai_sram_bytes > limit;
    out.push(
      `<rect x="${n2(x)}" y="${n2(y)}" width="${n2(w)}" height="${n2(top2 + h2 - y)}" fill="${over ? COLORS.limit : COLORS.sram}"><title>${xmlEscape(`layer ${l.index} ${l.type}: ${l.ai_sram_bytes} bytes of AI SRAM live`)}</title></rect>`,
    );
  });
  out.push(`</g>`);
  const yl = y2(limit);
  out.push(
    `<line id="limit" x1="${left}" y1="${n2(yl)}" x2="${n2(left + plotW)}" y2="${n2(yl)}" stroke="${COLORS.limit}" stroke-width="1.5" stroke-dasharray="6 4"/>`,
  );
  text(left + plotW - 4, yl - 5, '2 MiB AI SRAM', `text-anchor="end" fill="${COLORS.limit}"`);
  if (p.memory.ai_sram_peak_layer >= 0) {
    const px = left + (p.memory.ai_sram_peak_layer + 0.5) * barW;
    text(px, y2(peak) - 5, `peak ${mib(peak)}`, 'text-anchor="middle" font-size="10"');
  }
  out.push(`<line x1="${left}" y1="${top2 + h2}" x2="${n2(left + plotW)}" y2="${top2 + h2}" stroke="#888888"/>`);

  // ---- layer axis (shared) ----
  const every = Math.max(1, Math.ceil(28 / barW));
  for (let i = 0; i < p.layers.length; i += every) {
    const x = left + (i + 0.5) * barW;
    text(x, top2 + h2 + 14, String(p.layers[i].index), 'text-anchor="middle" font-size="10"');
    text(x, top1 + h1 + 14, String(p.layers[i].index), 'text-anchor="middle" font-size="10"');
  }
  text(left + plotW / 2, top2 + h2 + 30, 'layer', 'text-anchor="middle"');

  // ---- legend ----
  const ly = height - 18;
  const items: [string, string][] = [
    [COLORS.KPU, 'KPU layer'],
    [COLORS.CPU, 'CPU layer (pale: estimated cost)'],
    [COLORS.transfer, 'upload / download'],
    [COLORS.sram, 'AI SRAM live'],
  ];
  let lx = left;
  for (const [c, label] of items) {
    out.push(`<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${c}"/>`);
    text(lx + 14, ly, label);
    lx += 24 + label.length * 6;
  }
  out.push(`</svg>`);
  return out.join('\n') + '\n';
}
