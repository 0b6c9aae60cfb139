/**
 * `kpusim golden record … --on PORT`: golden cases whose outputs are the board's, in the layout
 * `golden check` and `board check` read (`<case>/input.bin`, `output_<i>.bin`, `case.json`; no
 * trace: a board has none).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { goldenCaseNames, sha256 } from '../golden.js';
import { readInputFile, type InputOptions } from '../input.js';
import type { PreparedModel } from '../kpu/interpreter.js';
import type { LoadedModel } from '../load.js';
import { BoardError } from './errors.js';
import { runCaseOnBoard, type InputPath } from './run-case.js';
import type { BoardSession, PutProgress } from './session.js';

export interface BoardRecordOptions {
  readonly input: InputOptions;
  readonly at?: number;
  readonly to?: string;
  readonly inputPath?: InputPath;
  readonly onCase?: (name: string) => void;
  readonly onNote?: (text: string) => void;
  readonly onProgress?: (what: string, p: PutProgress) => void;
}

/** Records one case per input file with the board's outputs as the truth. */
export async function recordGoldenOnBoard(
  s: BoardSession,
  loaded: LoadedModel,
  prepared: PreparedModel,
  inputFiles: readonly string[],
  outDir: string,
  opts: BoardRecordOptions,
): Promise<{ cases: string[] }> {
  // Read every input first: a bad file is refused before the board is touched.
  const inputs = inputFiles.map((f) => readInputFile(f, prepared.inputs[0], opts.input));
  mkdirSync(outDir, { recursive: true });
  const names = goldenCaseNames(inputFiles);
  const cases: string[] = [];
  for (const [i, { bytes, recipe }] of inputs.entries()) {
    const r = await runCaseOnBoard(s, {
      model: loaded,
      inputs: prepared.inputs,
      outputs: prepared.outputs,
      input: bytes,
      repeat: 1,
      at: opts.at,
      to: opts.to,
      inputPath: opts.inputPath,
      onNote: opts.onNote,
      onProgress: opts.onProgress,
    });
    if (r.outputs.some((o) => o === null))
      throw new BoardError(
        'UNSUPPORTED',
        `this firmware returns only some of the model's ${prepared.outputs.length} outputs; a golden case needs them all`,
      );
    const name = names[i];
    const dir = join(outDir, name);
    mkdirSync(dir, { recursive: true });
    // The input the board's model saw (the RGB565 path may round it): the case stays consistent.
    writeFileSync(join(dir, 'input.bin'), r.effectiveInput);
    r.outputs.forEach((o, i) => writeFileSync(join(dir, `output_${i}.bin`), o as Uint8Array));
    const info = s.info;
    const meta = {
      schema_version: 1,
      model: { file: basename(loaded.path), sha256: sha256(loaded.bytes) },
      input: {
        recipe,
        dtype: prepared.inputs[0].dtype,
        shape: prepared.inputs[0].shape,
        sha256: sha256(r.effectiveInput),
        board_path: r.inputPath,
        exact: r.inputExact,
      },
      outputs: r.outputs.map((o, i) => ({
        file: `output_${i}.bin`,
        dtype: prepared.outputs[i].dtype,
        shape: prepared.outputs[i].shape,
        sha256: sha256(o as Uint8Array),
      })),
      board: {
        flavour: info.flavour,
        firmware: info.firmware,
        virtual: info.virtual,
        cpu_mhz: info.cpuMhz ?? null,
        kpu_mhz: info.kpuMhz ?? null,
        time_us: r.timesUs[0],
      },
      source: `${info.virtual ? "kpusim's virtual board" : 'a real board'} (${info.flavour} ${info.firmware}), recorded by \`kpusim golden record --on\``,
    };
    writeFileSync(join(dir, 'case.json'), JSON.stringify(meta, null, 2) + '\n');
    cases.push(name);
    opts.onCase?.(name);
  }
  return { cases };
}
