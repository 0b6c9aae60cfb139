/**
 * Float graphs of two face-api networks (weights from `@vladmandic/face-api/model`, MIT; trained
 * by Vincent Mühler for face-api.js, MIT), written from the network descriptions: the layer
 * order, paddings and activations that face-api's TensorFlow.js code applies to these weights.
 *
 * - Tiny Face Detector: a Tiny-YOLOv2 with depthwise-separable convs and leaky ReLU (α = 0.1),
 *   5 anchors, one class, stride 32.
 * - 68-point tiny landmark net: three dense blocks of separable convs (ReLU, additive skip
 *   connections), a 14×14 average pool and a 128 → 136 fully connected layer giving (x, y) of
 *   68 points in [0, 1] of its 112×112 input.
 *
 * Our models wrap each network in a fixed, stated input transform (see the functions below);
 * the float reference of every comparison runs the same wrapper around the original network.
 */
import { type Activation, type Graph, GraphBuilder } from '../graph.js';
import { weight, type WeightMap } from '../tfjs-weights.js';

/** face-api's leaky ReLU: relu(x − 0.1x) + 0.1x with the constant as a float32. */
export const FACE_API_LEAKY: Activation = Object.freeze({ fn: 'leaky', alpha: Math.fround(0.1) });

/** Tiny Face Detector anchors (w, h) in grid cells, face-api's BOX_ANCHORS. */
export const TINY_FACE_DETECTOR_ANCHORS: readonly (readonly [number, number])[] = [
  [1.603231, 2.094468],
  [6.041143, 7.080126],
  [2.882459, 3.518061],
  [4.266906, 5.178857],
  [9.041765, 10.66308],
];
/** Mean RGB subtracted before the ÷255 (detector, landmark net). */
export const TINY_FACE_DETECTOR_MEAN_RGB = [117.001, 114.697, 97.404] as const;
export const LANDMARK_MEAN_RGB = [122.782, 117.001, 104.298] as const;

const f64 = (a: ArrayLike<number>): Float64Array => Float64Array.from(a);
const zeros = (n: number): Float64Array => new Float64Array(n);
const ones = (n: number): Float64Array => new Float64Array(n).fill(1);

/** Per-channel (x − mean)/255 as an affine node. */
function normalise(b: GraphBuilder, input: number, mean: readonly number[], name: string): number {
  return b.add({ op: 'affine', name, input, mul: f64(mean.map(() => 1 / 255)), add: f64(mean.map((m) => -m / 255)) });
}

function bias(b: GraphBuilder, input: number, values: Float32Array, name: string): number {
  return b.add({ op: 'affine', name, input, mul: ones(values.length), add: f64(values) });
}

/** depthwise 3×3 (SAME, stride s) then pointwise 1×1, then bias: face-api's separable conv. */
function separable(
  b: GraphBuilder,
  w: WeightMap,
  prefix: string,
  input: number,
  inC: number,
  outC: number,
  stride: number,
): number {
  const dw = weight(w, `${prefix}/depthwise_filter`, [3, 3, inC, 1]);
  const pw = weight(w, `${prefix}/pointwise_filter`, [1, 1, inC, outC]);
  const bs = weight(w, `${prefix}/bias`, [outC]);
  const d = b.add({
    op: 'conv',
    name: `${prefix}/depthwise`,
    input,
    kernel: 3,
    stride,
    padding: 'same',
    depthwise: true,
    outChannels: inC,
    filters: dw.data,
  });
  const p = b.add({
    op: 'conv',
    name: `${prefix}/pointwise`,
    input: d,
    kernel: 1,
    stride: 1,
    padding: 'same',
    depthwise: false,
    outChannels: outC,
    filters: pw.data,
  });
  return bias(b, p, bs.data, `${prefix}/bias`);
}

export interface DetectorGraphOptions {
  /** The frame the model takes (MaixPy's QVGA). */
  readonly width: number;
  readonly height: number;
  /** Rows the network sees: the frame is stretched to this height so that the grid cells are
   *  exactly height/gridRows frame pixels tall (240 → 256 gives 8 rows of 30 px). */
  readonly netHeight: number;
  /** Raw pixel value of the 1-pixel border around the frame (the KPU's pad value of conv0). */
  readonly borderValue: number;
}

/**
 * The Tiny Face Detector as our detector model: frame W×H → nearest stretch to W×netHeight →
 * 1-pixel border of `borderValue` → the original network (conv0 is a VALID 3×3 conv, so the
 * bordered frame gives a W×netHeight map, halved five times) → 1×1 conv to a YOLOv2 region tensor
 * with 5 anchors and one class: channel n·6 + e holds entry e (x, y, w, h, objectness, class) of
 * anchor n, the class channel being a constant 0 (MaixPy derives classes = C/5 − 5 = 1).
 */
export function tinyFaceDetectorGraph(w: WeightMap, o: DetectorGraphOptions): Graph {
  const b = new GraphBuilder('tiny-face-detector');
  let x = b.add({ op: 'input', name: 'frame', c: 3, h: o.height, w: o.width });
  if (o.netHeight !== o.height) x = b.add({ op: 'resize', name: 'stretch', input: x, h: o.netHeight, w: o.width });
  x = b.add({ op: 'pad', name: 'border', input: x, top: 1, bottom: 1, left: 1, right: 1, value: o.borderValue });
  x = normalise(b, x, TINY_FACE_DETECTOR_MEAN_RGB, 'normalise');
  const f0 = weight(w, 'conv0/filters', [3, 3, 3, 16]);
  x = b.add({
    op: 'conv',
    name: 'conv0',
    input: x,
    kernel: 3,
    stride: 1,
    padding: 'valid',
    depthwise: false,
    outChannels: 16,
    filters: f0.data,
  });
  x = bias(b, x, weight(w, 'conv0/bias', [16]).data, 'conv0/bias');
  x = b.add({ op: 'act', name: 'conv0/leaky', input: x, act: FACE_API_LEAKY });
  x = b.add({ op: 'maxpool', name: 'pool0', input: x, size: 2, stride: 2, padding: 'same' });
  const sizes = [16, 32, 64, 128, 256, 512];
  for (let i = 1; i <= 5; i++) {
    x = separable(b, w, `conv${i}`, x, sizes[i - 1], sizes[i], 1);
    x = b.add({ op: 'act', name: `conv${i}/leaky`, input: x, act: FACE_API_LEAKY });
    x = b.add({ op: 'maxpool', name: `pool${i}`, input: x, size: 2, stride: i < 5 ? 2 : 1, padding: 'same' });
  }
  const f8 = weight(w, 'conv8/filters', [1, 1, 512, 25]);
  const b8 = weight(w, 'conv8/bias', [25]);
  const filters = new Float32Array(512 * 30);
  const bias30 = new Float32Array(30);
  for (let n = 0; n < 5; n++) {
    for (let e = 0; e < 5; e++) {
      for (let i = 0; i < 512; i++) filters[i * 30 + n * 6 + e] = f8.data[i * 25 + n * 5 + e];
      bias30[n * 6 + e] = b8.data[n * 5 + e];
    }
  }
  x = b.add({
    op: 'conv',
    name: 'conv8',
    input: x,
    kernel: 1,
    stride: 1,
    padding: 'same',
    depthwise: false,
    outChannels: 30,
    filters,
  });
  x = bias(b, x, bias30, 'conv8/bias');
  return b.done(x);
}

/** The source channel (0..24) of region channel c (0..29) of the detector, or -1 for a class channel. */
export function detectorSourceChannel(c: number): number {
  const n = Math.floor(c / 6);
  const e = c % 6;
  return e < 5 ? n * 5 + e : -1;
}

function denseBlock(
  b: GraphBuilder,
  w: WeightMap,
  prefix: string,
  input: number,
  inC: number,
  outC: number,
  first: boolean,
): number {
  let c0: number;
  if (first) {
    const f = weight(w, `${prefix}/conv0/filters`, [3, 3, inC, outC]);
    c0 = b.add({
      op: 'conv',
      name: `${prefix}/conv0`,
      input,
      kernel: 3,
      stride: 2,
      padding: 'same',
      depthwise: false,
      outChannels: outC,
      filters: f.data,
    });
    c0 = bias(b, c0, weight(w, `${prefix}/conv0/bias`, [outC]).data, `${prefix}/conv0/bias`);
  } else {
    c0 = separable(b, w, `${prefix}/conv0`, input, inC, outC, 2);
  }
  const out1 = b.add({ op: 'act', name: `${prefix}/out1`, input: c0, act: { fn: 'relu' } });
  const out2 = separable(b, w, `${prefix}/conv1`, out1, outC, outC, 1);
  const s3 = b.add({ op: 'add', name: `${prefix}/add1`, inputs: [out1, out2] });
  const in3 = b.add({ op: 'act', name: `${prefix}/in3`, input: s3, act: { fn: 'relu' } });
  const out3 = separable(b, w, `${prefix}/conv2`, in3, outC, outC, 1);
  const s4 = b.add({ op: 'add', name: `${prefix}/add2`, inputs: [out1, out2, out3] });
  return b.add({ op: 'act', name: `${prefix}/out`, input: s4, act: { fn: 'relu' } });
}

/** 68-point indices → MaixPy's five points (left/right as seen in the image). */
export const LANDMARK_68_TO_5: readonly (readonly number[])[] = [
  [36, 37, 38, 39, 40, 41], // left eye (image left): mean of its six contour points
  [42, 43, 44, 45, 46, 47], // right eye
  [30], // nose tip
  [48], // left mouth corner
  [54], // right mouth corner
];

export interface LandmarkGraphOptions {
  /** Crop size MaixPy feeds (128). */
  readonly size: number;
  /** The network's own input size (112). */
  readonly netSize: number;
  /** 'five': MaixPy's 10 values; 'all': the 136 raw outputs (for checks). */
  readonly points: 'five' | 'all';
}

/**
 * The tiny 68-point landmark net as our landmark model: size×size crop → nearest resize to
 * netSize → (x − mean)/255 → three dense blocks → global average (the 14×14 valid average pool
 * on a 14×14 map) → fc 128 → 136 → a fixed linear map to MaixPy's five points
 * (le.x, le.y, re.x, re.y, nose.x, nose.y, lm.x, lm.y, rm.x, rm.y), each in [0, 1] of the crop.
 */
export function landmark68TinyGraph(w: WeightMap, o: LandmarkGraphOptions): Graph {
  const b = new GraphBuilder('landmark-68-tiny');
  let x = b.add({ op: 'input', name: 'crop', c: 3, h: o.size, w: o.size });
  if (o.netSize !== o.size) x = b.add({ op: 'resize', name: 'resize', input: x, h: o.netSize, w: o.netSize });
  x = normalise(b, x, LANDMARK_MEAN_RGB, 'normalise');
  x = denseBlock(b, w, 'dense0', x, 3, 32, true);
  x = denseBlock(b, w, 'dense1', x, 32, 64, false);
  x = denseBlock(b, w, 'dense2', x, 64, 128, false);
  x = b.add({ op: 'mean', name: 'avgpool', input: x });
  const fw = weight(w, 'fc/weights', [128, 136]);
  const fb = weight(w, 'fc/bias', [136]);
  x = b.add({ op: 'dense', name: 'fc', input: x, weights: f64(fw.data), bias: f64(fb.data), outChannels: 136 });
  if (o.points === 'five') {
    const m = zeros(136 * 10);
    LANDMARK_68_TO_5.forEach((pts, j) => {
      for (const p of pts) {
        m[2 * p * 10 + 2 * j] = 1 / pts.length;
        m[(2 * p + 1) * 10 + 2 * j + 1] = 1 / pts.length;
      }
    });
    x = b.add({ op: 'dense', name: 'five-points', input: x, weights: m, bias: zeros(10), outChannels: 10 });
  }
  return b.done(x);
}
