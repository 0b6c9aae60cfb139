/** `kpusim golden record`, one case: the sweep task (src/cli/sweep-tasks.ts). */
import { recordCase, sha256 } from '../../golden.js';
import type { InputOptions } from '../../input.js';
import type { PreparedModel } from '../../kpu/interpreter.js';
import type { SweepTask } from '../sweep-tasks.js';
import { loadPrepared, type ModelData } from './model.js';

export interface GoldenRecordData extends ModelData {
  readonly input: InputOptions;
}

interface Ctx {
  readonly prepared: PreparedModel;
  readonly model: { path: string; sha256: string };
  readonly input: InputOptions;
}

export function goldenRecordContext(
  prepared: PreparedModel,
  loaded: { path: string; bytes: Uint8Array },
  input: InputOptions,
): Ctx {
  return { prepared, model: { path: loaded.path, sha256: sha256(loaded.bytes) }, input };
}

export const goldenRecordTask: SweepTask<GoldenRecordData, Ctx, { file: string; dir: string }, true> = {
  init: (d) => {
    const { loaded, prepared } = loadPrepared(d);
    return goldenRecordContext(prepared, loaded, d.input);
  },
  run: (ctx, item) => {
    recordCase(ctx.prepared, ctx.model, item.file, item.dir, ctx.input);
    return true;
  },
};
