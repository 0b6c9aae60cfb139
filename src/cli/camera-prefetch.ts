/**
 * `kpusim maixpy`'s camera files decoded ahead: a worker thread (src/cli/camera-worker.ts) decodes
 * the first files while the board starts (MicroPython's load and boot, the models' preparation), and
 * scales each to the sensor's default frame (QVGA, the fit the command line asks for) and makes its
 * snapshot, so the first snapshots find them ready instead of doing that on the script's thread.
 *
 * - The worker runs the snapshot's own functions (`readImageFile`, `scaleFrame`, `frameOutputs`), so
 *   the frames are the same bytes. A snapshot of another size, format or mirror/flip uses only the
 *   decoded image (src/maixpy/camera.ts checks); a file the worker could not decode is decoded at its
 *   snapshot, which reports the error as without a prefetch.
 * - `startCameraPrefetch` starts the worker when the process starts (bin/kpusim.js, before the command
 *   line is loaded), from the raw arguments; the worker finds the `--camera` files in them itself.
 *   `cameraPrefetch` (the maixpy command, once its arguments are checked) takes that worker over, or
 *   starts one for the files it is given. A usage error ends the process before any snapshot, and the
 *   worker with it: the worker reads files and writes nothing.
 * - Each file is claimed once, by the worker or by the script's thread (an atomic exchange on a
 *   status word in shared memory). A snapshot of a file the worker is decoding waits for it (that
 *   ends sooner than decoding it again); a file the worker has not begun is decoded at the snapshot.
 * - When the first files are plain files all in the image cache (src/io/image-cache.ts: decoded in an
 *   earlier run), no worker starts: the snapshots read them back in a few milliseconds each.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { imageCacheFromEnv } from '../io/image-cache.js';
import { FILE_CAPS, readUserFile } from '../io/read-file.js';
import type { CameraPrefetch, PrefetchedFile } from '../maixpy/camera.js';
import type { ResizeMode } from '../pipeline/convert.js';
import type { RgbImage } from '../pipeline/types.js';

/** Distinct files decoded ahead (the first frames; later ones are decoded while the script runs). */
export const PREFETCH_FILES = 4;

/**
 * Status words in shared memory: word 0 is LIST_READY once the worker has posted its file list, word
 * 1 + i the state of file i of that list.
 */
export const STATUS = { UNCLAIMED: 0, WORKER: 1, MAIN: 2, DONE: 3, LIST_READY: 1 } as const;

/** How long a snapshot waits for the worker's file list, and for a file the worker is decoding (ms). */
export interface PrefetchWaits {
  readonly listMs: number;
  readonly fileMs: number;
}
const WAITS: PrefetchWaits = { listMs: 1000, fileMs: 10_000 };

/** What the worker is given: the raw arguments after `kpusim` (started early), or the files. */
export interface CameraWorkerInput {
  readonly argv?: readonly string[];
  readonly files?: readonly string[];
  readonly port: MessagePort;
  readonly status: SharedArrayBuffer;
}

/** The worker's messages: its file list first, then each file it claimed. */
export type CameraWorkerMessage =
  | { readonly list: readonly string[] }
  | {
      readonly file: string;
      readonly image?: RgbImage;
      readonly frame?: PrefetchedFile['frame'];
    };

const FITS: readonly string[] = ['crop', 'fit', 'stretch'];

/**
 * `--camera` values and `--camera-fit` of the maixpy command's arguments, read as yargs reads them
 * (an array option takes the words after it up to the next option, after `--opt=value` too). A misreading
 * costs only time: the script's thread takes only the files it was given.
 */
export function cameraArgs(argv: readonly string[]): { specs: string[]; fit: ResizeMode } {
  const specs: string[] = [];
  let fit = 'crop';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') break;
    if (a === '--camera' || a.startsWith('--camera=')) {
      if (a !== '--camera') specs.push(a.slice('--camera='.length));
      for (; i + 1 < argv.length && !argv[i + 1].startsWith('-'); i++) specs.push(argv[i + 1]);
    } else if (a.startsWith('--camera-fit=')) fit = a.slice('--camera-fit='.length);
    // without a value it takes its default
    else if (a === '--camera-fit') fit = i + 1 < argv.length && !argv[i + 1].startsWith('-') ? argv[++i] : 'crop';
  }
  return { specs, fit: (FITS.includes(fit) ? fit : 'crop') as ResizeMode };
}

interface Running {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly status: Int32Array;
  ended: boolean;
  /** Settles when the worker has ended. */
  readonly done: Promise<void>;
}

/** A prefetch, and when its worker has ended (every file it claimed posted). */
export type CameraPrefetchRun = CameraPrefetch & { readonly done: Promise<void> };

/**
 * Whether every one of `files` (the first distinct camera files) is a regular file whose decoded
 * image is in the image cache: then no worker is started, the snapshots read them from the cache
 * (a few milliseconds each) and the process saves the worker's start.
 */
function allCached(files: readonly string[]): boolean {
  const cache = imageCacheFromEnv(process.env);
  if (!cache || files.length === 0) return false;
  return files.every((f) => {
    try {
      return cache.has(readUserFile(f, FILE_CAPS.image));
    } catch {
      return false;
    }
  });
}

/** In the slot: the files were all in the image cache, so there is no worker to take over. */
const CACHED = 'cached';

/**
 * The worker started with the process, until the command takes it over. It is kept on `globalThis`:
 * bin/kpusim.js starts it from its own small bundle (dist/bin/camera-prefetch.js) before the command
 * line's script is loaded, and the script holds another copy of this module.
 */
const EARLY = Symbol.for('kpusim.cameraPrefetch.early');
const slot = globalThis as { [EARLY]?: Running | typeof CACHED };

function start(input: Omit<CameraWorkerInput, 'port' | 'status'>): Running | undefined {
  const { port1, port2 } = new MessageChannel();
  const status = new SharedArrayBuffer(4 * (1 + PREFETCH_FILES));
  let worker: Worker;
  try {
    worker = new Worker(new URL('./camera-worker.js', import.meta.url), {
      workerData: { ...input, port: port2, status } satisfies CameraWorkerInput,
      transferList: [port2],
      // its own streams, read by no one: the worker prints nothing, and the process's streams are not made for it
      stdout: true,
      stderr: true,
    });
  } catch {
    return undefined;
  }
  worker.unref();
  // A worker that fails to start or dies leaves its files to the snapshots.
  worker.on('error', () => undefined);
  const done = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const run: Running = { worker, port: port1, status: new Int32Array(status), ended: false, done };
  void done.then(() => (run.ended = true));
  return run;
}

/**
 * Starts decoding the `--camera` files of `kpusim maixpy` as the process starts (`argv`: the arguments
 * after `kpusim`, the first being `maixpy`). Nothing where no worker script exists (TypeScript
 * sources under a test runner).
 */
export function startCameraPrefetch(argv: readonly string[]): void {
  if (slot[EARLY] || !import.meta.url.endsWith('.js')) return;
  // plain files only: folders and patterns are left to the worker to expand
  const first = [...new Set(cameraArgs(argv.slice(1)).specs)].slice(0, PREFETCH_FILES);
  if (allCached(first)) slot[EARLY] = CACHED;
  else slot[EARLY] = start({ argv: argv.slice(1) });
}

function handle(run: Running, waits: PrefetchWaits): CameraPrefetchRun {
  let list: readonly string[] | undefined;
  const ready = new Map<string, PrefetchedFile>();
  const drain = (): void => {
    for (let m = receiveMessageOnPort(run.port); m; m = receiveMessageOnPort(run.port)) {
      const d = m.message as CameraWorkerMessage;
      if ('list' in d) list = d.list;
      else if (d.image) ready.set(d.file, { image: d.image, frame: d.frame });
    }
  };
  return {
    done: run.done,
    take(file: string): PrefetchedFile | undefined {
      drain();
      if (list === undefined && !run.ended) {
        Atomics.wait(run.status, 0, 0, waits.listMs);
        drain();
      }
      const i = list?.indexOf(file) ?? -1;
      if (i >= 0) {
        const was = Atomics.compareExchange(run.status, 1 + i, STATUS.UNCLAIMED, STATUS.MAIN);
        if (was === STATUS.UNCLAIMED) return undefined;
        if (was === STATUS.WORKER && !run.ended) Atomics.wait(run.status, 1 + i, STATUS.WORKER, waits.fileMs);
        drain();
      }
      const got = ready.get(file);
      ready.delete(file);
      return got;
    },
    stop(): void {
      ready.clear();
      run.port.close();
      void run.worker.terminate();
    },
  };
}

/**
 * The prefetch of `files` (the expanded `--camera` files): the worker started with the process when
 * there is one, else a new one for the first files; undefined where no worker script exists.
 */
export function cameraPrefetch(files: readonly string[], waits = WAITS): CameraPrefetchRun | undefined {
  const run = slot[EARLY];
  if (run) {
    slot[EARLY] = undefined;
    return run === CACHED ? undefined : handle(run, waits);
  }
  if (!import.meta.url.endsWith('.js')) return undefined;
  const first = [...new Set(files)].slice(0, PREFETCH_FILES);
  if (first.length === 0 || allCached(first)) return undefined;
  const started = start({ files: first });
  return started && handle(started, waits);
}
