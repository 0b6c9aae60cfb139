/** QUANTIZE: float32 to uint8 with scale and bias from the stack (docs/adding-an-op.md). */
import { quantize } from '../../kpu/ops/v5/quantize.js';
import { defineV5Function, quantLike } from './def.js';

export const quantizeFn = defineV5Function({ name: 'QUANTIZE', run: (vm, ins) => quantLike(vm, ins, quantize) });
