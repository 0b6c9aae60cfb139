/**
 * The model page's "run on an image": `kpusim run` on one image (the same loading, preparation,
 * input conversion and run as the command: cli/tasks/run.ts), then what the outputs mean: YOLO
 * boxes (YOLOX as `kpusim run --decode yolox`, or a YOLOv2 region layer with a preset's anchors,
 * threshold and NMS as `kpusim eval --preset`), the top classes of a classifier (as `kpusim eval
 * --task classify`), or the raw tensor. Runs in the board worker (web/worker.ts). See docs/web.md.
 */
import { topK } from '../eval/metrics.js';
import { UsageError } from '../errors.js';
import type { TensorDesc } from '../kmodel-parser/model.js';
import { prepare } from '../kpu/interpreter.js';
import { loadKmodel } from '../load.js';
import { mapRectToSource } from '../pipeline/convert.js';
import { detectorRegionParams, PRESETS } from '../pipeline/presets.js';
import { decodeRegionLayer } from '../pipeline/region.js';
import { yoloxOptionsFor } from '../pipeline/yolox.js';
import { asFloat32 } from '../tensor.js';
import { readFileSync } from '../platform/browser/fs.js';
import { runContext, runInput } from '../cli/tasks/run.js';
import type { ModelRunReport, ModelRunRequest } from './protocol.js';

/** How many values of each output the page lists, and how many top classes. */
const SHOWN_VALUES = 64;
const TOP_CLASSES = 5;

/** An output's real values: float32 as is, quantised uint8 through its scale and zero point. */
function realValues(bytes: Uint8Array, d: TensorDesc): Float64Array {
  if (d.dtype === 'float32') return Float64Array.from(asFloat32(bytes));
  const q = d.quant;
  return Float64Array.from(bytes, (v) => (q ? (v - q.zeroPoint) * q.scale : v));
}

/** What `auto` means for a model: YOLOX when output 0 is a YOLOX head, a classifier when it is a vector. */
function autoDecode(out: TensorDesc, input: TensorDesc): ModelRunRequest['decode'] {
  const size = input.shape[input.shape.length - 1];
  if (out.dtype === 'float32' && yoloxOptionsFor(out.bytes / 4, size)) return { kind: 'yolox' };
  if (out.shape.filter((n) => n > 1).length === 1) return { kind: 'classify' };
  return { kind: 'raw' };
}

/** Runs `model` (a path in the memory file system, or `pkg#inner`) on the image at `image`. */
export function runModelOnImage(spec: string, image: string, req: ModelRunRequest): ModelRunReport {
  const loaded = loadKmodel(spec);
  const prepared = prepare(loaded.model, { numerics: 'golden', kpuNumerics: 'nncase02' });
  const decode = req.decode.kind === 'auto' ? autoDecode(prepared.outputs[0], prepared.inputs[0]) : req.decode;
  const ctx = runContext(prepared, spec, {
    model: spec,
    parse: {},
    prepare: { numerics: 'golden', kpuNumerics: 'nncase02' },
    input: { resize: req.resize, interp: 'nearest', padValue: 0, bgr: false },
    kpuNumerics: 'nncase02',
    ...(decode.kind === 'yolox' ? { decode: {} } : {}),
  });
  const out = '/inspect/run';
  const doc = runInput(ctx, image, out);
  const outputs = doc.outputs.map((o) => readFileSync(`${out}/${o.file}`) as Uint8Array);
  const values = outputs.map((b, i) => realValues(b, prepared.outputs[i]));
  const mapping = doc.input.mapping;
  let detections: ModelRunReport['detections'];
  let top: ModelRunReport['top'];
  if (decode.kind === 'yolox')
    detections = (doc.detections ?? []).map((d) => ({
      label: d.label,
      score: d.prob,
      box: d.box,
      image_box: d.image_box ?? null,
    }));
  else if (decode.kind === 'region') {
    const preset = decode.preset ? PRESETS[decode.preset]?.detector : undefined;
    if (decode.preset && !preset) throw new UsageError('BAD_ARGUMENT', `no preset "${decode.preset}"`);
    const { params, grid } = detectorRegionParams(prepared.outputs[0].shape, prepared.inputs[0].shape, {
      preset,
      anchors: decode.anchors,
      threshold: decode.threshold,
      nmsValue: decode.nms,
    });
    detections = decodeRegionLayer({ data: values[0], ...grid }, params).map((d) => {
      const r = mapping ? mapRectToSource(mapping, { x: d.x1, y: d.y1, w: d.x2 - d.x1, h: d.y2 - d.y1 }) : null;
      return {
        label: d.classId,
        score: d.score,
        box: [d.x1, d.y1, d.x2, d.y2],
        image_box: r ? [r.x, r.y, r.x + r.w, r.y + r.h] : null,
      };
    });
  } else if (decode.kind === 'classify')
    top = topK(values[0], TOP_CLASSES).map((label) => ({ label, value: values[0][label] }));
  return {
    decoded: decode.kind as ModelRunReport['decoded'],
    doc: doc as unknown as Record<string, unknown>,
    outputs,
    shown: values.map((v) => Array.from(v.subarray(0, SHOWN_VALUES))),
    detections,
    top,
  };
}
