/** RESIZE_NEAREST_NEIGHBOR (type 22, float) and its uint8 twin (23) (docs/adding-an-op.md). */
import { parseQuantizedResizeNearestNeighbor, parseResizeNearestNeighbor } from '../../kmodel-parser/v3/bodies.js';
import type { TensorDesc } from '../../kmodel-parser/model.js';
import type { V3ResizeFields } from '../../kmodel-parser/v3/types.js';
import { resizeNearestNeighborV3 } from '../../kpu/ops/v3/resize-nearest-neighbor.js';
import type { Regions } from '../../kpu/region.js';
import { NO_MACS, NO_WEIGHTS, defineV3Op, mainOut, type V3Exec } from './def.js';

function resize(elem: 'f32' | 'u8') {
  return (l: V3ResizeFields & { outputs: readonly TensorDesc[] }, m: Regions): V3Exec => {
    const s = l.in_shape;
    const n = l.out_width * l.out_height * s.channels;
    const view = (what: string, address: number, count: number) =>
      elem === 'f32' ? m.f32(what, address, count) : m.u8(what, address, count);
    const src = view('input', l.main_mem_in_address, s.width * s.height * s.channels);
    const dst = view('output', l.main_mem_out_address, n);
    return {
      exec: () => resizeNearestNeighborV3(src, dst, s.width, s.height, s.channels, l.out_width, l.out_height),
      output: mainOut(l.main_mem_out_address, n * (elem === 'f32' ? 4 : 1), l.outputs[0]),
    };
  };
}

export const resizeNearestNeighborOp = defineV3Op({
  code: 22,
  name: 'RESIZE_NEAREST_NEIGHBOR',
  unit: 'CPU',
  parse: parseResizeNearestNeighbor,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'sdk-layout',
  prepare: resize('f32'),
});

export const quantizedResizeNearestNeighborOp = defineV3Op({
  code: 23,
  name: 'QUANTIZED_RESIZE_NEAREST_NEIGHBOR',
  unit: 'CPU',
  parse: parseQuantizedResizeNearestNeighbor,
  macs: NO_MACS,
  weightBytes: NO_WEIGHTS,
  cost: 'sdk-layout',
  prepare: resize('u8'),
});
