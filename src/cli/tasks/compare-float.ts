/**
 * `kpusim compare --float --dataset`, one image: the sweep task (src/cli/sweep-tasks.ts). Each
 * worker loads the kmodel and the float model (and its runtime) once.
 */
import type { DatasetItem } from '../../reference/dataset.js';
import { floatDatasetItem, floatSetup, type FloatSetup } from '../compare-float.js';
import type { SweepTask } from '../sweep-tasks.js';

export interface CompareFloatData {
  /** The command's arguments (plain values). */
  readonly args: Record<string, unknown>;
}

export const compareFloatTask: SweepTask<
  CompareFloatData,
  { s: FloatSetup; args: Record<string, unknown> },
  string,
  DatasetItem
> = {
  init: async ({ args }) => ({ s: await floatSetup(args, () => undefined, false), args }),
  run: (ctx, file) => floatDatasetItem(ctx.s, ctx.args, file),
};
