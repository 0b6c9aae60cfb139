import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { goldenCaseNames, listInputFiles } from '../golden.js';
import { YOLOX_DEMO } from '../pipeline/yolox.js';
import type { TensorDesc } from '../kmodel-parser/model.js';
import { prepare, type PrepareOptions } from '../kpu/interpreter.js';
import { stepOutputBytes } from '../kpu/machine.js';
import { loadKmodel } from '../load.js';
import type { Command } from './command.js';
import { checkOutputPaths, inputOptions, inputOptionsFrom, numericsOptions, parseOptionsFrom } from './options.js';
import { EXIT, printJson, Progress, type Io } from './common.js';
import { checkJobs, JOBS_OPTION, sweep } from './sweep.js';
import { runContext, runInput, type RunData } from './tasks/run.js';
import { shapeText } from '../report/table.js';

export const runCommand: Command = {
  command: 'run <model>',
  describe: 'Run a model on the emulated K210 and write its outputs',
  builder: (y: Argv) =>
    numericsOptions(
      inputOptions(
        y
          .positional('model', {
            type: 'string',
            demandOption: true,
            describe: '.kmodel file (or package.kfpkg#name.kmodel)',
          })
          .option('input', {
            type: 'string',
            describe: 'raw tensor .bin (NCHW) or image (.png, .jpg, .bmp)',
          })
          .option('inputs', {
            type: 'array',
            string: true,
            describe: 'instead of --input: many input files or folders, each run into its own folder of --out',
          })
          .option('out', {
            type: 'string',
            demandOption: true,
            describe: 'directory for output_<i>.bin and outputs.json (with --inputs: one folder per input)',
          })
          .option('jobs', { ...JOBS_OPTION, describe: `with --inputs: ${JOBS_OPTION.describe}` })
          .option('trace', { type: 'string', describe: "write one line per layer as the goldens' trace.txt" })
          .option('dump-layers', { type: 'string', describe: "directory for every layer's output (.bin + .json)" })
          .option('decode', {
            choices: ['yolox'] as const,
            describe: "decode output 0 as detections (yolox: nncase's K210 YOLOX example)",
          })
          .option('prob-threshold', {
            type: 'number',
            describe: `--decode yolox: score threshold (default ${YOLOX_DEMO.probThreshold}, the demo's)`,
          })
          .option('nms-threshold', {
            type: 'number',
            describe: `--decode yolox: NMS overlap threshold (default ${YOLOX_DEMO.nmsThreshold})`,
          })
          .option('json', { type: 'boolean', default: false })
          .check((a) => {
            if ((a.input === undefined) === (a.inputs === undefined))
              throw new Error('give exactly one of --input <file> or --inputs <files or folders..>');
            if (a.inputs !== undefined && (a.trace !== undefined || a['dump-layers'] !== undefined))
              throw new Error('--trace and --dump-layers go with --input (one run), not --inputs');
            checkJobs(a.jobs);
            return checkOutputPaths(a, ['out', 'dump-layers'], ['trace']);
          }),
      ),
    ),
  async run(args, io: Io) {
    const loaded = loadKmodel(String(args.model), parseOptionsFrom(args));
    const prepareOpts: PrepareOptions = {
      numerics: args.numerics as 'golden' | 'board',
      kpuNumerics: args['kpu-numerics'] as 'nncase02' | 'nncase01',
    };
    const prepared = prepare(loaded.model, prepareOpts);
    const data: RunData = {
      model: String(args.model),
      parse: parseOptionsFrom(args),
      prepare: prepareOpts,
      input: inputOptionsFrom(args),
      kpuNumerics: args['kpu-numerics'],
      ...(args.decode === 'yolox'
        ? {
            decode: {
              probThreshold: args['prob-threshold'] as number | undefined,
              nmsThreshold: args['nms-threshold'] as number | undefined,
            },
          }
        : {}),
    };
    const ctx = runContext(prepared, loaded.path, data);
    const out = String(args.out);
    if (args.inputs !== undefined)
      return runMany(ctx, listInputFiles((args.inputs as string[]).map(String)), out, args, io);

    const dumpDir = args['dump-layers'] === undefined ? undefined : String(args['dump-layers']);
    if (dumpDir) mkdirSync(dumpDir, { recursive: true });
    const traceLines: string[] = [];
    const doc = runInput(ctx, String(args.input), out, {
      trace: args.trace === undefined ? undefined : (l) => traceLines.push(l),
      onLayer: dumpDir
        ? (step, state) => {
            const d = stepOutputBytes(step, state);
            if (!d) return;
            const name = `${String(step.index).padStart(3, '0')}_${step.type}`;
            writeFileSync(join(dumpDir, `${name}.bin`), d.bytes);
            const desc: TensorDesc | undefined = step.output?.desc;
            writeFileSync(
              join(dumpDir, `${name}.json`),
              JSON.stringify(
                {
                  index: step.index,
                  type: step.type,
                  layout: d.layout,
                  bytes: d.bytes.length,
                  shape: desc?.shape,
                  dtype: desc?.dtype,
                  quant: desc?.quant,
                },
                null,
                2,
              ) + '\n',
            );
          }
        : undefined,
    });
    if (args.trace !== undefined) writeFileSync(String(args.trace), traceLines.join('\n') + '\n');
    if (args.json) printJson(io, { ...doc, out });
    else {
      let t = `${loaded.path}: ran ${prepared.events.length} layers in ${doc.emulator_ms.toFixed(1)} ms (emulator time on this PC)\n`;
      for (const o of doc.outputs)
        t += `output ${o.index}: ${o.dtype} ${shapeText(o.shape)}, min ${o.min}, max ${o.max} → ${join(out, o.file)}\n`;
      if (doc.detections) {
        t += `${doc.detections.length} detection(s) (YOLOX decode; boxes x0,y0,x1,y1 in network-input pixels):\n`;
        for (const d of doc.detections)
          t += `  class ${d.label}  score ${d.prob.toFixed(3)}  box ${d.box.join(',')}${d.image_box ? `  (image ${d.image_box.map((v) => v.toFixed(1)).join(',')})` : ''}\n`;
      }
      if (args.trace !== undefined) t += `trace: ${String(args.trace)}\n`;
      if (dumpDir) t += `layer dumps: ${dumpDir}\n`;
      io.out(t);
    }
    return EXIT.OK;
  },
};

/** `--inputs`: every input into its own folder of `out` (named as golden record names cases), on all cores. */
async function runMany(
  ctx: ReturnType<typeof runContext>,
  files: string[],
  out: string,
  args: Record<string, unknown>,
  io: Io,
): Promise<number> {
  const names = goldenCaseNames(files);
  mkdirSync(out, { recursive: true });
  const bar = new Progress(io, files.length, 'run');
  const docs = await sweep({
    task: 'run',
    data: ctx.data,
    items: files.map((file, i) => ({ file, out: join(out, names[i]) })),
    jobs: args.jobs as number | undefined,
    local: (item) => runInput(ctx, item.file, item.out),
    onDone: (i) => bar.tick(names[i]),
  });
  bar.end();
  const runs = docs.map((d, i) => ({ name: names[i], out: join(out, names[i]), ...d }));
  if (args.json)
    printJson(io, {
      model: ctx.modelPath,
      numerics: ctx.prepared.numerics,
      kpu_numerics: ctx.data.kpuNumerics,
      out,
      runs: runs.map(({ model: _m, numerics: _n, kpu_numerics: _k, ...r }) => r),
    });
  else {
    let t = `${ctx.modelPath}: ran ${runs.length} input(s) into ${out}\n`;
    for (const r of runs) {
      const o = r.outputs.map((x) => `output ${x.index} min ${x.min} max ${x.max}`).join('; ');
      t += `${r.input.source} → ${r.out}: ${o}${r.detections ? `; ${r.detections.length} detection(s)` : ''}\n`;
    }
    io.out(t);
  }
  return EXIT.OK;
}
