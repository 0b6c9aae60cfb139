/**
 * The KPU engine against TensorFlow.js-wasm per model, and one layer on two threads against one.
 *
 * The tfjs side is defined so that nobody can tilt it: tfjs-core and tfjs-backend-wasm at the
 * versions in package-lock, backend settings at their defaults, NHWC float32, each KPU layer as
 * `conv2d` or `depthwiseConv2d` ('same') then `relu`, then `maxPool` 2×2/2 where the layer pools
 * (strided selection as a strided `slice`), one `tidy` per frame, timed from the input tensor to
 * `await data()` of the output. The emulator side is a whole bit-exact run of the model (CPU
 * layers included: a v5 model's stackvm part counts against the emulator). Each pair is one
 * emulator frame and one tfjs frame, alternated so both see the same load; the figure is the median
 * of the pairs' MAC-rate ratios (emulator MACs per ms / tfjs MACs per ms) with their min–max.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { Kmodel, KpuConvParams } from '../kmodel-parser/model.js';
import { kpuConvGeometry } from '../kmodel-parser/model.js';
import type { KpuKernel } from '../kpu/conv/index.js';
import { prepare } from '../kpu/interpreter.js';
import { layerThreads, setLayerThreads } from '../kpu/parallel/index.js';
import { kernelRuntime } from '../kpu/wasm/runtime.js';
import { loadKmodel } from '../load.js';
import { median, r3 } from './stats.js';

/** The KPU conv layers of a model of any version (v5: its K210 kpu_conv2d ops). */
function kpuConvs(model: Kmodel): KpuConvParams[] {
  const out: KpuConvParams[] = [];
  for (const l of model.layers as readonly {
    kpu?: KpuConvParams;
    k210Op?: { name: string; kpu?: KpuConvParams };
  }[]) {
    if (l.kpu) out.push(l.kpu);
    else if (l.k210Op?.name === 'kpu_conv2d' && l.k210Op.kpu) out.push(l.k210Op.kpu);
  }
  return out;
}

let tfjsUp: Promise<void> | null = null;
function tfjsWasm(): Promise<void> {
  tfjsUp ??= (async () => {
    const require = createRequire(import.meta.url);
    setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/');
    if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs wasm backend did not start');
  })();
  return tfjsUp;
}

export interface TfjsFrame {
  /** One frame; resolves to its milliseconds. */
  frame(): Promise<number>;
  readonly macs: number;
  readonly layers: number;
  dispose(): void;
}

/** The model's KPU conv layers as a tfjs-wasm float network (see the file comment). */
export async function tfjsFrame(model: Kmodel): Promise<TfjsFrame> {
  await tfjsWasm();
  const convs = kpuConvs(model).map((k) => kpuConvGeometry(k.arg));
  if (convs.length === 0) throw new Error('bench: the model has no KPU conv layer');
  // Weights are random: speed does not depend on values. Created once, outside the timed frames.
  const weights = convs.map((g) =>
    g.depthwise
      ? tf.randomUniform([g.kernel, g.kernel, g.inChannels, 1])
      : tf.randomUniform([g.kernel, g.kernel, g.inChannels, g.outChannels]),
  ) as tf.Tensor4D[];
  const first = convs[0];
  const input = new Float32Array(first.inHeight * first.inWidth * first.inChannels).map((_, i) => (i % 255) / 255);
  let macs = 0;
  for (const g of convs)
    macs += g.outChannels * g.inHeight * g.inWidth * (g.depthwise ? 1 : g.inChannels) * g.kernel * g.kernel;
  const frame = async () => {
    const t = performance.now();
    const x0 = tf.tensor4d(input, [1, first.inHeight, first.inWidth, first.inChannels]);
    const y = tf.tidy(() => {
      let x: tf.Tensor4D = x0;
      convs.forEach((g, i) => {
        // Each layer starts from the previous output; a layer whose input size differs (a CPU
        // layer in between) gets a fresh tensor of its own size so the chain stays valid.
        if (x.shape[1] !== g.inHeight || x.shape[2] !== g.inWidth || x.shape[3] !== g.inChannels)
          x = tf.zeros([1, g.inHeight, g.inWidth, g.inChannels]);
        x = g.depthwise ? tf.depthwiseConv2d(x, weights[i], 1, 'same') : tf.conv2d(x, weights[i], 1, 'same');
        x = tf.relu(x);
        if (g.poolType === 1) x = tf.maxPool(x, 2, 2, 'valid');
        else if (g.poolType === 5 || g.poolType === 6)
          x = tf.stridedSlice(
            x,
            [0, 0, g.poolType === 6 ? 1 : 0, 0],
            [1, g.inHeight, g.inWidth, g.outChannels],
            [1, 2, 2, 1],
          ) as tf.Tensor4D;
      });
      return x;
    });
    await y.data();
    const ms = performance.now() - t;
    x0.dispose();
    y.dispose();
    return ms;
  };
  return { frame, macs, layers: convs.length, dispose: () => weights.forEach((w) => w.dispose()) };
}

export function pseudoInput(bytes: number): Uint8Array {
  const x = new Uint8Array(bytes);
  let s = 1;
  for (let i = 0; i < bytes; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    x[i] = (s >> 16) & 255;
  }
  return x;
}

export interface KpuRatio {
  readonly model: string;
  readonly version: number;
  /** MACs of the model's KPU convs (the emulator's run also does its CPU layers). */
  readonly macs: number;
  /** Median of the pairs' MAC-rate ratios (emulator / tfjs-wasm), with their min–max. */
  readonly ratio: number;
  readonly min: number;
  readonly max: number;
  readonly pairs: number;
  readonly emulator_ms: number;
  readonly tfjs_ms: number;
  /** Layer threads of the emulator's runs. */
  readonly threads: number;
}

/** One model's ratio (see the file comment): `warm` unpaired frames each, then `pairs` pairs. */
export async function kpuRatio(
  name: string,
  path: string,
  pairs: number,
  warm: number,
  kernel?: KpuKernel,
): Promise<KpuRatio> {
  const { model } = loadKmodel(path);
  const pm = prepare(model, kernel ? { kpuKernel: kernel } : {});
  const xs = pm.inputs.map((d) => pseudoInput(d.bytes));
  const tfjs = await tfjsFrame(model);
  try {
    const emu = () => {
      const t = performance.now();
      pm.run(xs);
      return performance.now() - t;
    };
    for (let i = 0; i < warm; i++) {
      emu();
      await tfjs.frame();
    }
    const ratios: number[] = [];
    const e: number[] = [];
    const f: number[] = [];
    for (let i = 0; i < pairs; i++) {
      const em = emu();
      const tm = await tfjs.frame();
      e.push(em);
      f.push(tm);
      ratios.push(tm / em);
    }
    return {
      model: name,
      version: model.version,
      macs: tfjs.macs,
      ratio: r3(median(ratios)),
      min: r3(Math.min(...ratios)),
      max: r3(Math.max(...ratios)),
      pairs,
      emulator_ms: r3(median(e)),
      tfjs_ms: r3(median(f)),
      threads: layerThreads(),
    };
  } finally {
    tfjs.dispose();
  }
}

export interface ThreadSpeedup {
  readonly model: string;
  /** Median of the pairs' speed-ups (one-thread time / two-thread time), with their min–max. */
  readonly speedup: number;
  readonly min: number;
  readonly max: number;
  readonly pairs: number;
  readonly one_ms: number;
  readonly two_ms: number;
}

/**
 * One layer on two threads against one (src/kpu/parallel): whole runs of the model alternated, or
 * null where two threads are not available (one core, no worker threads).
 */
export async function threadSpeedup(
  name: string,
  path: string,
  pairs: number,
  warm: number,
): Promise<ThreadSpeedup | null> {
  const was = layerThreads();
  setLayerThreads(2);
  const pool = kernelRuntime()?.parts();
  if (!pool) {
    setLayerThreads(1);
    return null;
  }
  try {
    // the worker starts in the background: wait for it (up to 10 s), so the pairs measure two threads
    for (let i = 0; i < 200 && !pool.ready(); i++) await new Promise((r) => setTimeout(r, 50));
    const pm = prepare(loadKmodel(path).model);
    const xs = pm.inputs.map((d) => pseudoInput(d.bytes));
    const timed = (n: 1 | 2): number => {
      setLayerThreads(n);
      const t = performance.now();
      pm.run(xs);
      return performance.now() - t;
    };
    for (let i = 0; i < warm; i++) {
      timed(1);
      timed(2);
    }
    const s: number[] = [];
    const one: number[] = [];
    const two: number[] = [];
    for (let i = 0; i < pairs; i++) {
      one.push(timed(1));
      two.push(timed(2));
      s.push(one[i] / two[i]);
    }
    return {
      model: name,
      speedup: r3(median(s)),
      min: r3(Math.min(...s)),
      max: r3(Math.max(...s)),
      pairs,
      one_ms: r3(median(one)),
      two_ms: r3(median(two)),
    };
  } finally {
    setLayerThreads(was === 2 ? 2 : 1);
  }
}
