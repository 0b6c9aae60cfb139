/**
 * `kpusim maixpy`'s camera files decoded ahead: a worker thread decodes the first files while the
 * board starts (MicroPython's load and boot, the models' preparation), so the first snapshots find
 * them decoded instead of decoding on the script's thread. The images are the decoder's own output
 * (src/cli/camera-worker.ts runs `readImageFile`), so the frames are the same bytes; a file the
 * worker has not finished, or could not decode, is decoded at its snapshot as without a prefetch.
 * Nothing waits for the worker.
 */
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { CameraPrefetch } from '../maixpy/camera.js';
import type { RgbImage } from '../pipeline/types.js';

/** Distinct files decoded ahead (the first frames; later ones are decoded while the script runs). */
const PREFETCH_FILES = 4;

interface Decoded {
  readonly file: string;
  readonly width?: number;
  readonly height?: number;
  readonly data?: Uint8Array;
  readonly failed?: boolean;
}

/**
 * A prefetch of `files`' first images, or undefined where no worker script exists (TypeScript sources under a test
 * runner).
 */
export function cameraPrefetch(files: readonly string[]): CameraPrefetch | undefined {
  if (!import.meta.url.endsWith('.js')) return undefined;
  const first = [...new Set(files)].slice(0, PREFETCH_FILES);
  if (first.length === 0) return undefined;
  const { port1, port2 } = new MessageChannel();
  let worker: Worker;
  try {
    worker = new Worker(new URL('./camera-worker.js', import.meta.url), {
      workerData: { files: first, port: port2 },
      transferList: [port2],
    });
  } catch {
    return undefined;
  }
  worker.unref();
  // A worker that fails to start or dies leaves its files to the snapshots.
  worker.on('error', () => undefined);
  const ready = new Map<string, RgbImage>();
  return {
    take(file: string): RgbImage | undefined {
      for (let m = receiveMessageOnPort(port1); m; m = receiveMessageOnPort(port1)) {
        const d = m.message as Decoded;
        if (!d.failed && d.data) ready.set(d.file, { width: d.width!, height: d.height!, data: d.data });
      }
      const img = ready.get(file);
      ready.delete(file);
      return img;
    },
    stop(): void {
      ready.clear();
      port1.close();
      void worker.terminate();
    },
  };
}
