/**
 * The model page: a dropped `.kmodel` (or a model in a `.kfpkg`) and what `kpusim info` and
 * `kpusim profile` say about it, computed in the board worker (web/worker.ts) by the CLI's own
 * handlers: the layer table, the time per layer and AI SRAM occupancy picture, main memory, the
 * fit against the chip's budgets, exports (Chrome trace, JSON, SVG). A broken file shows the CLI's
 * one-line reason. See docs/web.md.
 */
import type { InspectReport, WorkerReply } from '../protocol.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

const worker = new Worker('worker.js', { type: 'module' });
let current: { name: string; bytes: Uint8Array } | null = null;
let report: InspectReport | null = null;

function inspect(name: string, bytes: Uint8Array, inner?: string): void {
  current = { name, bytes };
  $('state').textContent = 'reading…';
  document.body.dataset.state = 'busy';
  worker.postMessage({ t: 'inspect', name, bytes, inner });
}

const fmt = (n: number, d = 3): string => (Math.round(n * 10 ** d) / 10 ** d).toString();
const kib = (b: number): string => `${(b / 1024).toFixed(1)} KiB`;

interface ProfileLayer {
  index: number;
  type: string;
  unit: string;
  ms: number;
  macs: number;
  transfer_ms: number;
  ai_sram_bytes: number;
}
interface ProfileDoc {
  total_ms: number;
  kpu_ms: number;
  cpu_ms: number;
  fps: number;
  layers: ProfileLayer[];
  memory: {
    main_bytes: number;
    main_limit_bytes: number;
    ai_sram_peak_bytes: number;
    ai_sram_limit_bytes: number;
    fits: boolean;
    problems: string[];
  };
}

function table(head: string[], rows: (string | number)[][], numeric: boolean[]): HTMLTableElement {
  const t = $('layers') as HTMLTableElement;
  const tr = (cells: (string | number)[], th: boolean): HTMLTableRowElement => {
    const r = document.createElement('tr');
    cells.forEach((c, i) => {
      const cell = document.createElement(th ? 'th' : 'td');
      cell.textContent = String(c);
      if (numeric[i]) cell.className = 'num';
      r.appendChild(cell);
    });
    return r;
  };
  t.replaceChildren(tr(head, true), ...rows.map((r) => tr(r, false)));
  return t;
}

function show(r: InspectReport): void {
  report = r;
  $('result').hidden = false;
  $('title').textContent = r.spec;
  $('info-text').textContent = r.infoText;
  $('profile-text').textContent = r.profileText ?? '';
  const inner = $('inner') as HTMLSelectElement;
  const files = (r.info.files as { name: string; kind: string }[] | undefined) ?? [];
  if (r.info.package === 'kfpkg') {
    inner.hidden = false;
    inner.replaceChildren(new Option('model in the package…', ''));
    for (const f of files.filter((f) => f.kind.startsWith('kmodel'))) inner.appendChild(new Option(f.name, f.name));
  } else if (!r.spec.includes('#')) inner.hidden = true;
  const p = r.profile as ProfileDoc | null;
  for (const id of ['export-trace', 'export-profile', 'export-svg']) ($(id) as HTMLButtonElement).disabled = !p;
  if (!p) {
    $('fit').textContent = `${files.length} files in the package; pick a model to profile it.`;
    $('chart').replaceChildren();
    $('layers').replaceChildren();
    return;
  }
  const m = p.memory;
  $('fit').innerHTML =
    `<b>board</b> <span id="total-ms">${fmt(p.total_ms)}</span> ms a run (${fmt(p.fps, 1)} fps; KPU ${fmt(p.kpu_ms)} ms, CPU ${fmt(p.cpu_ms)} ms) · ` +
    `<b>main memory</b> ${kib(m.main_bytes)} of ${kib(m.main_limit_bytes)} · ` +
    `<b>AI SRAM</b> peak ${kib(m.ai_sram_peak_bytes)} of ${kib(m.ai_sram_limit_bytes)} · ` +
    `<b id="fits" class="${m.fits ? '' : 'bad'}">${m.fits ? 'fits the K210' : 'does not fit: ' + m.problems.join('; ')}</b>`;
  const img = document.createElement('img');
  img.alt = 'time per layer and AI SRAM occupancy';
  img.src = URL.createObjectURL(new Blob([r.svg ?? ''], { type: 'image/svg+xml' }));
  img.style.maxWidth = '100%';
  $('chart').replaceChildren(img);
  table(
    ['#', 'type', 'unit', 'ms', 'transfer ms', 'MACs', 'AI SRAM'],
    p.layers.map((l) => [l.index, l.type, l.unit, fmt(l.ms), fmt(l.transfer_ms), l.macs, kib(l.ai_sram_bytes)]),
    [true, false, false, true, true, true, true],
  );
}

worker.onmessage = (e: MessageEvent<WorkerReply>) => {
  const m = e.data;
  if (m.t === 'inspected') {
    $('model-error').hidden = true;
    show(m.report);
    $('state').textContent = '';
    document.body.dataset.state = 'idle';
  } else if (m.t === 'inspect-error') {
    $('model-error').textContent = m.message;
    $('model-error').hidden = false;
    $('result').hidden = true;
    $('state').textContent = '';
    document.body.dataset.state = 'idle';
  } else if (m.t === 'ready') document.body.dataset.ready = '1';
};

function download(name: string, text: string, type: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  a.click();
}
const stem = (): string => (report?.spec ?? 'model').replace(/[#/]/g, '_').replace(/\.kmodel$/i, '');

async function open(file: File): Promise<void> {
  inspect(file.name, new Uint8Array(await file.arrayBuffer()));
}

async function main(): Promise<void> {
  ($('model-file') as HTMLInputElement).onchange = (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) void open(f);
  };
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => e.preventDefault());
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    const f = e.dataTransfer?.files[0];
    if (f) void open(f);
  });
  ($('inner') as HTMLSelectElement).onchange = (e) => {
    const v = (e.target as HTMLSelectElement).value;
    if (v && current) inspect(current.name, current.bytes, v);
  };
  const sel = $('bundled') as HTMLSelectElement;
  try {
    const doc = (await (await fetch('models/manifest.json')).json()) as { models: { file: string; role?: string }[] };
    for (const m of doc.models) sel.appendChild(new Option(`${m.file}${m.role ? ` (${m.role})` : ''}`, m.file));
  } catch {
    // no bundled models in this build
  }
  sel.onchange = async () => {
    if (!sel.value) return;
    const r = await fetch(`models/${sel.value}`);
    inspect(sel.value, new Uint8Array(await r.arrayBuffer()));
  };
  $('export-trace').onclick = () => report?.trace && download(`${stem()}.trace.json`, report.trace, 'application/json');
  $('export-profile').onclick = () =>
    report?.profile && download(`${stem()}.profile.json`, JSON.stringify(report.profile, null, 2), 'application/json');
  $('export-info').onclick = () =>
    report && download(`${stem()}.info.json`, JSON.stringify(report.info, null, 2), 'application/json');
  $('export-svg').onclick = () => report?.svg && download(`${stem()}.svg`, report.svg, 'image/svg+xml');
  // For tests and the browser's console: the last report.
  Object.assign(globalThis, { kpusimModel: { report: () => report } });
  const q = new URLSearchParams(location.search).get('model');
  if (q) {
    const [url, inner] = q.split('#');
    const r = await fetch(url);
    inspect(decodeURIComponent(url.split('/').pop() || 'model.kmodel'), new Uint8Array(await r.arrayBuffer()), inner);
  }
}

void main();
