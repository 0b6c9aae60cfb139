/**
 * `kpusim run`, one input: run the model and write output_<i>.bin and outputs.json into a folder.
 * The command runs it once (`--input`) or as a sweep over many (`--inputs`, the sweep task of
 * src/cli/sweep-tasks.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../errors.js';
import { readInputFile, type InputOptions } from '../../input.js';
import type { PreparedModel, RunOptions } from '../../kpu/interpreter.js';
import { decodeYoloxOutput } from '../../pipeline/yolox.js';
import { tensorStats } from '../../tensor.js';
import type { SweepTask } from '../sweep-tasks.js';
import { loadPrepared, type ModelData } from './model.js';

export interface RunData extends ModelData {
  readonly input: InputOptions;
  readonly kpuNumerics: unknown;
  readonly decode?: { readonly probThreshold?: number; readonly nmsThreshold?: number };
}

interface Ctx {
  readonly prepared: PreparedModel;
  readonly modelPath: string;
  readonly data: RunData;
}

export function runContext(prepared: PreparedModel, modelPath: string, data: RunData): Ctx {
  if (prepared.inputs.length !== 1)
    throw new UsageError('BAD_INPUT', `this model takes ${prepared.inputs.length} inputs; kpusim run feeds one`);
  return { prepared, modelPath, data };
}

/** Runs one input file and writes its outputs into `out`; returns the document outputs.json holds. */
export function runInput(ctx: Ctx, file: string, out: string, hooks: Pick<RunOptions, 'trace' | 'onLayer'> = {}) {
  const { prepared, data } = ctx;
  const { bytes, recipe } = readInputFile(file, prepared.inputs[0], data.input);
  mkdirSync(out, { recursive: true });
  const t0 = performance.now();
  const result = prepared.run([bytes], hooks);
  const emulatorMs = performance.now() - t0;
  const outputs = result.outputs.map((o, i) => {
    writeFileSync(join(out, `output_${i}.bin`), o);
    const d = prepared.outputs[i];
    return {
      index: i,
      file: `output_${i}.bin`,
      shape: d.shape,
      dtype: d.dtype,
      bytes: o.length,
      ...tensorStats(o, d.dtype),
    };
  });
  const detections = data.decode
    ? decodeYoloxOutput(result.outputs[0], prepared.inputs[0].shape, recipe.mapping, data.decode)
    : undefined;
  const doc = {
    model: ctx.modelPath,
    input: recipe,
    numerics: prepared.numerics,
    kpu_numerics: data.kpuNumerics,
    emulator_ms: Math.round(emulatorMs * 100) / 100,
    outputs,
    ...(detections ? { detections } : {}),
  };
  writeFileSync(join(out, 'outputs.json'), JSON.stringify({ schema_version: 1, ...doc }, null, 2) + '\n');
  return doc;
}

export type RunDoc = ReturnType<typeof runInput>;

export const runTask: SweepTask<RunData, Ctx, { file: string; out: string }, RunDoc> = {
  init: (d) => runContext(loadPrepared(d).prepared, d.model, d),
  run: (ctx, item) => runInput(ctx, item.file, item.out),
};
