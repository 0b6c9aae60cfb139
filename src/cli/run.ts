import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { readInputFile } from '../input.js';
import { decodeYoloxOutput, YOLOX_DEMO } from '../pipeline/yolox.js';
import { tensorStats } from '../tensor.js';
import type { TensorDesc } from '../kmodel-parser/model.js';
import { prepare } from '../kpu/interpreter.js';
import { stepOutputBytes } from '../kpu/machine.js';
import { loadKmodel } from '../load.js';
import type { Command } from './command.js';
import { checkOutputPaths, inputOptions, inputOptionsFrom, numericsOptions, parseOptionsFrom } from './options.js';
import { EXIT, printJson, type Io } from './common.js';
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
            demandOption: true,
            describe: 'raw tensor .bin (NCHW) or image (.png, .jpg, .bmp)',
          })
          .option('out', {
            type: 'string',
            demandOption: true,
            describe: 'directory for output_<i>.bin and outputs.json',
          })
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
          .check((a) => checkOutputPaths(a, ['out', 'dump-layers'], ['trace'])),
      ),
    ),
  async run(args, io: Io) {
    const loaded = loadKmodel(String(args.model), parseOptionsFrom(args));
    const prepared = prepare(loaded.model, {
      numerics: args.numerics as 'golden' | 'board',
      kpuNumerics: args['kpu-numerics'] as 'nncase02' | 'nncase01',
    });
    if (prepared.inputs.length !== 1)
      throw new UsageError('BAD_INPUT', `this model takes ${prepared.inputs.length} inputs; kpusim run feeds one`);
    const { bytes, recipe } = readInputFile(String(args.input), prepared.inputs[0], inputOptionsFrom(args));
    const out = String(args.out);
    mkdirSync(out, { recursive: true });
    const dumpDir = args['dump-layers'] === undefined ? undefined : String(args['dump-layers']);
    if (dumpDir) mkdirSync(dumpDir, { recursive: true });
    const traceLines: string[] = [];
    const t0 = performance.now();
    const result = prepared.run([bytes], {
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
    const emulatorMs = performance.now() - t0;
    if (args.trace !== undefined) writeFileSync(String(args.trace), traceLines.join('\n') + '\n');
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
    const detections =
      args.decode === 'yolox'
        ? decodeYoloxOutput(result.outputs[0], prepared.inputs[0].shape, recipe.mapping, {
            probThreshold: args['prob-threshold'] as number | undefined,
            nmsThreshold: args['nms-threshold'] as number | undefined,
          })
        : undefined;
    const doc = {
      model: loaded.path,
      input: recipe,
      numerics: prepared.numerics,
      kpu_numerics: args['kpu-numerics'],
      emulator_ms: Math.round(emulatorMs * 100) / 100,
      outputs,
      ...(detections ? { detections } : {}),
    };
    writeFileSync(join(out, 'outputs.json'), JSON.stringify({ schema_version: 1, ...doc }, null, 2) + '\n');
    if (args.json) printJson(io, { ...doc, out });
    else {
      let t = `${loaded.path}: ran ${prepared.events.length} layers in ${emulatorMs.toFixed(1)} ms (emulator time on this PC)\n`;
      for (const o of outputs)
        t += `output ${o.index}: ${o.dtype} ${shapeText(o.shape)}, min ${o.min}, max ${o.max} → ${join(out, o.file)}\n`;
      if (detections) {
        t += `${detections.length} detection(s) (YOLOX decode; boxes x0,y0,x1,y1 in network-input pixels):\n`;
        for (const d of detections)
          t += `  class ${d.label}  score ${d.prob.toFixed(3)}  box ${d.box.join(',')}${d.image_box ? `  (image ${d.image_box.map((v) => v.toFixed(1)).join(',')})` : ''}\n`;
      }
      if (args.trace !== undefined) t += `trace: ${String(args.trace)}\n`;
      if (dumpDir) t += `layer dumps: ${dumpDir}\n`;
      io.out(t);
    }
    return EXIT.OK;
  },
};
