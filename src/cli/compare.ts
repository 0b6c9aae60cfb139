import { basename } from 'node:path';
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { readInputFile, type InputRecipe } from '../input.js';
import type { TensorDesc } from '../kmodel-parser/model.js';
import { prepare, type PreparedModel } from '../kpu/interpreter.js';
import { loadKmodel, type LoadedModel } from '../load.js';
import { detectorRegionParams, PRESETS } from '../pipeline/presets.js';
import {
  boxesSideBySide,
  compareOutputsAgainst,
  renderBoxes,
  type AgainstOutput,
  type BoxRow,
} from '../reference/against.js';
import { renderDataset, summarizeDataset, type DatasetItem } from '../reference/dataset.js';
import {
  buildReference,
  compareOnce,
  FLOAT_MODEL_STATEMENT,
  initReferenceBackend,
  type CompareRun,
  type ReferenceBackendName,
  type ReferenceModel,
} from '../reference/index.js';
import { randomInput } from '../reference/random.js';
import { isolatedPasses, renderCompare, summarize } from '../reference/report.js';
import type { Command } from './command.js';
import { listImages } from './dataset-files.js';
import { EXIT, printJson, Progress, type Io } from './common.js';
import { inputOptions, inputOptionsFrom, numericsOptions, parseOptionsFrom } from './options.js';
import { shapeText } from '../report/table.js';

interface Side {
  readonly loaded: LoadedModel;
  readonly prepared: PreparedModel;
  readonly ref: ReferenceModel;
}

function open(spec: string, args: Record<string, unknown>): Side {
  const loaded = loadKmodel(spec, parseOptionsFrom(args));
  const prepared = prepare(loaded.model, {
    numerics: args.numerics as 'golden' | 'board',
    kpuNumerics: args['kpu-numerics'] as 'nncase02' | 'nncase01',
  });
  return { loaded, prepared, ref: buildReference(loaded.model) };
}

function parseLayers(v: unknown, n: number): [number, number] | undefined {
  if (v === undefined) return undefined;
  const m = /^\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?$/.exec(String(v));
  if (!m) throw new UsageError('BAD_ARGUMENT', `--layers takes a..b or one index, got "${String(v)}"`);
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (a > b || b >= n) throw new UsageError('BAD_ARGUMENT', `--layers ${a}..${b}: the model has layers 0..${n - 1}`);
  return [a, b];
}

/** The model's input from --input or --random (one input; --random also fills several). */
function inputsFor(
  side: Side,
  args: Record<string, unknown>,
  file?: string,
): { inputs: Uint8Array[]; recipe: InputRecipe | { source: string; kind: 'random'; seed: number } } {
  const descs = side.prepared.inputs;
  if (file === undefined && args.random !== undefined) {
    const seed = Number(args.random);
    return {
      inputs: descs.map((d, i) => randomInput(d, seed + i)),
      recipe: { source: `random (seed ${seed})`, kind: 'random', seed },
    };
  }
  if (descs.length !== 1)
    throw new UsageError(
      'BAD_INPUT',
      `this model takes ${descs.length} inputs; compare feeds one file (use --random for several)`,
    );
  const { bytes, recipe } = readInputFile(file ?? String(args.input), descs[0] as TensorDesc, inputOptionsFrom(args));
  return { inputs: [bytes], recipe };
}

function recipeText(r: InputRecipe | { source: string; kind: 'random' }): string {
  if (r.kind !== 'image') return r.source;
  const img =
    'image' in r && r.image
      ? ` (${r.image.format} ${r.image.width}×${r.image.height}, ${r.resize}, ${r.interp}, ${r.channel_order}${r.float ? `, ${r.float}` : ''})`
      : '';
  return `${r.source}${img}`;
}

function regionParams(
  args: Record<string, unknown>,
  out: TensorDesc,
  input: TensorDesc,
): ReturnType<typeof detectorRegionParams> | undefined {
  if (args.anchors === undefined && args.preset === undefined) return undefined;
  return detectorRegionParams(out.shape, input.shape, {
    anchors: args.anchors !== undefined ? String(args.anchors).split(',').map(Number) : undefined,
    preset: args.preset === undefined ? undefined : PRESETS[String(args.preset)]?.detector,
    classes: args.classes !== undefined ? Number(args.classes) : undefined,
    threshold: args.threshold !== undefined ? Number(args.threshold) : undefined,
    nmsValue: args.nms !== undefined ? Number(args.nms) : undefined,
  });
}

const outputShapes = (p: PreparedModel) => p.outputs.map((o) => `${o.dtype} ${shapeText(o.shape)}`);

function againstOnce(a: Side, b: Side, args: Record<string, unknown>, file?: string) {
  const ia = inputsFor(a, args, file);
  const ib = inputsFor(b, args, file);
  const ra = compareOnce(a.prepared, a.ref, ia.inputs, { isolated: false });
  const rb = compareOnce(b.prepared, b.ref, ib.inputs, { isolated: false });
  const outputs = compareOutputsAgainst(ra.emulatorOutputValues, rb.emulatorOutputValues).map((o) => ({
    ...o,
    model_vs_float_cosine: ra.outputs[o.index]?.cosine,
    against_vs_float_cosine: rb.outputs[o.index]?.cosine,
  }));
  const region = regionParams(args, a.prepared.outputs[0], a.prepared.inputs[0]);
  const boxes: BoxRow[] | undefined = region
    ? boxesSideBySide(ra.emulatorOutputValues[0], rb.emulatorOutputValues[0], region.grid, region.params)
    : undefined;
  return { recipe: ia.recipe, outputs, boxes, region, ms: ra.timings.total_ms + rb.timings.total_ms };
}

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
            return true;
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
        const items: DatasetItem[] = files.map((f) => {
          const name = basename(f);
          let item: DatasetItem;
          try {
            if (b) {
              item = { input: name, outputs: againstOnce(a, b, args, f).outputs };
            } else {
              const { inputs } = inputsFor(a, args, f);
              const run = compareOnce(a.prepared, a.ref, inputs);
              const s = summarize(run);
              item = {
                input: name,
                outputs: run.outputs,
                isolated_worst_lsb: s.isolated_worst_lsb,
                isolated_pass: s.kpu_conv_pass === s.kpu_conv_layers,
              };
            }
          } catch (e) {
            item = { input: name, outputs: [], error: e instanceof Error ? e.message : String(e) };
          }
          bar.tick(name);
          return item;
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
