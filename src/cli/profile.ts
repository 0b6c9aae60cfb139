import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Argv } from 'yargs';
import { profileModel } from '../kpu/run.js';
import { timingSourceLine, type Profile } from '../kpu/timing/index.js';
import { chromeTraceJson } from '../report/chrome-trace.js';
import { profileCsv } from '../report/csv.js';
import { profileText } from '../report/profile-text.js';
import { profileSvg } from '../report/svg.js';
import type { Command } from './command.js';
import { EXIT, printJson } from './common.js';
import { checkOutputPaths, clockOptions, clocksFrom, timingFrom, timingJson } from './options.js';

/** Loads and runs the model once and profiles its event trace. */
/** The `--json` document: one entry per layer in file order, totals, memory. */
export function profileJson(p: Profile): Record<string, unknown> {
  const m = p.memory;
  return {
    clocks: p.clocks,
    layers: p.layers,
    total_ms: p.total_ms,
    kpu_ms: p.kpu_ms,
    cpu_ms: p.cpu_ms,
    overhead_ms: p.overhead_ms,
    fps: p.fps,
    memory: {
      main_bytes: m.main_bytes,
      main_limit_bytes: m.main_limit_bytes,
      main_parts: m.main.parts,
      main_working_estimated: m.main.workingEstimated,
      ai_sram_peak_bytes: m.ai_sram_peak_bytes,
      ai_sram_peak_layer: m.ai_sram_peak_layer,
      ai_sram_limit_bytes: m.ai_sram_limit_bytes,
      ai_sram_highest_address: m.ai_sram.highestAddress,
      ai_sram_first_fit_bytes: m.ai_sram.firstFitBytes,
      fits: m.fits,
      problems: m.problems,
      warnings: m.ai_sram.warnings,
    },
  };
}

function write(file: unknown, text: string): void {
  if (typeof file !== 'string' || file === '') return;
  writeFileSync(file, text);
}

export const profileCommand: Command = {
  command: 'profile <model>',
  describe: 'Estimate the time of every layer on the board (cycle-approximate model) and the memory it needs',
  builder: (y: Argv) =>
    clockOptions(
      y.positional('model', {
        type: 'string',
        describe: '.kmodel file or package.kfpkg#name.kmodel',
        demandOption: true,
      }),
    )
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON document' })
      .option('csv', { type: 'string', describe: 'also write the per-layer table as CSV to this file' })
      .option('chrome-trace', {
        type: 'string',
        describe: 'also write a Chrome trace (Perfetto, chrome://tracing) to this file',
      })
      .option('svg', { type: 'string', describe: 'also write a picture of time and AI SRAM per layer to this file' })
      .check((a) => checkOutputPaths(a, [], ['csv', 'chrome-trace', 'svg'])),
  async run(args, io) {
    const spec = String(args.model);
    const timing = timingFrom(args);
    const p = await profileModel(spec, clocksFrom(args, timing), timing?.params);
    const name = basename(spec);
    write(args.csv, profileCsv(p));
    write(args['chrome-trace'], chromeTraceJson(p, name));
    write(args.svg, profileSvg(p, name));
    if (args.json) printJson(io, { file: spec, timing: timingJson(timing), ...profileJson(p) });
    else io.out(`${spec}\n${timingSourceLine(timing)}\n\n${profileText(p)}`);
    return EXIT.OK;
  },
};
