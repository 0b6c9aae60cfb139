/** kmodel v5 execution: the stackvm interpreter, the K210 module and the golden-format trace. */
export { runV5, type RunV5Options, type RunV5Result } from './run.js';
export {
  TENSOR_OPS,
  StackvmRun,
  StackvmModuleState,
  type CallTensor,
  type StackvmHost,
  type TensorOpInfo,
} from './stackvm.js';
export { K210ModuleState, runK210Function, type K210Output } from './k210.js';
export type { V5Memories, V5OpHook, V5OpParams, V5OpStep, V5View } from './hooks.js';
