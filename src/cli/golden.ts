import { relative } from 'node:path';
import type { Argv } from 'yargs';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkCase,
  detectLayout,
  findCases,
  goldenCaseNames,
  listInputFiles,
  sha256,
  type GoldenLayout,
} from '../golden.js';
import { prepare, type PrepareOptions } from '../kpu/interpreter.js';
import { loadKmodel } from '../load.js';
import { BOARD_PROFILE_NAMES } from '../hil/profiles.js';
import type { Command } from './command.js';
import { checkJobs, JOBS_OPTION, startSweepWorkers, sweep, type SweepWorkers } from './sweep.js';
import type { GoldenCheckItem } from './tasks/golden-check.js';
import { goldenRecordContext, goldenRecordTask, type GoldenRecordData } from './tasks/golden-record.js';
import { EXIT, printJson, Progress, type Io } from './common.js';
import { checkOutputPaths, inputOptions, inputOptionsFrom, numericsOptions, parseOptionsFrom } from './options.js';

const prepareOptionsFrom = (args: Record<string, unknown>): PrepareOptions => ({
  numerics: args.numerics as 'golden' | 'board',
  kpuNumerics: args['kpu-numerics'] as 'nncase02' | 'nncase01',
});

function prepareFrom(args: Record<string, unknown>) {
  const loaded = loadKmodel(String(args.model), parseOptionsFrom(args));
  const prepared = prepare(loaded.model, prepareOptionsFrom(args));
  return { loaded, prepared };
}

const modelData = (args: Record<string, unknown>) => ({
  model: String(args.model),
  parse: parseOptionsFrom(args),
  prepare: prepareOptionsFrom(args),
});

export const goldenCommand: Command = {
  command: 'golden <action> <model> [dir]',
  describe: 'Record golden cases of a model, or check a model against recorded (or nncase) goldens',
  builder: (y: Argv) =>
    numericsOptions(
      inputOptions(
        y
          .positional('action', {
            choices: ['record', 'check'] as const,
            demandOption: true,
            describe: 'record: store cases; check: re-run and compare',
          })
          .positional('model', { type: 'string', demandOption: true, describe: '.kmodel file' })
          .positional('dir', {
            type: 'string',
            describe: 'check: folder of cases (ours, or ../shared/golden-nncase/<set>/<model>)',
          })
          .option('inputs', { type: 'array', string: true, describe: 'record: input files or folders' })
          .option('out', { type: 'string', describe: 'record: folder for the cases' })
          .option('layout', {
            choices: ['auto', 'kpusim', 'nncase'] as const,
            default: 'auto' as const,
            describe:
              "check: kpusim (every case needs case.json), nncase (no case.json; files checked as they are), auto (kpusim's when any case has a case.json)",
          })
          .option('json', { type: 'boolean', default: false })
          .option('on', {
            type: 'string',
            describe:
              'record: run the cases on this board (serial port, or "virtual") and keep its outputs as the truth',
          })
          .option('baud', { type: 'number', default: 115200, describe: 'with --on: baud rate of the REPL' })
          .option('board', {
            choices: BOARD_PROFILE_NAMES,
            default: 'none' as const,
            describe: 'with --on: DTR/RTS wiring',
          })
          .option('timeout', { type: 'number', default: 10, describe: 'with --on: seconds to wait for the prompt' })
          .option('jobs', { ...JOBS_OPTION, describe: `record, check (not with --on): ${JOBS_OPTION.describe}` })
          .check((a) => {
            if (a.on !== undefined && a.action !== 'record') throw new Error('--on goes with golden record');
            checkJobs(a.jobs);
            if (a.action === 'record' && (!a.inputs || !a.out))
              throw new Error('golden record needs --inputs and --out');
            if (a.action === 'check' && !a.dir)
              throw new Error('golden check needs the folder of cases: kpusim golden check <model> <dir>');
            return checkOutputPaths(a, ['out']);
          }),
      ),
    ),
  async run(args, io: Io) {
    const action = String(args.action);
    // A check's workers start first, and load and prepare the model while this thread does (its
    // errors come first: a folder without cases is reported below, after them, as before).
    let found: string[] | undefined;
    let workers: SweepWorkers | undefined;
    if (action === 'check') {
      try {
        found = findCases(String(args.dir));
      } catch {
        found = undefined;
      }
      const jobs = args.jobs as number | undefined;
      if (found)
        workers = startSweepWorkers({ task: 'golden-check', data: modelData(args), jobs, count: found.length });
    }
    try {
      return await runGolden(args, io, action, found, workers);
    } finally {
      await workers?.close();
    }
  },
};

async function runGolden(
  args: Record<string, unknown>,
  io: Io,
  action: string,
  found: string[] | undefined,
  workers: SweepWorkers | undefined,
): Promise<number> {
  const { loaded, prepared } = prepareFrom(args);
  if (action === 'record' && args.on !== undefined) {
    // The board link's modules load only for --on (a check or a record here does not need them).
    const [{ recordGoldenOnBoard }, { boardArgs, boardJson, withBoard }] = await Promise.all([
      import('../hil/record.js'),
      import('./board.js'),
    ]);
    const files = listInputFiles((args.inputs as string[]).map(String));
    const b = boardArgs({ ...args, port: args.on, json: args.json });
    return withBoard(b, io, async (s) => {
      const bar = new Progress(io, files.length, 'record on the board');
      const { cases } = await recordGoldenOnBoard(s, loaded, prepared, files, String(args.out), {
        input: inputOptionsFrom(args),
        onCase: (n) => bar.tick(n),
        onNote: (t) => io.err(`kpusim: note: ${t}\n`),
      });
      bar.end();
      const board = boardJson(s.info);
      if (args.json) printJson(io, { action: 'record', model: loaded.path, out: String(args.out), board, cases });
      else io.out(`recorded ${cases.length} case(s) of ${loaded.path} on the board in ${String(args.out)}\n`);
      return EXIT.OK;
    });
  }
  if (action === 'record') {
    const files = listInputFiles((args.inputs as string[]).map(String));
    const out = String(args.out);
    mkdirSync(out, { recursive: true });
    const names = goldenCaseNames(files);
    const bar = new Progress(io, files.length, 'record');
    const input = inputOptionsFrom(args);
    const ctx = goldenRecordContext(prepared, loaded, input);
    await sweep({
      task: 'golden-record',
      data: { ...modelData(args), input } satisfies GoldenRecordData,
      items: files.map((file, i) => ({ file, dir: join(out, names[i]) })),
      jobs: args.jobs as number | undefined,
      local: (item) => goldenRecordTask.run(ctx, item, 0),
      onDone: (i) => bar.tick(names[i]),
    });
    bar.end();
    if (args.json) printJson(io, { action: 'record', model: loaded.path, out, cases: names });
    else io.out(`recorded ${names.length} case(s) of ${loaded.path} in ${out}\n`);
    return EXIT.OK;
  }
  const dir = String(args.dir);
  const cases = found ?? findCases(dir);
  const layout: GoldenLayout = args.layout === 'auto' ? detectLayout(cases) : (args.layout as GoldenLayout);
  const modelSha256 = sha256(loaded.bytes);
  const bar = new Progress(io, cases.length, 'check');
  const check = { layout, modelSha256 };
  const items: GoldenCheckItem[] = cases.map((c) => ({ dir: c, name: relative(dir, c) || '.', check }));
  const results = await sweep({
    task: 'golden-check',
    data: modelData(args),
    items,
    jobs: args.jobs as number | undefined,
    local: (c) => checkCase(prepared, c.dir, c.name, c.check),
    onDone: (_i, r) => bar.tick(r.case),
    workers,
  });
  bar.end();
  const failed = results.filter((r) => r.status === 'different').length;
  const malformed = results.filter((r) => r.status === 'malformed').length;
  const passed = results.length - failed - malformed;
  const layoutText =
    layout === 'kpusim'
      ? "kpusim's (case.json in the cases: every file verified against its sha256)"
      : "nncase's (no case.json in any case: input.bin, output_<i>.bin and trace.txt checked as they are, not verified against sha256)";
  const skipped = results.filter((r) => r.trace === 'absent').length;
  if (args.json) {
    printJson(io, {
      action: 'check',
      model: loaded.path,
      dir,
      layout,
      passed,
      failed,
      malformed,
      layer_checks_skipped: skipped,
      cases: results,
    });
  } else {
    let t = `layout: ${layoutText}${args.layout === 'auto' ? '' : ' (--layout)'}\n`;
    for (const r of results) {
      t += `${r.case}: ${r.status.replace('_', ' ')}`;
      const worst = r.outputs.filter((o) => o.status !== 'exact');
      if (worst.length)
        t += ` (${worst.map((o) => `output ${o.index}: ${o.status.replace('_', ' ')}${o.max_abs_diff !== undefined ? `, max |diff| ${o.max_abs_diff}` : ''}${o.mismatched !== undefined ? `, ${o.mismatched} elements differ` : ''}`).join('; ')})`;
      for (const m of r.problems) t += `\n  not checked: ${m}`;
      for (const m of r.reasons) t += `\n  ${m}`;
      if (r.first_diverging_layer)
        t += `\n  first diverging layer ${r.first_diverging_layer.index}:\n    got  ${r.first_diverging_layer.got}\n    want ${r.first_diverging_layer.want}`;
      for (const m of r.notes) t += `\n  note: ${m}`;
      t += '\n';
    }
    t += `${passed} passed, ${failed} failed${malformed ? `, ${malformed} malformed (not checked)` : ''}`;
    if (skipped) t += `; layer checks skipped in ${skipped} case${skipped === 1 ? '' : 's'} (no trace.txt)`;
    io.out(t + '\n');
  }
  return malformed ? EXIT.BAD_INPUT : failed ? EXIT.VIOLATION : EXIT.OK;
}
