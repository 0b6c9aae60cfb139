/**
 * A reader of TensorFlow Lite model files (the FlatBuffers schema `tflite/schema.fbs`): the
 * first subgraph's tensors, constant buffers and operators with the options of the ops
 * `tflite-run.ts` executes. Field numbers follow the schema's declaration order. The file is
 * untrusted: every read is bounds-checked (flatbuffer.ts) and each failure names the byte offset.
 */
import { KmodelError } from '../errors.js';
import { FbBuffer, type FbTable } from './flatbuffer.js';

export type TfliteDtype = 'float32' | 'float16' | 'int32' | 'uint8' | 'int64' | 'bool' | 'int16' | 'int8' | 'other';

const TENSOR_TYPES: readonly TfliteDtype[] = [
  'float32',
  'float16',
  'int32',
  'uint8',
  'int64',
  'other',
  'bool',
  'int16',
  'other',
  'int8',
];

/** BuiltinOperator codes kpusim knows by name (schema.fbs `enum BuiltinOperator`). */
export const TFLITE_OPS: Readonly<Record<number, string>> = {
  0: 'ADD',
  1: 'AVERAGE_POOL_2D',
  2: 'CONCATENATION',
  3: 'CONV_2D',
  4: 'DEPTHWISE_CONV_2D',
  6: 'DEQUANTIZE',
  9: 'FULLY_CONNECTED',
  14: 'LOGISTIC',
  17: 'MAX_POOL_2D',
  18: 'MUL',
  19: 'RELU',
  21: 'RELU6',
  22: 'RESHAPE',
  23: 'RESIZE_BILINEAR',
  25: 'SOFTMAX',
  28: 'TANH',
  34: 'PAD',
  39: 'TRANSPOSE',
  40: 'MEAN',
  41: 'SUB',
  42: 'DIV',
  43: 'SQUEEZE',
  47: 'EXP',
  54: 'PRELU',
  55: 'MAXIMUM',
  57: 'MINIMUM',
  60: 'PADV2',
  97: 'RESIZE_NEAREST_NEIGHBOR',
  98: 'LEAKY_RELU',
};

export interface TfliteTensor {
  readonly index: number;
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: TfliteDtype;
  /** Constant contents (weights, biases, shapes), or undefined for activations. */
  readonly data?: Uint8Array;
}

export interface TfliteOperator {
  readonly index: number;
  readonly code: number;
  /** Name from TFLITE_OPS, or `op<code>` / the custom code. */
  readonly op: string;
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  /** The op's builtin options table, read by the executor per op. */
  readonly options?: FbTable;
  /** Byte offset of the operator table (for error messages). */
  readonly offset: number;
}

export interface TfliteModel {
  readonly file: string;
  readonly version: number;
  readonly tensors: readonly TfliteTensor[];
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  readonly operators: readonly TfliteOperator[];
}

/** A tensor's element count, refusing shapes that are negative or absurdly large. */
export function elementsOf(shape: readonly number[], file: string, what: string): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0)
      throw new KmodelError('BAD_VALUE', 0, `${what}: dimension ${d} in shape [${shape.join(', ')}]`, file);
    n *= d;
  }
  if (n > 2 ** 28) throw new KmodelError('BAD_VALUE', 0, `${what}: shape [${shape.join(', ')}] is too large`, file);
  return n;
}

const DTYPE_BYTES: Partial<Record<TfliteDtype, number>> = {
  float32: 4,
  float16: 2,
  int32: 4,
  uint8: 1,
  int64: 8,
  bool: 1,
  int16: 2,
  int8: 1,
};

export function parseTflite(bytes: Uint8Array, file: string): TfliteModel {
  if (bytes.length < 8)
    throw new KmodelError('TRUNCATED', 0, `${bytes.length} bytes is too short for a TFLite file`, file);
  const ident = new TextDecoder().decode(bytes.subarray(4, 8));
  if (ident !== 'TFL3')
    throw new KmodelError('BAD_MAGIC', 4, `not a TFLite file (file identifier "${ident}", expected "TFL3")`, file);
  const buf = new FbBuffer(bytes, file);
  const model = buf.root();
  const version = model.u32(0);
  const codes = model.tables(1, 'operator_codes').map((t, i) => {
    // Files from before schema v3a keep the code only in the int8 `deprecated_builtin_code`.
    const code = Math.max(t.u8(0), t.i32(3));
    const custom = t.string(1, `operator_codes[${i}].custom_code`);
    return { code, name: code === 32 && custom ? `CUSTOM:${custom}` : (TFLITE_OPS[code] ?? `op${code}`) };
  });
  const buffers = model.tables(4, 'buffers').map((t, i) => t.bytes(0, `buffers[${i}].data`));
  const subgraphs = model.tables(2, 'subgraphs');
  if (subgraphs.length !== 1)
    throw new KmodelError(
      'BAD_COUNT',
      model.pos,
      `${subgraphs.length} subgraphs; kpusim runs single-graph models`,
      file,
    );
  const g = subgraphs[0];
  const tensors: TfliteTensor[] = g.tables(0, 'tensors').map((t, i) => {
    const what = `tensors[${i}]`;
    const shape = t.i32s(0, `${what}.shape`) ?? [];
    const dtype = TENSOR_TYPES[t.u8(1)] ?? 'other';
    const name = t.string(3, `${what}.name`) ?? `t${i}`;
    const bufIndex = t.u32(2);
    if (bufIndex >= buffers.length && bufIndex !== 0)
      throw new KmodelError('BAD_VALUE', t.pos, `${what} (${name}): buffer ${bufIndex} of ${buffers.length}`, file);
    const data = buffers[bufIndex];
    if (data && data.length) {
      const want = elementsOf(shape, file, `${what} (${name})`) * (DTYPE_BYTES[dtype] ?? 1);
      if (data.length !== want)
        throw new KmodelError(
          'BAD_VALUE',
          t.pos,
          `${what} (${name}): ${data.length} bytes of data for ${dtype} [${shape.join(', ')}] (${want} bytes)`,
          file,
        );
      return { index: i, name, shape, dtype, data };
    }
    return { index: i, name, shape, dtype };
  });
  const check = (ids: readonly number[], what: string, at: number): number[] => {
    for (const id of ids)
      if (!(id === -1 || (id >= 0 && id < tensors.length)))
        throw new KmodelError('BAD_VALUE', at, `${what}: tensor index ${id} of ${tensors.length}`, file);
    return [...ids];
  };
  const operators: TfliteOperator[] = g.tables(3, 'operators').map((t, i) => {
    const ci = t.u32(0);
    const c = codes[ci];
    if (!c) throw new KmodelError('BAD_VALUE', t.pos, `operators[${i}]: opcode index ${ci} of ${codes.length}`, file);
    return {
      index: i,
      code: c.code,
      op: c.name,
      inputs: check(t.i32s(1, `operators[${i}].inputs`) ?? [], `operators[${i}] (${c.name}) inputs`, t.pos),
      outputs: check(t.i32s(2, `operators[${i}].outputs`) ?? [], `operators[${i}] (${c.name}) outputs`, t.pos),
      options: t.table(4, `operators[${i}] (${c.name}) options`),
      offset: t.pos,
    };
  });
  return {
    file,
    version,
    tensors,
    inputs: check(g.i32s(1, 'subgraph inputs') ?? [], 'subgraph inputs', g.pos),
    outputs: check(g.i32s(2, 'subgraph outputs') ?? [], 'subgraph outputs', g.pos),
    operators,
  };
}
