/** `kpusim compare --dataset`, one image: the sweep task (src/cli/sweep-tasks.ts). */
import type { DatasetItem } from '../../reference/dataset.js';
import { initReferenceBackend, type ReferenceBackendName } from '../../reference/index.js';
import { datasetItem, open, type Side } from '../compare-side.js';
import type { SweepTask } from '../sweep-tasks.js';

export interface CompareDatasetData {
  /** The command's arguments (plain values). */
  readonly args: Record<string, unknown>;
}

interface Ctx {
  readonly a: Side;
  readonly b: Side | undefined;
  readonly args: Record<string, unknown>;
}

export const compareDatasetTask: SweepTask<CompareDatasetData, Ctx, string, DatasetItem> = {
  init: async ({ args }) => {
    await initReferenceBackend(args.backend as ReferenceBackendName, () => undefined);
    return {
      a: open(String(args.model), args),
      b: args.against === undefined ? undefined : open(String(args.against), args),
      args,
    };
  },
  run: (ctx, file) => datasetItem(ctx.a, ctx.b, ctx.args, file),
};
