/**
 * What every command shares: output (human text or exactly one JSON document on stdout,
 * progress and warnings on stderr), and the mapping of errors to exit codes.
 */
import { KmodelError, KpuFault, UsageError } from '../errors.js';
import { BoardError } from '../hil/errors.js';

export const SCHEMA_VERSION = 1;

export const EXIT = { OK: 0, FAILURE: 1, BAD_INPUT: 2, VIOLATION: 3 } as const;

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal (progress bars are drawn only then). */
  readonly errIsTty: boolean;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  errIsTty: Boolean(process.stderr.isTTY),
};

/** Writes one JSON document (with schema_version first) to stdout. */
export function printJson(io: Io, doc: Record<string, unknown>): void {
  io.out(JSON.stringify({ schema_version: SCHEMA_VERSION, ...doc }, jsonReplacer, 2) + '\n');
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return undefined;
  return value;
}

/** Maps an error to an exit code and a one-line message (never a stack trace). */
export function classifyError(e: unknown): { code: number; message: string } {
  if (e instanceof KmodelError) return { code: EXIT.BAD_INPUT, message: e.message };
  if (e instanceof UsageError) return { code: EXIT.BAD_INPUT, message: e.message };
  if (e instanceof BoardError) return { code: e.exitCode, message: e.message };
  if (e instanceof KpuFault)
    return { code: e.phase === 'prepare' ? EXIT.BAD_INPUT : EXIT.FAILURE, message: `KPU fault: ${e.message}` };
  const err = e as NodeJS.ErrnoException;
  if (err && (err.code === 'ENOENT' || err.code === 'EISDIR' || err.code === 'EACCES')) {
    return {
      code: EXIT.BAD_INPUT,
      message: `${err.path ?? 'file'}: ${err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a directory' : 'permission denied'}`,
    };
  }
  return { code: EXIT.FAILURE, message: `internal error: ${err instanceof Error ? err.message : String(err)}` };
}

/** A simple progress bar on stderr, drawn only on a terminal. */
export class Progress {
  private done = 0;
  constructor(
    private readonly io: Io,
    private readonly total: number,
    private readonly label: string,
  ) {}
  tick(what = ''): void {
    this.done++;
    if (!this.io.errIsTty) return;
    const width = 24;
    const filled = Math.round((this.done / Math.max(1, this.total)) * width);
    this.io.err(
      `\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total} ${what}`
        .slice(0, 100)
        .padEnd(100),
    );
  }
  end(): void {
    if (this.io.errIsTty) this.io.err('\n');
  }
}
