/** DEQUANTIZE: uint8 to float32, (q − bias)·scale with scale and bias from the stack (docs/adding-an-op.md). */
import { dequantize } from '../../kpu/ops/v5/quantize.js';
import { defineV5Function, quantLike } from './def.js';

export const dequantizeFn = defineV5Function({ name: 'DEQUANTIZE', run: (vm, ins) => quantLike(vm, ins, dequantize) });
