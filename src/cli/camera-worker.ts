/**
 * The worker thread of `kpusim maixpy`'s camera prefetch (src/cli/camera-prefetch.ts): decodes the
 * camera files it is given, in order, with the same decoder a snapshot uses, and posts each image
 * (or that the file failed, which the snapshot then decodes itself to report the same error).
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { readImageFile } from '../pipeline/image-io.js';

const { files, port } = workerData as { files: readonly string[]; port: MessagePort };
for (const file of files) {
  try {
    const img = readImageFile(file);
    // a view of a larger or pooled buffer is copied: only a whole ArrayBuffer can be moved
    const own =
      img.data.byteOffset === 0 && img.data.byteLength === img.data.buffer.byteLength ? img.data : img.data.slice();
    port.postMessage({ file, width: img.width, height: img.height, data: own }, [own.buffer as ArrayBuffer]);
  } catch {
    port.postMessage({ file, failed: true });
  }
}
port.close();
