/** What the float-model runtimes (TFLite reader, ONNX Runtime Web) hand to the comparison. */

export interface FloatTensor {
  /** The tensor's name in the float model. */
  readonly name: string;
  /** The operator that produced it ('output' for a graph output). */
  readonly op: string;
  readonly shape: readonly number[];
  /** 'nhwc' for 4-D TFLite activations; 'nchw' for 4-D ONNX ones; 'plain' otherwise. */
  readonly layout: 'nhwc' | 'nchw' | 'plain';
  readonly values: Float32Array;
}

export interface FloatRunResult {
  readonly outputs: readonly FloatTensor[];
  /** Every operator's first output in execution order (always for TFLite; ONNX when asked for). */
  readonly intermediates: readonly FloatTensor[];
}

export interface FloatInputInfo {
  readonly name: string;
  /** Shape as the float model declares it (batch 1 substituted for a symbolic dimension). */
  readonly shape: readonly number[];
}

/** An original float network ready to run. */
export interface FloatModel {
  readonly kind: 'tflite' | 'onnx';
  readonly file: string;
  readonly inputs: readonly FloatInputInfo[];
  /** Layout of the model's 4-D tensors: TFLite is NHWC, ONNX NCHW. */
  readonly nativeLayout: 'nhwc' | 'nchw';
  /** Whether `run` can give intermediate tensors (for per-layer curves). */
  readonly intermediates: boolean;
  /** `intermediates`: also return every operator's first output (ONNX runs a second, traced session). */
  run(inputs: readonly Float32Array[], opts?: { readonly intermediates?: boolean }): Promise<FloatRunResult>;
  dispose(): void;
}
