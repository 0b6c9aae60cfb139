/**
 * TENSORFLOW_FLATTEN (type 20): CHW in, HWC-ordered vector out. QUANTIZED_TENSORFLOW_FLATTEN (21): nothing writes
 * it and the SDK lacks the case; netron reads the type 20 fields (docs/adding-an-op.md).
 */
import { parseQuantizedTensorflowFlatten, parseTensorflowFlatten } from '../../kmodel-parser/v3/bodies.js';
import { tensorflowFlattenV3 } from '../../kpu/ops/v3/tensorflow-flatten.js';
import { notApplicable } from '../not-applicable.js';
import { NO_MACS, NO_WEIGHTS, SDK_LACKS, defineV3Op, mainOut } from './def.js';

export const tensorflowFlattenOp = defineV3Op({
  code: 20,
  name: 'TENSORFLOW_FLATTEN',
  unit: 'CPU',
  parse: parseTensorflowFlatten,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'sdk-layout',
  prepare: (l, m) => {
    const n = l.shape.width * l.shape.height * l.shape.channels;
    const src = m.f32('input', l.main_mem_in_address, n);
    const dst = m.f32('output', l.main_mem_out_address, n);
    return {
      exec: () => tensorflowFlattenV3(src, dst, l.shape.width, l.shape.height, l.shape.channels),
      output: mainOut(l.main_mem_out_address, n * 4, l.outputs[0]),
    };
  },
});

export const quantizedTensorflowFlattenOp = defineV3Op({
  code: 21,
  name: 'QUANTIZED_TENSORFLOW_FLATTEN',
  unit: 'CPU',
  parse: parseQuantizedTensorflowFlatten,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: notApplicable('the SDK does not run it; the timing model prices it as an unnamed element-wise kernel'),
  prepare: SDK_LACKS,
});
