/**
 * The worker thread of `kpusim maixpy`'s camera prefetch (src/cli/camera-prefetch.ts): finds the
 * camera files (given, or from the `--camera` options of the raw arguments when started with the
 * process), posts their list, then for each file it claims posts the image decoded by the decoder a
 * snapshot uses (read through the image cache as a snapshot reads it, src/io/image-cache.ts), with its
 * frame at the sensor's default size (QVGA) made by the snapshot's own functions; or no image when the
 * file fails to decode (the snapshot decodes it to report the error).
 * It never writes to stdout or stderr.
 */
import { workerData } from 'node:worker_threads';
import { expandCameraFiles, frameOutputs, scaleFrame, type PrefetchedFrame } from '../maixpy/camera.js';
import type { ResizeMode } from '../pipeline/convert.js';
import { imageCacheFromEnv } from '../io/image-cache.js';
import { readImageFileCached } from '../pipeline/image-io.js';
import {
  cameraArgs,
  PREFETCH_FILES,
  STATUS,
  type CameraWorkerInput,
  type CameraWorkerMessage,
} from './camera-prefetch.js';

/** The sensor's frame after `sensor.reset()` (QVGA, src/maixpy/python/sensor.py). */
const FRAME = { width: 320, height: 240 };

/** The distinct files of `specs` to decode ahead, in order (none when the arguments do not name them). */
function filesOf(specs: readonly string[]): string[] {
  try {
    return [...new Set(expandCameraFiles(specs))].slice(0, PREFETCH_FILES);
  } catch {
    return [];
  }
}

/** An array over a whole buffer of its own (only a whole ArrayBuffer can be moved to another thread). */
function own<T extends Uint8Array | Uint16Array>(a: T): T {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : (a.slice() as T);
}

/** A file's image and its frame (`fit`), ready to post (their buffers moved, not copied). */
function decode(file: string, fit: ResizeMode): { message: CameraWorkerMessage; move: ArrayBuffer[] } {
  const decoded = readImageFileCached(file, cache);
  const image = { width: decoded.width, height: decoded.height, data: own(decoded.data) };
  const scaled = scaleFrame(image, FRAME.width, FRAME.height, fit);
  const out = frameOutputs(scaled, false);
  const rgb = scaled === image ? image : { ...scaled, data: own(scaled.data) };
  const frame: PrefetchedFrame = { ...FRAME, fit, rgb, display: own(out.display as Uint16Array), ai: own(out.ai) };
  const move = new Set([image.data, rgb.data, frame.display, frame.ai].map((a) => a.buffer as ArrayBuffer));
  return { message: { file, image, frame }, move: [...move] };
}

const input = workerData as CameraWorkerInput;
const cache = imageCacheFromEnv(process.env);
const status = new Int32Array(input.status);
const args = input.argv ? cameraArgs(input.argv) : { specs: [], fit: 'crop' as ResizeMode };
const files = input.files ? [...input.files] : filesOf(args.specs);
input.port.postMessage({ list: files } satisfies CameraWorkerMessage);
Atomics.store(status, 0, STATUS.LIST_READY);
Atomics.notify(status, 0);
for (let i = 0; i < files.length; i++) {
  if (Atomics.compareExchange(status, 1 + i, STATUS.UNCLAIMED, STATUS.WORKER) !== STATUS.UNCLAIMED) continue;
  try {
    const { message, move } = decode(files[i], args.fit);
    input.port.postMessage(message, move);
  } catch {
    input.port.postMessage({ file: files[i] } satisfies CameraWorkerMessage);
  } finally {
    Atomics.store(status, 1 + i, STATUS.DONE);
    Atomics.notify(status, 1 + i);
  }
}
