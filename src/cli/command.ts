import type { Argv } from 'yargs';
import type { Io } from './common.js';

/** One CLI command: yargs description plus a handler that returns the exit code. */
export interface Command {
  readonly command: string | readonly string[];
  readonly describe: string;
  readonly builder: (y: Argv) => Argv;
  run(args: Record<string, unknown>, io: Io): Promise<number>;
  /** Nested commands (`kpusim board info`, …); the parent's `run` is then never called. */
  readonly subcommands?: readonly Command[];
}
