import { basename } from 'node:path';
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import type { InputRecipe } from '../input.js';
import type { PreparedModel } from '../kpu/interpreter.js';
import { PRESETS } from '../pipeline/presets.js';
import { renderBoxes, type AgainstOutput } from '../reference/against.js';
import { renderDataset, summarizeDataset } from '../reference/dataset.js';
import {
  compareOnce,
  FLOAT_MODEL_STATEMENT,
  initReferenceBackend,
  type CompareRun,
  type ReferenceBackendName,
} from '../reference/index.js';
import { isolatedPasses, renderCompare, summarize } from '../reference/report.js';
import type { Command } from './command.js';
import { listImages } from './dataset-files.js';
import { EXIT, printJson, Progress, type Io } from './common.js';
import { againstOnce, datasetItem, inputsFor, open } from './compare-side.js';
import { inputOptions, numericsOptions } from './options.js';
import { checkJobs, JOBS_OPTION, sweep, taskArgs } from './sweep.js';
import type { CompareDatasetData } from './tasks/compare-dataset.js';
import { shapeText } from '../report/table.js';

function parseLayers(v: unknown, n: number): [number, number] | undefined {
  if (v === undefined) return undefined;
  const m = /^\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?$/.exec(String(v));
  if (!m) throw new UsageError('BAD_ARGUMENT', `--layers takes a..b or one index, got "${String(v)}"`);
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (a > b || b >= n) throw new UsageError('BAD_ARGUMENT', `--layers ${a}..${b}: the model has layers 0..${n - 1}`);
  return [a, b];
}

function recipeText(r: InputRecipe | { source: string; kind: 'random' }): string {
  if (r.kind !== 'image') return r.source;
  const img =
    'image' in r && r.image
      ? ` (${r.image.format} ${r.image.width}×${r.image.height}, ${r.resize}, ${r.interp}, ${r.channel_order}${r.float ? `, ${r.float}` : ''})`
      : '';
  return `${r.source}${img}`;
}

const outputShapes = (p: PreparedModel) => p.outputs.map((o) => `${o.dtype} ${shapeText(o.shape)}`);

function renderAgainstOutputs(
  outputs: readonly (AgainstOutput & { model_vs_float_cosine?: number; against_vs_float_cosine?: number })[],
  shapes: readonly string[],
): string {
  let t = '';
  for (const o of outputs) {
    t += `  output ${o.index} ${shapes[o.index] ?? ''}: cosine ${o.cosine.toFixed(5)}, centred ${o.centred_cosine.toFixed(5)}, SNR ${o.snr_db === null ? 'exact' : `${o.snr_db.toFixed(1)} dB`}, max |diff| ${Number(o.max_abs.toPrecision(4))}`;
    if (o.model_vs_float_cosine !== undefined)
      t += `  (each vs its float model: ${o.model_vs_float_cosine.toFixed(5)} / ${o.against_vs_float_cosine?.toFixed(5)})`;
    t += '\n';
  }
  return t;
}

export const compareCommand: Command = {
  command: 'compare <model>',
  describe:
    'Compare the emulator with a TensorFlow.js float model reconstructed from the kmodel, layer by layer (exit 3 if a KPU conv layer disagrees in isolation), or with the original float network (--float)',
  builder: (y: Argv) =>
    numericsOptions(
      inputOptions(
        y
          .positional('model', { type: 'string', demandOption: true, describe: '.kmodel file (v3, v4 or v5)' })
          .option('input', { type: 'string', describe: 'raw tensor .bin (NCHW) or image (.png, .jpg, .bmp)' })
          .option('random', { type: 'number', describe: 'a seeded random input instead of --input' })
          .option('dataset', { type: 'string', describe: 'run the comparison over every image in this folder' })
          .option('jobs', { ...JOBS_OPTION, describe: `with --dataset: ${JOBS_OPTION.describe}` })
          .option('against', {
            type: 'string',
            describe: 'another compilation of the same network: compare outputs (and boxes with --anchors/--preset)',
          })
          .option('anchors', {
            type: 'string',
            describe: 'YOLOv2 anchors (w,h pairs in grid cells) to decode output 0 of both models with --against',
          })
          .option('preset', {
            choices: Object.keys(PRESETS),
            describe: 'take anchors, threshold, NMS and class rule from a face preset',
          })
          .option('classes', {
            type: 'number',
            describe: 'class count for the region decoder (default: channels/anchors − 5)',
          })
          .option('threshold', { type: 'number', describe: 'region decoder score threshold (default 0.5)' })
          .option('nms', { type: 'number', describe: 'region decoder NMS IoU (default 0.3)' })
          .option('layers', { type: 'string', describe: 'report layers a..b only' })
          .option('backend', {
            choices: ['wasm', 'cpu', 'tensorflow'] as const,
            default: 'wasm' as const,
            describe:
              'TensorFlow.js backend of the float reference (tensorflow: only if @tensorflow/tfjs-node is installed)',
          })
          .option('float', {
            type: 'string',
            describe:
              'the original float network (.tflite, or .onnx with the optional onnxruntime-web): the whole quantisation loss',
          })
          .option('float-mean', {
            type: 'string',
            describe: '--float: float = (x − mean) / std in units of the raw 0–255 input; one value or one per channel',
          })
          .option('float-std', { type: 'string', describe: '--float: see --float-mean (default: x / 255)' })
          .option('float-layout', {
            choices: ['nchw', 'nhwc'] as const,
            describe: "--float: the float model's input layout (default: its format's, TFLite nhwc, ONNX nchw)",
          })
          .option('check-mapping', {
            type: 'boolean',
            default: true,
            describe:
              '--float: also try the documented input mappings and the other layout (exit 3 if one fits better)',
          })
          .option('json', { type: 'boolean', default: false })
          .check((a) => {
            if (a.float !== undefined && (a.against !== undefined || a.layers !== undefined))
              throw new Error('--float does not combine with --against or --layers');
            if (a.float === undefined && ['float-mean', 'float-std', 'float-layout'].some((k) => a[k] !== undefined))
              throw new Error('--float-mean, --float-std and --float-layout need --float');
            const given = [a.input, a.random, a.dataset].filter((v) => v !== undefined).length;
            if (given !== 1)
              throw new Error('give exactly one of --input <file>, --random <seed> or --dataset <folder>');
            return checkJobs(a.jobs);
          }),
      ),
    ),
  async run(args, io: Io) {
    if (args.float !== undefined) return (await import('./compare-float.js')).runCompareFloat(args, io);
    const backend = await initReferenceBackend(args.backend as ReferenceBackendName, (m) => io.err(m));
    const a = open(String(args.model), args);
    const b = args.against === undefined ? undefined : open(String(args.against), args);
    try {
      const head = {
        model: a.loaded.path,
        backend: backend.name,
        numerics: a.prepared.numerics,
        statement: FLOAT_MODEL_STATEMENT,
      };
      if (args.dataset !== undefined) {
        const files = listImages(String(args.dataset));
        const bar = new Progress(io, files.length, 'compare');
        const items = await sweep({
          task: 'compare-dataset',
          data: { args: taskArgs(args) } satisfies CompareDatasetData,
          items: files,
          jobs: args.jobs as number | undefined,
          local: (f) => datasetItem(a, b, args, f),
          onDone: (_i, item) => bar.tick(item.input),
        });
        bar.end();
        const summary = summarizeDataset(items);
        if (args.json)
          printJson(io, {
            ...head,
            ...(b ? { against: b.loaded.path } : {}),
            dataset: String(args.dataset),
            inputs: items,
            summary,
          });
        else {
          const what = b ? `${a.loaded.path} against ${b.loaded.path}` : `${a.loaded.path} against its float model`;
          io.out(
            `${what}\ndataset: ${String(args.dataset)} (${files.length} images)\nreference: TensorFlow.js (${backend.name} backend)\n${FLOAT_MODEL_STATEMENT}\n\n${renderDataset(items, summary)}`,
          );
        }
        return summary.isolated_failures ? EXIT.VIOLATION : EXIT.OK;
      }

      if (b) {
        const r = againstOnce(a, b, args);
        if (args.json) {
          printJson(io, {
            ...head,
            against: b.loaded.path,
            input: r.recipe,
            outputs: r.outputs,
            ...(r.boxes ? { region: r.region?.params, boxes: r.boxes } : {}),
          });
        } else {
          let t = `${a.loaded.path}\nagainst: ${b.loaded.path}\ninput: ${recipeText(r.recipe)}\n\noutputs, second model vs first:\n${renderAgainstOutputs(r.outputs, outputShapes(a.prepared))}`;
          if (r.boxes)
            t += `\ndecoded boxes (threshold ${r.region!.params.threshold}, NMS ${r.region!.params.nmsValue}, ${r.region!.params.classes} class${r.region!.params.classes === 1 ? '' : 'es'}; score [x, y, w×h]):\n${renderBoxes(r.boxes, [basename(a.loaded.path), basename(b.loaded.path)])}`;
          t += `time: ${(r.ms / 1000).toFixed(2)} s\n`;
          io.out(t);
        }
        return EXIT.OK;
      }

      const layers = parseLayers(args.layers, a.ref.layers.length);
      const { inputs, recipe } = inputsFor(a, args);
      const run: CompareRun = compareOnce(a.prepared, a.ref, inputs, { layers });
      const summary = summarize(run);
      const emulatorMs = run.timings.total_ms - run.timings.reference_ms;
      const timings = {
        total_ms: round2(run.timings.total_ms),
        emulator_ms: round2(emulatorMs),
        reference_ms: round2(run.timings.reference_ms),
      };
      if (args.json) {
        printJson(io, {
          ...head,
          input: recipe,
          layers: run.layers,
          outputs: run.outputs,
          summary,
          ...(run.notes ? { notes: run.notes } : {}),
          timings,
        });
      } else {
        io.out(
          renderCompare(
            {
              model: a.loaded.path,
              input: recipeText(recipe),
              backend: backend.name,
              statement: FLOAT_MODEL_STATEMENT,
            },
            run,
            summary,
            outputShapes(a.prepared),
            emulatorMs,
          ),
        );
      }
      const failing = run.layers.some((l) => l.unit === 'KPU' && l.isolated && !isolatedPasses(l));
      return failing ? EXIT.VIOLATION : EXIT.OK;
    } finally {
      a.ref.dispose();
      b?.ref.dispose();
    }
  },
};

const round2 = (v: number) => Math.round(v * 100) / 100;
