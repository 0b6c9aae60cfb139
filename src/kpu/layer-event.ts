/**
 * The static event of a v3 layer or v4 node: shapes, bytes, MACs and, for KPU convs, the
 * geometry and AI SRAM ranges the timing model needs. Built once in `prepare`.
 */
import { kpuConvGeometry, type KpuConvParams, type TensorDesc } from '../kmodel-parser/model.js';
import { kpuRows } from '../kmodel-parser/kpu-layout.js';
import { summarizeLayer } from '../kmodel-parser/summary.js';
import type { LayerEvent, TransferEvent } from './events.js';

export function layerEvent(
  l: {
    index: number;
    type: string;
    unit: 'KPU' | 'CPU';
    kpu?: KpuConvParams;
    inputs?: readonly TensorDesc[];
    outputs?: readonly TensorDesc[];
  },
  transfers: TransferEvent[],
  batches = 1,
): LayerEvent {
  const s = summarizeLayer(l as never);
  const ins = l.inputs ?? [];
  const outs = l.outputs ?? [];
  const bytesOf = (ts: readonly TensorDesc[]) => ts.reduce((a, t) => a + t.bytes, 0);
  const elemsOf = (ts: readonly TensorDesc[]) => ts.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
  let kpu: LayerEvent['kpu'];
  if (l.kpu) {
    const g = kpuConvGeometry(l.kpu.arg);
    kpu = {
      geometry: g,
      weightBits: l.kpu.weightBits,
      batches,
      weightBytes: l.kpu.weights.length,
      input: {
        address: l.kpu.arg.image_src_addr * 64,
        bytes: kpuRows(g.inWidth, g.inHeight, g.inChannels) * 64 * batches,
      },
      output: {
        address: l.kpu.arg.image_dst_addr * 64,
        bytes: kpuRows(g.outWidth, g.outHeight, g.outChannels) * 64 * batches,
      },
    };
  }
  return {
    index: l.index,
    type: l.type,
    unit: l.unit,
    inputShapes: s.inputs,
    outputShapes: s.outputs,
    bytesIn: ins.length ? bytesOf(ins) : kpu ? kpu.input.bytes : 0,
    bytesOut: outs.length ? bytesOf(outs) : kpu ? kpu.output.bytes : 0,
    macs: s.macs,
    elements: outs.length ? elemsOf(outs) : s.outputs.reduce((a, sh) => a + sh.reduce((x, y) => x * y, 1), 0),
    kpu,
    transfers,
  };
}
