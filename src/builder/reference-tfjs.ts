/**
 * The original networks run by TensorFlow.js (float32), written directly with tfjs ops from the
 * weight maps, independently of the builder's float graph: face-api's layer sequence for the two
 * face-api nets, and a node-by-node execution of the TensorFlow graph for FaceRes. Each takes the
 * same input our model takes, with our model's stated input transform applied in plain code
 * before the network (row stretch and border for the detector, nearest resize for the landmark
 * net). Used by the build report to show that the float graph is the original network.
 */
import { initReferenceBackend, tf } from '../reference/backend.js';
import { nearestIndex, type Tensor3 } from './float-eval.js';
import { LANDMARK_MEAN_RGB, TINY_FACE_DETECTOR_MEAN_RGB } from './nets/face-api.js';
import type { TfGraphModel } from './nets/faceres.js';
import { weight, type WeightMap } from './tfjs-weights.js';

type T4 = ReturnType<typeof tf.tensor4d>;

export async function initTfjs(): Promise<string> {
  const info = await initReferenceBackend('cpu', () => undefined);
  return info.name;
}

/** CHW raw planes → NHWC float32 tensor, with an optional row stretch and constant border. */
function nhwc(x: Tensor3, opts: { outH?: number; outW?: number; border?: number; borderValue?: number } = {}): T4 {
  const oh = opts.outH ?? x.h;
  const ow = opts.outW ?? x.w;
  const b = opts.border ?? 0;
  const H = oh + 2 * b;
  const W = ow + 2 * b;
  const data = new Float32Array(H * W * x.c).fill(opts.borderValue ?? 0);
  for (let y = 0; y < oh; y++) {
    const iy = nearestIndex(y, x.h, oh);
    for (let xx = 0; xx < ow; xx++) {
      const ix = nearestIndex(xx, x.w, ow);
      for (let c = 0; c < x.c; c++) data[((y + b) * W + xx + b) * x.c + c] = x.data[(c * x.h + iy) * x.w + ix];
    }
  }
  return tf.tensor4d(data, [1, H, W, x.c]);
}

const t4 = (w: WeightMap, name: string): T4 => {
  const v = weight(w, name);
  return tf.tensor4d(v.data, v.shape as [number, number, number, number]);
};
const t1 = (w: WeightMap, name: string) => {
  const v = weight(w, name);
  return tf.tensor1d(v.data);
};

function leaky(x: T4): T4 {
  const min = tf.mul(x, tf.scalar(0.10000000149011612));
  return tf.add(tf.relu(tf.sub(x, min)), min) as T4;
}

function normalise(x: T4, mean: readonly number[]): T4 {
  return tf.div(tf.sub(x, tf.tensor1d(mean as number[])), tf.scalar(255)) as T4;
}

/** Tiny Face Detector → [25 channels NHWC] as a flat array in NHWC order (H, W, 25). */
export function tinyFaceDetectorTfjs(
  w: WeightMap,
  frame: Tensor3,
  netHeight: number,
  borderValue: number,
): { data: Float32Array; h: number; w: number } {
  return tf.tidy(() => {
    let x = normalise(nhwc(frame, { outH: netHeight, border: 1, borderValue }), TINY_FACE_DETECTOR_MEAN_RGB);
    x = leaky(tf.add(tf.conv2d(x, t4(w, 'conv0/filters'), 1, 'valid'), t1(w, 'conv0/bias')) as T4);
    x = tf.maxPool(x, [2, 2], [2, 2], 'same');
    for (let i = 1; i <= 5; i++) {
      const p = tf.pad(x, [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ]) as T4;
      x = tf.separableConv2d(
        p,
        t4(w, `conv${i}/depthwise_filter`),
        t4(w, `conv${i}/pointwise_filter`),
        [1, 1],
        'valid',
      );
      x = leaky(tf.add(x, t1(w, `conv${i}/bias`)) as T4);
      x = tf.maxPool(x, [2, 2], i < 5 ? [2, 2] : [1, 1], 'same');
    }
    const out = tf.add(tf.conv2d(x, t4(w, 'conv8/filters'), 1, 'valid'), t1(w, 'conv8/bias')) as T4;
    return { data: out.dataSync() as Float32Array, h: out.shape[1], w: out.shape[2] };
  });
}

function denseBlockTfjs(w: WeightMap, prefix: string, x: T4, first: boolean): T4 {
  const sep = (name: string, input: T4, stride: number): T4 =>
    tf.add(
      tf.separableConv2d(
        input,
        t4(w, `${name}/depthwise_filter`),
        t4(w, `${name}/pointwise_filter`),
        stride as 1 | 2,
        'same',
      ),
      t1(w, `${name}/bias`),
    ) as T4;
  const out1 = tf.relu(
    first
      ? (tf.add(tf.conv2d(x, t4(w, `${prefix}/conv0/filters`), 2, 'same'), t1(w, `${prefix}/conv0/bias`)) as T4)
      : sep(`${prefix}/conv0`, x, 2),
  ) as T4;
  const out2 = sep(`${prefix}/conv1`, out1, 1);
  const in3 = tf.relu(tf.add(out1, out2)) as T4;
  const out3 = sep(`${prefix}/conv2`, in3, 1);
  return tf.relu(tf.add(out1, tf.add(out2, out3))) as T4;
}

/** The 68-point tiny net on a crop (resized to netSize with the SDK's nearest rule): 136 values. */
export function landmark68TinyTfjs(w: WeightMap, crop: Tensor3, netSize: number): Float32Array {
  return tf.tidy(() => {
    let x = normalise(nhwc(crop, { outH: netSize, outW: netSize }), LANDMARK_MEAN_RGB);
    x = denseBlockTfjs(w, 'dense0', x, true);
    x = denseBlockTfjs(w, 'dense1', x, false);
    x = denseBlockTfjs(w, 'dense2', x, false);
    x = tf.avgPool(x, [14, 14], [2, 2], 'valid');
    const v = tf.reshape(x, [1, -1]);
    const wf = weight(w, 'fc/weights');
    const out = tf.add(tf.matMul(v, tf.tensor2d(wf.data, wf.shape as [number, number])), t1(w, 'fc/bias'));
    return out.dataSync() as Float32Array;
  });
}

/** FaceRes: executes the TensorFlow graph's nodes up to `outputNode` with the matching tfjs ops. */
export function faceresTfjs(m: TfGraphModel, face: Tensor3, outputNode: string): Float32Array {
  return tf.tidy(() => {
    const memo = new Map<string, ReturnType<typeof tf.tensor>>();
    const value = (name: string): ReturnType<typeof tf.tensor> => {
      const base = name.split(':')[0];
      const hit = memo.get(base);
      if (hit) return hit;
      const w = m.weights.get(base);
      if (w) {
        const t = tf.tensor(w.data, w.shape as number[]);
        memo.set(base, t);
        return t;
      }
      const n = m.nodes.get(base);
      if (!n) throw new Error(`faceres: no node ${base}`);
      const ins = n.input ?? [];
      const attr = n.attr ?? {};
      const strides = (attr.strides?.list?.i ?? ['1', '1', '1', '1']).map(Number);
      const pad = Buffer.from(attr.padding?.s ?? '', 'base64').toString('latin1') === 'VALID' ? 'valid' : 'same';
      let out: ReturnType<typeof tf.tensor>;
      switch (n.op) {
        case 'Placeholder':
          out = nhwc(face);
          break;
        case 'Conv2D':
          out = tf.conv2d(value(ins[0]) as T4, value(ins[1]) as T4, [strides[1], strides[2]], pad);
          break;
        case 'DepthwiseConv2dNative':
          out = tf.depthwiseConv2d(value(ins[0]) as T4, value(ins[1]) as T4, [strides[1], strides[2]], pad);
          break;
        case 'Mul':
          out = tf.mul(value(ins[0]), value(ins[1]));
          break;
        case 'Add':
          out = tf.add(value(ins[0]), value(ins[1]));
          break;
        case 'Relu':
          out = tf.relu(value(ins[0]));
          break;
        case 'Minimum':
          out = tf.minimum(value(ins[0]), value(ins[1]));
          break;
        case 'Maximum':
          out = tf.maximum(value(ins[0]), value(ins[1]));
          break;
        case 'Mean':
          out = tf.mean(value(ins[0]), Array.from(m.weights.get(ins[1])!.data));
          break;
        default:
          throw new Error(`faceres: op ${n.op} not handled by the tfjs reference`);
      }
      memo.set(base, out);
      return out;
    };
    return value(outputNode).dataSync() as Float32Array;
  });
}
