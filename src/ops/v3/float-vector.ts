/**
 * The float vector layers: L2_NORMALIZATION (type 14), SOFTMAX (15) and LOGISTIC (25), each over `channels`
 * float elements in place of a shape (docs/adding-an-op.md).
 */
import { parseChannels } from '../../kmodel-parser/v3/bodies.js';
import type { TensorDesc } from '../../kmodel-parser/model.js';
import type { V3ChannelsFields } from '../../kmodel-parser/v3/types.js';
import type { PrepareContext } from '../../kpu/machine.js';
import type { CpuNumerics } from '../../kpu/ops/common.js';
import { l2NormalizationV3 } from '../../kpu/ops/v3/l2-normalization.js';
import { logisticV3 } from '../../kpu/ops/v3/logistic.js';
import { softmaxV3 } from '../../kpu/ops/v3/softmax.js';
import type { Regions } from '../../kpu/region.js';
import { NO_MACS, NO_WEIGHTS, defineV3Op, mainOut, type V3Exec } from './def.js';

type VectorKernel = (src: Float32Array, dst: Float32Array, n: number, cpu: CpuNumerics) => void;

function vector(kernel: VectorKernel) {
  return (
    l: V3ChannelsFields & { outputs: readonly TensorDesc[] },
    m: Regions,
    _ai: Regions,
    _s: unknown,
    ctx: PrepareContext,
  ): V3Exec => {
    const src = m.f32('input', l.main_mem_in_address, l.channels);
    const dst = m.f32('output', l.main_mem_out_address, l.channels);
    return {
      exec: () => kernel(src, dst, l.channels, ctx.cpu),
      output: mainOut(l.main_mem_out_address, l.channels * 4, l.outputs[0]),
    };
  };
}

export const l2NormalizationOp = defineV3Op({
  code: 14,
  name: 'L2_NORMALIZATION',
  unit: 'CPU',
  parse: parseChannels,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'sdk-l2-normalize',
  prepare: vector(l2NormalizationV3),
});

export const softmaxOp = defineV3Op({
  code: 15,
  name: 'SOFTMAX',
  unit: 'CPU',
  parse: parseChannels,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'sdk-transcendental',
  prepare: vector((src, dst, n) => softmaxV3(src, dst, n)),
});

export const logisticOp = defineV3Op({
  code: 25,
  name: 'LOGISTIC',
  unit: 'CPU',
  parse: parseChannels,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'sdk-transcendental',
  prepare: vector((src, dst, n) => logisticV3(src, dst, n)),
});
