/**
 * The board page: a MaixPy script in an editor runs on the emulated K210 in a Web Worker
 * (web/worker.ts). The page shows the LCD (canvas `lcd`), the console (element `console`: exactly
 * what the script printed), the board's predicted time beside the PC's, and the flash map; the
 * camera is image files (the bundled example images by default) or the webcam. Where the browser
 * has Web Serial, "Connect board" runs the editor's script on a real K210 through `kpusim board`'s
 * raw-REPL session (hil/session.ts over hil/transport-webserial.ts), its console beside the
 * emulator's. See docs/web.md.
 */
import { basicSetup, EditorView } from 'codemirror';
import { python } from '@codemirror/lang-python';
import { Decoration, type DecorationSet } from '@codemirror/view';
import { StateEffect, StateField } from '@codemirror/state';
import { BoardSession } from '../../hil/session.js';
import { WebSerialLink, type WebSerialPort } from '../../hil/transport-webserial.js';
import { CONTROL, LIVE_MAX_H, LIVE_MAX_W, type BoardFigures, type RunRequest, type WorkerReply } from '../protocol.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

interface NamedBytes {
  name: string;
  bytes: Uint8Array;
}

const EXAMPLES: { title: string; file: string; bundledDetector: boolean }[] = [
  { title: 'Face recognition (BOOT enrols)', file: 'examples/maixpy/face_recognition.py', bundledDetector: true },
  { title: 'Face detection', file: 'examples/maixpy/face_detect.py', bundledDetector: false },
];
/** The same person twice with another picture between: BOOT before frame 1 enrols, frame 3 recognises. */
const DEFAULT_CAMERA = ['examples/images/astronaut.jpg', 'examples/images/camera.png', 'examples/images/astronaut.jpg'];

const state = {
  camera: [] as NamedBytes[],
  flash: [] as { address: number | null; file: NamedBytes }[],
  sd: [] as NamedBytes[],
  worker: null as Worker | null,
  control: null as Int32Array | null,
  live: null as SharedArrayBuffer | null,
  stream: null as MediaStream | null,
  liveTimer: 0,
  scriptName: 'main.py',
  /** Stop after this many frames (URL parameter `frames`, as `--frames`). */
  frames: undefined as number | undefined,
  /** The webcam frames the last run took, and the frames the BOOT button pressed before. */
  webcamFrames: [] as { width: number; height: number; rgb: Uint8Array }[],
  keyFrames: [] as number[],
};

// The editor, with a line decoration for a traceback's line.
const markLine = StateEffect.define<number | null>();
const errorLine = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(deco, tr) {
    for (const e of tr.effects)
      if (e.is(markLine)) {
        if (e.value === null || e.value > tr.state.doc.lines) return Decoration.none;
        const line = tr.state.doc.line(e.value);
        return Decoration.set([Decoration.line({ class: 'cm-error-line' }).range(line.from)]);
      }
    return tr.docChanged ? Decoration.none : deco;
  },
  provide: (f) => EditorView.decorations.from(f),
});
const editor = new EditorView({ parent: $('editor'), extensions: [basicSetup, python(), errorLine] });
const setScript = (text: string): void =>
  editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: text } });

async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}
const baseName = (url: string): string => decodeURIComponent(url.split(/[?#]/)[0].split('/').pop() || 'file');

interface ManifestEntry {
  role?: string;
  file: string;
  anchors?: number[];
  threshold?: number;
  nms?: number;
  board_ms?: number;
  main_bytes?: number;
}
let manifest: ManifestEntry[] = [];
const ROLE_FLASH: Record<string, number> = { detector: 0x300000, landmarks: 0x400000, features: 0x500000 };
const hex = (n: number): string => '0x' + n.toString(16).toUpperCase().padStart(6, '0');

/** The face-recognition example with the bundled detector's anchors, threshold and NMS (as its README says). */
function withBundledDetector(text: string): string {
  const d = manifest.find((m) => m.role === 'detector');
  if (!d?.anchors) return text;
  return text
    .replace(/^ANCHORS = .*$/m, `ANCHORS = (${d.anchors.join(', ')})`)
    .replace(/^DETECT_THRESHOLD = .*$/m, `DETECT_THRESHOLD = ${d.threshold ?? 0.5}`)
    .replace(/^NMS = .*$/m, `NMS = ${d.nms ?? 0.3}`);
}

async function loadExample(i: number): Promise<void> {
  const ex = EXAMPLES[i];
  const text = new TextDecoder().decode(await fetchBytes(ex.file));
  state.scriptName = baseName(ex.file);
  setScript(ex.bundledDetector ? withBundledDetector(text) : text);
}

function renderCamera(): void {
  const list = $('camera-list');
  list.replaceChildren(
    ...state.camera.map((c) => Object.assign(document.createElement('li'), { textContent: c.name })),
  );
}

function renderFlash(): void {
  const rows: string[][] = [['address', 'model', 'size', 'board ms']];
  const user = new Set(state.flash.map((f) => f.address));
  for (const m of manifest) {
    const a = m.role ? ROLE_FLASH[m.role] : undefined;
    if (a === undefined || user.has(a)) continue;
    rows.push([
      hex(a),
      `${m.file} (bundled ${m.role})`,
      `${((m.main_bytes ?? 0) / 1024).toFixed(0)} KiB main`,
      String(m.board_ms ?? ''),
    ]);
  }
  for (const f of state.flash)
    rows.push([f.address === null ? '(package)' : hex(f.address), f.file.name, `${f.file.bytes.length} B`, '']);
  const t = $('flash');
  t.replaceChildren(
    ...rows.map((r, i) => {
      const tr = document.createElement('tr');
      for (const c of r) tr.appendChild(Object.assign(document.createElement(i ? 'td' : 'th'), { textContent: c }));
      return tr;
    }),
  );
}

function renderSd(): void {
  $('sd-list').replaceChildren(
    ...state.sd.map((c) => Object.assign(document.createElement('li'), { textContent: `/sd/${c.name}` })),
  );
}

const readFile = async (f: File): Promise<NamedBytes> => ({
  name: f.name,
  bytes: new Uint8Array(await f.arrayBuffer()),
});

async function addFiles(files: FileList | File[]): Promise<void> {
  let cameraReset = false;
  for (const f of Array.from(files)) {
    const nb = await readFile(f);
    const lower = f.name.toLowerCase();
    if (/\.(png|jpe?g|bmp)$/.test(lower)) {
      if (!cameraReset) state.camera = [];
      cameraReset = true;
      state.camera.push(nb);
    } else if (lower.endsWith('.kmodel') || lower.endsWith('.kfpkg')) addFlash(nb);
    else if (lower.endsWith('.py')) {
      state.scriptName = f.name;
      setScript(new TextDecoder().decode(nb.bytes));
    } else state.sd.push(nb);
  }
  renderCamera();
  renderFlash();
  renderSd();
}

function addFlash(file: NamedBytes, address?: number): void {
  const pkg = file.name.toLowerCase().endsWith('.kfpkg');
  let a: number | null = address ?? null;
  if (a === null && !pkg) {
    const typed = Number(($('flash-addr') as HTMLInputElement).value);
    a = Number.isInteger(typed) ? typed : 0x600000;
  }
  state.flash = state.flash.filter((f) => f.address === null || f.address !== a);
  state.flash.push({ address: a, file });
}

// Console, notes and figures.
const consoleEl = $('console');
const notes = $('notes');
function showFigures(f: BoardFigures, done = false): void {
  const n = Math.max(f.frames, 1);
  const boardFps = f.board_ms > 0 ? (1000 * f.frames) / f.board_ms : 0;
  const pcFps = f.pc_ms > 0 ? (1000 * f.frames) / f.pc_ms : 0;
  const p = f.parts;
  $('figures').innerHTML =
    `<b>board</b> ${boardFps.toFixed(1)} fps, ${(f.board_ms / n).toFixed(1)} ms a frame ` +
    `[KPU ${(p.kpu / n).toFixed(1)}, CPU ${(p.cpu / n).toFixed(1)}, LCD ${(p.lcd / n).toFixed(1)}, camera ${(p.camera / n).toFixed(1)}, sleep ${(p.sleep / n).toFixed(1)}]<br>` +
    `<b>this PC</b> ${pcFps.toFixed(1)} fps emulated (${(f.pc_ms / n).toFixed(0)} ms a frame)${done ? '' : '…'} · ${f.frames} frames`;
}

const lcd = $('lcd') as HTMLCanvasElement;
function drawLcd(w: number, h: number, rgb: Uint8Array): void {
  if (lcd.width !== w || lcd.height !== h) {
    lcd.width = w;
    lcd.height = h;
  }
  const img = new ImageData(w, h);
  for (let i = 0; i < w * h; i++) {
    img.data[4 * i] = rgb[3 * i];
    img.data[4 * i + 1] = rgb[3 * i + 1];
    img.data[4 * i + 2] = rgb[3 * i + 2];
    img.data[4 * i + 3] = 255;
  }
  lcd.getContext('2d')!.putImageData(img, 0, 0);
}

function setRunning(running: boolean, text: string): void {
  ($('run') as HTMLButtonElement).disabled = running;
  ($('stop') as HTMLButtonElement).disabled = !running;
  $('state').textContent = text;
  document.body.dataset.state = running ? 'running' : 'idle';
}

const cameraMode = (): string => (document.querySelector('input[name=camera]:checked') as HTMLInputElement).value;

async function run(): Promise<void> {
  stopWorker();
  consoleEl.textContent = '';
  notes.textContent = '';
  state.webcamFrames = [];
  state.keyFrames = [];
  $('webcam-frames').hidden = true;
  $('error').hidden = true;
  editor.dispatch({ effects: markLine.of(null) });
  const isolated = globalThis.crossOriginIsolated === true;
  const webcam = cameraMode() === 'webcam' && state.stream !== null && isolated;
  const files: { path: string; bytes: Uint8Array }[] = [];
  const camera = state.camera.map((c, i) => {
    const path = `/run/camera/${String(i + 1).padStart(3, '0')}-${c.name}`;
    files.push({ path, bytes: c.bytes });
    return path;
  });
  const flash = state.flash.map((f, i) => {
    const path = `/run/flash/${i}-${f.file.name}`;
    files.push({ path, bytes: f.file.bytes });
    return f.address === null ? path : `${hex(f.address)}=${path}`;
  });
  for (const s of state.sd) files.push({ path: `/run/sd/${s.name}`, bytes: s.bytes });
  const keyPress = ($('keypress') as HTMLInputElement).value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  const control = isolated ? new SharedArrayBuffer(CONTROL.WORDS * 4) : undefined;
  state.control = control ? new Int32Array(control) : null;
  if (webcam && state.live && state.control) startLiveFrames();
  const req: RunRequest = {
    t: 'run',
    script: state.scriptName,
    source: editor.state.doc.toString(),
    camera,
    flash,
    files,
    sd: state.sd.length ? '/run/sd' : undefined,
    keyPress,
    webcam,
    frames: state.frames,
    control,
    live: webcam ? (state.live ?? undefined) : undefined,
  };
  const worker = new Worker('worker.js', { type: 'module' });
  state.worker = worker;
  setRunning(true, 'running');
  worker.onmessage = (e: MessageEvent<WorkerReply>) => {
    const m = e.data;
    if (m.t === 'out') consoleEl.textContent += m.text;
    else if (m.t === 'err') notes.textContent += m.text;
    else if (m.t === 'webcam-frame') state.webcamFrames.push(m);
    else if (m.t === 'key') state.keyFrames.push(m.frame);
    else if (m.t === 'lcd') {
      drawLcd(m.width, m.height, m.rgb);
      showFigures(m.figures);
    } else if (m.t === 'done') {
      showFigures(m.figures, true);
      if (m.error) {
        $('error').textContent = m.error.traceback;
        $('error').hidden = false;
        if (m.error.line !== undefined) {
          const line = editor.state.doc.line(Math.min(m.error.line, editor.state.doc.lines));
          editor.dispatch({
            effects: markLine.of(m.error.line),
            selection: { anchor: line.from },
            scrollIntoView: true,
          });
        }
      }
      if (webcam) showWebcamFrames(m.figures.frames);
      finish(`ended: ${m.reason}`);
    } else if (m.t === 'fatal') {
      $('error').textContent = m.message;
      $('error').hidden = false;
      finish('failed');
    }
  };
  worker.onerror = (e) => {
    $('error').textContent = `the board worker failed: ${e.message}`;
    $('error').hidden = false;
    finish('failed');
  };
  worker.postMessage(req);
}

/**
 * After a webcam run: its frames as PNG files and the `kpusim maixpy` command that repeats the run
 * on them (the same frames, the BOOT key before the same frames).
 */
function showWebcamFrames(frames: number): void {
  const kept = state.webcamFrames.slice(0, frames);
  if (kept.length === 0) return;
  const names = kept.map((_, i) => `webcam-${String(i + 1).padStart(3, '0')}.png`);
  const keys =
    (state.keyFrames.length ? ` --key-press ${state.keyFrames.join(',')}` : '') +
    (state.frames !== undefined ? ` --frames ${state.frames}` : '');
  $('webcam-cmd').textContent =
    kept.length < frames
      ? `The run took ${frames} frames; the first ${kept.length} are kept here.`
      : `kpusim maixpy ${state.scriptName} --camera ${names.join(' ')}${keys}`;
  const list = $('webcam-list');
  list.replaceChildren();
  kept.forEach((f, i) => {
    const canvas = document.createElement('canvas');
    canvas.width = f.width;
    canvas.height = f.height;
    const img = new ImageData(f.width, f.height);
    for (let p = 0; p < f.width * f.height; p++) {
      img.data.set(f.rgb.subarray(3 * p, 3 * p + 3), 4 * p);
      img.data[4 * p + 3] = 255;
    }
    canvas.getContext('2d')!.putImageData(img, 0, 0);
    const li = list.appendChild(document.createElement('li'));
    canvas.toBlob((blob) => {
      if (!blob) return;
      const a = Object.assign(document.createElement('a'), {
        href: URL.createObjectURL(blob),
        download: names[i],
        textContent: names[i],
      });
      li.appendChild(a);
    }, 'image/png');
  });
  $('webcam-frames').hidden = false;
}

function finish(text: string): void {
  stopWorker();
  setRunning(false, text);
}

function stopWorker(): void {
  state.worker?.terminate();
  state.worker = null;
  clearInterval(state.liveTimer);
}

function stop(): void {
  if (state.control) {
    // KeyboardInterrupt at the script's next bytecode; the worker ends when the run returns.
    Atomics.store(state.control, CONTROL.STOP, 1);
    const w = state.worker;
    setTimeout(() => {
      if (state.worker === w && w) finish('stopped (the script did not return: worker ended)');
    }, 3000);
  } else finish('stopped');
}

function boot(): void {
  if (state.control) Atomics.add(state.control, CONTROL.KEY, 1);
  else notes.textContent += 'kpusim web: the BOOT key needs a cross-origin isolated page (kpusim web serves one)\n';
}

// The webcam: frames drawn into shared memory for the worker's camera.
const video = $('video') as HTMLVideoElement;
async function startWebcam(): Promise<void> {
  const note = $('camera-note');
  if (globalThis.crossOriginIsolated !== true) {
    note.textContent =
      'The webcam needs a cross-origin isolated page (kpusim web serves one); using the image files instead.';
    return fallBack();
  }
  if (!navigator.mediaDevices?.getUserMedia) {
    note.textContent = 'This browser has no camera access here (no getUserMedia); using the image files instead.';
    return fallBack();
  }
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 } });
  } catch (e) {
    const name = (e as DOMException).name;
    note.textContent =
      name === 'NotAllowedError'
        ? 'The webcam was refused; using the image files instead.'
        : `No webcam could be opened (${name}); using the image files instead.`;
    return fallBack();
  }
  video.srcObject = state.stream;
  video.hidden = false;
  await video.play();
  state.live = new SharedArrayBuffer(LIVE_MAX_W * LIVE_MAX_H * 4);
  note.textContent = `Webcam: ${video.videoWidth}×${video.videoHeight}, scaled to the script's frame size.`;
}

function fallBack(): void {
  (document.querySelector('input[name=camera][value=files]') as HTMLInputElement).checked = true;
}

function startLiveFrames(): void {
  const canvas = document.createElement('canvas');
  const w = Math.min(LIVE_MAX_W, video.videoWidth || 320),
    h = Math.min(LIVE_MAX_H, video.videoHeight || 240);
  canvas.width = w;
  canvas.height = h;
  const g = canvas.getContext('2d', { willReadFrequently: true })!;
  const control = state.control!;
  const bytes = new Uint8Array(state.live!);
  const grab = (): void => {
    g.drawImage(video, 0, 0, w, h);
    const data = g.getImageData(0, 0, w, h).data;
    const seq = Atomics.load(control, CONTROL.SEQ);
    Atomics.store(control, CONTROL.SEQ, seq + 1);
    bytes.set(data);
    Atomics.store(control, CONTROL.WIDTH, w);
    Atomics.store(control, CONTROL.HEIGHT, h);
    Atomics.store(control, CONTROL.SEQ, seq + 2);
    Atomics.notify(control, CONTROL.SEQ);
  };
  grab();
  state.liveTimer = window.setInterval(grab, 33);
}

function stopWebcam(): void {
  state.stream?.getTracks().forEach((t) => t.stop());
  state.stream = null;
  video.hidden = true;
}

// A real board over Web Serial: `kpusim board exec` from the page.
const serial = (navigator as unknown as { serial?: { requestPort(): Promise<WebSerialPort> } }).serial;
const boardConsole = $('board-console');
let session: BoardSession | null = null;
const boardState = (text: string, busy = false): void => {
  $('board-state').textContent = text;
  ($('connect') as HTMLButtonElement).disabled = busy || session !== null || !serial;
  ($('board-run') as HTMLButtonElement).disabled = busy || session === null;
  ($('board-stop') as HTMLButtonElement).disabled = !busy || session === null;
  document.body.dataset.board = session === null ? 'none' : busy ? 'running' : 'connected';
};

async function connectBoard(): Promise<void> {
  if (!serial) return;
  let port: WebSerialPort;
  try {
    port = await serial.requestPort();
  } catch {
    return boardState('No serial port was chosen.');
  }
  boardState('connecting…', true);
  try {
    const link = await WebSerialLink.open(port);
    boardConsole.textContent = '';
    boardConsole.hidden = false;
    session = await BoardSession.open(link, { onLog: (t) => (boardConsole.textContent += t) });
    link.onClose(() => {
      session = null;
      boardState('The board is disconnected.');
    });
    const i = session.info;
    boardState(`connected: ${i.firmware} (${i.flavour}${i.virtual ? ', virtual board' : ''})`);
  } catch (e) {
    session = null;
    await port.close().catch(() => undefined);
    boardState(`The board did not answer: ${(e as Error).message}`);
  }
}

async function runOnBoard(): Promise<void> {
  const s = session;
  if (!s) return;
  boardConsole.textContent = '';
  $('board-error').hidden = true;
  boardState('running on the board…', true);
  try {
    const r = await s.runScript(editor.state.doc.toString(), state.scriptName, {
      onOutput: (t) => (boardConsole.textContent += t),
      timeoutMs: 0,
    });
    if (r.error) {
      $('board-error').textContent = r.error.traceback;
      $('board-error').hidden = false;
    }
    boardState(r.error ? (r.interrupted ? 'board: interrupted' : `board: ${r.error.type}`) : 'board: the script ended');
  } catch (e) {
    boardState(`board: ${(e as Error).message}`);
  }
}

// URL parameters: ?script=URL&camera=URL1,URL2&flash=0x300000=URL&autorun=1&keypress=1&webcam=1&frames=N
async function fromUrl(): Promise<boolean> {
  const q = new URLSearchParams(location.search);
  const script = q.get('script');
  if (script) {
    state.scriptName = baseName(script);
    setScript(new TextDecoder().decode(await fetchBytes(script)));
  }
  const camera = q.get('camera');
  if (camera)
    state.camera = await Promise.all(
      camera.split(',').map(async (u) => ({ name: baseName(u), bytes: await fetchBytes(u) })),
    );
  for (const spec of q.getAll('flash')) {
    const m = /^(0x[0-9a-f]+|\d+)=(.+)$/i.exec(spec);
    const url = m ? m[2] : spec;
    addFlash({ name: baseName(url), bytes: await fetchBytes(url) }, m ? Number(m[1]) : undefined);
  }
  if (q.has('keypress')) ($('keypress') as HTMLInputElement).value = q.get('keypress')!;
  const frames = q.get('frames');
  if (frames !== null) state.frames = Number(frames);
  if (q.get('webcam') === '1') {
    (document.querySelector('input[name=camera][value=webcam]') as HTMLInputElement).checked = true;
    await startWebcam();
  }
  return q.get('autorun') === '1';
}

async function main(): Promise<void> {
  const sel = $('example') as HTMLSelectElement;
  EXAMPLES.forEach((ex, i) => sel.appendChild(new Option(ex.title, String(i))));
  sel.onchange = () => void loadExample(Number(sel.value));
  $('run').onclick = () => void run();
  $('stop').onclick = stop;
  $('boot').onclick = boot;
  $('connect').onclick = () => void connectBoard();
  $('board-run').onclick = () => void runOnBoard();
  $('board-stop').onclick = () => void session?.interrupt();
  boardState(serial ? '' : 'This browser has no Web Serial (Chrome and Edge have it): no real board from here.');
  for (const r of document.querySelectorAll<HTMLInputElement>('input[name=camera]'))
    r.onchange = () => void (r.value === 'webcam' && r.checked ? startWebcam() : stopWebcam());
  ($('camera-files') as HTMLInputElement).onchange = (e) => void addFiles((e.target as HTMLInputElement).files!);
  ($('sd-files') as HTMLInputElement).onchange = (e) => {
    void Promise.all(Array.from((e.target as HTMLInputElement).files!).map(readFile)).then((l) => {
      state.sd.push(...l);
      renderSd();
    });
  };
  ($('flash-file') as HTMLInputElement).onchange = (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f)
      void readFile(f).then((nb) => {
        addFlash(nb);
        renderFlash();
      });
  };
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    if (e.dataTransfer?.files.length) void addFiles(e.dataTransfer.files);
  });
  try {
    manifest = ((await (await fetch('models/manifest.json')).json()) as { models: ManifestEntry[] }).models;
  } catch {
    manifest = [];
  }
  state.camera = await Promise.all(
    DEFAULT_CAMERA.map(async (u) => ({ name: baseName(u), bytes: await fetchBytes(u) })),
  );
  await loadExample(0);
  const autorun = await fromUrl();
  renderCamera();
  renderFlash();
  renderSd();
  setRunning(
    false,
    globalThis.crossOriginIsolated ? 'ready' : 'ready (not cross-origin isolated: Stop ends the run, no BOOT/webcam)',
  );
  // For tests and the browser's console: the editor's text.
  Object.assign(globalThis, {
    kpusimBoard: {
      script: () => editor.state.doc.toString(),
      setScript: (t: string) => setScript(t),
      webcamFrames: () => state.webcamFrames,
      keyFrames: () => state.keyFrames,
    },
  });
  document.body.dataset.ready = '1';
  if (autorun) void run();
}

void main();
