/**
 * Turning a user's file into a model input: a raw tensor `.bin` (exactly the input's bytes,
 * NCHW), or an image decoded and converted to planar RGB uint8 as the K210 camera path delivers
 * it. How an image of another size becomes the input is the user's choice, recorded in `recipe`.
 */
import { extname } from 'node:path';
import { UsageError } from './errors.js';
import type { TensorDesc } from './kmodel-parser/model.js';
import { FILE_CAPS, readUserFile, tensorCap } from './io/read-file.js';
import { resizeRgb, rgbToLuma, rgbToPlanar, type ResizeMapping, type ResizeMode } from './pipeline/convert.js';
import { decodeImage } from './pipeline/image-io.js';

export interface InputOptions {
  readonly resize?: ResizeMode;
  readonly interp?: 'nearest' | 'bilinear';
  /** Padding value for `fit` (demos use 0, 114 or 127). */
  readonly padValue?: number;
  /** Planes in B, G, R order (models trained on BGR, e.g. YOLOX's demo). */
  readonly bgr?: boolean;
  /** Float inputs: (value − mean) / std per channel; default value / 255. */
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
}

export interface InputRecipe {
  readonly source: string;
  readonly kind: 'tensor' | 'image';
  readonly image?: { readonly width: number; readonly height: number; readonly format: string };
  readonly resize?: ResizeMode;
  readonly interp?: string;
  readonly pad_value?: number;
  readonly channel_order?: 'rgb' | 'bgr' | 'luma';
  readonly float?: string;
  readonly mapping?: ResizeMapping;
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.bmp']);

export function isImageFile(file: string): boolean {
  return IMAGE_EXTENSIONS.has(extname(file).toLowerCase());
}

export function readInputFile(
  file: string,
  desc: TensorDesc,
  opts: InputOptions = {},
): { bytes: Uint8Array; recipe: InputRecipe } {
  if (!isImageFile(file)) {
    // A raw tensor is exactly the input's bytes: read at most that much (plus one byte, to tell
    // a longer file from an exact one and say so).
    let raw: Uint8Array;
    try {
      raw = readUserFile(file, { ...tensorCap(desc.bytes), maxBytes: desc.bytes + 1 });
    } catch (e) {
      if (!(e instanceof UsageError && e.code === 'TOO_LARGE')) throw e;
      throw new UsageError(
        'BAD_INPUT',
        `${file}: more than ${desc.bytes} bytes, but the model input is ${desc.dtype} ${desc.shape.join('×')} = ${desc.bytes} bytes (give a raw NCHW tensor of that size, or a .png/.jpg/.bmp image)`,
      );
    }
    if (raw.length !== desc.bytes) {
      throw new UsageError(
        'BAD_INPUT',
        `${file}: ${raw.length} bytes, but the model input is ${desc.dtype} ${desc.shape.join('×')} = ${desc.bytes} bytes (give a raw NCHW tensor of that size, or a .png/.jpg/.bmp image)`,
      );
    }
    return { bytes: raw, recipe: { source: file, kind: 'tensor' } };
  }
  return imageToInput(readUserFile(file, FILE_CAPS.image), file, desc, opts);
}

export function imageToInput(
  fileBytes: Uint8Array,
  file: string,
  desc: TensorDesc,
  opts: InputOptions = {},
): { bytes: Uint8Array; recipe: InputRecipe } {
  const shape = desc.shape;
  if (shape.length !== 4 || shape[0] !== 1 || (shape[1] !== 1 && shape[1] !== 3)) {
    throw new UsageError(
      'BAD_INPUT',
      `${file}: an image can only feed a 1×1×H×W or 1×3×H×W input; this model takes ${desc.dtype} ${shape.join('×')} (give a raw tensor .bin instead)`,
    );
  }
  const [, c, h, w] = shape;
  const img = decodeImage(fileBytes, file);
  const mode = opts.resize ?? 'stretch';
  const interp = opts.interp ?? 'nearest';
  const padValue = opts.padValue ?? 0;
  if (!Number.isInteger(padValue) || padValue < 0 || padValue > 255)
    throw new UsageError('BAD_ARGUMENT', `--pad-value must be 0..255, got ${padValue}`);
  const { image, mapping } = resizeRgb(img, w, h, { mode, filter: interp, pad: [padValue, padValue, padValue] });
  const order = c === 1 ? 'luma' : opts.bgr ? 'bgr' : 'rgb';
  const planar = c === 1 ? rgbToLuma(image) : rgbToPlanar(image, opts.bgr ? 'bgr' : 'rgb');
  const base: InputRecipe = {
    source: file,
    kind: 'image',
    image: { width: img.width, height: img.height, format: img.format },
    resize: mode,
    interp,
    pad_value: mode === 'fit' ? padValue : undefined,
    channel_order: order,
    mapping,
  };
  if (desc.dtype === 'uint8') return { bytes: planar.data, recipe: base };
  if (desc.dtype !== 'float32')
    throw new UsageError('BAD_INPUT', `${file}: images can feed uint8 or float32 inputs, not ${desc.dtype}`);
  const plane = w * h;
  const out = new Float32Array(c * plane);
  const mean = opts.mean;
  const std = opts.std;
  for (let k = 0; k < c; k++) {
    const m = mean ? (mean[k] ?? mean[0]) : 0;
    const s = std ? (std[k] ?? std[0]) : 255;
    if (!(s !== 0 && Number.isFinite(s) && Number.isFinite(m)))
      throw new UsageError('BAD_ARGUMENT', '--mean/--std must be finite numbers, --std non-zero');
    for (let i = 0; i < plane; i++) out[k * plane + i] = Math.fround((planar.data[k * plane + i] - m) / s);
  }
  const float =
    mean || std ? `(value − ${JSON.stringify(mean ?? [0])}) / ${JSON.stringify(std ?? [255])}` : 'value / 255';
  return { bytes: new Uint8Array(out.buffer), recipe: { ...base, float } };
}
