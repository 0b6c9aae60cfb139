/**
 * The `kpusim` command line: a thin layer over the library. Each command lives in its own
 * file and is registered in `commands.ts`; this file only parses and maps errors to exit codes.
 */
import yargs from 'yargs';
import { classifyError, EXIT, processIo, type Io } from './common.js';
import { COMMANDS } from './commands.js';

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  let exitCode: number = EXIT.OK;
  let usageError: string | undefined;
  const parser = yargs(argv)
    .scriptName('kpusim')
    .usage('$0 <command> [options]')
    .strict()
    .demandCommand(1, 'Name a command: see --help.')
    .recommendCommands()
    .help()
    .version(false)
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      if (err) throw err;
      usageError = msg;
    });
  for (const c of COMMANDS) {
    parser.command({
      command: c.command,
      describe: c.describe,
      builder: c.builder,
      handler: async (args: Record<string, unknown>) => {
        exitCode = await c.run(args, io);
      },
    } as never);
  }
  try {
    await parser.parseAsync();
  } catch (e) {
    const { code, message } = classifyError(e);
    io.err(`kpusim: ${message}\n`);
    return code;
  }
  if (usageError !== undefined) {
    io.err(`kpusim: ${usageError}\n`);
    return EXIT.BAD_INPUT;
  }
  return exitCode;
}
