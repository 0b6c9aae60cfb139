/** `kpusim golden check`, one case: the sweep task (src/cli/sweep-tasks.ts). */
import { checkCase, type CaseResult, type CheckCaseOptions } from '../../golden.js';
import type { PreparedModel } from '../../kpu/interpreter.js';
import type { SweepTask } from '../sweep-tasks.js';
import { loadPrepared, type ModelData } from './model.js';

/** A case, with the check's options (sent with each case: the workers start before they are known). */
export interface GoldenCheckItem {
  readonly dir: string;
  readonly name: string;
  readonly check: CheckCaseOptions;
}

export const goldenCheckTask: SweepTask<ModelData, PreparedModel, GoldenCheckItem, CaseResult> = {
  init: (d) => loadPrepared(d).prepared,
  run: (prepared, item) => checkCase(prepared, item.dir, item.name, item.check),
};
