/**
 * The `kpusim` command line: a thin layer over the library. Each command lives in its own
 * file and is registered in `commands.ts`; this file only parses and maps errors to exit codes.
 *
 * A usage error has no effect at all: yargs validates the whole argument vector (strict: unknown
 * options and commands, `choices`, `demandOption`, each command's `.check`) before a command's
 * handler runs, and the `.fail` handler throws, which stops yargs before the handler. (A `.fail`
 * handler that returns lets yargs go on and run the command anyway.) Errors thrown by a handler
 * are caught in the handler wrapper, so everything `.fail` sees is a usage error.
 */
import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import type { Command } from './command.js';
import { classifyError, EXIT, processIo, type Io } from './common.js';
import { COMMANDS } from './commands.js';

/** The package's version (package.json beside src/ and dist/). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

type Options = { array: string[] };

/**
 * An option given more than once that takes one value: the last one wins (yargs would make an
 * array of them, which a handler reading one value turns into NaN or a joined string).
 */
function lastValueWins(a: Record<string, unknown>, opts: Options): void {
  for (const [k, v] of Object.entries(a)) {
    if (k === '_' || k === '$0' || !Array.isArray(v) || opts.array.includes(k)) continue;
    if (/[A-Z]/.test(k) && opts.array.includes(k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()))) continue;
    a[k] = v[v.length - 1];
  }
}

/** What yargs lets through: a number option given a word becomes NaN. */
function checkValues(a: Record<string, unknown>): true {
  for (const [k, v] of Object.entries(a)) {
    if (k === '_' || k === '$0' || /[A-Z]/.test(k)) continue; // camelCase keys are aliases
    for (const x of Array.isArray(v) ? v : [v])
      if (typeof x === 'number' && Number.isNaN(x)) throw new UsageError('BAD_ARGUMENT', `--${k} takes a number`);
  }
  return true;
}

/**
 * yargs renders the whole help text of a command before running it, to have it ready should the
 * handler ask for it (`showHelp`); kpusim's handlers never do, and rendering it (string widths
 * of every line through Intl.Segmenter and an emoji regex) costs more than parsing the arguments.
 * `--help` itself does not go through this path. Left alone when yargs' internals differ.
 */
function skipHelpCache(parser: Argv): void {
  const internal = (parser as unknown as { getInternalMethods?: () => { getUsageInstance?: () => unknown } })
    .getInternalMethods?.()
    .getUsageInstance?.() as { cacheHelpMessage?: unknown } | undefined;
  if (internal && typeof internal.cacheHelpMessage === 'function') internal.cacheHelpMessage = () => undefined;
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  // The one thing asked for without a command: answered before the parser is even loaded.
  if (argv.length === 1 && argv[0] === '--version') {
    io.out(packageVersion() + '\n');
    return EXIT.OK;
  }
  const { default: yargs } = await import('yargs');
  let exitCode: number = EXIT.OK;
  let handlerError: { error: unknown } | undefined;
  let ran = false;
  const parser = yargs(argv)
    .scriptName('kpusim')
    .usage('$0 <command> [options]')
    .strict()
    .demandCommand(1, 'Name a command: see --help.')
    .recommendCommands()
    .help()
    .version(packageVersion())
    .exitProcess(false)
    .showHelpOnFail(false)
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((msg: string | null, err: Error | undefined) => {
      if (err instanceof UsageError) throw err;
      throw new UsageError('BAD_ARGUMENT', (msg || err?.message || 'bad arguments').replace(/\s*\n\s*/g, ' '));
    });
  skipHelpCache(parser);
  const build = (y: Argv, c: Command): Argv => {
    const b = c.builder(y);
    for (const s of c.subcommands ?? []) register(b, s, s);
    if (c.subcommands) return b.demandCommand(1, `Name a subcommand: see kpusim ${String(c.command)} --help.`);
    const opts = () => (b as unknown as { getOptions(): Options }).getOptions();
    return b.middleware((a) => lastValueWins(a, opts()), true).check(checkValues);
  };
  /**
   * `c` is the command's name and description; `impl` the command itself, or (top level) a
   * promise of it that yargs awaits in the builder, which it runs only for the command given.
   */
  const register = (
    p: Argv,
    c: Pick<Command, 'command' | 'describe'>,
    impl: Command | (() => Promise<Command>),
  ): void => {
    let loaded: Command | undefined = typeof impl === 'function' ? undefined : impl;
    p.command({
      command: c.command,
      describe: c.describe,
      builder: (y: Argv) => {
        if (loaded) return build(y, loaded);
        return (impl as () => Promise<Command>)().then((m) => build(y, (loaded = m)));
      },
      handler: async (args: Record<string, unknown>) => {
        ran = true;
        try {
          exitCode = await loaded!.run(args, io);
        } catch (e) {
          handlerError = { error: e };
        }
      },
    } as never);
  };
  for (const c of COMMANDS) register(parser, c, () => c.load());
  let helpText = '';
  try {
    // The parse callback keeps yargs' own output (--help) from the console: it goes to io.out.
    await parser.parseAsync(argv, {}, (_err: unknown, _args: unknown, output: string) => {
      helpText = output;
    });
  } catch (e) {
    const { code, message } = classifyError(e);
    io.err(`kpusim: ${message}\n`);
    return code;
  }
  if (handlerError !== undefined) {
    const { code, message } = classifyError(handlerError.error);
    io.err(`kpusim: ${message}\n`);
    return code;
  }
  if (!ran && helpText) io.out(helpText.endsWith('\n') ? helpText : helpText + '\n');
  return exitCode;
}
