/** nncase 1.x `kernels::binary` over float32 with broadcasting (kmodel v5 BINARY). */
import { KpuFault } from '../../../errors.js';
import { cxxMax, cxxMin } from '../common.js';
import { alignStrides, forEach3, view, type StridedTensor } from '../../v5/tensor.js';
import { clampF } from '../../v5/number-formats.js';

const f32 = Math.fround;

export const BINARY_FUNCS: readonly ((a: number, b: number) => number)[] = [
  (a, b) => f32(a + b),
  (a, b) => f32(a - b),
  (a, b) => f32(a * b),
  (a, b) => f32(a / b),
  cxxMin,
  cxxMax,
  // powf: Math.pow is correctly rounded in double; rounding to float can differ from glibc's powf by 1 ulp.
  (a, b) => f32(a ** b),
];

/** Broadcast output shape (`get_binary_output_shape`). */
export function binaryOutputShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = i - (n - a.length) < 0 ? 1 : a[i - (n - a.length)];
    const db = i - (n - b.length) < 0 ? 1 : b[i - (n - b.length)];
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else throw new KpuFault('BAD_LAYER', `binary: shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast`);
  }
  return out;
}

/** Strides of a broadcast input on the output's rank: leading axes and size-1 axes get stride 0. */
function broadcastStrides(outShape: readonly number[], shape: readonly number[], strides: readonly number[]): number[] {
  const s = alignStrides(shape, strides);
  const ext = outShape.length - shape.length;
  return outShape.map((_, i) => (i < ext || shape[i - ext] === 1 ? 0 : s[i - ext]));
}

/** `kernels::binary` (reference, float32): out = clamp(op(a, b), low, high) with broadcasting. */
export function binary(
  op: number,
  a: StridedTensor,
  b: StridedTensor,
  output: StridedTensor,
  low: number,
  high: number,
): void {
  const fn = BINARY_FUNCS[op];
  if (!fn) throw new KpuFault('UNSUPPORTED', `binary op ${op} is not supported by nncase's reference binary kernel`);
  const outShape = binaryOutputShape(a.shape, b.shape);
  const da = view(a);
  const db = view(b);
  const dout = view(output);
  const ab = a.offset;
  const bb = b.offset;
  const ob = output.offset;
  forEach3(
    outShape,
    broadcastStrides(outShape, a.shape, a.strides),
    broadcastStrides(outShape, b.shape, b.strides),
    alignStrides(outShape, output.strides),
    (x, y, o) => {
      dout.setFloat32(
        ob + 4 * o,
        clampF(fn(da.getFloat32(ab + 4 * x, true), db.getFloat32(bb + 4 * y, true)), low, high),
        true,
      );
    },
  );
}
