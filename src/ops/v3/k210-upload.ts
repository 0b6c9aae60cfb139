/**
 * K210_UPLOAD (type 10243): dense CHW bytes from the main buffer to AI SRAM in the KPU layout
 * (docs/adding-an-op.md).
 */
import { parseK210Upload } from '../../kmodel-parser/v3/bodies.js';
import { kpuRows, kpuUpload } from '../../kpu/layout.js';
import { NO_MACS, NO_WEIGHTS, defineV3Op } from './def.js';

export const k210UploadOp = defineV3Op({
  code: 10243,
  name: 'K210_UPLOAD',
  unit: 'CPU',
  parse: parseK210Upload,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'sdk-upload',
  prepare: (l, m, ai, s) => {
    const shape = [1, l.channels, l.height, l.width] as const;
    const bytes = l.channels * l.height * l.width;
    const aiSram = { address: l.kpu_mem_out_address * 64, bytes: kpuRows(l.width, l.height, l.channels) * 64 };
    const src = m.u8('upload input', l.main_mem_in_address, bytes);
    ai.u8('upload output', aiSram.address, aiSram.bytes);
    return {
      exec: () => kpuUpload(src, shape, s.ai, aiSram.address),
      output: { memory: 'ai', ...aiSram },
      transfers: [{ kind: l.width % 64 === 0 ? 'upload-dma' : 'upload-cpu', bytes, aiSram }],
    };
  },
});
