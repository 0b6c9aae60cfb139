/** `kpusim golden check`, one case: the sweep task (src/cli/sweep-tasks.ts). */
import { checkCase, type CaseResult, type CheckCaseOptions } from '../../golden.js';
import type { PreparedModel } from '../../kpu/interpreter.js';
import type { SweepTask } from '../sweep-tasks.js';
import { loadPrepared, type ModelData } from './model.js';

export interface GoldenCheckData extends ModelData {
  readonly check: CheckCaseOptions;
}

export const goldenCheckTask: SweepTask<
  GoldenCheckData,
  { prepared: PreparedModel; check: CheckCaseOptions },
  { dir: string; name: string },
  CaseResult
> = {
  init: (d) => ({ prepared: loadPrepared(d).prepared, check: d.check }),
  run: (ctx, item) => checkCase(ctx.prepared, item.dir, item.name, ctx.check),
};
