/**
 * Is the emulator faster than the board, end to end? Two figures, each as a user runs them:
 * - `maixpy_frame_ratio`: PC time per frame over the board's predicted time per frame for the
 *   face-recognition example script (examples/maixpy/face_recognition.py with the bundled models),
 *   in steady state: from the snapshot after `warmup` frames to the last snapshot of a run, by the
 *   PC and board times the script's frame log records at each snapshot. Also, for a one-frame run,
 *   the wall time (process start to exit) and the first frame's time: from the process's start to
 *   the return of the script's first `lcd.display()`, as the run's trace reports it
 *   (`KPUSIM_TRACE=1`, Node's clock from the process's start): with the camera file not in the image
 *   cache (src/io/image-cache.ts: a new, empty one for each run, as on the first run with a file), and
 *   with it there (`_warm`, as on every later run), in alternated pairs. The other runs use no cache.
 * - `face_image_ratio`: PC time over the board's predicted time per image of
 *   `kpusim face recognize` (one thread), the first image left out: with the bundled trio, and
 *   with CanMV's trio (`--preset canmv` and its three kmodels) when the shared corpus has them.
 * Each is the median over `runs` repetitions, with min–max.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, r3, withEnv } from './stats.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(REPO, 'bin/kpusim.js');
const SCRIPT = join(REPO, 'examples/maixpy/face_recognition.py');
const IMAGES = ['grace_hopper.jpg', 'camera.png', 'astronaut.jpg'].map((f) => join(REPO, 'examples/images', f));

export interface Spread {
  readonly ratio: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

function kpusimJson(
  args: string[],
  env?: Record<string, string | undefined>,
): { doc: Record<string, unknown>; wallMs: number; stderr: string } {
  const t = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args, '--json'], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: env ? withEnv(env) : undefined,
  });
  const wallMs = performance.now() - t;
  if (r.status !== 0) throw new Error(`bench: kpusim ${args.join(' ')} exited with ${r.status}: ${r.stderr}`);
  return { doc: JSON.parse(r.stdout) as Record<string, unknown>, wallMs, stderr: r.stderr };
}

/**
 * The process time (ms) of the first `event` line of a run's trace (`KPUSIM_TRACE=1`), and the main
 * thread's CPU time by then where the trace gives it (Linux), else NaN.
 */
function traced(stderr: string, event: string): { readonly ms: number; readonly cpuMs: number } {
  for (const m of stderr.matchAll(
    /^kpusim trace: (\d+(?:\.\d+)?) ms (.*?)(?: \(CPU: (?:main thread (\d+(?:\.\d+)?) ms, )?process \d+(?:\.\d+)? ms\))?$/gm,
  ))
    if (m[2] === event) return { ms: Number(m[1]), cpuMs: m[3] === undefined ? NaN : Number(m[3]) };
  throw new Error(`bench: the run's trace has no ${event}`);
}

const spread = (xs: readonly number[]): Spread => ({
  ratio: r3(median(xs)),
  min: r3(Math.min(...xs)),
  max: r3(Math.max(...xs)),
  n: xs.length,
});
const frames = (n: number) => Array.from({ length: n }, (_, i) => IMAGES[i % IMAGES.length]);

export function maixpyFrameRatio(
  frameCount: number,
  warmup: number,
  runs: number,
): Spread & {
  readonly board_ms_per_frame: number;
  readonly pc_ms_per_frame: number;
  readonly one_frame_wall_ms: number;
  readonly first_frame_ms: number;
  readonly first_frame_min: number;
  readonly first_frame_max: number;
  /** The main thread's CPU time by the first frame (median; null where the trace does not give it). */
  readonly first_frame_cpu_ms: number | null;
  /** The same with the camera file in the image cache. */
  readonly first_frame_warm_ms: number;
  readonly first_frame_warm_min: number;
  readonly first_frame_warm_max: number;
  readonly first_frame_warm_cpu_ms: number | null;
  /**
   * The cold first frame again without NODE_EXTRA_CA_CERTS in the environment, where it is set: Node
   * reads and parses that certificate file when any process starts, before any of kpusim's code runs
   * (null where it is not set).
   */
  readonly first_frame_no_extra_ca_ms: number | null;
  readonly first_frame_no_extra_ca_min: number | null;
  readonly first_frame_no_extra_ca_max: number | null;
} {
  const ratios: number[] = [];
  const pcPerFrame: number[] = [];
  const boardPerFrame: number[] = [];
  for (let i = 0; i < runs; i++) {
    const { doc } = kpusimJson(['maixpy', SCRIPT, '--camera', ...frames(frameCount)], { KPUSIM_CACHE_DIR: 'off' });
    const log = doc.frame_log as { board_ms: number; pc_ms: number }[];
    if (log.length !== frameCount) throw new Error(`bench: the script took ${log.length} of ${frameCount} frames`);
    // From the snapshot after the warm-up frames to the last one: whole frames of steady state.
    const a = log[warmup],
      b = log[log.length - 1],
      n = log.length - 1 - warmup;
    pcPerFrame.push((b.pc_ms - a.pc_ms) / n);
    boardPerFrame.push((b.board_ms - a.board_ms) / n);
    ratios.push((b.pc_ms - a.pc_ms) / (b.board_ms - a.board_ms));
  }
  const wall: number[] = [];
  const first: number[] = [];
  const firstCpu: number[] = [];
  const warm: number[] = [];
  const warmCpu: number[] = [];
  const noCa: number[] = [];
  const caSet = process.env.NODE_EXTRA_CA_CERTS !== undefined;
  const caches = mkdtempSync(join(tmpdir(), 'kpusim-bench-cache-'));
  try {
    const warmDir = join(caches, 'warm');
    kpusimJson(['maixpy', SCRIPT, '--camera', IMAGES[0]], { KPUSIM_CACHE_DIR: warmDir });
    for (let i = 0; i < runs; i++) {
      const r = kpusimJson(['maixpy', SCRIPT, '--camera', IMAGES[0]], {
        KPUSIM_TRACE: '1',
        KPUSIM_CACHE_DIR: join(caches, `cold-${i}`),
      });
      wall.push(r.wallMs);
      const t = traced(r.stderr, 'lcd_display');
      first.push(t.ms);
      firstCpu.push(t.cpuMs);
      const w = traced(
        kpusimJson(['maixpy', SCRIPT, '--camera', IMAGES[0]], { KPUSIM_TRACE: '1', KPUSIM_CACHE_DIR: warmDir }).stderr,
        'lcd_display',
      );
      warm.push(w.ms);
      warmCpu.push(w.cpuMs);
      if (caSet) {
        const env = { KPUSIM_TRACE: '1', KPUSIM_CACHE_DIR: join(caches, `no-ca-${i}`), NODE_EXTRA_CA_CERTS: undefined };
        noCa.push(traced(kpusimJson(['maixpy', SCRIPT, '--camera', IMAGES[0]], env).stderr, 'lcd_display').ms);
      }
    }
  } finally {
    rmSync(caches, { recursive: true, force: true });
  }
  return {
    ...spread(ratios),
    board_ms_per_frame: r3(median(boardPerFrame)),
    pc_ms_per_frame: r3(median(pcPerFrame)),
    one_frame_wall_ms: r3(median(wall)),
    first_frame_ms: r3(median(first)),
    first_frame_min: r3(Math.min(...first)),
    first_frame_max: r3(Math.max(...first)),
    first_frame_cpu_ms: firstCpu.every(Number.isFinite) ? r3(median(firstCpu)) : null,
    first_frame_warm_ms: r3(median(warm)),
    first_frame_warm_min: r3(Math.min(...warm)),
    first_frame_warm_max: r3(Math.max(...warm)),
    first_frame_warm_cpu_ms: warmCpu.every(Number.isFinite) ? r3(median(warmCpu)) : null,
    first_frame_no_extra_ca_ms: caSet ? r3(median(noCa)) : null,
    first_frame_no_extra_ca_min: caSet ? r3(Math.min(...noCa)) : null,
    first_frame_no_extra_ca_max: caSet ? r3(Math.max(...noCa)) : null,
  };
}

/**
 * `models`: the `--preset` and model options of `kpusim face` (default: the bundled trio).
 */
export function faceImageRatio(
  images: number,
  models: readonly string[] = ['--preset', 'bundled'],
): Spread & { readonly board_ms: number; readonly pc_ms: number } {
  const dir = mkdtempSync(join(tmpdir(), 'kpusim-bench-face-'));
  try {
    const db = join(dir, 'db.json');
    kpusimJson(['face', 'enroll', ...models, IMAGES[0], '--db', db, '--name', 'grace']);
    const { doc } = kpusimJson(['face', 'recognize', ...models, ...frames(images + 1), '--db', db, '--jobs', '1']);
    const timing = (doc.images as { timing: { board_ms: number; emulator_ms: number } }[])
      .slice(1)
      .map((i) => i.timing);
    return {
      ...spread(timing.map((t) => t.emulator_ms / t.board_ms)),
      board_ms: r3(median(timing.map((t) => t.board_ms))),
      pc_ms: r3(median(timing.map((t) => t.emulator_ms))),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
