/**
 * `kpusim maixpy <script.py>`: run a MaixPy (or CanMV) script unchanged on the emulated K210.
 * The script's prints go to stdout; warnings, a Python traceback and the one-line summary go to
 * stderr. Exit 0 when the camera runs out or the script ends, 1 on a Python error, 2 on bad
 * arguments.
 */
import type { KeyPress } from '../maixpy/context.js';
import type { SensorName } from '../maixpy/sensor-timing.js';
import type { Argv } from 'yargs';
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { runMaixpy } from '../maixpy/host.js';
import { cameraPrefetch } from './camera-prefetch.js';
import { imageCacheFromEnv, type ImageCache } from '../io/image-cache.js';
import type { FrameStore } from '../maixpy/camera.js';
import { readImageBytes, readImageFileCached } from '../pipeline/image-io.js';
import { DEFAULT_HEAP_MB } from '../maixpy/sandbox.js';
import type { Command } from './command.js';
import { EXIT, printJson, type Io } from './common.js';
import { frameNumbers, list, timingFrom } from './options.js';

/** `--key-press-ms 1500,3000:250`: presses at board times, each T or T:DURATION (ms, default 100). */
function keyTimes(v: unknown): KeyPress[] {
  const out: KeyPress[] = [];
  for (const part of list(v).flatMap((s) => s.split(','))) {
    const t = part.trim();
    if (t === '') continue;
    const m = /^(\d+(?:\.\d+)?)(?::(\d+(?:\.\d+)?))?$/.exec(t);
    const ms = m?.[2] === undefined ? 100 : Number(m[2]);
    if (!m || !(ms > 0))
      throw new UsageError('BAD_ARGUMENT', `--key-press-ms takes T or T:DURATION in ms (comma-separated), got "${t}"`);
    out.push({ at: Number(m[1]), ms });
  }
  return out;
}

/** The camera's frames kept in the image cache, beside each file's image (a variant of its entry). */
function cachedFrames(cache: ImageCache | undefined): FrameStore | undefined {
  if (!cache) return undefined;
  const variant = (w: number, h: number, fit: string): string => `frame ${w}x${h} ${fit}`;
  return {
    get(file, w, h, fit) {
      try {
        return cache.get(readImageBytes(file), variant(w, h, fit));
      } catch {
        return undefined; // the file's own read reports it
      }
    },
    put(file, w, h, fit, rgb) {
      try {
        cache.put(readImageBytes(file), rgb, variant(w, h, fit));
      } catch {
        // the cache is a convenience
      }
    },
  };
}

export const maixpyCommand: Command = {
  command: 'maixpy <script>',
  describe:
    'Run a MaixPy or CanMV script unchanged: camera frames from image files, models from --flash / --sd, LCD to PNGs',
  builder: (y: Argv) =>
    y
      .positional('script', { type: 'string', describe: 'the MicroPython script (.py)' })
      .option('camera', {
        type: 'string',
        array: true,
        describe:
          'camera frames: image files and folders (sorted by name), one file per sensor.snapshot(); without it the first snapshot ends the run',
      })
      .option('flash', {
        type: 'string',
        array: true,
        describe:
          'ADDR=FILE puts a kmodel (or pkg.kfpkg#inner) at a flash address for kpu.load(ADDR); a .kfpkg maps all its files',
      })
      .option('sd', { type: 'string', describe: 'folder that stands for the SD card (/sd/...)' })
      .option('key-press', {
        type: 'string',
        array: true,
        describe: 'press the BOOT key before these frames (1-based, comma-separated)',
      })
      .option('key-press-ms', {
        type: 'string',
        describe: 'press the BOOT key at these board times: T or T:DURATION in ms (default 100 ms), comma-separated',
      })
      .option('max-board-ms', { type: 'number', describe: 'stop when the board clock reaches this many ms' })
      .option('max-lcd-frames', { type: 'number', describe: 'stop after this many complete LCD frames' })
      .option('lcd-out', { type: 'string', describe: 'write every lcd.display() as a PNG into this folder' })
      .option('frames', { type: 'number', describe: 'stop after this many frames' })
      .option('camera-fit', {
        choices: ['crop', 'fit', 'stretch'] as const,
        default: 'crop' as const,
        describe: 'how a file of another size becomes a frame',
      })
      .option('camera-orientation', {
        choices: ['script', 'raw'] as const,
        default: 'script' as const,
        describe:
          "script: files are upright for the script's first set_hmirror/set_vflip, later changes flip them; raw: files are the unmirrored sensor output",
      })
      .option('sensor', {
        choices: ['ov2640', 'ov7740', 'ov5640', 'gc0328', 'gc2145'] as const,
        default: 'ov2640' as const,
        describe: "the camera sensor: snapshots wait for its next frame (frame periods in kpusim's docs/maixpy-api.md)",
      })
      .option('numerics', {
        choices: ['golden', 'board'] as const,
        default: 'golden' as const,
        describe: 'CPU-layer float arithmetic of the models (see kpusim run)',
      })
      .option('timing', {
        type: 'string',
        describe: "timing file from `kpusim board calibrate`: the board clock follows that board's parameters",
      })
      .option('heap', {
        type: 'number',
        default: DEFAULT_HEAP_MB,
        describe: 'MicroPython heap in MiB, a hard bound (MemoryError beyond it)',
      })
      .option('timeout', {
        type: 'number',
        describe: 'stop the run after this many seconds of wall-clock time (exit 1, "timed out after N s")',
      })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: "print one JSON document at the end (the script's output in it) instead of the script's output",
      })
      .option('bundled', {
        type: 'boolean',
        default: true,
        describe: "use kpusim's bundled models for flash addresses no --flash maps (models/manifest.json)",
      }),
  async run(args: Record<string, unknown>, io: Io): Promise<number> {
    const frames = args.frames === undefined ? undefined : Number(args.frames);
    const json = Boolean(args.json);
    const timing = timingFrom(args);
    // KPUSIM_TRACE=1: the run's milestones on stderr, in ms since the process started (the bench's first_frame_ms)
    // and the CPU time so far (wall time is noisy on a shared machine)
    const trace = process.env.KPUSIM_TRACE
      ? (e: string): void => io.err(`kpusim trace: ${performance.now().toFixed(1)} ms ${e}${cpuSoFar()}\n`)
      : undefined;
    trace?.('command started');
    // camera files decoded in an earlier run are read back as pixels (src/io/image-cache.ts)
    const imageCache = imageCacheFromEnv(process.env);
    let output = '';
    const r = await runMaixpy({
      script: String(args.script),
      camera: list(args.camera),
      flash: list(args.flash),
      sdDir: args.sd === undefined ? undefined : String(args.sd),
      keyPress: frameNumbers(args['key-press']),
      keyPressMs: keyTimes(args['key-press-ms']),
      maxBoardMs: args['max-board-ms'] === undefined ? undefined : Number(args['max-board-ms']),
      maxLcdFrames: args['max-lcd-frames'] === undefined ? undefined : Number(args['max-lcd-frames']),
      lcdOut: args['lcd-out'] === undefined ? undefined : String(args['lcd-out']),
      frames,
      cameraFit: args['camera-fit'] as 'crop' | 'fit' | 'stretch',
      cameraOrientation: args['camera-orientation'] as 'script' | 'raw',
      numerics: args.numerics as 'golden' | 'board',
      sensor: args.sensor as SensorName,
      heapMb: Number(args.heap),
      timeoutS: args.timeout === undefined ? undefined : Number(args.timeout),
      bundled: args.bundled !== false,
      ...(timing ? { timing: timing.params } : {}),
      trace,
      cameraPrefetch,
      readCameraFile: (file) => readImageFileCached(file, imageCache),
      cameraFrames: cachedFrames(imageCache),
      out: (t) => (json ? (output += t) : io.out(t)),
      err: (t) => io.err(t),
    });
    trace?.('run ended');
    if (json)
      printJson(io, {
        script: String(args.script),
        end: r.reason,
        exit_code: r.reason === 'internal-error' ? EXIT.FAILURE : r.exitCode,
        frames: r.frames,
        lcd_images: r.displays,
        board_ms: r.boardMs,
        board_ms_parts: r.boardParts,
        emulator_ms: r.emulatorMs,
        frame_log: r.frameLog,
        error: r.error
          ? { type: r.error.type, message: r.error.message, file: r.error.file ?? null, line: r.error.line ?? null }
          : null,
        output,
      });
    if (r.reason === 'internal-error') return EXIT.FAILURE;
    return r.exitCode === 0 ? EXIT.OK : r.exitCode;
  },
};

/**
 * ` (CPU: main thread N ms, process M ms)`: the CPU time so far of the thread running the command (from
 * Linux's scheduler statistics; left out elsewhere) and of the whole process, all its threads.
 */
function cpuSoFar(): string {
  const u = process.cpuUsage();
  const proc = `process ${((u.user + u.system) / 1e3).toFixed(1)} ms`;
  try {
    const ns = Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]);
    if (Number.isFinite(ns)) return ` (CPU: main thread ${(ns / 1e6).toFixed(1)} ms, ${proc})`;
  } catch {
    // not Linux
  }
  return ` (CPU: ${proc})`;
}
