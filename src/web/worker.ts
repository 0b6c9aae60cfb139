/**
 * The board page's Web Worker: one `kpusim maixpy` run (maixpy/host.ts runMaixpy) per request,
 * in the browser. Files the page hands over go into the memory file system that stands for
 * `node:fs` in the browser build (platform/browser/fs.ts); the bundled models are fetched once
 * from the page's `models/` folder. Python runs here synchronously; the page stays responsive.
 * Output, LCD frames and the board's figures are posted back as they happen.
 */
import { infoCommand } from '../cli/info.js';
import { profileCommand } from '../cli/profile.js';
import { classifyError, type Io } from '../cli/common.js';
import { UsageError } from '../errors.js';
import { runMaixpy } from '../maixpy/host.js';
import type { RgbImage } from '../pipeline/types.js';
import { putFile, readFileSync, removeTree } from '../platform/browser/fs.js';
import { loadBundledModels } from './bundled.js';
import { runModelOnImage } from './run-model.js';
import {
  CONTROL,
  type BoardFigures,
  type InspectReport,
  type InspectRequest,
  type ModelRunRequest,
  type RunRequest,
  type WorkerReply,
  WEBCAM_FRAMES_KEPT,
} from './protocol.js';

interface WorkerScope {
  postMessage(m: WorkerReply, transfer?: ArrayBuffer[]): void;
  onmessage: ((e: { data: RunRequest | InspectRequest | ModelRunRequest }) => void) | null;
  location: { href: string };
}
const scope = globalThis as unknown as WorkerScope;

const post = (m: WorkerReply, transfer?: ArrayBuffer[]): void => scope.postMessage(m, transfer);

const bundled = loadBundledModels(scope.location.href);

function liveFrame(control: Int32Array, live: Uint8Array): RgbImage | null {
  for (let attempt = 0; attempt < 50; attempt++) {
    const seq = Atomics.load(control, CONTROL.SEQ);
    if (seq === 0) {
      Atomics.wait(control, CONTROL.SEQ, 0, 200);
      continue;
    }
    if (seq & 1) continue;
    const w = Atomics.load(control, CONTROL.WIDTH),
      h = Atomics.load(control, CONTROL.HEIGHT);
    const data = new Uint8Array(w * h * 3);
    for (let i = 0, j = 0; i < w * h; i++, j += 4) {
      data[3 * i] = live[j];
      data[3 * i + 1] = live[j + 1];
      data[3 * i + 2] = live[j + 2];
    }
    if (Atomics.load(control, CONTROL.SEQ) === seq) return { width: w, height: h, data };
  }
  return null;
}

async function run(req: RunRequest): Promise<void> {
  await bundled;
  removeTree('/run');
  for (const f of req.files) putFile(f.path, f.bytes);
  const control = req.control ? new Int32Array(req.control) : undefined;
  const live = req.live ? new Uint8Array(req.live) : undefined;
  let keysSeen = control ? Atomics.load(control, CONTROL.KEY) : 0;
  let webcamFrames = 0;
  const webcamFrame = (): RgbImage | null => {
    const img = liveFrame(control!, live!);
    if (img && webcamFrames++ < WEBCAM_FRAMES_KEPT) {
      const rgb = img.data.slice();
      post({ t: 'webcam-frame', width: img.width, height: img.height, rgb }, [rgb.buffer]);
    }
    return img;
  };
  const t0 = performance.now();
  let figures: BoardFigures = {
    frames: 0,
    board_ms: 0,
    parts: { kpu: 0, cpu: 0, lcd: 0, camera: 0, sleep: 0 },
    pc_ms: 0,
  };
  let current: { ctx: { frames: number; clock: { now(): number; totals: BoardFigures['parts'] } } } | undefined;
  const measure = (): BoardFigures => {
    if (!current) return figures;
    const c = current.ctx.clock;
    figures = { frames: current.ctx.frames, board_ms: c.now(), parts: { ...c.totals }, pc_ms: performance.now() - t0 };
    return figures;
  };
  try {
    const r = await runMaixpy({
      script: req.script,
      source: req.source,
      camera: req.webcam ? [] : req.camera,
      flash: req.flash,
      sdDir: req.sd,
      keyPress: req.keyPress,
      frames: req.frames,
      liveCamera: req.webcam && control && live ? { name: 'webcam', frame: webcamFrame } : undefined,
      poll: (board) => {
        current = board;
        if (!control) return;
        if (Atomics.exchange(control, CONTROL.STOP, 0) === 1) board.interrupt.keyboardInterrupt();
        const keys = Atomics.load(control, CONTROL.KEY);
        for (; keysSeen < keys; keysSeen++) {
          board.ctx.pressKeyBeforeNextFrame();
          post({ t: 'key', frame: board.ctx.frames + 1 });
        }
      },
      lcdFrame: (img) => {
        const rgb = img.data.slice();
        post({ t: 'lcd', width: img.width, height: img.height, rgb, figures: measure() }, [rgb.buffer]);
      },
      out: (text) => post({ t: 'out', text }),
      err: (text) => post({ t: 'err', text }),
    });
    const f = { ...measure(), frames: r.frames, board_ms: r.boardMs, parts: r.boardParts, pc_ms: r.emulatorMs };
    post({
      t: 'done',
      exitCode: r.exitCode,
      reason: r.reason,
      summary: r.summary,
      figures: f,
      error: r.error && {
        type: r.error.type,
        message: r.error.message,
        line: r.error.line,
        traceback: r.error.traceback,
      },
    });
  } catch (e) {
    post({
      t: 'fatal',
      message: e instanceof UsageError ? e.message : `kpusim internal error: ${(e as Error).message}`,
    });
  }
}

/** Runs a CLI command's handler on the memory file system; returns what it printed. */
async function cli(
  command: { run(a: Record<string, unknown>, io: Io): Promise<number> },
  args: Record<string, unknown>,
): Promise<string> {
  let out = '';
  const io: Io = { out: (t) => (out += t), err: () => undefined, errIsTty: false };
  await command.run(args, io);
  return out;
}

/** The model page: `kpusim info` and `kpusim profile` (with --json, --svg, --chrome-trace) on a dropped file. */
async function inspect(req: InspectRequest): Promise<void> {
  removeTree('/inspect');
  const safe = req.name.replace(/[^\w.-]/g, '_') || 'model.kmodel';
  const path = `/inspect/${safe}`;
  putFile(path, req.bytes);
  const spec = req.inner ? `${path}#${req.inner}` : path;
  const shown = req.inner ? `${req.name}#${req.inner}` : req.name;
  const rename = (t: string): string => t.split(path).join(req.name);
  try {
    const infoText = rename(await cli(infoCommand, { model: spec, json: false }));
    const info = JSON.parse(rename(await cli(infoCommand, { model: spec, json: true }))) as Record<string, unknown>;
    let report: InspectReport = {
      spec: shown,
      infoText,
      info,
      profileText: null,
      profile: null,
      svg: null,
      trace: null,
    };
    const pkg = !req.inner && /\.kfpkg$/i.test(req.name);
    if (!pkg) {
      const files = { svg: '/inspect/out/profile.svg', trace: '/inspect/out/trace.json' };
      const profile = JSON.parse(
        rename(await cli(profileCommand, { model: spec, json: true, svg: files.svg, 'chrome-trace': files.trace })),
      ) as Record<string, unknown>;
      const text = rename(await cli(profileCommand, { model: spec, json: false }));
      const read = (f: string): string => rename(readFileSync(f, 'utf8') as string);
      report = { ...report, profileText: text, profile, svg: read(files.svg), trace: read(files.trace) };
    }
    post({ t: 'inspected', report });
  } catch (e) {
    const { code, message } = classifyError(e);
    post({ t: 'inspect-error', message: rename(message), code });
  }
}

/** The model page: `kpusim run` of a dropped model on a dropped image (or a webcam frame). */
function runModel(req: ModelRunRequest): void {
  removeTree('/inspect');
  const safe = (n: string, fallback: string): string => n.replace(/[^\w.-]/g, '_') || fallback;
  const path = `/inspect/${safe(req.name, 'model.kmodel')}`;
  const image = `/inspect/image/${safe(req.image.name, 'image.png')}`;
  putFile(path, req.bytes);
  putFile(image, req.image.bytes);
  const rename = (t: string): string => t.split(path).join(req.name).split(image).join(req.image.name);
  try {
    const report = runModelOnImage(req.inner ? `${path}#${req.inner}` : path, image, req);
    const doc = JSON.parse(rename(JSON.stringify(report.doc))) as Record<string, unknown>;
    post({ t: 'model-ran', report: { ...report, doc } });
  } catch (e) {
    const { code, message } = classifyError(e);
    post({ t: 'run-model-error', message: rename(message), code });
  }
}

scope.onmessage = (e) => {
  if (e.data?.t === 'run') void run(e.data);
  else if (e.data?.t === 'inspect') void inspect(e.data);
  else if (e.data?.t === 'run-model') runModel(e.data);
};
void bundled.then(() => post({ t: 'ready' }));
