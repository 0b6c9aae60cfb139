/**
 * `kpusim compare MODEL --float ORIGINAL`: the emulated kmodel against the original float network
 * it was compiled from (src/float/). Composes only; the arithmetic is in src/float/compare.ts.
 */
import { basename, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { readInputFile, type InputRecipe } from '../input.js';
import type { TensorDesc } from '../kmodel-parser/model.js';
import { prepare, type PreparedModel } from '../kpu/interpreter.js';
import { loadKmodel } from '../load.js';
import {
  checkMapping,
  emulate,
  layerCurve,
  lossEntries,
  matchOutputs,
  type LayerAgreement,
  type MappingCheck,
  type OutputAgreement,
} from '../float/compare.js';
import { loadFloatModel } from '../float/load.js';
import {
  checkMapping as checkMappingArgs,
  inputChannels,
  mappingJson,
  toFloatInput,
  type FloatMapping,
} from '../float/mapping.js';
import type { FloatModel } from '../float/types.js';
import {
  buildReference,
  initReferenceBackend,
  type ReferenceBackendName,
  type ReferenceModel,
} from '../reference/index.js';
import { renderDataset, summarizeDataset, type DatasetItem } from '../reference/dataset.js';
import { randomInput } from '../reference/random.js';
import { shapeText } from '../report/table.js';
import { EXIT, printJson, Progress, type Io } from './common.js';
import { listImages } from './dataset-files.js';
import { sweep, taskArgs } from './sweep.js';
import type { CompareFloatData } from './tasks/compare-float.js';
import { inputOptionsFrom, parseOptionsFrom } from './options.js';

function numbers(v: unknown, what: string): number[] | undefined {
  if (v === undefined) return undefined;
  const xs = String(v)
    .split(',')
    .map((s) => Number(s.trim()));
  if (!xs.length || xs.some((x) => !Number.isFinite(x)))
    throw new UsageError('BAD_ARGUMENT', `${what} takes one number or comma-separated numbers, got "${String(v)}"`);
  return xs;
}

/** The mapping from the command line; what is not given is the stated default. */
export function mappingFrom(args: Record<string, unknown>, desc: TensorDesc, float: FloatModel): FloatMapping {
  const mean = numbers(args['float-mean'], '--float-mean');
  const std = numbers(args['float-std'], '--float-std');
  const layoutArg = args['float-layout'] as 'nchw' | 'nhwc' | undefined;
  const layout = layoutArg ?? float.nativeLayout;
  const u8 = desc.dtype === 'uint8';
  const said: string[] = [];
  if (mean === undefined || std === undefined)
    said.push(
      `${mean === undefined ? '--float-mean' : ''}${mean === undefined && std === undefined ? '/' : ''}${std === undefined ? '--float-std' : ''} not given: default ${u8 ? 'x / 255' : 'x'}`,
    );
  if (!layoutArg)
    said.push(`--float-layout not given: ${layout}, the ${float.kind === 'tflite' ? 'TFLite' : 'ONNX'} layout`);
  const m: FloatMapping = {
    mean: mean ?? [0],
    std: std ?? [u8 ? 255 : 1],
    layout,
    source: said.length ? said.join('; ') : 'given on the command line',
  };
  checkMappingArgs(m, inputChannels(desc));
  return m;
}

export interface FloatSetup {
  readonly path: string;
  readonly version: number;
  readonly prepared: PreparedModel;
  readonly ref: ReferenceModel | undefined;
  readonly float: FloatModel;
  readonly desc: TensorDesc;
  readonly mapping: FloatMapping;
  readonly want: number;
  readonly backend: string;
  dispose(): void;
}

/**
 * Loads the kmodel, prepares it, opens the float model and settles the mapping: what the command
 * and each worker of its `--dataset` sweep (src/cli/tasks/compare-float.ts) do once.
 */
export async function floatSetup(
  args: Record<string, unknown>,
  warn: (m: string) => void,
  perLayer: boolean,
): Promise<FloatSetup> {
  const backend = await initReferenceBackend(args.backend as ReferenceBackendName, warn);
  const loaded = loadKmodel(String(args.model), parseOptionsFrom(args));
  const float = await loadFloatModel(String(args.float));
  let ref: ReferenceModel | undefined;
  try {
    const prepared = prepare(loaded.model, {
      numerics: args.numerics as 'golden' | 'board',
      kpuNumerics: args['kpu-numerics'] as 'nncase02' | 'nncase01',
    });
    if (prepared.inputs.length !== 1 || float.inputs.length !== 1)
      throw new UsageError(
        'BAD_INPUT',
        `compare --float feeds one input; the kmodel takes ${prepared.inputs.length}, the float model ${float.inputs.length}`,
      );
    const desc = prepared.inputs[0];
    const mapping = mappingFrom(args, desc, float);
    const want = float.inputs[0].shape.reduce((a, b) => a * b, 1);
    // The reconstructed reference gives where each layer's result lives and the scale of uint8
    // tensors (v3/v4); for v5 it follows the run's dataflow, needed only for the per-layer curve.
    ref = loaded.model.version !== 5 || perLayer ? buildReference(loaded.model) : undefined;
    const r = ref;
    return {
      path: loaded.path,
      version: loaded.model.version,
      prepared,
      ref,
      float,
      desc,
      mapping,
      want,
      backend: backend.name,
      dispose() {
        r?.dispose();
        float.dispose();
      },
    };
  } catch (e) {
    ref?.dispose();
    float.dispose();
    throw e;
  }
}

function inputFor(
  s: FloatSetup,
  args: Record<string, unknown>,
  file?: string,
): { bytes: Uint8Array; recipe: InputRecipe | { source: string; kind: 'random' } } {
  if (file === undefined && args.random !== undefined) {
    const seed = Number(args.random);
    return { bytes: randomInput(s.desc, seed), recipe: { source: `random (seed ${seed})`, kind: 'random' } };
  }
  return readInputFile(file ?? String(args.input), s.desc, inputOptionsFrom(args));
}

const fmt = (v: number | null, d = 5) => (v === null ? 'exact' : v.toFixed(d));

function renderOutputs(outs: readonly OutputAgreement[], descs: readonly TensorDesc[]): string {
  let t = '';
  for (const o of outs) {
    const d = descs[o.index];
    t += `  output ${o.index} ${d.dtype} ${shapeText(d.shape)} ← ${o.float_name} ${shapeText(o.float_shape)} (${o.arrangement}): cosine ${fmt(o.cosine)}, centred ${fmt(o.centred_cosine)}, SNR ${o.snr_db === null ? 'exact' : `${o.snr_db.toFixed(1)} dB`}, max |diff| ${Number(o.max_abs.toPrecision(4))}\n`;
  }
  const missing = descs.map((_, i) => i).filter((i) => !outs.some((o) => o.index === i));
  for (const i of missing) t += `  output ${i} ${shapeText(descs[i].shape)}: no float output of that shape or size\n`;
  return t;
}

function renderCurve(curve: readonly LayerAgreement[], total: number): string {
  if (!curve.length) return 'per layer: no kmodel layer matched a float tensor of its shape\n';
  const w = Math.max(4, ...curve.map((l) => l.type.length));
  const fw = Math.min(40, Math.max(12, ...curve.map((l) => l.float_tensor.length)));
  let t = `per layer (${curve.length} of ${total} kmodel layers matched a float tensor; cosine against the float network, cumulative):\n`;
  t += `  ${'#'.padStart(3)}  ${'type'.padEnd(w)}  unit  ${'shape'.padEnd(14)}  ${'float tensor'.padEnd(fw)}  cosine    change\n`;
  for (const l of curve)
    t += `  ${String(l.index).padStart(3)}  ${l.type.padEnd(w)}  ${l.unit.padEnd(4)}  ${shapeText(l.shape).padEnd(14)}  ${l.float_tensor.slice(-fw).padEnd(fw)}  ${l.cosine.toFixed(5)}  ${l.drop >= 0 ? '+' : '−'}${Math.abs(l.drop).toFixed(5)}\n`;
  const worst = lossEntries(curve);
  if (worst.length)
    t += `the loss enters most at: ${worst.map((l) => `layer ${l.index} ${l.type} (${l.drop.toFixed(4)})`).join(', ')}\n`;
  return t;
}

function renderMappingCheck(c: MappingCheck): string {
  let t = `input mapping check: ${c.verdict}\n`;
  for (const tr of c.trials)
    t += `  ${tr.mean_cosine.toFixed(5)}  ${tr.mapping}, ${tr.layout}${tr.given ? '  (given)' : ''}\n`;
  return t;
}

const meanCosine = (o: readonly OutputAgreement[]) => (o.length ? o.reduce((a, b) => a + b.cosine, 0) / o.length : 0);

/** One image of `compare --float --dataset`: its output agreement, or why it could not be compared. */
export async function floatDatasetItem(
  s: FloatSetup,
  args: Record<string, unknown>,
  file: string,
): Promise<DatasetItem> {
  const name = basename(file);
  try {
    const { bytes } = inputFor(s, args, file);
    const emu = emulate(s.prepared, s.ref, [bytes], false);
    const fr = await s.float.run([toFloatInput(bytes, s.desc, s.mapping, s.want)]);
    const outs = matchOutputs(emu.outputs, fr.outputs);
    return {
      input: name,
      outputs: outs.map((o) => ({
        index: o.index,
        cosine: o.cosine,
        centred_cosine: o.centred_cosine,
        snr_db: o.snr_db,
        max_abs: o.max_abs,
      })),
    };
  } catch (e) {
    if (e instanceof UsageError && e.code !== 'BAD_INPUT') throw e;
    return { input: name, outputs: [], error: e instanceof Error ? e.message : String(e) };
  }
}

/** The mapping check on one image (the first the dataset could compare). */
async function mappingCheckOn(s: FloatSetup, args: Record<string, unknown>, file?: string): Promise<MappingCheck> {
  const { bytes } = inputFor(s, args, file);
  const emu = emulate(s.prepared, s.ref, [bytes], false);
  const fr = await s.float.run([toFloatInput(bytes, s.desc, s.mapping, s.want)]);
  return checkMapping(s.float, s.desc, bytes, emu, s.mapping, meanCosine(matchOutputs(emu.outputs, fr.outputs)));
}

export async function runCompareFloat(args: Record<string, unknown>, io: Io): Promise<number> {
  const dataset = args.dataset !== undefined;
  const s = await floatSetup(args, (m) => io.err(m), !dataset);
  const { prepared, float, desc, mapping } = s;
  try {
    const floatFile = String(args.float);
    const reference = {
      file: basename(floatFile),
      path: resolve(floatFile),
      kind: float.kind,
      runtime:
        float.kind === 'tflite'
          ? `kpusim's TFLite reader on TensorFlow.js (${s.backend} backend)`
          : 'onnxruntime-web (WebAssembly)',
      input: { name: float.inputs[0].name, shape: float.inputs[0].shape },
      mapping: mappingJson(mapping),
    };
    const head = `${s.path} against its original float network\nreference: ${reference.file} (${reference.path}), ${reference.runtime}\nfloat input: ${reference.mapping.text} per channel, layout ${mapping.layout}, shape ${shapeText(float.inputs[0].shape)} (${mapping.source})\n`;

    if (dataset) {
      const files = listImages(String(args.dataset));
      const bar = new Progress(io, files.length, 'compare --float');
      const items = await sweep({
        task: 'compare-float',
        data: { args: taskArgs(args) } satisfies CompareFloatData,
        items: files,
        jobs: args.jobs as number | undefined,
        local: (f) => floatDatasetItem(s, args, f),
        onDone: (_i, item) => bar.tick(item.input),
      });
      bar.end();
      const firstOk = items.findIndex((it) => !it.error);
      const check =
        args['check-mapping'] !== false && firstOk >= 0 ? await mappingCheckOn(s, args, files[firstOk]) : undefined;
      const summary = summarizeDataset(items);
      if (args.json)
        printJson(io, {
          model: s.path,
          reference,
          dataset: String(args.dataset),
          inputs: items,
          summary,
          outputs: summary.outputs.map((o) => ({ ...o, cosine: o.mean_cosine })),
          ...(check ? { mapping_check: check, mapping_check_input: items[firstOk].input } : {}),
        });
      else
        io.out(
          `${head}dataset: ${String(args.dataset)} (${files.length} images)\n\n${renderDataset(items, summary)}${check ? `\n(on ${items[firstOk].input}) ${renderMappingCheck(check)}` : ''}`,
        );
      return check?.better ? EXIT.VIOLATION : EXIT.OK;
    }

    const { bytes, recipe } = inputFor(s, args);
    const emu = emulate(prepared, s.ref, [bytes], true);
    const t0 = performance.now();
    const fr = await float.run([toFloatInput(bytes, desc, mapping, s.want)], { intermediates: true });
    const floatMs = performance.now() - t0;
    const outputs = matchOutputs(emu.outputs, fr.outputs);
    const curve = emu.layers && fr.intermediates.length ? layerCurve(emu.layers, fr.intermediates) : undefined;
    const check =
      args['check-mapping'] === false
        ? undefined
        : await checkMapping(float, desc, bytes, emu, mapping, meanCosine(outputs));
    const layersNote = curve
      ? undefined
      : 'per-layer curve: the float runtime gave no intermediate tensors; outputs are compared';
    if (args.json) {
      printJson(io, {
        model: s.path,
        reference,
        input: recipe,
        outputs,
        unmatched_outputs: prepared.outputs.map((_, i) => i).filter((i) => !outputs.some((o) => o.index === i)),
        ...(curve ? { layers: curve, loss_enters: lossEntries(curve).map((l) => l.index) } : {}),
        ...(layersNote ? { notes: [layersNote] } : {}),
        ...(check ? { mapping_check: check } : {}),
        timings: { emulator_ms: Math.round(emu.ms), float_ms: Math.round(floatMs) },
      });
    } else {
      const src = 'source' in recipe ? recipe.source : '';
      let t = `${head}input: ${src}\n\noutputs (kmodel output ← float output):\n${renderOutputs(outputs, prepared.outputs)}\n`;
      t += curve ? renderCurve(curve, emu.layers?.length ?? 0) : `${layersNote}\n`;
      if (check) t += `\n${renderMappingCheck(check)}`;
      io.out(t);
    }
    return check?.better ? EXIT.VIOLATION : EXIT.OK;
  } finally {
    s.dispose();
  }
}
