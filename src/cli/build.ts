import { existsSync } from 'node:fs';
import type { Argv } from 'yargs';
import { configFromJson, presetConfig, runBuild } from '../builder/index.js';
import type { Command } from './command.js';
import { EXIT, printJson } from './common.js';
import { checkOutputPaths } from './options.js';

export const buildCommand: Command = {
  command: 'build <config>',
  describe:
    'Build K210 kmodel v3 files from pretrained float networks (preset: bundled, detector, landmarks, features; or a JSON config)',
  builder: (y: Argv) =>
    y
      .positional('config', { type: 'string', describe: 'a preset name or a JSON build config', demandOption: true })
      .option('out', {
        type: 'string',
        default: 'models',
        describe: 'directory for the .kmodel files and manifest.json',
      })
      .option('evaluate', {
        type: 'boolean',
        default: true,
        describe: 'run the models on the emulator over the evaluation photos and report accuracy',
      })
      .option('tfjs', {
        type: 'boolean',
        default: true,
        describe: 'also check the float graphs against TensorFlow.js running the original networks',
      })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON document (the manifest entries)' })
      .check((a) => checkOutputPaths(a, ['out'])),
  async run(args, io) {
    const spec = String(args.config);
    const config = spec.endsWith('.json') || existsSync(spec) ? configFromJson(spec) : presetConfig(spec);
    const out = String(args.out);
    const result = await runBuild(config, {
      outDir: out,
      evaluate: Boolean(args.evaluate),
      tfjs: Boolean(args.tfjs),
      log: (s) => io.err(s),
    });
    if (args.json) {
      printJson(io, { out, models: result.entries });
    } else {
      for (const e of result.entries) {
        io.out(
          `${out}/${e.file}  ${e.role}  sha256 ${e.sha256.slice(0, 16)}…  main ${e.main_bytes} B  AI SRAM peak ${e.ai_sram_peak_bytes} B  board ${e.board_ms} ms\n`,
        );
      }
      io.out(`${out}/manifest.json\n`);
    }
    return EXIT.OK;
  },
};
