import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { POOL_TYPE_NAMES } from '../kmodel-parser/model.js';
import { estimateKpuConv, pooledSize, TIMING_PARAMS, timingSourceLine } from '../kpu/timing/index.js';
import { fmtBytes, fmtCount } from '../report/table.js';
import type { Command } from './command.js';
import { EXIT, printJson } from './common.js';
import { clockOptions, clocksFrom, timingFrom, timingJson } from './options.js';

/** Clock options shared by profile, estimate and check. */
function intArg(args: Record<string, unknown>, name: string, lo: number, hi: number): number {
  const v = Number(args[name]);
  if (!Number.isInteger(v) || v < lo || v > hi)
    throw new UsageError(
      'BAD_ARGUMENT',
      `--${name} must be an integer from ${lo} to ${hi} (the KPU's register range), got ${String(args[name])}`,
    );
  return v;
}

/** A pool type by number (0–9) or by name (max_2_s2, mean_2_s2, … as in kpu-numerics §6.6; also none). */
export function parsePool(v: unknown): number {
  if (v === undefined || v === null || v === '' || v === 'none') return 0;
  const s = String(v);
  if (/^\d+$/.test(s) && Number(s) < POOL_TYPE_NAMES.length) return Number(s);
  const i = (POOL_TYPE_NAMES as readonly string[]).indexOf(s);
  if (i >= 0) return i;
  throw new UsageError('BAD_ARGUMENT', `--pool must be 0–9 or one of ${POOL_TYPE_NAMES.join(', ')}, got ${s}`);
}

export const estimateCommand: Command = {
  command: 'estimate <what>',
  describe: "The timing model's time for one KPU conv layer, without a model file",
  builder: (y: Argv) =>
    clockOptions(
      y
        .positional('what', {
          type: 'string',
          choices: ['conv'],
          describe: 'what to estimate (conv: one KPU conv layer)',
          demandOption: true,
        })
        .option('width', { type: 'number', demandOption: true, describe: 'input width' })
        .option('height', { type: 'number', demandOption: true, describe: 'input height' })
        .option('in-channels', { type: 'number', demandOption: true, describe: 'input channels' })
        .option('out-channels', { type: 'number', describe: 'output channels (default: in-channels)' })
        .option('kernel', { type: 'number', default: 3, choices: [1, 3], describe: 'kernel size' })
        .option('depthwise', {
          type: 'boolean',
          default: false,
          describe: 'depthwise conv (out-channels = in-channels)',
        })
        .option('pool', {
          type: 'string',
          default: 'bypass',
          describe: `pool type: 0–9 or ${POOL_TYPE_NAMES.join(', ')}`,
        })
        .option('weight-bits', {
          type: 'number',
          default: 8,
          choices: [8, 16],
          describe: 'weight precision (16 only in v3 models)',
        })
        .option('json', { type: 'boolean', default: false, describe: 'print one JSON document' }),
    ),
  async run(args, io) {
    const width = intArg(args, 'width', 1, 1024);
    const height = intArg(args, 'height', 1, 512);
    const inChannels = intArg(args, 'in-channels', 1, 1024);
    const outChannels = args['out-channels'] === undefined ? inChannels : intArg(args, 'out-channels', 1, 1024);
    const depthwise = Boolean(args.depthwise);
    if (depthwise && outChannels !== inChannels)
      throw new UsageError(
        'BAD_ARGUMENT',
        `a depthwise layer has as many output channels as input channels (${inChannels}), got --out-channels ${outChannels}`,
      );
    const kernel = Number(args.kernel) === 1 ? 1 : 3;
    const weightBits = Number(args['weight-bits']) === 16 ? 16 : 8;
    const poolType = parsePool(args.pool);
    const timing = timingFrom(args);
    const clocks = clocksFrom(args, timing);
    const g = {
      inChannels,
      outChannels,
      inWidth: width,
      inHeight: height,
      outWidth: pooledSize(width, poolType),
      outHeight: pooledSize(height, poolType),
      kernel,
      depthwise,
      poolType,
      weightBits,
    } as const;
    const e = estimateKpuConv(g, clocks, timing?.params);
    const aiBytes = e.inputBytes + e.outputBytes;
    const limit = TIMING_PARAMS.memory.aiSramBytes;
    if (args.json) {
      printJson(io, {
        ms: e.ms,
        cycles: e.cycles,
        kpu_mhz: clocks.kpuMhz,
        cpu_mhz: clocks.cpuMhz,
        timing: timingJson(timing),
        macs: e.macs,
        macs_per_cycle: e.macsPerCycle,
        utilisation: e.utilisation,
        weight_bytes: e.weightBytes,
        weight_chunks: e.weightChunks,
        input_bytes: e.inputBytes,
        output_bytes: e.outputBytes,
        ai_sram_bytes: aiBytes,
        fits_ai_sram: aiBytes <= limit,
        breakdown: e.breakdown,
      });
      return EXIT.OK;
    }
    const shape = `${inChannels}→${outChannels} ${width}×${height} ${kernel}×${kernel}${depthwise ? ' depthwise' : ''}${poolType ? ` pool ${POOL_TYPE_NAMES[poolType]}` : ''}, ${weightBits}-bit weights`;
    io.out(
      [
        `KPU conv ${shape}`,
        `time: ${e.ms.toFixed(3)} ms (${e.cycles.toLocaleString('en-US')} KPU cycles at ${clocks.kpuMhz} MHz + ${(e.breakdown.launchMs * 1000).toFixed(1)} µs launch at CPU ${clocks.cpuMhz} MHz)`,
        `MACs: ${fmtCount(e.macs)}, ${e.macsPerCycle.toFixed(1)} MAC/cycle (${(100 * e.utilisation).toFixed(1)}% of 576)`,
        `weights: ${fmtBytes(e.weightBytes)} in ${e.weightChunks} chunk${e.weightChunks === 1 ? '' : 's'}`,
        `AI SRAM: input ${fmtBytes(e.inputBytes)} + output ${fmtBytes(e.outputBytes)} = ${fmtBytes(aiBytes)} of 2 MiB${aiBytes > limit ? ' — DOES NOT FIT' : ''}`,
        ...(timing ? [timingSourceLine(timing)] : []),
      ].join('\n') + '\n',
    );
    return EXIT.OK;
  },
};
