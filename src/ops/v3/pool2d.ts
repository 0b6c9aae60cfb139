/**
 * The windowed pools: MAX_POOL2D (type 7, float; the SDK has no case for it, but nncase 0.1 writes the
 * AVERAGE_POOL2D fields for it), QUANTIZED_MAX_POOL2D (8) and AVERAGE_POOL2D (9) (docs/adding-an-op.md).
 */
import { parseAveragePool2d, parseMaxPool2d, parseQuantizedMaxPool2d } from '../../kmodel-parser/v3/bodies.js';
import type { V3Pool2dFields } from '../../kmodel-parser/v3/types.js';
import { averagePool2dV3 } from '../../kpu/ops/v3/average-pool2d.js';
import { quantizedMaxPool2dV3 } from '../../kpu/ops/v3/quantized-max-pool2d.js';
import { NO_MACS, NO_WEIGHTS, SDK_LACKS, defineV3Op, mainOut } from './def.js';

/** The kernels' geometry from the body's fields. */
function poolGeometry(l: V3Pool2dFields) {
  return {
    inWidth: l.in_shape.width,
    inHeight: l.in_shape.height,
    outWidth: l.out_shape.width,
    outHeight: l.out_shape.height,
    channels: l.in_shape.channels,
    kernelWidth: l.kernel_width,
    kernelHeight: l.kernel_height,
    strideWidth: l.stride_width,
    strideHeight: l.stride_height,
    paddingWidth: l.padding_width,
    paddingHeight: l.padding_height,
  };
}

export const maxPool2dOp = defineV3Op({
  code: 7,
  name: 'MAX_POOL2D',
  unit: 'CPU',
  parse: parseMaxPool2d,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'sdk-pool',
  prepare: SDK_LACKS,
});

export const quantizedMaxPool2dOp = defineV3Op({
  code: 8,
  name: 'QUANTIZED_MAX_POOL2D',
  unit: 'CPU',
  parse: parseQuantizedMaxPool2d,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'sdk-pool',
  prepare: (l, m) => {
    const g = poolGeometry(l);
    const src = m.u8('input', l.main_mem_in_address, g.inWidth * g.inHeight * g.channels);
    const n = g.outWidth * g.outHeight * g.channels;
    const dst = m.u8('output', l.main_mem_out_address, n);
    return { exec: () => quantizedMaxPool2dV3(src, dst, g), output: mainOut(l.main_mem_out_address, n, l.outputs[0]) };
  },
});

export const averagePool2dOp = defineV3Op({
  code: 9,
  name: 'AVERAGE_POOL2D',
  unit: 'CPU',
  parse: parseAveragePool2d,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'sdk-pool',
  prepare: (l, m) => {
    const g = poolGeometry(l);
    const src = m.f32('input', l.main_mem_in_address, g.inWidth * g.inHeight * g.channels);
    const n = g.outWidth * g.outHeight * g.channels;
    const dst = m.f32('output', l.main_mem_out_address, n);
    return { exec: () => averagePool2dV3(src, dst, g), output: mainOut(l.main_mem_out_address, n * 4, l.outputs[0]) };
  },
});
