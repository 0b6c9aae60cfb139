import type { KpuConvParams, TensorDesc } from './model.js';

/** What every layer (v3), node (v4) or op (v5) has in common. */
export interface LayerBase {
  /** Position in file (execution) order, from 0. */
  readonly index: number;
  /**
   * Upstream name: v3 `kpu_model_layer_type_t` name (K210_CONV, DEQUANTIZE, …), v4 nncase 0.2 opcode name (kpu_conv2d,
   * dequantize, …).
   */
  readonly type: string;
  /** The numeric type / opcode as stored. */
  readonly code: number;
  /** Absolute file offset of the body, and its size in bytes as stored in the header. */
  readonly offset: number;
  readonly bodySize: number;
  /** 'KPU' for K210 conv layers, 'CPU' for everything the RISC-V cores run (uploads included). */
  readonly unit: 'KPU' | 'CPU';
  /** Present on K210 conv layers. */
  readonly kpu?: KpuConvParams;
  /** Input and output tensor shapes where the body lets them be known. */
  readonly inputs?: readonly TensorDesc[];
  readonly outputs?: readonly TensorDesc[];
  /** Multiply-accumulates of a CPU layer, from its op definition (a KPU layer's come from its layer argument). */
  readonly macs?: number;
  /** Weight bytes of a CPU layer, from its op definition. */
  readonly weightBytes?: number;
}
