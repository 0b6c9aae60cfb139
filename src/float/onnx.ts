/**
 * ONNX models through onnxruntime-web's WebAssembly backend (no native addon, no downloads). It is
 * an optional dependency of kpusim: imported here only, when a comparison asks for a `.onnx` file,
 * and a missing package is a one-line usage error naming it. Intermediate tensors (for per-layer
 * curves) come from a second session of the same graph with every node's first output listed as
 * a graph output (onnx-proto.ts), made when a run first asks for them.
 */
import { UsageError } from '../errors.js';
import { FILE_CAPS, readUserFile } from '../io/read-file.js';
import { readOnnxGraph, withGraphOutputs } from './onnx-proto.js';
import type { FloatModel, FloatRunResult, FloatTensor } from './types.js';

export const ONNX_PACKAGE = 'onnxruntime-web';

/**
 * The part of onnxruntime-web's API used here, declared locally so kpusim builds and type-checks
 * without the optional package installed.
 */
interface OrtTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
}
interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly { readonly isTensor: boolean; readonly shape?: readonly (number | string)[] }[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface Ort {
  readonly env: { wasm: { numThreads?: number }; logLevel?: string };
  readonly InferenceSession: {
    create(bytes: Uint8Array, opts: { executionProviders: string[]; logSeverityLevel: number }): Promise<OrtSession>;
  };
  readonly Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
}

/** onnxruntime-web, or undefined when it is not installed (or cannot start). */
export async function importOrt(): Promise<Ort | undefined> {
  try {
    const spec = ONNX_PACKAGE;
    const ort = (await import(spec)) as Ort;
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = 'error';
    return ort;
  } catch {
    return undefined;
  }
}

export async function loadOnnx(file: string): Promise<FloatModel> {
  const ort = await importOrt();
  if (!ort)
    throw new UsageError(
      'BAD_ARGUMENT',
      `${file}: ONNX models need the optional package ${ONNX_PACKAGE} (npm install ${ONNX_PACKAGE}), which is not installed`,
    );
  const bytes = readUserFile(file, FILE_CAPS.floatModel);
  const open = async (b: Uint8Array) => {
    try {
      return await ort.InferenceSession.create(b, { executionProviders: ['wasm'], logSeverityLevel: 3 });
    } catch (e) {
      throw new UsageError(
        'BAD_FILE',
        `${file}: onnxruntime-web could not load it as an ONNX model: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`,
      );
    }
  };
  const session = await open(bytes);
  let traced: { session: OrtSession; names: { name: string; op: string }[] } | undefined;
  const tracedSession = async () => {
    if (traced) return traced;
    const graph = readOnnxGraph(bytes, file);
    const listed = new Set([...graph.outputs, ...session.inputNames]);
    const names = graph.nodes
      .filter((n) => n.opType !== 'Constant' && n.outputs[0])
      .map((n) => ({ name: n.outputs[0], op: n.opType }));
    const extra = [...new Set(names.map((n) => n.name).filter((n) => !listed.has(n)))];
    traced = { session: await open(withGraphOutputs(bytes, extra, file)), names };
    return traced;
  };
  const inputs = session.inputNames.map((name, i) => {
    const meta = session.inputMetadata[i];
    const shape =
      meta && meta.isTensor && meta.shape ? meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1)) : [];
    return { name, shape };
  });
  const tensor = (name: string, op: string, t: OrtTensor): FloatTensor => {
    const shape = [...t.dims];
    return {
      name,
      op,
      shape,
      layout: shape.length === 4 ? 'nchw' : 'plain',
      values: Float32Array.from(t.data as Float32Array),
    };
  };
  return {
    kind: 'onnx',
    file,
    inputs,
    nativeLayout: 'nchw',
    intermediates: true,
    async run(values, opts = {}): Promise<FloatRunResult> {
      const feeds: Record<string, OrtTensor> = {};
      inputs.forEach((inp, i) => {
        feeds[inp.name] = new ort.Tensor('float32', values[i], [...inp.shape]);
      });
      const tr = opts.intermediates ? await tracedSession() : undefined;
      const r = await (tr?.session ?? session).run(feeds);
      const outputs = session.outputNames.map((name) => {
        const t = r[name];
        if (t.type !== 'float32')
          throw new UsageError('BAD_FILE', `${file}: output ${name} is ${t.type}; kpusim compares float32 outputs`);
        return tensor(name, 'output', t);
      });
      const intermediates = tr
        ? tr.names.filter((n) => r[n.name]?.type === 'float32').map((n) => tensor(n.name, n.op, r[n.name]))
        : [];
      return { outputs, intermediates };
    },
    dispose() {
      void session.release();
      if (traced) void traced.session.release();
    },
  };
}
