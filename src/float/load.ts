/**
 * Opening an original float network by its file name: `.tflite` through kpusim's TFLite reader
 * on TensorFlow.js ops (intermediate tensors included), `.onnx` through onnxruntime-web (optional
 * dependency). Caffe models are not read: their ONNX equivalent stands in (say so in the report).
 */
import { extname } from 'node:path';
import { UsageError } from '../errors.js';
import { FILE_CAPS, readUserFile } from '../io/read-file.js';
import { runTflite } from './tflite-run.js';
import { parseTflite } from './tflite.js';
import type { FloatModel } from './types.js';

export function floatKind(file: string): 'tflite' | 'onnx' {
  const ext = extname(file).toLowerCase();
  if (ext === '.tflite') return 'tflite';
  if (ext === '.onnx') return 'onnx';
  if (ext === '.caffemodel' || ext === '.prototxt')
    throw new UsageError(
      'BAD_ARGUMENT',
      `${file}: Caffe models are not read; convert the network to ONNX (its weights unchanged) and give the .onnx file`,
    );
  throw new UsageError('BAD_ARGUMENT', `${file}: --float takes a .tflite or .onnx file`);
}

export async function loadFloatModel(file: string): Promise<FloatModel> {
  if (floatKind(file) === 'onnx') return (await import('./onnx.js')).loadOnnx(file);
  const m = parseTflite(readUserFile(file, FILE_CAPS.floatModel), file);
  return {
    kind: 'tflite',
    file,
    inputs: m.inputs.map((id) => ({ name: m.tensors[id].name, shape: m.tensors[id].shape })),
    nativeLayout: 'nhwc',
    intermediates: true,
    run: async (inputs) => runTflite(m, inputs),
    dispose() {},
  };
}
