/**
 * The two sides of `kpusim compare` (a kmodel, its emulation and its float reference) and one
 * comparison on one input: shared by the command and its dataset sweep's workers
 * (src/cli/tasks/compare-dataset.ts).
 */
import { basename } from 'node:path';
import { UsageError } from '../errors.js';
import { readInputFile, type InputRecipe } from '../input.js';
import type { TensorDesc } from '../kmodel-parser/model.js';
import { prepare, type PreparedModel } from '../kpu/interpreter.js';
import { loadKmodel, type LoadedModel } from '../load.js';
import { detectorRegionParams, PRESETS } from '../pipeline/presets.js';
import { boxesSideBySide, compareOutputsAgainst, type BoxRow } from '../reference/against.js';
import type { DatasetItem } from '../reference/dataset.js';
import { buildReference, compareOnce, type ReferenceModel } from '../reference/index.js';
import { randomInput } from '../reference/random.js';
import { summarize } from '../reference/report.js';
import { inputOptionsFrom, parseOptionsFrom } from './options.js';

export interface Side {
  readonly loaded: LoadedModel;
  readonly prepared: PreparedModel;
  readonly ref: ReferenceModel;
}

export function open(spec: string, args: Record<string, unknown>): Side {
  const loaded = loadKmodel(spec, parseOptionsFrom(args));
  const prepared = prepare(loaded.model, {
    numerics: args.numerics as 'golden' | 'board',
    kpuNumerics: args['kpu-numerics'] as 'nncase02' | 'nncase01',
  });
  return { loaded, prepared, ref: buildReference(loaded.model) };
}

/** The model's input from --input or --random (one input; --random also fills several). */
export function inputsFor(
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

export function againstOnce(a: Side, b: Side, args: Record<string, unknown>, file?: string) {
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

/** One image of `compare --dataset`: its comparison, or the reason it could not be compared. */
export function datasetItem(a: Side, b: Side | undefined, args: Record<string, unknown>, f: string): DatasetItem {
  const name = basename(f);
  try {
    if (b) return { input: name, outputs: againstOnce(a, b, args, f).outputs };
    const { inputs } = inputsFor(a, args, f);
    const run = compareOnce(a.prepared, a.ref, inputs);
    const s = summarize(run);
    return {
      input: name,
      outputs: run.outputs,
      isolated_worst_lsb: s.isolated_worst_lsb,
      isolated_pass: s.kpu_conv_pass === s.kpu_conv_layers,
    };
  } catch (e) {
    return { input: name, outputs: [], error: e instanceof Error ? e.message : String(e) };
  }
}
