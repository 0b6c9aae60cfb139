import { KpuFault } from '../errors.js';
import type { KmodelV5 } from '../kmodel-parser/model.js';
import type { PrepareContext, PrepareOptions, PreparedModel } from './interpreter.js';

/** kmodel v5 execution lives in `./v5/`; this adapter gives it the interpreter's interface. */
export function prepareV5Run(_model: KmodelV5, _ctx: PrepareContext, _opts: PrepareOptions): PreparedModel {
  throw new KpuFault('UNSUPPORTED', 'running kmodel v5 is not supported yet (parsing and `info` are)', {}, 'prepare');
}
