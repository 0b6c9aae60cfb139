/**
 * `npm run bench`: the emulator's speed against TensorFlow.js on the same layers, in one process,
 * so the ratio is measured under the same load. Figures are reported as ratios of one run; the
 * machines are shared and noisy, so no threshold lives here (targets are in the README).
 *
 * The tfjs side is defined so that nobody can tilt it: tfjs-core and tfjs-backend-wasm at the
 * versions in package-lock, backend settings at their defaults, NHWC float32, each KPU layer as
 * `conv2d` or `depthwiseConv2d` ('same') then `relu`, then `maxPool` 2×2/2 where the layer pools
 * (strided selection as a strided `slice`), one `tidy` per frame, timed from the input tensor to
 * `await data()` of the output, median of 10 frames after 2 warm-ups.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kmodel } from '../kmodel-parser/model.js';
import { parseKmodel } from '../kmodel-parser/parse.js';
import { defaultKpuKernel, type KpuKernel } from '../kpu/conv/index.js';
import { hashBenchmark, type HashFigures } from './hash.js';
import { hilBenchmark } from './hil.js';
import { jobsSpeedup, type JobsFigures } from './jobs.js';
import { kpuRatio, pseudoInput, tfjsFrame, threadSpeedup, type KpuRatio, type ThreadSpeedup } from './kpu.js';
import { faceImageRatio, maixpyFrameRatio } from './realtime.js';
import { startupRatio, type StartupFigures } from './startup.js';
import { prepare } from '../kpu/interpreter.js';
import { PUBLISHED_BOARD_TIMES, profile } from '../kpu/timing/index.js';
import { loadKmodel } from '../load.js';

export interface BenchOptions {
  /** One frame, no warm-up beyond one run: proves the benchmark works (used by `npm test`). */
  readonly quick?: boolean;
  readonly sharedDir?: string;
  readonly log?: (line: string) => void;
  /** KPU conv kernels of the emulated runs (default: the library's default, `defaultKpuKernel()`). */
  readonly kernel?: KpuKernel;
}

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function timeRuns(n: number, warm: number, f: () => void): number {
  for (let i = 0; i < warm; i++) f();
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    f();
    ts.push(performance.now() - t);
  }
  return median(ts);
}

/** The benchmark model: MaixPy's face detector when the shared corpus is there, else the bundled detector. */
function pickModel(shared: string): { name: string; path: string } {
  const maixpy = join(shared, 'kmodels/maixpy_face_detect_0x300000_v3.kmodel');
  if (existsSync(maixpy)) return { name: 'maixpy_face_detect_0x300000_v3', path: maixpy };
  const manifest = join(REPO, 'models/manifest.json');
  if (existsSync(manifest)) {
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as { models: { role: string; file: string }[] };
    const det = m.models.find((x) => x.role === 'detector');
    if (det) return { name: `bundled ${det.file}`, path: join(REPO, 'models', det.file) };
  }
  throw new Error('no benchmark model: neither ../shared/kmodels nor models/manifest.json is present');
}

/** The face pipeline's three models: the bundled trio, else CanMV's from the shared corpus. */
function pickTrio(shared: string): { name: string; paths: string[] } | null {
  const manifest = join(REPO, 'models/manifest.json');
  if (existsSync(manifest)) {
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as { models: { role: string; file: string }[] };
    const order = ['detector', 'landmarks', 'features'].map((r) => m.models.find((x) => x.role === r));
    if (order.every(Boolean)) return { name: 'bundled', paths: order.map((x) => join(REPO, 'models', x!.file)) };
  }
  const canmv = [
    'canmv_yolo_face_detect_320x240_v4',
    'canmv_face_ld5_landmark_v3',
    'canmv_face_feature_extraction_v4',
  ].map((n) => join(shared, `kmodels/${n}.kmodel`));
  if (canmv.every((p) => existsSync(p))) return { name: 'canmv', paths: canmv };
  return null;
}

async function tfjsFrameMs(
  model: Kmodel,
  frames: number,
  warm: number,
): Promise<{ ms: number; macs: number; layers: number }> {
  const t = await tfjsFrame(model);
  for (let i = 0; i < warm; i++) await t.frame();
  const ts: number[] = [];
  for (let i = 0; i < frames; i++) ts.push(await t.frame());
  t.dispose();
  return { ms: median(ts), macs: t.macs, layers: t.layers };
}

/**
 * The timing model against every published whole-model board time (src/kpu/timing/published.ts):
 * one row per figure, with whether the built-in parameters were fitted to it.
 */
export function publishedBoardTimes(shared: string): Record<string, unknown>[] | null {
  const dir = join(shared, 'kmodels');
  if (!existsSync(dir)) return null;
  const rows: Record<string, unknown>[] = [];
  const cache = new Map<string, { total: number; upload: number }>();
  for (const f of PUBLISHED_BOARD_TIMES) {
    const path = join(dir, `${f.model}.kmodel`);
    if (!existsSync(path)) continue;
    let m = cache.get(f.model);
    if (!m) {
      const pm = prepare(loadKmodel(path).model);
      const p = profile(pm.run(pm.inputs.map((d) => new Uint8Array(d.bytes))).events, {});
      // The input upload is the first layer's upload transfer.
      const upload = (p.layers[0]?.transfers ?? [])
        .filter((t) => t.kind.startsWith('upload'))
        .reduce((a, t) => a + t.ms, 0);
      m = { total: p.total_ms, upload };
      cache.set(f.model, m);
    }
    const model = f.excludesInputUpload ? m.total - m.upload : m.total;
    rows.push({
      model: f.model,
      source: f.source,
      measured_ms: f.ms,
      model_ms: round(model),
      error_pct: Math.round((1000 * (model - f.ms)) / f.ms) / 10,
      fitted: f.fitted,
    });
  }
  return rows;
}

export async function runBenchmark(opts: BenchOptions = {}): Promise<Record<string, unknown>> {
  const log = opts.log ?? (() => undefined);
  const shared = opts.sharedDir ?? resolve(REPO, '../shared');
  const frames = opts.quick ? 1 : 10;
  const warm = opts.quick ? 0 : 2;
  const pick = pickModel(shared);
  const kernel = opts.kernel ?? defaultKpuKernel();
  log(`model: ${pick.name}, kernel: ${kernel}`);
  const { model } = loadKmodel(pick.path);
  const prepared = prepare(model, { kpuKernel: kernel });
  const input = pseudoInput(prepared.inputs[0].bytes);
  const macs = prepared.events.reduce((a, e) => a + e.macs, 0);
  const emulatorMs = timeRuns(frames, warm, () => prepared.run([input]));
  log(`emulator: ${emulatorMs.toFixed(1)} ms/frame`);
  const tfjs = await tfjsFrameMs(model, frames, warm);
  log(`tfjs wasm: ${tfjs.ms.toFixed(1)} ms/frame`);
  const boardMs = profile(prepared.run([input]).events, {}).total_ms;
  const hash = hashBenchmark(prepared, input, Boolean(opts.quick));
  log(
    `memory hash: ${hash.memory} GB/s (plain ${hash.memory_plain}), random bytes ${hash.random} GB/s (plain ${hash.random_plain})`,
  );

  let pipeline: Record<string, unknown> | null = null;
  const trio = pickTrio(shared);
  if (trio) {
    const ps = trio.paths.map((p) => prepare(loadKmodel(p).model, { kpuKernel: kernel }));
    const xs = ps.map((p) => pseudoInput(p.inputs[0].bytes));
    const ms = timeRuns(frames, warm, () => ps.forEach((p, i) => p.run([xs[i]])));
    const events = ps.map((p, i) => p.run([xs[i]]).events);
    pipeline = {
      models: trio.name,
      macs: events.flat().reduce((a, e) => a + e.macs, 0),
      emulator_ms: round(ms),
      board_ms: round(events.reduce((a, ev) => a + profile(ev, {}).total_ms, 0)),
    };
    log(`pipeline (${trio.name}): ${ms.toFixed(1)} ms/frame`);
  }

  // The KPU engine against tfjs-wasm per model (alternated pairs), and one layer on two threads against one.
  const kpuModels: { name: string; path: string }[] = [{ name: pick.name, path: pick.path }];
  const skipped: string[] = [];
  for (const n of ['canmv_face_feature_extraction_v4', 'nncase_yolox_nano_224_k210_v5']) {
    const p = join(shared, `kmodels/${n}.kmodel`);
    if (existsSync(p)) kpuModels.push({ name: n, path: p });
    else skipped.push(`${n}: ${p} is absent`);
  }
  const kpuPairs = opts.quick ? 1 : 7;
  const kpuRatios: KpuRatio[] = [];
  for (const m of kpuModels) {
    const r = await kpuRatio(m.name, m.path, kpuPairs, opts.quick ? 0 : 2, kernel);
    kpuRatios.push(r);
    log(`KPU ${m.name}: ×${r.ratio} of tfjs-wasm's MAC rate (${r.min}–${r.max})`);
  }
  for (const s of skipped) log(`KPU ratio left out: ${s}`);
  const threads: ThreadSpeedup[] = [];
  for (const m of opts.quick ? [] : kpuModels) {
    const t = await threadSpeedup(m.name, m.path, 7, 1);
    if (!t) break;
    threads.push(t);
    log(`layer threads ${m.name}: 2 threads ×${t.speedup} of 1 (${t.min}–${t.max})`);
  }

  // Parse time of every real model, and the peak RSS of the largest model's run.
  let parse: Record<string, unknown> | null = null;
  const dir = join(shared, 'kmodels');
  if (existsSync(dir)) {
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.kmodel'))
      .map((f) => ({ f, bytes: new Uint8Array(readFileSync(join(dir, f))) }));
    const t = performance.now();
    let parsed = 0;
    for (const { f, bytes } of files) {
      try {
        parseKmodel(bytes, f);
        parsed++;
      } catch {
        /* the v1 model is refused by design */
      }
    }
    parse = { files: files.length, parsed, total_ms: round(performance.now() - t) };
  }
  // Peak RSS of every real model's run, each in a fresh process (quick mode: the largest only).
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.kmodel') && !f.includes('_v1'))
        .map((f) => join(dir, f))
    : [pick.path];
  files.sort((a, b) => statSync(b).size - statSync(a).size);
  const rssScript = fileURLToPath(new URL('./rss.js', import.meta.url));
  let worst = { model: '', rss_mb: 0 };
  for (const f of opts.quick ? files.slice(0, 1) : files) {
    const r = spawnSync(process.execPath, [rssScript, f, kernel], { encoding: 'utf8' });
    if (r.status !== 0) continue;
    const mb = (JSON.parse(r.stdout) as { rss_mb: number }).rss_mb;
    if (mb > worst.rss_mb) worst = { model: f.split('/').pop() ?? f, rss_mb: mb };
  }
  // Published board times: a few full model runs, left out of quick mode (npm test runs it).
  const published = opts.quick ? null : publishedBoardTimes(shared);
  // The virtual board over a pseudo-terminal: child processes and seconds of uploads (not in quick mode).
  const hil = opts.quick ? null : await hilBenchmark(log);
  await yieldToEventLoop();
  // Process start of the CLI against a bare Node (quick mode: one pair, to prove it works).
  const startup = startupRatio(opts.quick ? 1 : 9);
  log(
    `startup: --version ×${startup.version.ratio}, info ×${startup.info.ratio} of node -e 0 (${startup.node_ms} ms${startup.node_no_extra_ca_ms === null ? '' : `; ${startup.node_no_extra_ca_ms} ms without NODE_EXTRA_CA_CERTS`})`,
  );
  await yieldToEventLoop();
  // Sweeps on two cores: golden check with --jobs 2 against --jobs 1 (quick mode: a small sweep, one
  // pair). 160 detector cases take seconds in one thread: long enough for a worker's start (loading,
  // preparing, its first run) not to be most of the sweep, as in a real golden suite.
  const jobs = opts.quick ? jobsSpeedup(3, 1) : jobsSpeedup(160, 5);
  log(`jobs: --jobs 2 ×${jobs.speedup} of --jobs 1 (${jobs.min}–${jobs.max})`);
  await yieldToEventLoop();
  // End to end against the board: the MaixPy face-recognition example and `face recognize`.
  const maixpy = opts.quick ? maixpyFrameRatio(3, 1, 1) : maixpyFrameRatio(14, 2, 5);
  log(`maixpy: PC ×${maixpy.ratio} of the board's time per frame (${maixpy.min}–${maixpy.max})`);
  log(
    `maixpy: first frame ${maixpy.first_frame_ms} ms after the process started (${maixpy.first_frame_min}–${maixpy.first_frame_max})${maixpy.first_frame_cpu_ms === null ? '' : `, ${maixpy.first_frame_cpu_ms} ms of it the main thread's CPU`}`,
  );
  log(
    `maixpy: first frame with the camera file in the image cache ${maixpy.first_frame_warm_ms} ms (${maixpy.first_frame_warm_min}–${maixpy.first_frame_warm_max})${maixpy.first_frame_warm_cpu_ms === null ? '' : `, ${maixpy.first_frame_warm_cpu_ms} ms of it the main thread's CPU`}`,
  );
  if (maixpy.first_frame_no_extra_ca_ms !== null)
    log(
      `maixpy: first frame without NODE_EXTRA_CA_CERTS (set here: Node loads those certificates as any process starts) ${maixpy.first_frame_no_extra_ca_ms} ms (${maixpy.first_frame_no_extra_ca_min}–${maixpy.first_frame_no_extra_ca_max})`,
    );
  await yieldToEventLoop();
  const face = faceImageRatio(opts.quick ? 1 : 8);
  log(`face recognize: PC ×${face.ratio} of the board's time per image (${face.min}–${face.max})`);
  await yieldToEventLoop();
  // The same with CanMV's trio (not in quick mode; absent without the shared corpus).
  const canmvTrio = [
    'canmv_yolo_face_detect_320x240_v4',
    'canmv_face_ld5_landmark_v3',
    'canmv_face_feature_extraction_v4',
  ].map((n) => join(shared, `kmodels/${n}.kmodel`));
  const faceCanmv =
    opts.quick || !canmvTrio.every((f) => existsSync(f))
      ? null
      : faceImageRatio(8, [
          '--preset',
          'canmv',
          '--detector',
          canmvTrio[0],
          '--landmarks',
          canmvTrio[1],
          '--features',
          canmvTrio[2],
        ]);
  if (faceCanmv)
    log(
      `face recognize (CanMV's trio): PC ×${faceCanmv.ratio} of the board's time per image (${faceCanmv.min}–${faceCanmv.max})`,
    );
  return {
    model: pick.name,
    kernel,
    macs,
    frames,
    emulator_ms: round(emulatorMs),
    emulator_gmacs: round(macs / emulatorMs / 1e6),
    tfjs_wasm_ms: round(tfjs.ms),
    tfjs_wasm_gmacs: round(tfjs.macs / tfjs.ms / 1e6),
    ratio_gmacs: round(macs / emulatorMs / (tfjs.macs / tfjs.ms)),
    board_ms: round(boardMs),
    kpu_ratios: { models: kpuRatios, left_out: skipped },
    layer_threads_speedup: threads,
    pipeline,
    parse_all_models: parse,
    peak_rss_mb: worst,
    published_board_times: published,
    hil,
    startup_ratio: startup,
    hash_gb_per_s: hash,
    jobs_speedup: jobs,
    maixpy_frame_ratio: maixpy,
    face_image_ratio: face,
    face_image_ratio_canmv: faceCanmv,
  };
}

/** Lets a host's event loop (a test runner's) breathe between the long synchronous parts. */
const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

const round = (x: number) => Math.round(x * 1000) / 1000;

async function cli(): Promise<void> {
  const json = process.argv.includes('--json');
  const quick = process.argv.includes('--quick');
  const k = process.argv.indexOf('--kernel');
  const kernel = k > 0 ? process.argv[k + 1] : undefined;
  if (kernel !== undefined && kernel !== 'wasm' && kernel !== 'js') {
    process.stderr.write(`bench: --kernel takes wasm or js, not ${kernel}\n`);
    process.exit(2);
  }
  const r = await runBenchmark({ quick, kernel, log: (l) => process.stderr.write(`bench: ${l}\n`) });
  if (json) {
    process.stdout.write(JSON.stringify({ schema_version: 1, ...r }, null, 2) + '\n');
    return;
  }
  const rows: [string, string][] = [
    ['model', String(r.model)],
    ['KPU conv kernel', String(r.kernel)],
    ['MACs per frame', Number(r.macs).toLocaleString('en-US')],
    ['emulator (bit-exact)', `${r.emulator_ms} ms/frame, ${r.emulator_gmacs} GMAC/s`],
    ['TensorFlow.js wasm (float)', `${r.tfjs_wasm_ms} ms/frame, ${r.tfjs_wasm_gmacs} GMAC/s`],
    ['emulator / tfjs GMAC/s', String(r.ratio_gmacs)],
    ['board (timing model)', `${r.board_ms} ms/frame`],
  ];
  const kr = r.kpu_ratios as { models: KpuRatio[]; left_out: string[] };
  for (const k of kr.models)
    rows.push([
      `KPU ${k.model} (v${k.version})`,
      `×${k.ratio} of tfjs-wasm's MAC rate (${k.min}–${k.max}, ${k.pairs} pairs; ${k.emulator_ms} ms vs ${k.tfjs_ms} ms, ${k.threads} layer threads)`,
    ]);
  for (const k of kr.left_out) rows.push(['KPU ratio left out', k]);
  for (const t of r.layer_threads_speedup as ThreadSpeedup[])
    rows.push([
      `layer threads: ${t.model}`,
      `2 threads ×${t.speedup} of 1 (${t.min}–${t.max}, ${t.pairs} pairs; ${t.one_ms} ms → ${t.two_ms} ms)`,
    ]);
  const p = r.pipeline as Record<string, unknown> | null;
  if (p)
    rows.push([
      `face pipeline (${p.models})`,
      `emulator ${p.emulator_ms} ms, board ${p.board_ms} ms, ×${round(Number(p.emulator_ms) / Number(p.board_ms))}`,
    ]);
  const parse = r.parse_all_models as Record<string, unknown> | null;
  if (parse) rows.push(['parse all real models', `${parse.total_ms} ms (${parse.parsed}/${parse.files})`]);
  const rss = r.peak_rss_mb as Record<string, unknown>;
  rows.push(['peak RSS of a model run', `${rss.rss_mb} MB (worst: ${rss.model})`]);
  const hil = r.hil as Awaited<ReturnType<typeof hilBenchmark>> | null;
  if (hil && 'skipped' in hil) rows.push(['virtual board over a pty', `left out: ${hil.skipped}`]);
  else if (hil)
    for (const b of hil.boards) {
      const c = b.command_round_trip_ms,
        u = b.upload_bytes_per_s;
      rows.push([
        `virtual board over a pty (uart buffer ${b.uart_buffer ?? 'unlimited'})`,
        `command ${c.median} ms (${c.min}–${c.max}, n=${c.n}); upload ${u.median} B/s (${u.min}–${u.max}, ${b.upload_bytes} B ×${u.n}); serve start ${b.serve_start_ms} ms, session open ${b.session_open_ms} ms`,
      ]);
    }
  const hs = r.hash_gb_per_s as HashFigures;
  rows.push([
    'memory hash (FNV-1a 64, traces)',
    `${hs.memory} GB/s on the machine's memory (${(hs.memory_bytes / 1048576).toFixed(0)} MiB; plain JS ${hs.memory_plain}), ${hs.random} GB/s on random bytes (plain JS ${hs.random_plain})`,
  ]);
  const st = r.startup_ratio as StartupFigures;
  for (const [k, v] of [
    ['--version', st.version],
    ['info (150 KB model)', st.info],
  ] as const)
    rows.push([
      `process start: kpusim ${k}`,
      `×${v.ratio} of node -e 0 (${v.min}–${v.max}, ${v.pairs} pairs; ${v.ms} ms, node ${st.node_ms} ms${st.node_no_extra_ca_ms === null ? '' : `, ${st.node_no_extra_ca_ms} ms without NODE_EXTRA_CA_CERTS`})`,
    ]);
  const jb = r.jobs_speedup as JobsFigures;
  rows.push([
    'sweep: --jobs 2 against --jobs 1',
    `×${jb.speedup} (${jb.min}–${jb.max}, ${jb.pairs} pairs; ${jb.jobs1_ms} ms → ${jb.jobs2_ms} ms; ${jb.command})`,
  ]);
  const mx = r.maixpy_frame_ratio as ReturnType<typeof maixpyFrameRatio>;
  rows.push([
    'maixpy face_recognition.py (steady state)',
    `PC ×${mx.ratio} of the board's time per frame (${mx.min}–${mx.max}, ${mx.n} runs; ${mx.pc_ms_per_frame} ms vs ${mx.board_ms_per_frame} ms); a one-frame run ${mx.one_frame_wall_ms} ms wall, its first frame ${mx.first_frame_ms} ms after the process started (${mx.first_frame_min}–${mx.first_frame_max}${mx.first_frame_cpu_ms === null ? '' : `; main thread CPU ${mx.first_frame_cpu_ms} ms`}), ${mx.first_frame_warm_ms} ms with the camera file in the image cache (${mx.first_frame_warm_min}–${mx.first_frame_warm_max})${mx.first_frame_no_extra_ca_ms === null ? '' : `, ${mx.first_frame_no_extra_ca_ms} ms without NODE_EXTRA_CA_CERTS (${mx.first_frame_no_extra_ca_min}–${mx.first_frame_no_extra_ca_max})`}`,
  ]);
  const fr = r.face_image_ratio as ReturnType<typeof faceImageRatio>;
  rows.push([
    'face recognize (bundled trio, per image)',
    `PC ×${fr.ratio} of the board's time (${fr.min}–${fr.max}, ${fr.n} images; ${fr.pc_ms} ms vs ${fr.board_ms} ms)`,
  ]);
  const fc = r.face_image_ratio_canmv as ReturnType<typeof faceImageRatio> | null;
  if (fc)
    rows.push([
      "face recognize (CanMV's trio, per image)",
      `PC ×${fc.ratio} of the board's time (${fc.min}–${fc.max}, ${fc.n} images; ${fc.pc_ms} ms vs ${fc.board_ms} ms)`,
    ]);
  const w = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n');
  const pub = r.published_board_times as Record<string, unknown>[] | null;
  if (pub) {
    const lines = pub.map(
      (x) =>
        `  ${String(x.model).padEnd(40)} ${`${x.measured_ms} ms`.padStart(10)} ${`${x.model_ms} ms`.padStart(11)} ${`${Number(x.error_pct) >= 0 ? '+' : ''}${x.error_pct}%`.padStart(8)}  ${x.fitted ? 'fitted' : 'out of sample'}  ${x.source}`,
    );
    process.stdout.write(
      `\ntiming model against published board times (400 MHz; sources in src/kpu/timing/published.ts)\n` +
        `  ${'model'.padEnd(40)} ${'board'.padStart(10)} ${'model'.padStart(11)} ${'error'.padStart(8)}  defaults\n` +
        lines.join('\n') +
        '\n  The built-in parameters were fitted to [SIPEED], [ISS77] and [ISS95]-[ISS97] only (src/kpu/timing/params.ts);\n' +
        '  rows marked "out of sample" played no part in setting them.\n',
    );
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await cli();
