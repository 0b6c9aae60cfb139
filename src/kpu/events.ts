/**
 * The interpreter's event trace: one event per executed layer (v3), node (v4) or op (v5).
 * The timing model is a separate pass over these events and never touches data.
 */
import type { KpuConvGeometry } from '../kmodel-parser/model.js';

export interface TransferEvent {
  /** dma: the SDK's DMA path (W % 64 == 0 uploads, v3 conv outputs to main memory);
   *  cpu: a CPU copy with layout conversion (v3 uploads otherwise, v4/v5 downloads). */
  readonly kind: 'upload-dma' | 'upload-cpu' | 'download-dma' | 'download-cpu';
  readonly bytes: number;
  /** Uploads: the AI SRAM byte range the transfer writes (in the KPU layout), for occupancy. */
  readonly aiSram?: { readonly address: number; readonly bytes: number };
}

export interface LayerEvent {
  readonly index: number;
  /** Upstream type name as `kpusim info` prints it. */
  readonly type: string;
  readonly unit: 'KPU' | 'CPU';
  readonly inputShapes: readonly (readonly number[])[];
  readonly outputShapes: readonly (readonly number[])[];
  /** Bytes read and written by the layer (all tensors). */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Multiply-accumulates (KPU convs, FC, float convs); 0 for data movement. */
  readonly macs: number;
  /** Elements the layer produces, for per-element CPU costs. */
  readonly elements: number;
  /** KPU conv details for the timing model. */
  readonly kpu?: {
    readonly geometry: KpuConvGeometry;
    readonly weightBits: 8 | 16;
    readonly batches: number;
    readonly weightBytes: number;
    /** AI SRAM byte ranges the layer reads and writes, for occupancy. */
    readonly input: { readonly address: number; readonly bytes: number };
    readonly output: { readonly address: number; readonly bytes: number };
  };
  /** Data movement caused by this layer (the board counts it in the layer's time). */
  readonly transfers: readonly TransferEvent[];
}
