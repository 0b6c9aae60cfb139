/**
 * `kpusim eval MODEL --task classify|detect --dataset DIR --labels FILE [--float ORIGINAL]`: the
 * task metric of the emulated kmodel over a labelled image set, and of the original float network
 * beside it. Detections come from the region decoders kpusim has (YOLOv2 region layer with
 * anchors or a preset; YOLOX). Composes only: metrics in src/eval/, models in src/float/.
 */
import { basename, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { readLabels, readNames, type LabelSet } from '../eval/labels.js';
import {
  classifyMetrics,
  evaluateDetections,
  topK,
  type Detection,
  type DetectionMetrics,
  type GroundTruth,
} from '../eval/metrics.js';
import { arrange, emulate, matchOutputs } from '../float/compare.js';
import { loadFloatModel } from '../float/load.js';
import { mappingJson, toFloatInput, type FloatMapping } from '../float/mapping.js';
import type { FloatModel } from '../float/types.js';
import { readInputFile } from '../input.js';
import type { TensorDesc } from '../kmodel-parser/model.js';
import { prepare, type PreparedModel } from '../kpu/interpreter.js';
import { loadKmodel } from '../load.js';
import { mapRectToSource, type ResizeMapping } from '../pipeline/convert.js';
import { detectorRegionParams, PRESETS } from '../pipeline/presets.js';
import { decodeRegionLayer } from '../pipeline/region.js';
import { decodeYolox, YOLOX_DEMO, yoloxOptionsFor } from '../pipeline/yolox.js';
import {
  buildReference,
  initReferenceBackend,
  type ReferenceBackendName,
  type ReferenceModel,
} from '../reference/index.js';
import type { Command } from './command.js';
import { EXIT, printJson, Progress, type Io } from './common.js';
import { mappingFrom } from './compare-float.js';
import { listImages } from './dataset-files.js';
import { inputOptions, inputOptionsFrom, numericsOptions, parseOptionsFrom } from './options.js';
import { checkJobs, JOBS_OPTION, sweep, taskArgs } from './sweep.js';
import type { EvalData } from './tasks/eval.js';

type Values = ArrayLike<number>;

interface Decoder {
  readonly name: string;
  readonly settings: Record<string, unknown>;
  decode(out: Values, mapping: ResizeMapping | undefined): Detection[];
}

const toSource = (m: ResizeMapping | undefined, x0: number, y0: number, x1: number, y1: number) => {
  if (!m) return [x0, y0, x1, y1] as const;
  const r = mapRectToSource(m, { x: x0, y: y0, w: x1 - x0, h: y1 - y0 });
  return [r.x, r.y, r.x + r.w, r.y + r.h] as const;
};

function decoderFor(args: Record<string, unknown>, out: TensorDesc, input: TensorDesc): Decoder {
  const threshold = args.threshold as number | undefined;
  const nms = args.nms as number | undefined;
  const useRegion = args.decode === 'region' || args.anchors !== undefined || args.preset !== undefined;
  if (useRegion) {
    const { params, grid } = detectorRegionParams(out.shape, input.shape, {
      anchors: args.anchors !== undefined ? String(args.anchors).split(',').map(Number) : undefined,
      preset: args.preset === undefined ? undefined : PRESETS[String(args.preset)]?.detector,
      classes: args.classes as number | undefined,
      threshold,
      nmsValue: nms,
    });
    return {
      name: 'region (YOLOv2)',
      settings: { anchors: params.anchors, classes: params.classes, threshold: params.threshold, nms: params.nmsValue },
      decode: (v, m) =>
        decodeRegionLayer({ data: v, ...grid }, params).map((d) => ({
          box: toSource(m, d.x1, d.y1, d.x2, d.y2),
          label: d.classId,
          score: d.score,
        })),
    };
  }
  const size = input.shape[input.shape.length - 1];
  const opts = yoloxOptionsFor(out.bytes / 4, size, { probThreshold: threshold, nmsThreshold: nms });
  if (!opts || args.decode === 'region')
    throw new UsageError(
      'BAD_ARGUMENT',
      `output 0 (${out.shape.join('×')}) is not a YOLOX head for a ${size}×${size} input: give --anchors or --preset for a YOLOv2 region layer`,
    );
  return {
    name: 'yolox',
    settings: { classes: opts.numClasses, threshold: opts.probThreshold, nms: opts.nmsThreshold },
    decode: (v, m) =>
      decodeYolox(Float32Array.from(v), opts).map((d) => ({
        box: toSource(m, ...d.box),
        label: d.label,
        score: d.prob,
      })),
  };
}

const pct = (v: number | null) => (v === null ? '—' : `${(100 * v).toFixed(1)}%`);
const r4 = (v: number | null) => (v === null ? null : Math.round(v * 1e4) / 1e4);

function detRow(name: string, m: DetectionMetrics): string {
  return `  ${name.padEnd(22)} ${pct(m.precision).padStart(9)} ${pct(m.recall).padStart(7)} ${(m.map === null ? '—' : m.map.toFixed(4)).padStart(8)} ${String(m.true_positives).padStart(5)} ${String(m.false_positives).padStart(5)} ${String(m.false_negatives).padStart(5)}\n`;
}

function summary(m: DetectionMetrics) {
  const { per_image: _omit, ...rest } = m;
  return { ...rest, precision: r4(m.precision), recall: r4(m.recall), map: r4(m.map) };
}

export interface EvalSetup {
  readonly path: string;
  readonly prepared: PreparedModel;
  readonly desc: TensorDesc;
  readonly decoder: Decoder | undefined;
  readonly ref: ReferenceModel | undefined;
  readonly float: FloatModel | undefined;
  readonly mapping: FloatMapping | undefined;
  readonly want: number;
  /** The TensorFlow.js backend, when one was started (a uint8 v3/v4 model or a float model). */
  readonly backend: string | undefined;
  dispose(): void;
}

/** What the command and each worker of its sweep (src/cli/tasks/eval.ts) make once. */
export async function evalSetup(args: Record<string, unknown>, warn: (m: string) => void): Promise<EvalSetup> {
  const loaded = loadKmodel(String(args.model), parseOptionsFrom(args));
  const prepared = prepare(loaded.model, {
    numerics: args.numerics as 'golden' | 'board',
    kpuNumerics: args['kpu-numerics'] as 'nncase02' | 'nncase01',
  });
  if (prepared.inputs.length !== 1)
    throw new UsageError('BAD_INPUT', `eval feeds one image; this model takes ${prepared.inputs.length} inputs`);
  const desc = prepared.inputs[0];
  const decoder = args.task === 'detect' ? decoderFor(args, prepared.outputs[0], desc) : undefined;
  const needRef = prepared.outputs.some((o) => o.dtype !== 'float32') && loaded.model.version !== 5;
  const backend =
    needRef || args.float !== undefined
      ? await initReferenceBackend(args.backend as ReferenceBackendName, warn)
      : undefined;
  const ref = needRef ? buildReference(loaded.model) : undefined;
  let float: FloatModel | undefined;
  try {
    float = args.float === undefined ? undefined : await loadFloatModel(String(args.float));
    const mapping = float ? mappingFrom(args, desc, float) : undefined;
    const f = float;
    return {
      path: loaded.path,
      prepared,
      desc,
      decoder,
      ref,
      float,
      mapping,
      want: float ? float.inputs[0].shape.reduce((a, b) => a * b, 1) : 0,
      backend: backend?.name,
      dispose() {
        ref?.dispose();
        f?.dispose();
      },
    };
  } catch (e) {
    ref?.dispose();
    float?.dispose();
    throw e;
  }
}

export interface EvalImage {
  readonly kmodel: Detection[] | number[];
  readonly float?: Detection[] | number[];
}

/** One image: the kmodel's detections (or top-5 classes), and the float model's beside them. */
export async function evalImage(s: EvalSetup, args: Record<string, unknown>, file: string): Promise<EvalImage> {
  const { prepared, desc } = s;
  const { bytes, recipe } = readInputFile(file, desc, inputOptionsFrom(args));
  const emu = emulate(prepared, s.ref, [bytes], false);
  let floatOut: Float64Array | undefined;
  if (s.float && s.mapping) {
    const fr = await s.float.run([toFloatInput(bytes, desc, s.mapping, s.want)]);
    const m = matchOutputs(emu.outputs, fr.outputs).find((o) => o.index === 0);
    if (!m)
      throw new UsageError(
        'BAD_INPUT',
        `${s.float.file}: no float output matches kmodel output 0 (${prepared.outputs[0].shape.join('×')})`,
      );
    floatOut = arrange(fr.outputs[m.float_output], m.arrangement);
  }
  const run = (v: Values) => (s.decoder ? s.decoder.decode(v, recipe.mapping) : topK(v, 5));
  return { kmodel: run(emu.outputs[0].values), ...(floatOut ? { float: run(floatOut) } : {}) };
}

export const evalCommand: Command = {
  command: 'eval <model>',
  describe:
    'The task metric of the emulated kmodel over a labelled image set (top-1/top-5, or precision/recall/mAP@0.5), and of its original float network beside it',
  builder: (y: Argv) =>
    numericsOptions(
      inputOptions(
        y
          .positional('model', { type: 'string', demandOption: true, describe: '.kmodel file (v3, v4 or v5)' })
          .option('task', {
            choices: ['classify', 'detect'] as const,
            demandOption: true,
            describe: 'what the model does',
          })
          .option('dataset', {
            type: 'string',
            demandOption: true,
            describe:
              'folder of images (.png, .jpg, .bmp), or of raw input tensors (.bin) for a model without an image input',
          })
          .option('labels', {
            type: 'string',
            describe: 'ground truth: a COCO .json file, or a folder of Pascal VOC .xml files',
          })
          .option('names', {
            type: 'string',
            describe: "the network's class names, one per line, in output order (needed with VOC labels)",
          })
          .option('float', {
            type: 'string',
            describe: 'the original float network (.tflite, or .onnx with the optional onnxruntime-web), scored beside',
          })
          .option('float-mean', { type: 'string', describe: '--float: float = (x − mean) / std in raw 0–255 units' })
          .option('float-std', { type: 'string', describe: '--float: see --float-mean (default: x / 255)' })
          .option('float-layout', {
            choices: ['nchw', 'nhwc'] as const,
            describe: "--float: the float model's input layout",
          })
          .option('against-float', {
            type: 'boolean',
            default: false,
            describe: "no labels: score the kmodel against the float model's results as pseudo-labels",
          })
          .option('decode', {
            choices: ['yolox', 'region'] as const,
            describe: 'detector head (default: region with --anchors/--preset, else yolox)',
          })
          .option('anchors', { type: 'string', describe: 'YOLOv2 anchors (w,h pairs in grid cells)' })
          .option('preset', { choices: Object.keys(PRESETS), describe: "a face preset's region decoder settings" })
          .option('classes', { type: 'number', describe: 'region decoder class count' })
          .option('threshold', {
            type: 'number',
            describe: `score threshold (YOLOX default ${YOLOX_DEMO.probThreshold})`,
          })
          .option('nms', {
            type: 'number',
            describe: `NMS overlap threshold (YOLOX default ${YOLOX_DEMO.nmsThreshold})`,
          })
          .option('iou', { type: 'number', default: 0.5, describe: 'IoU a detection needs to match a labelled box' })
          .option('backend', {
            choices: ['wasm', 'cpu'] as const,
            default: 'wasm' as const,
            describe: 'TensorFlow.js backend of a TFLite float model',
          })
          .option('jobs', JOBS_OPTION)
          .option('json', { type: 'boolean', default: false })
          .check((a) => {
            if (a.labels === undefined && !a['against-float'])
              throw new Error('give --labels FILE, or --against-float with --float to score against the float model');
            if (a['against-float'] && a.float === undefined) throw new Error('--against-float needs --float');
            if (a['against-float'] && a.labels !== undefined)
              throw new Error('--against-float replaces --labels; give one of them');
            if (!(Number(a.iou) > 0 && Number(a.iou) <= 1)) throw new Error('--iou must be in (0, 1]');
            return checkJobs(a.jobs);
          }),
      ),
    ),
  async run(args, io: Io) {
    const task = args.task as 'classify' | 'detect';
    const names = args.names === undefined ? undefined : readNames(String(args.names));
    const labels: LabelSet | undefined =
      args.labels === undefined ? undefined : readLabels(String(args.labels), names, task === 'detect');
    const files = listImages(String(args.dataset), { tensors: true });
    const s = await evalSetup(args, (m) => io.err(m));
    const { decoder, float, mapping } = s;
    try {
      // Images without labels are counted and left out before the sweep.
      const scored = files.filter((f) => !labels || labels.images.has(basename(f)));
      const unlabelled = files.length - scored.length;
      if (!scored.length)
        throw new UsageError(
          'BAD_INPUT',
          `--dataset ${String(args.dataset)}: none of its ${files.length} images has a label in ${String(args.labels)}`,
        );
      const bar = new Progress(io, scored.length, 'eval');
      const results = await sweep({
        task: 'eval',
        data: { args: taskArgs(args) } satisfies EvalData,
        items: scored,
        jobs: args.jobs as number | undefined,
        local: (f) => evalImage(s, args, f),
        onDone: (i) => bar.tick(basename(scored[i])),
      });
      bar.end();
      const rows = scored.map((f, i) => {
        const name = basename(f);
        const r = results[i];
        let truths: readonly GroundTruth[] = labels?.images.get(name) ?? [];
        if (!labels && r.float)
          truths = decoder
            ? (r.float as Detection[]).map((d) => ({ box: d.box, label: d.label }))
            : [{ box: [0, 0, 1, 1], label: (r.float as number[])[0] }];
        return { image: name, truths, ...r };
      });
      const iouThr = Number(args.iou);
      const against = !labels;
      const truthWord = against
        ? 'the float model’s results (pseudo-labels, --against-float)'
        : `${labels!.source} (${labels!.format}, ${labels!.classes.length} classes)`;
      const reference =
        float && mapping
          ? {
              file: basename(float.file),
              path: resolve(float.file),
              kind: float.kind,
              mapping: mappingJson(mapping),
            }
          : undefined;
      const head = {
        model: s.path,
        task,
        dataset: String(args.dataset),
        truth: against ? 'float model (pseudo-labels)' : 'labels',
        ...(labels ? { labels: { source: labels.source, format: labels.format, classes: labels.classes.length } } : {}),
        ...(reference ? { reference } : {}),
      };
      if (task === 'detect') {
        const km = evaluateDetections(
          rows.map((r) => ({ detections: r.kmodel as Detection[], truths: r.truths })),
          iouThr,
        );
        const fm =
          float && !against
            ? evaluateDetections(
                rows.map((r) => ({ detections: r.float as Detection[], truths: r.truths })),
                iouThr,
              )
            : undefined;
        const images = rows.map((r, i) => ({
          image: r.image,
          labels: r.truths.length,
          kmodel: { ...km.per_image[i], detections: r.kmodel },
          ...(fm ? { float: { ...fm.per_image[i], detections: r.float } } : {}),
        }));
        if (args.json) {
          printJson(io, {
            ...head,
            decoder: { name: decoder!.name, ...decoder!.settings },
            iou_threshold: iouThr,
            unlabelled_images: unlabelled,
            metrics: { kmodel: summary(km), ...(fm ? { float: summary(fm) } : {}) },
            images,
          });
        } else {
          let t = `${s.path}: detection, ${decoder!.name} decoder ${JSON.stringify(decoder!.settings)}\n`;
          t += `dataset: ${String(args.dataset)} (${rows.length} images scored${unlabelled ? `, ${unlabelled} without labels skipped` : ''})\n`;
          t += `ground truth: ${truthWord}\n`;
          if (reference)
            t += `float model: ${reference.file} (${reference.path}), input ${reference.mapping.text}, layout ${reference.mapping.layout}${s.backend && float?.kind === 'tflite' ? ` (TensorFlow.js ${s.backend})` : ''}\n`;
          t += `\n  ${''.padEnd(22)} precision  recall  mAP@${iouThr}    TP    FP    FN\n`;
          t += detRow('kmodel (emulated)', km);
          if (fm) t += detRow('float model', fm);
          t += `\nper image (TP/FP/FN):\n`;
          for (const im of images)
            t += `  ${im.image}: ${im.labels} labelled; kmodel ${im.kmodel.tp}/${im.kmodel.fp}/${im.kmodel.fn}${im.float ? `; float ${im.float.tp}/${im.float.fp}/${im.float.fn}` : ''}\n`;
          io.out(t);
        }
        return EXIT.OK;
      }
      const withLabel = rows
        .map((r) => ({ label: r.truths[0]?.label ?? -1, top: r.kmodel as number[] }))
        .filter((r) => r.label >= 0);
      const km = classifyMetrics(withLabel);
      const fm =
        float && !against
          ? classifyMetrics(
              rows.filter((r) => r.truths.length).map((r) => ({ label: r.truths[0].label, top: r.float as number[] })),
            )
          : undefined;
      const images = rows.map((r) => ({
        image: r.image,
        label: r.truths[0]?.label ?? null,
        kmodel_top5: r.kmodel,
        ...(r.float ? { float_top5: r.float } : {}),
      }));
      if (args.json)
        printJson(io, {
          ...head,
          unlabelled_images: unlabelled,
          metrics: { kmodel: km, ...(fm ? { float: fm } : {}) },
          images,
        });
      else {
        let t = `${s.path}: classification over ${km.images} images\nground truth: ${truthWord}\n`;
        if (reference)
          t += `float model: ${reference.file}, input ${reference.mapping.text}, layout ${reference.mapping.layout}\n`;
        t += `  kmodel (emulated): top-1 ${pct(km.top1)}, top-5 ${pct(km.top5)}\n`;
        if (fm) t += `  float model:       top-1 ${pct(fm.top1)}, top-5 ${pct(fm.top5)}\n`;
        io.out(t);
      }
      return EXIT.OK;
    } finally {
      s.dispose();
    }
  },
};
