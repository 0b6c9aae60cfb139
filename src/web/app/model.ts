/**
 * The model page: a dropped `.kmodel` (or a model in a `.kfpkg`) and what `kpusim info` and
 * `kpusim profile` say about it, computed in the board worker (web/worker.ts) by the CLI's own
 * handlers: the layer table, the time per layer and AI SRAM occupancy picture, main memory, the
 * fit against the chip's budgets, exports (Chrome trace, JSON, SVG). A broken file shows the CLI's
 * one-line reason. "Run on an image" runs the model on a dropped image or a webcam frame as
 * `kpusim run` does and shows boxes, top classes or the raw tensor (web/run-model.ts). See docs/web.md.
 */
import type { InspectReport, ModelRunReport, ModelRunRequest, WorkerReply } from '../protocol.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

const worker = new Worker('worker.js', { type: 'module' });
let current: { name: string; bytes: Uint8Array; inner?: string } | null = null;
let report: InspectReport | null = null;
let image: { name: string; bytes: Uint8Array } | null = null;
let ran: ModelRunReport | null = null;
/** The bundled detector's anchors, threshold and NMS (models/manifest.json). */
let bundledDetector: { anchors: number[]; threshold?: number; nms?: number } | null = null;

function inspect(name: string, bytes: Uint8Array, inner?: string): void {
  current = { name, bytes, inner };
  ran = null;
  $('run-result').hidden = true;
  $('run-error').hidden = true;
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

function runImage(): void {
  if (!current || !image) return;
  const choice = ($('decode') as HTMLSelectElement).value;
  let decode: ModelRunRequest['decode'];
  if (choice === 'region:bundled') {
    if (!bundledDetector) return showRunError('this build has no bundled detector (models/manifest.json)');
    decode = { kind: 'region', ...bundledDetector };
  } else if (choice.startsWith('region:')) decode = { kind: 'region', preset: choice.slice(7) };
  else decode = { kind: choice as 'auto' | 'raw' | 'classify' | 'yolox' };
  const req: ModelRunRequest = {
    t: 'run-model',
    name: current.name,
    bytes: current.bytes,
    inner: current.inner,
    image,
    resize: ($('resize') as HTMLSelectElement).value as ModelRunRequest['resize'],
    decode,
  };
  $('state').textContent = 'running…';
  document.body.dataset.state = 'busy';
  worker.postMessage(req);
}

function showRunError(message: string): void {
  $('run-error').textContent = message;
  $('run-error').hidden = false;
  $('run-result').hidden = true;
}

const BOX_COLOURS = ['#00e676', '#ff1744', '#2979ff', '#ffea00', '#d500f9', '#00e5ff'];

/** The image with the boxes drawn, and the outputs as `kpusim run` prints them. */
async function showRun(r: ModelRunReport): Promise<void> {
  $('run-error').hidden = true;
  const doc = r.doc as {
    input: { source?: string; width?: number; height?: number };
    outputs: { index: number; dtype: string; shape: number[]; min: number; max: number }[];
    emulator_ms: number;
  };
  let t = `ran in ${doc.emulator_ms} ms (emulator time on this PC)\n`;
  for (const o of doc.outputs) t += `output ${o.index}: ${o.dtype} ${o.shape.join('×')}, min ${o.min}, max ${o.max}\n`;
  if (r.detections) {
    t += `${r.detections.length} detection(s) (${r.decoded === 'yolox' ? 'YOLOX' : 'YOLOv2 region'} decode; boxes x0,y0,x1,y1 in network-input pixels):\n`;
    for (const d of r.detections)
      t += `  class ${d.label}  score ${d.score.toFixed(3)}  box ${d.box.join(',')}${d.image_box ? `  (image ${d.image_box.map((v) => v.toFixed(1)).join(',')})` : ''}\n`;
  }
  if (r.top) {
    t += `top ${r.top.length} classes of output 0:\n`;
    for (const c of r.top) t += `  class ${c.label}  ${fmt(c.value, 4)}\n`;
  }
  if (r.decoded === 'raw')
    r.shown.forEach((v, i) => {
      t += `output ${i}, first ${v.length} values: ${v.map((x) => fmt(x, 4)).join(' ')}\n`;
    });
  $('run-text').textContent = t;
  const canvas = $('run-canvas') as HTMLCanvasElement;
  const g = canvas.getContext('2d')!;
  try {
    const bitmap = await createImageBitmap(new Blob([image!.bytes as BlobPart]));
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    g.drawImage(bitmap, 0, 0);
  } catch {
    canvas.width = canvas.height = 0;
  }
  g.lineWidth = Math.max(2, canvas.width / 200);
  g.font = `${Math.max(12, Math.round(canvas.width / 40))}px sans-serif`;
  for (const d of r.detections ?? []) {
    const [x0, y0, x1, y1] = d.image_box ?? d.box;
    g.strokeStyle = g.fillStyle = BOX_COLOURS[d.label % BOX_COLOURS.length];
    g.strokeRect(x0, y0, x1 - x0, y1 - y0);
    g.fillText(`${d.label} ${d.score.toFixed(2)}`, x0 + 2, Math.max(y0 - 4, 12));
  }
  ($('export-outputs') as HTMLButtonElement).disabled = false;
  $('run-result').hidden = false;
  ran = r;
}

/** One frame of the webcam as a PNG image. */
async function webcamFrame(): Promise<void> {
  const note = $('run-note');
  if (!navigator.mediaDevices?.getUserMedia) {
    note.textContent = 'This browser has no camera access here (no getUserMedia); drop an image file instead.';
    return;
  }
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: true });
  } catch (e) {
    const name = (e as DOMException).name;
    note.textContent =
      name === 'NotAllowedError'
        ? 'The webcam was refused; drop an image file instead.'
        : `No webcam could be opened (${name}); drop an image file instead.`;
    return;
  }
  const video = document.createElement('video');
  video.muted = true;
  video.srcObject = stream;
  await video.play();
  const c = document.createElement('canvas');
  c.width = video.videoWidth;
  c.height = video.videoHeight;
  c.getContext('2d')!.drawImage(video, 0, 0);
  stream.getTracks().forEach((tr) => tr.stop());
  const blob = await new Promise<Blob | null>((done) => c.toBlob(done, 'image/png'));
  if (!blob) return;
  note.textContent = `Webcam frame: ${c.width}×${c.height}.`;
  setImage('webcam.png', new Uint8Array(await blob.arrayBuffer()));
}

function setImage(name: string, bytes: Uint8Array): void {
  image = { name, bytes };
  ($('run-image') as HTMLButtonElement).disabled = false;
  runImage();
}

worker.onmessage = (e: MessageEvent<WorkerReply>) => {
  const m = e.data;
  if (m.t === 'model-ran' || m.t === 'run-model-error') {
    $('state').textContent = '';
    document.body.dataset.state = 'idle';
    if (m.t === 'model-ran') void showRun(m.report);
    else showRunError(m.message);
  } else if (m.t === 'inspected') {
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
  ($('image-file') as HTMLInputElement).onchange = async (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) setImage(f.name, new Uint8Array(await f.arrayBuffer()));
  };
  $('webcam-frame').onclick = () => void webcamFrame();
  $('run-image').onclick = runImage;
  $('export-outputs').onclick = () =>
    ran &&
    download(`${stem()}.outputs.json`, JSON.stringify({ schema_version: 1, ...ran.doc }, null, 2), 'application/json');
  const sel = $('bundled') as HTMLSelectElement;
  try {
    const doc = (await (await fetch('models/manifest.json')).json()) as {
      models: { file: string; role?: string; anchors?: number[]; threshold?: number; nms?: number }[];
    };
    for (const m of doc.models) sel.appendChild(new Option(`${m.file}${m.role ? ` (${m.role})` : ''}`, m.file));
    const d = doc.models.find((m) => m.role === 'detector' && m.anchors);
    if (d?.anchors) bundledDetector = { anchors: d.anchors, threshold: d.threshold, nms: d.nms };
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
  Object.assign(globalThis, { kpusimModel: { report: () => report, ran: () => ran } });
  const q = new URLSearchParams(location.search).get('model');
  if (q) {
    const [url, inner] = q.split('#');
    const r = await fetch(url);
    inspect(decodeURIComponent(url.split('/').pop() || 'model.kmodel'), new Uint8Array(await r.arrayBuffer()), inner);
  }
}

void main();
