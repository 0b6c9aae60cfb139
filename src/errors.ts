/**
 * The three error families of kpusim. Each carries a stable `code`, a sentence for people and
 * the context needed to find the problem (file, byte offset, layer). The CLI prints `message`
 * and never a stack trace.
 */

export type KmodelErrorCode =
  | 'TRUNCATED'
  | 'BAD_MAGIC'
  | 'UNSUPPORTED_VERSION'
  | 'ENCRYPTED'
  | 'BIG_ENDIAN'
  | 'BAD_VALUE'
  | 'BAD_COUNT'
  | 'BAD_OFFSET'
  | 'UNKNOWN_OPCODE'
  | 'BAD_CONTAINER';

export class KmodelError extends Error {
  override readonly name = 'KmodelError';
  constructor(
    readonly code: KmodelErrorCode,
    /** Byte offset in the file where the problem was found. */
    readonly offset: number,
    readonly detail: string,
    readonly file?: string,
  ) {
    super(`${file ?? '<bytes>'}: at byte ${offset}: ${detail}`);
  }

  /** The same error, naming a file (the parser does not know file names; callers do). */
  withFile(file: string): KmodelError {
    return new KmodelError(this.code, this.offset, this.detail, file);
  }
}

export type KpuFaultCode =
  'OUT_OF_RANGE' | 'BAD_LAYER' | 'UNSUPPORTED' | 'BAD_INPUT' | 'DIVIDE_BY_ZERO' | 'ILLEGAL_INSTRUCTION';

/**
 * A failure of the emulated machine. `phase: 'prepare'` means the model was refused before
 * anything ran (bad input, exit 2); `phase: 'run'` means a fault while running (exit 1).
 */
export class KpuFault extends Error {
  override readonly name = 'KpuFault';
  constructor(
    readonly code: KpuFaultCode,
    readonly detail: string,
    readonly context: { layer?: number; type?: string; address?: number; size?: number } = {},
    readonly phase: 'prepare' | 'run' = 'run',
  ) {
    const where =
      context.layer !== undefined ? `layer ${context.layer}${context.type ? ` (${context.type})` : ''}: ` : '';
    super(`${where}${detail}`);
  }
}

/**
 * `NOT_A_FILE`: a directory, FIFO, device or socket where a regular file was expected;
 * `TOO_LARGE`: a file over the cap for its purpose (see src/io/read-file.ts).
 */
export type UsageErrorCode = 'BAD_ARGUMENT' | 'BAD_FILE' | 'BAD_INPUT' | 'NOT_FOUND' | 'NOT_A_FILE' | 'TOO_LARGE';

/** Bad command-line usage or a bad user file that is not a kmodel (image, tensor, store). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    readonly code: UsageErrorCode,
    message: string,
  ) {
    super(message);
  }
}
