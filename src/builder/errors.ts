/**
 * Builder errors. A network the KPU cannot run, a missing weight or a bad build configuration is a
 * user-facing refusal (a `UsageError`, exit 2), always naming the layer or file concerned.
 */
import { UsageError } from '../errors.js';

export class BuildError extends UsageError {
  constructor(message: string) {
    super('BAD_INPUT', message);
  }
}

/** A layer the lowering refuses: the sentence names the layer and says why. */
export function refuse(layer: string, why: string): BuildError {
  return new BuildError(`layer ${layer}: ${why}`);
}
