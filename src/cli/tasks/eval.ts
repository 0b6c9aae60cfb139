/**
 * `kpusim eval`, one image: the sweep task (src/cli/sweep-tasks.ts). Each worker loads the kmodel
 * and the float model (and its runtime) once.
 */
import { evalImage, evalSetup, type EvalImage, type EvalSetup } from '../eval.js';
import type { SweepTask } from '../sweep-tasks.js';

export interface EvalData {
  /** The command's arguments (plain values). */
  readonly args: Record<string, unknown>;
}

export const evalTask: SweepTask<EvalData, { s: EvalSetup; args: Record<string, unknown> }, string, EvalImage> = {
  init: async ({ args }) => ({ s: await evalSetup(args, () => undefined), args }),
  run: (ctx, file) => evalImage(ctx.s, ctx.args, file),
};
