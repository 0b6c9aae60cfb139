/**
 * Executes a parsed TFLite model (tflite.ts) on TensorFlow.js ops, in float32, keeping every
 * operator's output so a comparison can follow the network layer by layer. Semantics follow the
 * TFLite builtin ops' reference kernels: weights OHWI (conv), 1HW(C·M) (depthwise), [out, in]
 * (fully connected); SAME padding as TensorFlow's; fused activations after the bias.
 */
import { KmodelError } from '../errors.js';
import { tf } from '../reference/backend.js';
import { elementsOf, type TfliteModel, type TfliteOperator, type TfliteTensor } from './tflite.js';
import type { FloatTensor, FloatRunResult } from './types.js';

type T = tf.Tensor;

const ACTIVATIONS: Record<number, ((x: T) => T) | undefined> = {
  0: undefined,
  1: (x) => tf.relu(x),
  2: (x) => tf.clipByValue(x, -1, 1),
  3: (x) => tf.relu6(x),
  4: (x) => tf.tanh(x),
};

function unsupported(m: TfliteModel, op: TfliteOperator, detail: string): never {
  throw new KmodelError('UNKNOWN_OPCODE', op.offset, `operator ${op.index} (${op.op}): ${detail}`, m.file);
}

function constant(m: TfliteModel, t: TfliteTensor): T {
  const d = t.data!;
  const n = elementsOf(t.shape, m.file, t.name);
  const ab = d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength);
  if (t.dtype === 'float32') return tf.tensor(new Float32Array(ab, 0, n), [...t.shape], 'float32');
  if (t.dtype === 'int32') return tf.tensor(new Int32Array(ab, 0, n), [...t.shape], 'int32');
  if (t.dtype === 'int64') {
    const v = new BigInt64Array(ab, 0, n);
    return tf.tensor(
      Int32Array.from(v, (x) => Number(x)),
      [...t.shape],
      'int32',
    );
  }
  throw new KmodelError('BAD_VALUE', 0, `tensor ${t.index} (${t.name}): constant of type ${t.dtype}`, m.file);
}

function activation(m: TfliteModel, op: TfliteOperator, code: number, x: T): T {
  if (!(code in ACTIVATIONS)) unsupported(m, op, `fused activation ${code}`);
  const f = ACTIVATIONS[code];
  return f ? f(x) : x;
}

const padding = (code: number): 'same' | 'valid' => (code === 1 ? 'valid' : 'same');

function intValues(t: T): number[] {
  return Array.from(t.dataSync());
}

/** One operator: input tensors (undefined for an omitted optional input) → output tensors. */
function execute(m: TfliteModel, op: TfliteOperator, ins: (T | undefined)[]): T[] {
  const o = op.options;
  const x = ins[0];
  if (!x) unsupported(m, op, 'no first input');
  switch (op.op) {
    case 'CONV_2D': {
      const w = tf.transpose(ins[1]!, [1, 2, 3, 0]) as tf.Tensor4D;
      const strides: [number, number] = [o?.i32(2, 1) ?? 1, o?.i32(1, 1) ?? 1];
      const dil: [number, number] = [o?.i32(5, 1) ?? 1, o?.i32(4, 1) ?? 1];
      let y: T = tf.conv2d(x as tf.Tensor4D, w, strides, padding(o?.u8(0) ?? 0), 'NHWC', dil);
      if (ins[2]) y = tf.add(y, ins[2]);
      return [activation(m, op, o?.u8(3) ?? 0, y)];
    }
    case 'DEPTHWISE_CONV_2D': {
      const f = ins[1]!;
      const cin = x.shape[3]!;
      const [, kh, kw, cm] = f.shape as number[];
      if (cm % cin !== 0) unsupported(m, op, `filter channels ${cm} not a multiple of input channels ${cin}`);
      const w = tf.reshape(f, [kh, kw, cin, cm / cin]) as tf.Tensor4D;
      const strides: [number, number] = [o?.i32(2, 1) ?? 1, o?.i32(1, 1) ?? 1];
      const dil: [number, number] = [o?.i32(6, 1) ?? 1, o?.i32(5, 1) ?? 1];
      let y: T = tf.depthwiseConv2d(x as tf.Tensor4D, w, strides, padding(o?.u8(0) ?? 0), 'NHWC', dil);
      if (ins[2]) y = tf.add(y, ins[2]);
      return [activation(m, op, o?.u8(4) ?? 0, y)];
    }
    case 'FULLY_CONNECTED': {
      const w = ins[1]!;
      const inF = w.shape[1]!;
      let y: T = tf.matMul(tf.reshape(x, [-1, inF]) as tf.Tensor2D, w as tf.Tensor2D, false, true);
      if (ins[2]) y = tf.add(y, ins[2]);
      return [activation(m, op, o?.u8(0) ?? 0, y)];
    }
    case 'AVERAGE_POOL_2D':
    case 'MAX_POOL_2D': {
      const strides: [number, number] = [o?.i32(2, 1) ?? 1, o?.i32(1, 1) ?? 1];
      const size: [number, number] = [o?.i32(4, 1) ?? 1, o?.i32(3, 1) ?? 1];
      const f = op.op === 'MAX_POOL_2D' ? tf.maxPool : tf.avgPool;
      return [activation(m, op, o?.u8(5) ?? 0, f(x as tf.Tensor4D, size, strides, padding(o?.u8(0) ?? 0)))];
    }
    case 'ADD':
    case 'SUB':
    case 'MUL':
    case 'DIV': {
      const f = { ADD: tf.add, SUB: tf.sub, MUL: tf.mul, DIV: tf.div }[op.op];
      return [activation(m, op, o?.u8(0) ?? 0, f(x, ins[1]!))];
    }
    case 'MAXIMUM':
      return [tf.maximum(x, ins[1]!)];
    case 'MINIMUM':
      return [tf.minimum(x, ins[1]!)];
    case 'CONCATENATION': {
      let axis = o?.i32(0, 0) ?? 0;
      if (axis < 0) axis += x.rank;
      return [
        activation(
          m,
          op,
          o?.u8(1) ?? 0,
          tf.concat(
            ins.filter((t): t is T => !!t),
            axis,
          ),
        ),
      ];
    }
    case 'RESHAPE':
    case 'SQUEEZE': {
      const out = m.tensors[op.outputs[0]];
      let shape = [...out.shape];
      if (!shape.length && ins[1]) shape = intValues(ins[1]);
      return [tf.reshape(x, shape.length ? shape : [x.size])];
    }
    case 'PAD':
    case 'PADV2': {
      const p = intValues(ins[1]!);
      const pairs: [number, number][] = [];
      for (let i = 0; i < p.length; i += 2) pairs.push([p[i], p[i + 1]]);
      const value = ins[2] ? ins[2].dataSync()[0] : 0;
      return [tf.pad(x, pairs, value)];
    }
    case 'TRANSPOSE':
      return [tf.transpose(x, intValues(ins[1]!))];
    case 'MEAN': {
      const axes = intValues(ins[1]!).map((a) => (a < 0 ? a + x.rank : a));
      return [tf.mean(x, axes, o?.bool(0) ?? false)];
    }
    case 'RELU':
      return [tf.relu(x)];
    case 'RELU6':
      return [tf.relu6(x)];
    case 'LEAKY_RELU':
      return [tf.leakyRelu(x, o?.f32(0, 0.2) ?? 0.2)];
    case 'PRELU':
      return [tf.prelu(x, ins[1]!)];
    case 'LOGISTIC':
      return [tf.sigmoid(x)];
    case 'TANH':
      return [tf.tanh(x)];
    case 'EXP':
      return [tf.exp(x)];
    case 'SOFTMAX': {
      const beta = o?.f32(0, 1) ?? 1;
      return [tf.softmax(beta === 1 ? x : tf.mul(x, beta))];
    }
    case 'RESIZE_BILINEAR':
    case 'RESIZE_NEAREST_NEIGHBOR': {
      const [h, w] = intValues(ins[1]!);
      const align = o?.bool(op.op === 'RESIZE_BILINEAR' ? 2 : 0) ?? false;
      const half = o?.bool(op.op === 'RESIZE_BILINEAR' ? 3 : 1) ?? false;
      const f = op.op === 'RESIZE_BILINEAR' ? tf.image.resizeBilinear : tf.image.resizeNearestNeighbor;
      return [f(x as tf.Tensor4D, [h, w], align, half)];
    }
    default:
      return unsupported(m, op, 'not supported by the TFLite reader (kpusim runs the ops of common K210 models)');
  }
}

/**
 * Runs the model on `inputs` (float32, in the model's own input shapes). Returns the outputs and,
 * in execution order, every operator's first output.
 */
export function runTflite(m: TfliteModel, inputs: readonly Float32Array[]): FloatRunResult {
  if (inputs.length !== m.inputs.length)
    throw new KmodelError('BAD_COUNT', 0, `the model takes ${m.inputs.length} inputs, got ${inputs.length}`, m.file);
  const values = new Map<number, T>();
  const keep: T[] = [];
  const intermediates: FloatTensor[] = [];
  try {
    m.inputs.forEach((id, k) => {
      const t = m.tensors[id];
      const n = elementsOf(t.shape, m.file, t.name);
      if (inputs[k].length !== n)
        throw new KmodelError(
          'BAD_VALUE',
          0,
          `input ${k} (${t.name}) takes ${n} values, got ${inputs[k].length}`,
          m.file,
        );
      const v = tf.tensor(inputs[k], [...t.shape], 'float32');
      values.set(id, v);
      keep.push(v);
    });
    const get = (id: number): T | undefined => {
      if (id < 0) return undefined;
      let v = values.get(id);
      if (!v) {
        const t = m.tensors[id];
        if (!t.data)
          throw new KmodelError('BAD_VALUE', 0, `tensor ${id} (${t.name}) is read before it is written`, m.file);
        v = constant(m, t);
        values.set(id, v);
        keep.push(v);
      }
      return v;
    };
    for (const op of m.operators) {
      const ins = op.inputs.map(get);
      const outs = tf.tidy(() => execute(m, op, ins));
      outs.forEach((v, k) => {
        const id = op.outputs[k];
        if (id === undefined || id < 0) return void v.dispose();
        values.set(id, v);
        keep.push(v);
      });
      const first = outs[0];
      const t = m.tensors[op.outputs[0]];
      intermediates.push({
        name: t.name,
        op: op.op,
        shape: first.shape,
        layout: first.rank === 4 ? 'nhwc' : 'plain',
        values: Float32Array.from(first.dataSync()),
      });
    }
    const outputs: FloatTensor[] = m.outputs.map((id) => {
      const v = get(id)!;
      const t = m.tensors[id];
      return {
        name: t.name,
        op: 'output',
        shape: v.shape,
        layout: v.rank === 4 ? 'nhwc' : 'plain',
        values: Float32Array.from(v.dataSync()),
      };
    });
    return { outputs, intermediates };
  } finally {
    for (const v of keep) v.dispose();
  }
}
