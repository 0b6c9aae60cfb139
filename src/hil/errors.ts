/**
 * Errors of the board link. Each carries a stable `code`, a sentence for people (what happened and
 * what to try) and the exit code the CLI uses: 2 for a bad port or a model the firmware cannot
 * take (bad input), 1 for a failure while talking to the board.
 */
export type BoardErrorCode =
  | 'PORT_NOT_FOUND'
  | 'PORT_UNAVAILABLE'
  | 'NO_PROMPT'
  | 'LINK_LOST'
  | 'TIMEOUT'
  | 'PROTOCOL'
  | 'PYTHON'
  | 'OUT_OF_MEMORY'
  | 'UNSUPPORTED'
  | 'INTERRUPTED'
  | 'VERIFY_FAILED';

const BAD_INPUT: readonly BoardErrorCode[] = ['PORT_NOT_FOUND', 'UNSUPPORTED'];

export class BoardError extends Error {
  override readonly name: string = 'BoardError';
  constructor(
    readonly code: BoardErrorCode,
    message: string,
  ) {
    super(message);
  }

  /** The CLI's exit code for this error (2: bad input or usage, 1: failure while running). */
  get exitCode(): number {
    return BAD_INPUT.includes(this.code) ? 2 : 1;
  }
}

/** A Python exception raised on the board: the traceback as the board printed it, parsed. */
export class BoardPythonError extends BoardError {
  override readonly name = 'BoardPythonError';
  constructor(
    readonly type: string,
    readonly pyMessage: string,
    readonly traceback: string,
    /** The innermost line in the named file (a script run with `runScript`), when there is one. */
    readonly file?: string,
    readonly line?: number,
  ) {
    super(
      isOutOfMemory(type, pyMessage) ? 'OUT_OF_MEMORY' : 'PYTHON',
      isOutOfMemory(type, pyMessage)
        ? `out of memory on the board: ${type}: ${pyMessage} (free memory with gc.collect(), a smaller model or the "minimum" firmware)`
        : `the board raised ${type}${pyMessage ? `: ${pyMessage}` : ''}${file !== undefined && line !== undefined ? ` (${file}, line ${line})` : ''}`,
    );
  }
}

function isOutOfMemory(type: string, message: string): boolean {
  return type === 'MemoryError' || /ERR_NO_MEM|memory allocation failed|allocation failed/i.test(message);
}

/** Parses a MicroPython traceback into the exception type, message and innermost line of `file`. */
export function parseBoardTraceback(text: string, file?: string): BoardPythonError {
  const lines = text
    .replace(/\r/g, '')
    .replace(/\0/g, '')
    .split('\n')
    .filter((l) => l.length > 0);
  let line: number | undefined;
  for (const l of lines) {
    const m = /^\s*File "(.*)", line (\d+)/.exec(l);
    if (m && file !== undefined && m[1] === file) line = Number(m[2]);
  }
  const last = lines[lines.length - 1] ?? '';
  const m = /^([A-Za-z_][A-Za-z0-9_.]*)(?::\s?(.*))?$/.exec(last);
  return new BoardPythonError(
    m?.[1] ?? 'Exception',
    m?.[2] ?? last,
    lines.join('\n') + '\n',
    line === undefined ? undefined : file,
    line,
  );
}
