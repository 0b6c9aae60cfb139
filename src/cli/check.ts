import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { budgetViolations, type Budget } from '../kpu/timing/index.js';
import type { Command } from './command.js';
import { EXIT, printJson } from './common.js';
import { profileModel } from '../kpu/run.js';
import { clockOptions, clocksFrom, timingFrom } from './options.js';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1000, kb: 1000, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 * 1024 };

/** A byte count: 2097152, 2MiB, 1536KiB, 1.5MB. */
export function parseBytes(v: unknown, name: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(String(v));
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined)
    throw new UsageError(
      'BAD_ARGUMENT',
      `--${name} must be a byte count such as 2097152, 2MiB or 1536KiB, got ${String(v)}`,
    );
  return Math.floor(Number(m[1]) * unit);
}

export const checkCommand: Command = {
  command: 'check <model>',
  describe: 'Exit 0 when the model is within the time and memory budgets, 3 with one line per violation (for CI)',
  builder: (y: Argv) =>
    clockOptions(
      y
        .positional('model', {
          type: 'string',
          describe: '.kmodel file or package.kfpkg#name.kmodel',
          demandOption: true,
        })
        .option('max-ms', { type: 'number', describe: 'budget for one run, in ms (timing model)' })
        .option('max-main-bytes', { type: 'string', describe: 'budget for main SRAM (model + buffers), e.g. 3MiB' })
        .option('max-ai-sram-bytes', { type: 'string', describe: 'budget for the AI SRAM peak, e.g. 1536KiB' })
        .option('json', { type: 'boolean', default: false, describe: 'print one JSON document' }),
    ),
  async run(args, io) {
    const maxMs = args['max-ms'] === undefined ? undefined : Number(args['max-ms']);
    if (maxMs !== undefined && !(Number.isFinite(maxMs) && maxMs > 0))
      throw new UsageError(
        'BAD_ARGUMENT',
        `--max-ms must be a positive number of milliseconds, got ${String(args['max-ms'])}`,
      );
    const budget: Budget = {
      maxMs,
      maxMainBytes:
        args['max-main-bytes'] === undefined ? undefined : parseBytes(args['max-main-bytes'], 'max-main-bytes'),
      maxAiSramBytes:
        args['max-ai-sram-bytes'] === undefined
          ? undefined
          : parseBytes(args['max-ai-sram-bytes'], 'max-ai-sram-bytes'),
    };
    const spec = String(args.model);
    const timing = timingFrom(args);
    const p = await profileModel(spec, clocksFrom(args, timing), timing?.params);
    const violations = budgetViolations(p, budget);
    if (args.json) {
      printJson(io, {
        file: spec,
        ok: violations.length === 0,
        violations,
        total_ms: p.total_ms,
        main_bytes: p.memory.main_bytes,
        ai_sram_peak_bytes: p.memory.ai_sram_peak_bytes,
        ai_sram_peak_layer: p.memory.ai_sram_peak_layer,
        budget: {
          max_ms: budget.maxMs ?? null,
          max_main_bytes: budget.maxMainBytes ?? null,
          max_ai_sram_bytes: budget.maxAiSramBytes ?? null,
        },
      });
    } else if (violations.length === 0) {
      io.out(
        `ok: ${spec}: ${p.total_ms.toFixed(3)} ms, main ${p.memory.main_bytes} bytes, AI SRAM peak ${p.memory.ai_sram_peak_bytes} bytes (layer ${p.memory.ai_sram_peak_layer})\n`,
      );
    } else {
      for (const line of violations) io.out(`${spec}: ${line}\n`);
    }
    return violations.length === 0 ? EXIT.OK : EXIT.VIOLATION;
  },
};
