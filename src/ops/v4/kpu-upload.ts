/**
 * kpu_upload (opcode 0x2001, `KPUUpload` in traces): nncase 0.2's `runtime_opcode` as kpusim defines it
 * (docs/adding-an-op.md).
 */
import { KpuFault } from '../../errors.js';
import { parseKpuUpload } from '../../kmodel-parser/v4/bodies.js';
import { kpuRows, kpuUpload } from '../../kpu/layout.js';
import { NO_WEIGHTS, defineV4Op, stated, NO_MACS } from './def.js';

export const kpuUploadOp = defineV4Op({
  code: 0x2001,
  name: 'kpu_upload',
  traceName: 'KPUUpload',
  unit: 'CPU',
  parse: parseKpuUpload,
  io: (b) => ({
    inputs: [stated(b.input, b.in_shape)],
    outputs: [stated(b.output, b.in_shape)],
  }),
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'nncase-upload',
  prepare: (n, m) => {
    const b = n.body;
    const src = m.u8('input', b.input);
    const [N, C, H, W] = b.in_shape;
    m.u8('output', b.output);
    if (b.output.memory_type !== 'kpu' || b.output.size < kpuRows(W, H, C) * 64 * N) {
      throw new KpuFault(
        'OUT_OF_RANGE',
        `kpu_upload output range must be AI SRAM of ${kpuRows(W, H, C) * 64 * N} bytes`,
        { layer: n.index, type: n.type },
        'prepare',
      );
    }
    return {
      exec: () => kpuUpload(src, b.in_shape, m.s.ai, b.output.start),
      transfers: [{ kind: 'upload-cpu', bytes: src.length, aiSram: { address: b.output.start, bytes: b.output.size } }],
    };
  },
});
