/**
 * kmodel v3 on the emulated chip: one executor per layer type, in one table, as the SDK's
 * `ai_step` runs them (kpu-numerics §2.8, §7.1; §10 C6 for conv outputs to main memory).
 */
import { KpuFault } from '../../errors.js';
import { kpuConvGeometry, type TensorDesc } from '../../kmodel-parser/model.js';
import type { KmodelV3, V3Layer } from '../../kmodel-parser/v3/types.js';
import { prepareKpuConv, runKpuConv } from '../conv/index.js';
import type { TransferEvent } from '../events.js';
import { allocateState, type MachineState, type PrepareContext, type Step, type VersionPlan } from '../machine.js';
import { kpuRows, kpuUpload } from '../layout.js';
import { channelwiseDequantizeV3 } from '../ops/v3/channelwise-dequantize.js';
import { concatV3 } from '../ops/v3/concat.js';
import { dequantizeV3 } from '../ops/v3/dequantize.js';
import { fullyConnectedV3 } from '../ops/v3/fully-connected.js';
import { globalAveragePool2dV3 } from '../ops/v3/global-average-pool2d.js';
import { k210AddPaddingV3 } from '../ops/v3/k210-add-padding.js';
import { k210RemovePaddingV3 } from '../ops/v3/k210-remove-padding.js';
import { l2NormalizationV3 } from '../ops/v3/l2-normalization.js';
import { logisticV3 } from '../ops/v3/logistic.js';
import { quantizeV3 } from '../ops/v3/quantize.js';
import { quantizedAddV3, quantizedAddV3Span } from '../ops/v3/quantized-add.js';
import { quantizedMaxPool2dV3 } from '../ops/v3/quantized-max-pool2d.js';
import { averagePool2dV3 } from '../ops/v3/average-pool2d.js';
import { requantizeV3 } from '../ops/v3/requantize.js';
import { resizeNearestNeighborV3 } from '../ops/v3/resize-nearest-neighbor.js';
import { softmaxV3 } from '../ops/v3/softmax.js';
import { tensorflowFlattenV3 } from '../ops/v3/tensorflow-flatten.js';
import { addV3 } from '../ops/v3/add.js';
import { layerEvent } from '../layer-event.js';
import { Regions } from '../region.js';

type Exec = { exec: () => void; output?: Step['output']; transfers?: TransferEvent[] };
type Builder<L extends V3Layer> = (l: L, m: Regions, ai: Regions, s: MachineState, ctx: PrepareContext) => Exec;
type ByType = { [K in V3Layer['type']]: Builder<Extract<V3Layer, { type: K }>> };

const mainOut = (address: number, bytes: number, desc?: TensorDesc): Step['output'] => ({
  memory: 'main',
  address,
  bytes,
  desc,
});

/** One row per layer type the SDK runs. Types the SDK lacks are absent: they fail in prepare. */
const EXECUTORS: Partial<ByType> = {
  K210_CONV: (l, m, _ai, s, ctx) => {
    const conv = prepareKpuConv(l.kpu, 1, { layer: l.index, type: l.type });
    const toMain = (l.flags & 1) === 1 ? m.u8('conv output', l.main_mem_out_address, conv.denseOutputBytes) : undefined;
    const g = kpuConvGeometry(l.kpu.arg);
    return {
      exec: () => runKpuConv(conv, s.ai, ctx.kpu, toMain),
      output: toMain
        ? mainOut(l.main_mem_out_address, conv.denseOutputBytes, l.outputs[0])
        : { memory: 'ai', address: conv.output.address, bytes: conv.output.bytes, desc: l.outputs[0] },
      transfers: toMain ? [{ kind: 'download-dma', bytes: g.outChannels * g.outHeight * g.outWidth }] : [],
    };
  },
  K210_UPLOAD: (l, m, ai, s) => {
    const shape = [1, l.channels, l.height, l.width] as const;
    const bytes = l.channels * l.height * l.width;
    const src = m.u8('upload input', l.main_mem_in_address, bytes);
    ai.u8('upload output', l.kpu_mem_out_address * 64, kpuRows(l.width, l.height, l.channels) * 64);
    return {
      exec: () => kpuUpload(src, shape, s.ai, l.kpu_mem_out_address * 64),
      output: { memory: 'ai', address: l.kpu_mem_out_address * 64, bytes: kpuRows(l.width, l.height, l.channels) * 64 },
      transfers: [
        {
          kind: l.width % 64 === 0 ? 'upload-dma' : 'upload-cpu',
          bytes,
          aiSram: { address: l.kpu_mem_out_address * 64, bytes: kpuRows(l.width, l.height, l.channels) * 64 },
        },
      ],
    };
  },
  K210_ADD_PADDING: (l, m, ai) => {
    const src = m.u8('input', l.main_mem_in_address, l.channels);
    const dst = ai.u8('output', l.kpu_mem_out_address * 64, kpuRows(4, 4, l.channels) * 64);
    return {
      exec: () => k210AddPaddingV3(src, dst, l.channels),
      output: { memory: 'ai', address: l.kpu_mem_out_address * 64, bytes: dst.length },
      transfers: [
        { kind: 'upload-cpu', bytes: l.channels, aiSram: { address: l.kpu_mem_out_address * 64, bytes: dst.length } },
      ],
    };
  },
  K210_REMOVE_PADDING: (l, m) => {
    const src = m.u8('input', l.main_mem_in_address, 16 * l.channels);
    const dst = m.u8('output', l.main_mem_out_address, l.channels);
    return {
      exec: () => k210RemovePaddingV3(src, dst, l.channels),
      output: mainOut(l.main_mem_out_address, l.channels, l.outputs[0]),
    };
  },
  QUANTIZE: (l, m, _ai, _s, ctx) => {
    const src = m.f32('input', l.main_mem_in_address, l.count);
    const dst = m.u8('output', l.mem_out_address, l.count);
    return {
      exec: () => quantizeV3(src, dst, l.quant_param.scale, l.quant_param.bias, ctx.cpu),
      output: mainOut(l.mem_out_address, l.count, l.outputs[0]),
    };
  },
  DEQUANTIZE: (l, m, _ai, _s, ctx) => {
    const src = m.u8('input', l.main_mem_in_address, l.count);
    const dst = m.f32('output', l.main_mem_out_address, l.count);
    return {
      exec: () => dequantizeV3(src, dst, l.quant_param.scale, l.quant_param.bias, ctx.cpu),
      output: mainOut(l.main_mem_out_address, l.count * 4, l.outputs[0]),
    };
  },
  CHANNELWISE_DEQUANTIZE: (l, m, _ai, _s, ctx) => {
    const n = l.channels * l.channel_size;
    const src = m.u8('input', l.main_mem_in_address, n);
    const dst = m.f32('output', l.main_mem_out_address, n);
    const params = new Float32Array(l.quant_params.flatMap((q) => [q.scale, q.bias]));
    return {
      exec: () => channelwiseDequantizeV3(src, dst, l.channels, l.channel_size, params, ctx.cpu),
      output: mainOut(l.main_mem_out_address, n * 4, l.outputs[0]),
    };
  },
  REQUANTIZE: (l, m) => {
    const src = m.u8('input', l.main_mem_in_address, l.count);
    const dst = m.u8('output', l.main_mem_out_address, l.count);
    return {
      exec: () => requantizeV3(src, dst, l.table),
      output: mainOut(l.main_mem_out_address, l.count, l.outputs[0]),
    };
  },
  GLOBAL_AVERAGE_POOL2D: (l, m) => {
    const src = m.f32('input', l.main_mem_in_address, l.kernel_size * l.channels);
    const dst = m.f32('output', l.main_mem_out_address, l.channels);
    return {
      exec: () => globalAveragePool2dV3(src, dst, l.kernel_size, l.channels),
      output: mainOut(l.main_mem_out_address, l.channels * 4, l.outputs[0]),
    };
  },
  QUANTIZED_MAX_POOL2D: (l, m) => {
    const g = poolGeometry(l);
    const src = m.u8('input', l.main_mem_in_address, g.inWidth * g.inHeight * g.channels);
    const n = g.outWidth * g.outHeight * g.channels;
    const dst = m.u8('output', l.main_mem_out_address, n);
    return { exec: () => quantizedMaxPool2dV3(src, dst, g), output: mainOut(l.main_mem_out_address, n, l.outputs[0]) };
  },
  AVERAGE_POOL2D: (l, m) => {
    const g = poolGeometry(l);
    const src = m.f32('input', l.main_mem_in_address, g.inWidth * g.inHeight * g.channels);
    const n = g.outWidth * g.outHeight * g.channels;
    const dst = m.f32('output', l.main_mem_out_address, n);
    return { exec: () => averagePool2dV3(src, dst, g), output: mainOut(l.main_mem_out_address, n * 4, l.outputs[0]) };
  },
  SOFTMAX: (l, m) => {
    const src = m.f32('input', l.main_mem_in_address, l.channels);
    const dst = m.f32('output', l.main_mem_out_address, l.channels);
    return {
      exec: () => softmaxV3(src, dst, l.channels),
      output: mainOut(l.main_mem_out_address, l.channels * 4, l.outputs[0]),
    };
  },
  LOGISTIC: (l, m) => {
    const src = m.f32('input', l.main_mem_in_address, l.channels);
    const dst = m.f32('output', l.main_mem_out_address, l.channels);
    return {
      exec: () => logisticV3(src, dst, l.channels),
      output: mainOut(l.main_mem_out_address, l.channels * 4, l.outputs[0]),
    };
  },
  L2_NORMALIZATION: (l, m, _ai, _s, ctx) => {
    const src = m.f32('input', l.main_mem_in_address, l.channels);
    const dst = m.f32('output', l.main_mem_out_address, l.channels);
    return {
      exec: () => l2NormalizationV3(src, dst, l.channels, ctx.cpu),
      output: mainOut(l.main_mem_out_address, l.channels * 4, l.outputs[0]),
    };
  },
  FULLY_CONNECTED: (l, m, _ai, _s, ctx) => {
    const src = m.f32('input', l.main_mem_in_address, l.in_channels);
    const dst = m.f32('output', l.main_mem_out_address, l.out_channels);
    return {
      exec: () => fullyConnectedV3(src, dst, l.weights, l.bias, l.in_channels, l.out_channels, l.act, ctx.cpu),
      output: mainOut(l.main_mem_out_address, l.out_channels * 4, l.outputs[0]),
    };
  },
  TENSORFLOW_FLATTEN: (l, m) => {
    const n = l.shape.width * l.shape.height * l.shape.channels;
    const src = m.f32('input', l.main_mem_in_address, n);
    const dst = m.f32('output', l.main_mem_out_address, n);
    return {
      exec: () => tensorflowFlattenV3(src, dst, l.shape.width, l.shape.height, l.shape.channels),
      output: mainOut(l.main_mem_out_address, n * 4, l.outputs[0]),
    };
  },
  RESIZE_NEAREST_NEIGHBOR: (l, m) => {
    const s = l.in_shape;
    const src = m.f32('input', l.main_mem_in_address, s.width * s.height * s.channels);
    const n = l.out_width * l.out_height * s.channels;
    const dst = m.f32('output', l.main_mem_out_address, n);
    return {
      exec: () => resizeNearestNeighborV3(src, dst, s.width, s.height, s.channels, l.out_width, l.out_height),
      output: mainOut(l.main_mem_out_address, n * 4, l.outputs[0]),
    };
  },
  QUANTIZED_RESIZE_NEAREST_NEIGHBOR: (l, m) => {
    const s = l.in_shape;
    const src = m.u8('input', l.main_mem_in_address, s.width * s.height * s.channels);
    const n = l.out_width * l.out_height * s.channels;
    const dst = m.u8('output', l.main_mem_out_address, n);
    return {
      exec: () => resizeNearestNeighborV3(src, dst, s.width, s.height, s.channels, l.out_width, l.out_height),
      output: mainOut(l.main_mem_out_address, n, l.outputs[0]),
    };
  },
  ADD: (l, m) => {
    const a = m.f32('input a', l.main_mem_in_a_address, l.count);
    const b = m.f32('input b', l.main_mem_in_b_address, l.count);
    const out = m.f32('output', l.main_mem_out_address, l.count);
    return { exec: () => addV3(a, b, out), output: mainOut(l.main_mem_out_address, l.count * 4, l.outputs[0]) };
  },
  QUANTIZED_ADD: (l, m) => {
    const span = quantizedAddV3Span(l.count);
    const a = m.u8('input a', l.main_mem_in_a_address, span);
    const b = m.u8('input b', l.main_mem_in_b_address, span);
    const out = m.u8('output', l.main_mem_out_address, span);
    const p = {
      inAOffset: l.in_a_offset,
      inAMul: l.in_a_mul,
      inAShift: l.in_a_shift,
      inBOffset: l.in_b_offset,
      inBMul: l.in_b_mul,
      inBShift: l.in_b_shift,
      outOffset: l.out_offset,
      outMul: l.out_mul,
      outShift: l.out_shift,
    };
    return {
      exec: () => quantizedAddV3(a, b, out, l.count, p),
      output: mainOut(l.main_mem_out_address, span, l.outputs[0]),
    };
  },
  CONCAT: (l, m) => concatExec(l, m),
  QUANTIZED_CONCAT: (l, m) => concatExec(l, m),
};

function concatExec(l: Extract<V3Layer, { type: 'CONCAT' | 'QUANTIZED_CONCAT' }>, m: Regions): Exec {
  const ins = l.inputs_mem.map((r, i) => m.u8(`input ${i}`, r.start, r.size));
  const total = ins.reduce((a, b) => a + b.length, 0);
  const dst = m.u8('output', l.main_mem_out_address, total);
  return { exec: () => concatV3(ins, dst), output: mainOut(l.main_mem_out_address, total, l.outputs[0]) };
}

function poolGeometry(l: Extract<V3Layer, { type: 'QUANTIZED_MAX_POOL2D' | 'AVERAGE_POOL2D' }>) {
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

export function prepareV3(model: KmodelV3, ctx: PrepareContext): VersionPlan {
  const state = allocateState(model.mainMemBytes);
  const first = model.layers[0];
  if (!first || (first.type !== 'K210_CONV' && first.type !== 'FULLY_CONNECTED')) {
    throw new KpuFault(
      'BAD_LAYER',
      `the SDK runs a v3 model only when its first layer is K210_CONV or FULLY_CONNECTED, not ${first?.type ?? 'nothing'}`,
      { layer: 0, type: first?.type },
      'prepare',
    );
  }
  const input = model.inputs[0];
  const steps: Step[] = model.layers.map((l) => {
    const where = { layer: l.index, type: l.type };
    const build = EXECUTORS[l.type] as Builder<V3Layer> | undefined;
    if (!build) {
      throw new KpuFault(
        'UNSUPPORTED',
        `layer type ${l.type} (${l.code}) is not implemented by the K210 SDK's runtime, so the board would stop here`,
        where,
        'prepare',
      );
    }
    const e = build(l, new Regions(state.main, 'main', where), new Regions(state.ai, 'AI SRAM', where), state, ctx);
    const transfers = [...(e.transfers ?? [])];
    if (l.index === 0 && input.memory === 'kpu') {
      const w = input.shape[3];
      transfers.unshift({
        kind: w % 64 === 0 ? 'upload-dma' : 'upload-cpu',
        bytes: input.bytes,
        aiSram: { address: input.address, bytes: kpuRows(w, input.shape[2], input.shape[1]) * 64 },
      });
    }
    return {
      index: l.index,
      type: l.type,
      label: `type=${l.code}`,
      event: layerEvent(l, transfers),
      output: e.output,
      exec: e.exec,
    };
  });
  // Input placement (kpu-numerics §2.8): a conv first layer gets the image uploaded in the KPU layout
  // at image_src_addr; a fully-connected first layer gets its floats at main_mem_in_address.
  let place: (x: Uint8Array) => void;
  if (input.memory === 'kpu') {
    const [n, c, h, w] = input.shape;
    new Regions(state.ai, 'AI SRAM', { layer: 0, type: first.type }).u8(
      'model input',
      input.address,
      kpuRows(w, h, c) * 64 * n,
    );
    place = (x) => kpuUpload(x, [n, c, h, w], state.ai, input.address);
  } else {
    const dst = new Regions(state.main, 'main', { layer: 0, type: first.type }).u8(
      'model input',
      input.address,
      input.bytes,
    );
    place = (x) => dst.set(x);
  }
  const outs = model.outputs.map((o, i) =>
    new Regions(state.main, 'main', { layer: -1, type: `output ${i}` }).u8(`output ${i}`, o.address, o.size),
  );
  return {
    state,
    steps,
    inputs: model.inputs,
    outputs: model.outputs,
    placeInputs: (xs) => place(xs[0]),
    readOutputs: () => outs.map((o) => o.slice()),
  };
}
