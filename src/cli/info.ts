import type { Argv } from 'yargs';
import { AI_SRAM_BYTES, MAIN_SRAM_BYTES } from '../chip.js';
import { FILE_CAPS } from '../io/read-file.js';
import { readKfpkg } from '../kmodel-parser/kfpkg.js';
import { summarizeModel } from '../kmodel-parser/summary.js';
import { loadKmodel, readFileChecked, splitModelPath } from '../load.js';
import type { Command } from './command.js';
import { EXIT, printJson, type Io } from './common.js';
import { parseOptionsFrom } from './options.js';
import { fmtBytes as formatBytes, groupedInteger, renderTable, shapeText } from '../report/table.js';

export const infoCommand: Command = {
  command: 'info <model>',
  describe: 'Show a model: format, inputs and outputs, the per-layer table, MACs and memory',
  builder: (y: Argv) =>
    y
      .positional('model', {
        type: 'string',
        describe: '.kmodel file, a .kfpkg package, or package.kfpkg#name.kmodel',
        demandOption: true,
      })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON document' })
      .option('nncase-version', {
        type: 'string',
        describe: 'kmodel v5: the nncase 1.x release whose stackvm numbering to use (default: chosen from the file)',
      }),
  async run(args, io) {
    const spec = String(args.model);
    const json = Boolean(args.json);
    const { file, inner } = splitModelPath(spec);
    if (inner === undefined && /\.kfpkg$/i.test(file)) return infoPackage(file, json, io);
    const loaded = loadKmodel(spec, parseOptionsFrom(args));
    const s = summarizeModel(loaded.model, loaded.bytes.length);
    const extra = modelExtras(loaded.model);
    if (json) {
      printJson(io, { file: spec, ...s, ...extra });
      return EXIT.OK;
    }
    let t = `${spec}\n`;
    t += `kmodel v${s.version} (${s.generation}), ${s.layers.length} layers: ${s.kpu_layers} on the KPU, ${s.cpu_layers} on the CPU\n`;
    for (const [k, v] of Object.entries(extra)) t += `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}\n`;
    s.inputs.forEach(
      (d, i) =>
        (t += `input ${i}: ${d.dtype} ${shapeText(d.shape)}${d.quant ? ` (scale ${d.quant.scale}, zero point ${d.quant.zeroPoint})` : ''}\n`),
    );
    s.outputs.forEach(
      (d, i) =>
        (t += `output ${i}: ${d.dtype} ${shapeText(d.shape)}${d.quant ? ` (scale ${d.quant.scale}, zero point ${d.quant.zeroPoint})` : ''}\n`),
    );
    t += '\n';
    t += renderTable(
      ['#', 'type', 'unit', 'input', 'output', 'k', 'dw', 'pool', 'activation', 'MACs', 'weights'],
      s.layers.map((l) => [
        l.index,
        l.type,
        l.unit,
        shapesText(l.inputs),
        shapesText(l.outputs),
        l.kernel !== undefined ? `${l.kernel}×${l.kernel}` : '',
        l.depthwise ? 'yes' : '',
        l.pool ?? '',
        l.activation ?? '',
        l.macs,
        l.weight_bytes ? formatBytes(l.weight_bytes) : '',
      ]),
    );
    t += `\ntotal MACs: ${groupedInteger(s.total_macs)}\n`;
    t += `main memory: ${formatBytes(s.main_memory_bytes)} of ${formatBytes(MAIN_SRAM_BYTES)} (model bytes and the runtime's working buffer)\n`;
    if (s.ai_sram_largest_layer)
      t += `AI SRAM, largest layer: ${formatBytes(s.ai_sram_largest_layer.bytes)} of ${formatBytes(AI_SRAM_BYTES)} (layer ${s.ai_sram_largest_layer.index}, input and output maps)\n`;
    io.out(t);
    return EXIT.OK;
  },
};

/** A layer's tensor shapes for the table; long lists (a concat of hundreds of rows) are counted. */
function shapesText(shapes: readonly (readonly number[])[]): string {
  if (shapes.length <= 3) return shapes.map(shapeText).join(' ');
  const counts = new Map<string, number>();
  for (const s of shapes) counts.set(shapeText(s), (counts.get(shapeText(s)) ?? 0) + 1);
  return [...counts].map(([s, n]) => (n > 1 ? `${n}× ${s}` : s)).join(' ');
}

/** Version-specific facts worth showing (v5: modules and the stackvm numbering chosen). */
function modelExtras(model: unknown): Record<string, unknown> {
  const m = model as {
    version: number;
    modules?: { type: string; size: number; functions?: unknown[] }[];
    stackvmNumbering?: unknown;
  };
  const out: Record<string, unknown> = {};
  if (m.modules)
    out.modules = m.modules.map((x) => ({ type: x.type, size: x.size, functions: x.functions?.length ?? 0 }));
  if (m.stackvmNumbering !== undefined) out.stackvm_numbering = m.stackvmNumbering;
  return out;
}

function infoPackage(file: string, json: boolean, io: Io): number {
  const pkg = readKfpkg(readFileChecked(file, FILE_CAPS.kfpkg), file);
  if (json) {
    printJson(io, { file, package: 'kfpkg', files: pkg.entries });
    return EXIT.OK;
  }
  let t = `${file}: K210 flash package, ${pkg.entries.length} files\n\n`;
  t += renderTable(
    ['file', 'flash address', 'bytes', 'what'],
    pkg.entries.map((e) => [
      e.name,
      e.address === null ? '(not in flash-list.json)' : `0x${e.address.toString(16)}`,
      e.bytes,
      e.kind,
    ]),
  );
  const models = pkg.entries.filter((e) => e.kind.startsWith('kmodel'));
  if (models.length) t += `\nmodels: ${models.map((e) => `${file}#${e.name}`).join(', ')}\n`;
  io.out(t);
  return EXIT.OK;
}
