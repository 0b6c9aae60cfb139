/**
 * Float reference of a kmodel v4 (nncase 0.2): one `RefLayer` per node. Quantised ops become the
 * real-valued functions their integer parameters encode (kpu-numerics §7.2): a multiplier m with
 * shift s is the factor m·2^−s, the offsets are zero points, and nothing is rounded; a uint8
 * result keeps only the saturation to [0, 255].
 */
import type {
  KmodelV4,
  MemoryRange,
  Shape4 as V4Shape,
  V4Node,
  V4NodeOfType,
  V4OpName,
} from '../kmodel-parser/v4/types.js';
import { decodeNnil, nnilUnaryMethod } from '../kpu/ops/v4/nnil-unary-method.js';
import { UNARY_REAL } from '../kpu/ops/v5/unary.js';
import { isNotApplicable, notApplicable, type NotApplicable } from '../ops/not-applicable.js';
import { win } from '../ops/v4/def.js';
import { tf } from './backend.js';
import { quantFact, type RefLayer, type ReferenceModel } from './graph.js';
import { kpuConvLayer } from './kpu-conv.js';
import {
  binaryFloat,
  conv2dFloat,
  interpolateTable,
  padCrop,
  reduceWindowFloat,
  resizeFloat,
  sat8,
  tfRun,
  type Shape4,
} from './ops.js';
import { inferQuant } from './quant.js';
import { tensorRef, type TensorRef } from './tensors.js';

const memName = (r: MemoryRange) => (r.memory_type === 'kpu' ? 'ai' : r.memory_type);
const elemBytes = (r: MemoryRange) => (r.datatype === 'float32' ? 4 : 1);

/** A dense tensor over a memory range; `shape` when its element count matches the range. */
function rangeRef(r: MemoryRange, shape?: readonly number[]): TensorRef {
  const n = Math.floor(r.size / elemBytes(r));
  const s = shape && shape.reduce((a, b) => a * b, 1) === n ? shape : [n];
  return tensorRef(memName(r), r.datatype, r.start, s);
}

const sh4 = (s: V4Shape): Shape4 => [s[0], s[1], s[2], s[3]];
const clampTo = (v: Float32Array, lo: number, hi: number): Float32Array => {
  for (let i = 0; i < v.length; i++) v[i] = v[i] < lo ? lo : v[i] > hi ? hi : v[i];
  return v;
};
/** A quantised multiplier: m·2^−s as a real factor. */
const factor = (mul: number, shift: number) => mul * 2 ** -shift;

type Partial4 = Omit<RefLayer, 'index' | 'type' | 'unit'>;
type Builder<K extends V4OpName> = (n: V4NodeOfType<K>) => Partial4;

type FloatConvNode = V4NodeOfType<'conv2d' | 'cpu_conv2d' | 'cpu_depthwise_conv2d'>;
type QuantizedConvNode = V4NodeOfType<'quantized_conv2d' | 'cpu_quantized_conv2d' | 'cpu_quantized_depthwise_conv2d'>;

/** The input and output tensors of a conv node, and its input shape. */
const convIo = (n: FloatConvNode | QuantizedConvNode) => ({
  input: rangeRef(n.body.input, n.body.in_shape),
  output: rangeRef(n.body.output, n.outputs[0]?.shape),
  inShape: sh4(n.body.in_shape),
});

/**
 * Shared by quantized_conv2d and the cpu_quantized_* ops: (x − zx)(w − zw) conv + bias, times mul·2^−shift, + zo.
 * `groups` and `outChannels`: the body's for quantized_conv2d, 1 and the body's for cpu_quantized_conv2d, C and C for
 * the depthwise op.
 */
function quantizedConv(n: QuantizedConvNode, groups: number, outChannels: number): Partial4 {
  const p = n.body;
  const { input, output, inShape } = convIo(n);
  const wf = Float32Array.from(p.weights, (v) => v + p.filter_offset);
  const f = factor(p.output_mul, p.output_shift);
  const src = `node ${n.index} ${n.type}`;
  const w = win(p);
  return {
    inputs: [input],
    outputs: [output],
    quantFacts: [quantFact(input, src, -p.input_offset), quantFact(output, src, p.output_offset)],
    run: ([x]) => {
      const xc = Float32Array.from(x, (v) => v + p.input_offset);
      const { values } = conv2dFloat(xc, inShape, wf, p.bias, groups, outChannels, w);
      for (let i = 0; i < values.length; i++) values[i] = sat8(values[i] * f + p.output_offset);
      return [values];
    },
  };
}

/** The float conv ops, clamped to the fused activation; `groups` and `outChannels` as for quantizedConv. */
function floatConv(n: FloatConvNode, groups: number, outChannels: number): Partial4 {
  const b = n.body;
  const { input, output, inShape } = convIo(n);
  const w = win(b);
  const { min, max } = b.fused_activation;
  return {
    inputs: [input],
    outputs: [output],
    run: ([x]) => [clampTo(conv2dFloat(x, inShape, b.weights, b.bias, groups, outChannels, w).values, min, max)],
  };
}

/** The float counterpart of every v4 op: total over the op names, like the op table in src/ops/v4/. */
const BUILDERS = {
  kpu_conv2d: (n) =>
    kpuConvLayer(
      n.kpu,
      n.batches,
      (output) =>
        n.main_mem_output.size !== 0
          ? tensorRef(memName(n.main_mem_output), 'uint8', n.main_mem_output.start, output.shape)
          : undefined,
      `node ${n.index} kpu_conv2d arg_w`,
      n.kpu.arg.shr_w === 0,
    ),
  kpu_upload: (n) => {
    const [N, C, H, W] = n.body.in_shape;
    const input = rangeRef(n.body.input, [N, C, H, W]);
    const output = tensorRef('ai', 'uint8', n.body.output.start, [N, C, H, W], 'kpu');
    return { inputs: [input], outputs: [output], sameQuant: [[input, output]], run: ([x]) => [x] };
  },
  dequantize: (n) => {
    const b = n.body;
    const input = rangeRef(b.input, n.inputs[0]?.shape);
    const output = rangeRef(b.output, n.outputs[0]?.shape);
    const zp = b.quant_param.zero_point;
    const s = 1 / b.quant_param.scale;
    return {
      inputs: [input],
      outputs: [output],
      quantFacts: [quantFact(input, `node ${n.index} dequantize`, zp, s)],
      run: ([q]) => [Float32Array.from(q, (v) => (v - zp) * s)],
    };
  },
  quantize: (n) => {
    const b = n.body;
    const input = rangeRef(b.input, n.inputs[0]?.shape);
    const output = rangeRef(b.output, n.outputs[0]?.shape);
    const zp = b.quant_param.zero_point;
    const sc = b.quant_param.scale;
    return {
      inputs: [input],
      outputs: [output],
      quantFacts: [quantFact(output, `node ${n.index} quantize`, zp, 1 / sc)],
      run: ([x]) => [Float32Array.from(x, (v) => sat8(v * sc + zp))],
    };
  },
  binary: (n) => {
    const b = n.body;
    const a = rangeRef(b.input_a, b.in_a_shape);
    const c = rangeRef(b.input_b, b.in_b_shape);
    const out = rangeRef(b.output, b.out_shape);
    return {
      inputs: [a, c],
      outputs: [out],
      run: ([x, y]) => [
        clampTo(
          binaryFloat(x, sh4(b.in_a_shape), y, sh4(b.in_b_shape), b.binary_op, sh4(b.out_shape)),
          b.fused_activation.min,
          b.fused_activation.max,
        ),
      ],
    };
  },
  quantized_binary: (n) => {
    const b = n.body;
    const a = rangeRef(b.input_a, b.in_a_shape);
    const c = rangeRef(b.input_b, b.in_b_shape);
    const out = rangeRef(b.output, b.out_shape);
    const fa = factor(b.input_a_mul, b.input_a_shift);
    const fb = factor(b.input_b_mul, b.input_b_shift);
    const fo = factor(b.output_mul, b.output_shift);
    const src = `node ${n.index} quantized_binary`;
    return {
      inputs: [a, c],
      outputs: [out],
      quantFacts: [
        quantFact(a, src, -b.input_a_offset),
        quantFact(c, src, -b.input_b_offset),
        quantFact(out, src, b.output_offset),
      ],
      run: ([x, y]) => {
        const xa = Float32Array.from(x, (v) => (v + b.input_a_offset) * fa);
        const yb = Float32Array.from(y, (v) => (v + b.input_b_offset) * fb);
        const r = binaryFloat(xa, sh4(b.in_a_shape), yb, sh4(b.in_b_shape), b.binary_op, sh4(b.out_shape));
        for (let i = 0; i < r.length; i++) r[i] = sat8(r[i] * fo + b.output_offset);
        return [r];
      },
    };
  },
  concat: (n) => {
    const b = n.body;
    const eb = elemBytes(b.output);
    const inner = b.inner_size / eb;
    const ins = b.inputs.map((r) => rangeRef(r));
    const out = rangeRef(b.output);
    return {
      inputs: ins,
      outputs: [out],
      sameQuant: b.output.datatype === 'uint8' ? [[...ins, out]] : [],
      run: (xs) => [
        tfRun(() =>
          tf.concat(
            xs.map((x, i) =>
              tf.tensor2d(x.subarray(0, b.outer_size * b.dims[i] * inner), [b.outer_size, b.dims[i] * inner]),
            ),
            1,
          ),
        ),
      ],
    };
  },
  conv2d: (n) => floatConv(n, n.body.groups, n.body.out_channels),
  cpu_conv2d: (n) => floatConv(n, 1, n.body.out_channels),
  cpu_depthwise_conv2d: (n) => floatConv(n, n.body.in_shape[1], n.body.in_shape[1]),
  quantized_conv2d: (n) => quantizedConv(n, n.body.groups, n.body.out_channels),
  cpu_quantized_conv2d: (n) => quantizedConv(n, 1, n.body.out_channels),
  cpu_quantized_depthwise_conv2d: (n) => quantizedConv(n, n.body.in_shape[1], n.body.in_shape[1]),
  matmul: (n) => {
    const b = n.body;
    const a = rangeRef(b.input_a, [b.a_rows, b.a_cols]);
    const c = rangeRef(b.input_b, [b.a_cols, b.b_cols]);
    const out = rangeRef(b.output, [b.a_rows, b.b_cols]);
    return {
      inputs: [a, c],
      outputs: [out],
      run: ([x, y]) => [
        clampTo(
          tfRun(() =>
            tf.add(
              tf.matMul(tf.tensor2d(x, [b.a_rows, b.a_cols]), tf.tensor2d(y, [b.a_cols, b.b_cols])),
              tf.tensor1d(b.bias),
            ),
          ),
          b.fused_activation.min,
          b.fused_activation.max,
        ),
      ],
    };
  },
  quantized_matmul: (n) => {
    const b = n.body;
    const a = rangeRef(b.input_a, [b.a_rows, b.a_cols]);
    const c = rangeRef(b.input_b, [b.a_cols, b.b_cols]);
    const out = rangeRef(b.output, [b.a_rows, b.b_cols]);
    const f = factor(b.output_mul, b.output_shift);
    const src = `node ${n.index} quantized_matmul`;
    return {
      inputs: [a, c],
      outputs: [out],
      quantFacts: [
        quantFact(a, src, -b.input_a_offset),
        quantFact(c, src, -b.input_b_offset),
        quantFact(out, src, b.output_offset),
      ],
      run: ([x, y]) => {
        const r = tfRun(() =>
          tf.add(
            tf.matMul(
              tf.tensor2d(
                Float32Array.from(x, (v) => v + b.input_a_offset),
                [b.a_rows, b.a_cols],
              ),
              tf.tensor2d(
                Float32Array.from(y, (v) => v + b.input_b_offset),
                [b.a_cols, b.b_cols],
              ),
            ),
            tf.tensor1d(Float32Array.from(b.bias)),
          ),
        );
        for (let i = 0; i < r.length; i++) r[i] = sat8(r[i] * f + b.output_offset);
        return [r];
      },
    };
  },
  pad: (n) => {
    const b = n.body;
    const input = rangeRef(b.input, b.in_shape);
    const outShape = b.in_shape.map((d, i) => d + b.paddings[i].before + b.paddings[i].after);
    const output = rangeRef(b.output, outShape);
    const st = b.pad_value.storage;
    const value =
      b.input.datatype === 'float32' ? new DataView(st.buffer, st.byteOffset, 4).getFloat32(0, true) : st[0];
    return {
      inputs: [input],
      outputs: [output],
      sameQuant: b.input.datatype === 'uint8' ? [[input, output]] : [],
      run: ([x]) => [
        tfRun(() => padCrop(tf.tensor4d(x, [...b.in_shape] as [number, number, number, number]), b.paddings, value)),
      ],
    };
  },
  reduce: (n) => {
    const b = n.body;
    const input = rangeRef(b.input, b.in_shape);
    const output = rangeRef(b.output, b.out_shape);
    const axes = [0, 1, 2, 3].filter((i) => b.out_shape[i] === 1 && b.in_shape[i] !== 1);
    const k = axes.reduce((a, i) => a * b.in_shape[i], 1);
    return {
      inputs: [input],
      outputs: [output],
      run: ([x]) => {
        const t = () => tf.tensor4d(x, [...b.in_shape] as [number, number, number, number]);
        const init = b.init_value;
        switch (b.reduce_op) {
          case 'sum':
            return [tfRun(() => tf.add(axes.length ? tf.sum(t(), axes, true) : t(), init))];
          case 'mean':
            return [tfRun(() => tf.div(tf.add(axes.length ? tf.sum(t(), axes, true) : t(), init), k))];
          case 'min':
            return [tfRun(() => tf.minimum(axes.length ? tf.min(t(), axes, true) : t(), init))];
          case 'max':
            return [tfRun(() => tf.maximum(axes.length ? tf.max(t(), axes, true) : t(), init))];
        }
      },
    };
  },
  reduce_window2d: (n) => reduceWindow(n.body, n.outputs[0]?.shape),
  cpu_reduce_window2d: (n) => reduceWindow(n.body, n.outputs[0]?.shape),
  memory_copy: (n) => {
    const input = rangeRef(n.body.input);
    const output = rangeRef(n.body.output);
    return { inputs: [input], outputs: [output], sameQuant: [[input, output]], run: ([x]) => [x] };
  },
  resize_image: (n) => {
    const b = n.body;
    const input = rangeRef(b.input, b.in_shape);
    const output = rangeRef(b.output, [b.in_shape[0], b.in_shape[1], b.out_h, b.out_w]);
    return {
      inputs: [input],
      outputs: [output],
      sameQuant: b.input.datatype === 'uint8' ? [[input, output]] : [],
      run: ([x]) => [
        resizeFloat(
          x,
          sh4(b.in_shape),
          b.out_h,
          b.out_w,
          b.mode === 'bilinear' ? 'bilinear' : 'nearest',
          b.align_corners,
        ),
      ],
    };
  },
  softmax: (n) => {
    const b = n.body;
    const input = rangeRef(b.input, [b.outer_size, b.inner_size]);
    const output = rangeRef(b.output, [b.outer_size, b.inner_size]);
    return {
      inputs: [input],
      outputs: [output],
      run: ([x]) => [tfRun(() => tf.softmax(tf.mul(tf.tensor2d(x, [b.outer_size, b.inner_size]), b.beta)))],
    };
  },
  transpose: (n) => {
    const b = n.body;
    const input = rangeRef(b.input, b.in_shape);
    const output = rangeRef(
      b.output,
      b.perm.map((p) => b.in_shape[p]),
    );
    return {
      inputs: [input],
      outputs: [output],
      sameQuant: b.input.datatype === 'uint8' ? [[input, output]] : [],
      run: ([x]) => [
        tfRun(() => tf.transpose(tf.tensor4d(x, [...b.in_shape] as [number, number, number, number]), [...b.perm])),
      ],
    };
  },
  strided_slice: (n) => {
    const b = n.body;
    const input = rangeRef(b.input, b.in_shape);
    const output = rangeRef(b.output, n.outputs[0]?.shape);
    return {
      inputs: [input],
      outputs: [output],
      sameQuant: b.input.datatype === 'uint8' ? [[input, output]] : [],
      // The runtime's loop over begin/end/strides as stored (masks already resolved by the compiler);
      // tfjs's stridedSlice would re-normalise a stored end of −1, so this is a plain gather.
      run: ([x]) => {
        const out: number[] = [];
        const cond = (i: number, e: number, s: number) => (s > 0 ? i < e : i > e);
        const [s0, s1, s2, s3] = b.strides;
        const [, d1, d2, d3] = b.in_shape;
        for (let a = b.begin[0]; cond(a, b.end[0], s0); a += s0)
          for (let c = b.begin[1]; cond(c, b.end[1], s1); c += s1)
            for (let y = b.begin[2]; cond(y, b.end[2], s2); y += s2)
              for (let z = b.begin[3]; cond(z, b.end[3], s3); z += s3) out.push(x[((a * d1 + c) * d2 + y) * d3 + z]);
        return [Float32Array.from(out)];
      },
    };
  },
  unary: (n) => {
    const b = n.body;
    const input = rangeRef(b.input);
    const output = rangeRef(b.output);
    const fn: (v: number) => number = UNARY_REAL[b.unary_op];
    return { inputs: [input], outputs: [output], run: ([x]) => [Float32Array.from(x, fn)] };
  },
  table_lookup1d: (n) => {
    const b = n.body;
    const input = rangeRef(b.input);
    const table = rangeRef(b.table);
    const output = rangeRef(b.output);
    return {
      inputs: [input, table],
      outputs: [output],
      note: 'the 256-entry table is interpolated linearly between its entries',
      run: ([x, t]) => [Float32Array.from(x, (v) => sat8(interpolateTable(t, v)))],
    };
  },
  nnil_unary_method: (n) => {
    const b = n.body;
    const input = rangeRef(b.input);
    const output = rangeRef(b.output);
    const program = decodeNnil(b.body);
    return {
      inputs: [input],
      outputs: [output],
      note: 'float op: the nnil program is run as the emulator runs it',
      run: ([x]) => {
        const y = new Float32Array(x.length);
        nnilUnaryMethod(x, y, program);
        return [y];
      },
    };
  },
  conv2d_transpose: notApplicable('not written yet: no model in the shared corpus uses it'),
} satisfies { readonly [K in V4OpName]: Builder<K> | NotApplicable };

function reduceWindow(b: V4NodeOfType<'reduce_window2d'>['body'], outShape: readonly number[] | undefined): Partial4 {
  const input = rangeRef(b.input, b.in_shape);
  const output = rangeRef(b.output, outShape);
  return {
    inputs: [input],
    outputs: [output],
    run: ([x]) => [
      clampTo(
        reduceWindowFloat(x, sh4(b.in_shape), b.reduce_op, b.init_value, win(b)).values,
        b.fused_activation.min,
        b.fused_activation.max,
      ),
    ],
  };
}

/** Input/output tensors of a node the reference cannot run (from its memory ranges). */
function opaque(n: V4Node, why: string): Partial4 {
  return {
    inputs: n.inputRanges.map((r, i) => rangeRef(r, n.inputs[i]?.shape)),
    outputs: n.outputRanges.map((r, i) => rangeRef(r, n.outputs[i]?.shape)),
    note: why,
  };
}

export function buildReferenceV4(model: KmodelV4): ReferenceModel {
  const layers: RefLayer[] = model.layers.map((n) => {
    const build = BUILDERS[n.type] as Builder<V4OpName> | NotApplicable;
    const part = isNotApplicable(build)
      ? opaque(n, `no float counterpart of ${n.type}; the cumulative run takes the emulator's result`)
      : build(n as never);
    return { index: n.index, type: n.type, unit: n.unit, ...part };
  });
  const inputs = model.inputs.map((inp) => {
    const r = inp.range;
    if (r.memory_type === 'kpu') return tensorRef('ai', 'uint8', r.start, inp.shape, 'kpu');
    return rangeRef(r, inp.shape);
  });
  const outputs = model.outputs.map((o) => rangeRef(o.range, o.shape));
  const ref: ReferenceModel = {
    model,
    layers,
    inputs,
    outputs,
    constants: model.constants,
    mainBytes: model.mainMemBytes,
    producers: [],
    dispose() {
      for (const l of layers) l.dispose?.();
    },
  };
  inferQuant(ref, (layer) => {
    // nncase 0.2 (beta4) puts real zero at bn = 0: the activation's value there is the output
    // zero point of a ReLU/leaky/identity layer.
    const n = model.layers[layer];
    if (n?.type !== 'kpu_conv2d') return undefined;
    const segs = n.kpu.activation;
    let k = 15;
    while (k > 0 && !(0 > segs[k].x_start)) k--;
    return sat8((0 - segs[k].x_start) * segs[k].y_mul * 2 ** -segs[k].shift_number + segs[k].bias);
  });
  return ref;
}
