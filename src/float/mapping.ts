/**
 * The float input mapping: how the kmodel's input (raw 0–255 pixels, or float values) becomes the
 * original float network's input. float = (x − mean) / std per channel, then the float model's
 * layout. kpusim never guesses it silently: the mapping used is always reported, with where it
 * came from, and `alternativeMappings` lists the documented mappings a wrong one is tried against.
 */
import { UsageError } from '../errors.js';
import type { TensorDesc } from '../kmodel-parser/model.js';

export interface FloatMapping {
  /** In units of the kmodel's raw input values; one value or one per channel. */
  readonly mean: readonly number[];
  readonly std: readonly number[];
  /** Layout of the float model's 4-D input. */
  readonly layout: 'nchw' | 'nhwc';
  /** Where the mapping came from: the command line, or the default (said in the report). */
  readonly source: string;
}

/** `(x − 127.5) / 128` style text. */
export function mappingText(m: Pick<FloatMapping, 'mean' | 'std'>): string {
  const list = (v: readonly number[]) => (v.length === 1 ? String(v[0]) : `(${v.join(', ')})`);
  const allZero = m.mean.every((v) => v === 0);
  const unitStd = m.std.every((v) => v === 1);
  const num = allZero ? 'x' : `(x − ${list(m.mean)})`;
  return unitStd ? num : `${num} / ${list(m.std)}`;
}

/** The mapping as the commands' JSON reports it. */
export function mappingJson(m: FloatMapping) {
  return { text: mappingText(m), mean: m.mean, std: m.std, layout: m.layout, source: m.source };
}

function check(values: readonly number[], what: string, channels: number): void {
  if (values.length !== 1 && values.length !== channels)
    throw new UsageError(
      'BAD_ARGUMENT',
      `${what}: give one value or one per input channel (${channels}), got ${values.length}`,
    );
  if (values.some((v) => !Number.isFinite(v))) throw new UsageError('BAD_ARGUMENT', `${what}: not a finite number`);
}

export function checkMapping(m: FloatMapping, channels: number): void {
  check(m.mean, '--float-mean', channels);
  check(m.std, '--float-std', channels);
  if (m.std.some((v) => v === 0)) throw new UsageError('BAD_ARGUMENT', '--float-std: zero is not a scale');
}

/** The kmodel's channel count (NCHW dimension 1 of a 4-D input, else 1). */
export function inputChannels(desc: TensorDesc): number {
  return desc.shape.length === 4 ? desc.shape[1] : 1;
}

/**
 * The documented mappings of K210 models, tried against the given one when a comparison is
 * judged: x/255, x/255 − 0.5, (x − 127.5)/128, (x − 127)/128, ImageNet mean/std on x/255, and
 * raw x; each also with the layout swapped.
 */
export function alternativeMappings(
  desc: TensorDesc,
): { readonly name: string; readonly mean: number[]; readonly std: number[] }[] {
  if (desc.dtype !== 'uint8') return [{ name: 'x', mean: [0], std: [1] }];
  const c = inputChannels(desc);
  const out = [
    { name: 'x / 255', mean: [0], std: [255] },
    { name: 'x / 255 − 0.5', mean: [127.5], std: [255] },
    { name: '(x − 127.5) / 128', mean: [127.5], std: [128] },
    { name: '(x − 127) / 128', mean: [127], std: [128] },
    { name: '(x − 127.5) / 127.5', mean: [127.5], std: [127.5] },
    { name: 'x', mean: [0], std: [1] },
  ];
  if (c === 3)
    out.push({
      name: 'ImageNet mean/std on x/255',
      mean: [123.675, 116.28, 103.53],
      std: [58.395, 57.12, 57.375],
    });
  return out;
}

/**
 * The float model's input from the kmodel's input bytes: uint8 NCHW (or float32) values mapped
 * per channel, then transposed to NHWC when the mapping says so. `want` is the float model's
 * input element count (checked).
 */
export function toFloatInput(bytes: Uint8Array, desc: TensorDesc, m: FloatMapping, want: number): Float32Array {
  const n = desc.shape.reduce((a, b) => a * b, 1);
  if (n !== want)
    throw new UsageError(
      'BAD_INPUT',
      `the kmodel's input ${desc.shape.join('×')} has ${n} elements, the float model's input ${want}: not the same network input`,
    );
  const x =
    desc.dtype === 'float32'
      ? new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + 4 * n))
      : Float32Array.from(bytes.subarray(0, n));
  const c = inputChannels(desc);
  const plane = n / c;
  const out = new Float32Array(n);
  const nhwc = m.layout === 'nhwc' && desc.shape.length === 4 && c > 1;
  for (let k = 0; k < c; k++) {
    const mean = m.mean[k] ?? m.mean[0];
    const std = m.std[k] ?? m.std[0];
    for (let i = 0; i < plane; i++) {
      const v = (x[k * plane + i] - mean) / std;
      out[nhwc ? i * c + k : k * plane + i] = v;
    }
  }
  return out;
}
