/**
 * Float reference of a kmodel v3 (nncase 0.1, run by the Kendryte SDK): one `RefLayer` per
 * layer. v3 quantisation is real = q·scale + bias (zero point −bias/scale); quantised CPU layers
 * become the real-valued functions their integer parameters encode, unrounded, saturated to
 * [0, 255] (kpu-numerics §7.1).
 */
import type { KmodelV3, V3Layer, V3LayerOfType, V3LayerType } from '../kmodel-parser/v3/types.js';
import { isNotApplicable, notApplicable, type NotApplicable } from '../ops/not-applicable.js';
import { tf } from './backend.js';
import { quantFact, type RefLayer, type ReferenceModel } from './graph.js';
import { kpuConvLayer } from './kpu-conv.js';
import { interpolateTable, nhwc, reduceWindowFloat, sat8, tfRun, toNchw } from './ops.js';
import { inferQuant } from './quant.js';
import { tensorRef, type TensorRef } from './tensors.js';

type Partial3 = Omit<RefLayer, 'index' | 'type' | 'unit'>;
type Builder<K extends V3LayerType> = (l: V3LayerOfType<K>) => Partial3;

const u8 = (address: number, shape: readonly number[]) => tensorRef('main', 'uint8', address, shape);
const f32 = (address: number, shape: readonly number[]) => tensorRef('main', 'float32', address, shape);
const identity = (input: TensorRef, output: TensorRef): Partial3 => ({
  inputs: [input],
  outputs: [output],
  sameQuant: [[input, output]],
  run: ([x]) => [x],
});

function activation(v: Float32Array, act: number): Float32Array {
  if (act === 1) for (let i = 0; i < v.length; i++) v[i] = Math.max(0, v[i]);
  else if (act === 2) for (let i = 0; i < v.length; i++) v[i] = Math.min(6, Math.max(0, v[i]));
  return v;
}

function poolWindow(l: Extract<V3Layer, { type: 'QUANTIZED_MAX_POOL2D' | 'AVERAGE_POOL2D' | 'MAX_POOL2D' }>) {
  // The SDK's window starts at o·stride − padding and is clipped to the input; the end padding
  // is whatever the output size needs.
  const after = (inSize: number, outSize: number, k: number, s: number, p: number) =>
    (outSize - 1) * s + k - inSize - p;
  return {
    filterH: l.kernel_height,
    filterW: l.kernel_width,
    strideH: l.stride_height,
    strideW: l.stride_width,
    dilationH: 1,
    dilationW: 1,
    paddingH: {
      before: l.padding_height,
      after: after(l.in_shape.height, l.out_shape.height, l.kernel_height, l.stride_height, l.padding_height),
    },
    paddingW: {
      before: l.padding_width,
      after: after(l.in_shape.width, l.out_shape.width, l.kernel_width, l.stride_width, l.padding_width),
    },
  };
}

/** The float counterpart of every v3 layer type: total over the type names, like the op table in src/ops/v3/. */
const BUILDERS = {
  // kpu-numerics §10 C6: a main-memory result is also written to AI SRAM; outputs[0] stays the AI SRAM map.
  // nncase 0.1: arg_w ≈ bias_x·2^shr_w with a 24-bit mantissa.
  K210_CONV: (l) =>
    kpuConvLayer(
      l.kpu,
      1,
      (output) => ((l.flags & 1) === 1 ? u8(l.main_mem_out_address, output.shape) : undefined),
      `layer ${l.index} K210_CONV arg_w`,
      false,
    ),
  K210_UPLOAD: (l) =>
    identity(
      u8(l.main_mem_in_address, [1, l.channels, l.height, l.width]),
      tensorRef('ai', 'uint8', l.kpu_mem_out_address * 64, [1, l.channels, l.height, l.width], 'kpu'),
    ),
  K210_ADD_PADDING: (l) =>
    identity(
      u8(l.main_mem_in_address, [l.channels]),
      tensorRef('ai', 'uint8', l.kpu_mem_out_address * 64, [l.channels], 'kpu00'),
    ),
  K210_REMOVE_PADDING: (l) => {
    const input = u8(l.main_mem_in_address, [l.channels, 16]);
    const output = u8(l.main_mem_out_address, [l.channels]);
    return {
      inputs: [input],
      outputs: [output],
      sameQuant: [[input, output]],
      run: ([x]) => [Float32Array.from({ length: l.channels }, (_, c) => x[16 * c])],
    };
  },
  QUANTIZE: (l) => {
    const input = f32(l.main_mem_in_address, [l.count]);
    const output = u8(l.mem_out_address, [l.count]);
    const { scale, bias } = l.quant_param;
    return {
      inputs: [input],
      outputs: [output],
      quantFacts: [quantFact(output, `layer ${l.index} QUANTIZE`, -bias / scale, scale)],
      run: ([x]) => [Float32Array.from(x, (v) => sat8((v - bias) / scale))],
    };
  },
  DEQUANTIZE: (l) => {
    const input = u8(l.main_mem_in_address, [l.count]);
    const output = f32(l.main_mem_out_address, [l.count]);
    const { scale, bias } = l.quant_param;
    return {
      inputs: [input],
      outputs: [output],
      quantFacts: [quantFact(input, `layer ${l.index} DEQUANTIZE`, -bias / scale, scale)],
      run: ([q]) => [Float32Array.from(q, (v) => v * scale + bias)],
    };
  },
  CHANNELWISE_DEQUANTIZE: (l) => {
    const n = l.channels * l.channel_size;
    const input = u8(l.main_mem_in_address, [l.channels, l.channel_size]);
    const output = f32(l.main_mem_out_address, [l.channels, l.channel_size]);
    const qp = l.quant_params;
    return {
      inputs: [input],
      outputs: [output],
      quantFacts: [
        {
          ref: input,
          source: `layer ${l.index} CHANNELWISE_DEQUANTIZE`,
          exact: true,
          zeroPoint: qp.map((p) => -p.bias / p.scale),
          scale: qp.map((p) => p.scale),
          channelSize: l.channel_size,
        },
      ],
      run: ([q]) => [
        Float32Array.from(
          { length: n },
          (_, i) => q[i] * qp[Math.floor(i / l.channel_size)].scale + qp[Math.floor(i / l.channel_size)].bias,
        ),
      ],
    };
  },
  REQUANTIZE: (l) => {
    const input = u8(l.main_mem_in_address, [l.count]);
    const output = u8(l.main_mem_out_address, [l.count]);
    return {
      inputs: [input],
      outputs: [output],
      note: 'the 256-entry table is interpolated linearly between its entries',
      run: ([x]) => [Float32Array.from(x, (v) => sat8(interpolateTable(l.table, v)))],
    };
  },
  GLOBAL_AVERAGE_POOL2D: (l) => {
    const input = f32(l.main_mem_in_address, [l.channels, l.kernel_size]);
    const output = f32(l.main_mem_out_address, [l.channels]);
    return {
      inputs: [input],
      outputs: [output],
      run: ([x]) => [tfRun(() => tf.mean(tf.tensor2d(x, [l.channels, l.kernel_size]), 1))],
    };
  },
  QUANTIZED_MAX_POOL2D: (l) => {
    const s = l.in_shape;
    const input = u8(l.main_mem_in_address, [1, s.channels, s.height, s.width]);
    const output = u8(l.main_mem_out_address, [1, s.channels, l.out_shape.height, l.out_shape.width]);
    const w = poolWindow(l);
    return {
      inputs: [input],
      outputs: [output],
      sameQuant: [[input, output]],
      run: ([x]) => [
        tfRun(() => {
          const t = nhwc(x, [1, s.channels, s.height, s.width]);
          // Padding never wins a max: pad with −∞ explicitly, then a 'valid' window.
          const crop = (p: { before: number; after: number }) =>
            [Math.max(0, p.before), Math.max(0, p.after)] as [number, number];
          const padded = tf.pad(t, [[0, 0], crop(w.paddingH), crop(w.paddingW), [0, 0]], -Infinity);
          const sliced = tf.slice(
            padded,
            [0, 0, 0, 0],
            [
              1,
              (l.out_shape.height - 1) * w.strideH + w.filterH,
              (l.out_shape.width - 1) * w.strideW + w.filterW,
              s.channels,
            ],
          );
          // A window with no in-range tap gives the SDK's start value 0.
          return toNchw(tf.maximum(tf.maxPool(sliced, [w.filterH, w.filterW], [w.strideH, w.strideW], 'valid'), 0));
        }),
      ],
    };
  },
  AVERAGE_POOL2D: (l) => {
    const s = l.in_shape;
    const input = f32(l.main_mem_in_address, [1, s.channels, s.height, s.width]);
    const output = f32(l.main_mem_out_address, [1, s.channels, l.out_shape.height, l.out_shape.width]);
    const w = poolWindow(l);
    return {
      inputs: [input],
      outputs: [output],
      run: ([x]) => [reduceWindowFloat(x, [1, s.channels, s.height, s.width], 'mean', 0, w).values],
    };
  },
  SOFTMAX: (l) => {
    const input = f32(l.main_mem_in_address, [l.channels]);
    const output = f32(l.main_mem_out_address, [l.channels]);
    return { inputs: [input], outputs: [output], run: ([x]) => [tfRun(() => tf.softmax(tf.tensor1d(x)))] };
  },
  LOGISTIC: (l) => {
    const input = f32(l.main_mem_in_address, [l.channels]);
    const output = f32(l.main_mem_out_address, [l.channels]);
    return { inputs: [input], outputs: [output], run: ([x]) => [tfRun(() => tf.sigmoid(tf.tensor1d(x)))] };
  },
  L2_NORMALIZATION: (l) => {
    const input = f32(l.main_mem_in_address, [l.channels]);
    const output = f32(l.main_mem_out_address, [l.channels]);
    return {
      inputs: [input],
      outputs: [output],
      run: ([x]) => {
        let s = 0;
        for (const v of x) s += v * v;
        const r = 1 / Math.sqrt(Math.max(s, 1e-10));
        return [Float32Array.from(x, (v) => v * r)];
      },
    };
  },
  FULLY_CONNECTED: (l) => {
    const input = f32(l.main_mem_in_address, [1, l.in_channels]);
    const output = f32(l.main_mem_out_address, [1, l.out_channels]);
    // weights are one row per output channel: [OC, IC]
    return {
      inputs: [input],
      outputs: [output],
      run: ([x]) => [
        activation(
          tfRun(() =>
            tf.add(
              tf.matMul(
                tf.tensor2d(x, [1, l.in_channels]),
                tf.tensor2d(l.weights, [l.out_channels, l.in_channels]),
                false,
                true,
              ),
              tf.tensor1d(l.bias),
            ),
          ),
          l.act,
        ),
      ],
    };
  },
  TENSORFLOW_FLATTEN: (l) => {
    const { width: w, height: h, channels: c } = l.shape;
    const input = f32(l.main_mem_in_address, [c, h, w]);
    const output = f32(l.main_mem_out_address, [h * w * c]);
    return {
      inputs: [input],
      outputs: [output],
      run: ([x]) => [tfRun(() => tf.transpose(tf.tensor3d(x, [c, h, w]), [1, 2, 0]))],
    };
  },
  RESIZE_NEAREST_NEIGHBOR: (l) => resizeNearest(l, false),
  QUANTIZED_RESIZE_NEAREST_NEIGHBOR: (l) => resizeNearest(l, true),
  ADD: (l) => {
    const a = f32(l.main_mem_in_a_address, [l.count]);
    const b = f32(l.main_mem_in_b_address, [l.count]);
    const out = f32(l.main_mem_out_address, [l.count]);
    return { inputs: [a, b], outputs: [out], run: ([x, y]) => [Float32Array.from(x, (v, i) => v + y[i])] };
  },
  QUANTIZED_ADD: (l) => {
    const a = u8(l.main_mem_in_a_address, [l.count]);
    const b = u8(l.main_mem_in_b_address, [l.count]);
    const out = u8(l.main_mem_out_address, [l.count]);
    const src = `layer ${l.index} QUANTIZED_ADD`;
    const fa = l.in_a_mul * 2 ** -l.in_a_shift;
    const fb = l.in_b_mul * 2 ** -l.in_b_shift;
    const fo = l.out_mul * 2 ** -l.out_shift;
    return {
      inputs: [a, b],
      outputs: [out],
      quantFacts: [
        quantFact(a, src, -l.in_a_offset),
        quantFact(b, src, -l.in_b_offset),
        quantFact(out, src, l.out_offset),
      ],
      run: ([x, y]) => [
        Float32Array.from(x, (v, i) =>
          sat8(((v + l.in_a_offset) * fa + (y[i] + l.in_b_offset) * fb) * fo + l.out_offset),
        ),
      ],
    };
  },
  CONCAT: (l) => concat(l, 'float32'),
  QUANTIZED_CONCAT: (l) => concat(l, 'uint8'),
  MAX_POOL2D: notApplicable('the SDK does not run it either'),
  QUANTIZED_TENSORFLOW_FLATTEN: notApplicable('the SDK does not run it either'),
} satisfies { readonly [K in V3LayerType]: Builder<K> | NotApplicable };

function resizeNearest(
  l: Extract<V3Layer, { type: 'RESIZE_NEAREST_NEIGHBOR' | 'QUANTIZED_RESIZE_NEAREST_NEIGHBOR' }>,
  quantized: boolean,
): Partial3 {
  const s = l.in_shape;
  const mk = quantized ? u8 : f32;
  const input = mk(l.main_mem_in_address, [1, s.channels, s.height, s.width]);
  const output = mk(l.main_mem_out_address, [1, s.channels, l.out_height, l.out_width]);
  return {
    inputs: [input],
    outputs: [output],
    sameQuant: quantized ? [[input, output]] : [],
    run: ([x]) => [
      tfRun(() =>
        toNchw(
          tf.image.resizeNearestNeighbor(
            nhwc(x, [1, s.channels, s.height, s.width]),
            [l.out_height, l.out_width],
            false,
            false,
          ),
        ),
      ),
    ],
  };
}

function concat(l: Extract<V3Layer, { type: 'CONCAT' | 'QUANTIZED_CONCAT' }>, dtype: 'uint8' | 'float32'): Partial3 {
  const eb = dtype === 'float32' ? 4 : 1;
  const ins = l.inputs_mem.map((r) => tensorRef('main', dtype, r.start, [Math.floor(r.size / eb)]));
  const total = ins.reduce((a, r) => a + r.elements, 0);
  const out = tensorRef('main', dtype, l.main_mem_out_address, [total]);
  return {
    inputs: ins,
    outputs: [out],
    sameQuant: dtype === 'uint8' ? [[...ins, out]] : [],
    run: (xs) => {
      const o = new Float32Array(total);
      let k = 0;
      for (const x of xs) {
        o.set(x, k);
        k += x.length;
      }
      return [o];
    },
  };
}

export function buildReferenceV3(model: KmodelV3): ReferenceModel {
  const layers: RefLayer[] = model.layers.map((l) => {
    const build = BUILDERS[l.type] as Builder<V3LayerType> | NotApplicable;
    const part: Partial3 = isNotApplicable(build)
      ? { inputs: [], outputs: [], note: `no float counterpart of ${l.type} (${build.notApplicable})` }
      : build(l);
    return { index: l.index, type: l.type, unit: l.unit, ...part };
  });
  const inputs = model.inputs.map((i) =>
    i.memory === 'kpu'
      ? tensorRef('ai', 'uint8', i.address, i.shape, 'kpu')
      : tensorRef('main', i.dtype === 'float32' ? 'float32' : 'uint8', i.address, i.shape),
  );
  const outputs = model.outputs.map((o) =>
    tensorRef('main', o.dtype === 'float32' ? 'float32' : 'uint8', o.address, o.shape),
  );
  const ref: ReferenceModel = {
    model,
    layers,
    inputs,
    outputs,
    constants: new Uint8Array(0),
    mainBytes: model.mainMemBytes,
    producers: [],
    dispose() {
      for (const l of layers) l.dispose?.();
    },
  };
  inferQuant(ref);
  return ref;
}
