/**
 * ONNX models through onnxruntime-web's WebAssembly backend (no native addon, no downloads). It is
 * an optional dependency of kpusim: imported here only, when a comparison asks for a `.onnx` file,
 * and a missing package is a one-line usage error naming it.
 */
import { UsageError } from '../errors.js';
import { FILE_CAPS, readUserFile } from '../io/read-file.js';
import type { FloatModel, FloatRunResult } from './types.js';

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
  let session: OrtSession;
  try {
    session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], logSeverityLevel: 3 });
  } catch (e) {
    throw new UsageError(
      'BAD_FILE',
      `${file}: onnxruntime-web could not load it as an ONNX model: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`,
    );
  }
  const inputs = session.inputNames.map((name, i) => {
    const meta = session.inputMetadata[i];
    const shape =
      meta && meta.isTensor && meta.shape ? meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1)) : [];
    return { name, shape };
  });
  return {
    kind: 'onnx',
    file,
    inputs,
    nativeLayout: 'nchw',
    intermediates: false,
    async run(values): Promise<FloatRunResult> {
      const feeds: Record<string, OrtTensor> = {};
      inputs.forEach((inp, i) => {
        feeds[inp.name] = new ort.Tensor('float32', values[i], [...inp.shape]);
      });
      const r = await session.run(feeds);
      const outputs = session.outputNames.map((name) => {
        const t = r[name];
        if (t.type !== 'float32')
          throw new UsageError('BAD_FILE', `${file}: output ${name} is ${t.type}; kpusim compares float32 outputs`);
        const shape = [...t.dims];
        return {
          name,
          op: 'output',
          shape,
          layout: shape.length === 4 ? ('nchw' as const) : ('plain' as const),
          values: Float32Array.from(t.data as Float32Array),
        };
      });
      return { outputs, intermediates: [] };
    },
    dispose() {
      void session.release();
    },
  };
}
