/**
 * A worker of `kpusim golden check --jobs N` (src/cli/sweep.ts): prepares the model as the
 * command does, then checks the cases it is sent one by one.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { checkCase, type CheckCaseOptions } from '../golden.js';
import { prepare, type PrepareOptions } from '../kpu/interpreter.js';
import type { ParseOptions } from '../kmodel-parser/parse.js';
import { loadKmodel } from '../load.js';

export interface GoldenWorkerData {
  readonly model: string;
  readonly parse: ParseOptions;
  readonly prepare: PrepareOptions;
  readonly check: CheckCaseOptions;
}

const data = workerData as GoldenWorkerData;
const prepared = prepare(loadKmodel(data.model, data.parse).model, data.prepare);
parentPort!.on('message', (m: { index: number; item: { dir: string; name: string } }) => {
  try {
    parentPort!.postMessage({ index: m.index, result: checkCase(prepared, m.item.dir, m.item.name, data.check) });
  } catch {
    parentPort!.postMessage({ index: m.index, failed: true });
  }
});
