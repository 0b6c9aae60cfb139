/**
 * Reading TensorFlow.js weights: a JSON manifest (a face-api "weights manifest", an array of
 * groups, or a graph model's `weightsManifest`) plus its binary shards. Every weight becomes a
 * Float32Array holding exactly the values TensorFlow.js itself would hold after loading
 * (float16 widened exactly; uint8-quantised entries as fround(min + q·scale), the float32 result
 * of tfjs's own dequantisation), so the builder and the tfjs reference see the same numbers.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { halfToFloat } from '../kpu/v5/number-formats.js';
import { BuildError } from './errors.js';

export interface WeightTensor {
  readonly name: string;
  /** TensorFlow shape: conv [kh, kw, in, out], depthwise [kh, kw, c, 1], dense [in, out]. */
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export type WeightMap = ReadonlyMap<string, WeightTensor>;

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number; original_dtype?: string };
}
interface ManifestGroup {
  paths: string[];
  weights: ManifestEntry[];
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, float16: 2, uint8: 1, uint16: 2, int8: 1 };

/** IEEE binary16 → number (exact); one definition with the v5 kernels'. */
export { halfToFloat };

/** Decodes the groups of a manifest against the bytes of their shards (concatenated in order). */
export function decodeWeights(
  groups: readonly ManifestGroup[],
  readShard: (path: string) => Uint8Array,
  source: string,
): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>();
  for (const g of groups) {
    const parts = g.paths.map(readShard);
    const total = parts.reduce((a, p) => a + p.length, 0);
    const buf = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      buf.set(p, o);
      o += p.length;
    }
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let at = 0;
    for (const w of g.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const stored = w.quantization?.dtype ?? w.dtype;
      const size = BYTES[stored];
      if (size === undefined)
        throw new BuildError(`${source}: weight ${w.name} has an unsupported stored dtype ${stored}`);
      if (at + n * size > buf.length)
        throw new BuildError(
          `${source}: weight ${w.name} runs past the end of its shards (${at + n * size} > ${buf.length} bytes)`,
        );
      const data = new Float32Array(n);
      if (w.quantization && (stored === 'uint8' || stored === 'uint16')) {
        const scale = w.quantization.scale ?? 1;
        const min = w.quantization.min ?? 0;
        for (let i = 0; i < n; i++) {
          const q = stored === 'uint8' ? buf[at + i] : dv.getUint16(at + 2 * i, true);
          data[i] = Math.fround(q * scale + min);
        }
      } else if (stored === 'float16') {
        for (let i = 0; i < n; i++) data[i] = halfToFloat(dv.getUint16(at + 2 * i, true));
      } else if (stored === 'float32') {
        for (let i = 0; i < n; i++) data[i] = dv.getFloat32(at + 4 * i, true);
      } else if (stored === 'int32') {
        for (let i = 0; i < n; i++) data[i] = dv.getInt32(at + 4 * i, true);
      } else {
        throw new BuildError(`${source}: weight ${w.name}: stored dtype ${stored} without dequantisation parameters`);
      }
      at += n * size;
      out.set(w.name, Object.freeze({ name: w.name, shape: Object.freeze([...w.shape]), data }));
    }
    if (at !== buf.length)
      throw new BuildError(`${source}: the manifest describes ${at} bytes but the shards hold ${buf.length}`);
  }
  return out;
}

/** Loads a manifest file (face-api weights manifest or graph-model JSON) and its shards. */
export function loadTfjsWeights(manifestFile: string): Map<string, WeightTensor> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(manifestFile, 'utf8'));
  } catch (e) {
    throw new BuildError(
      `${manifestFile}: cannot read the weights manifest (${(e as Error).message}); are the devDependencies installed (npm ci)?`,
    );
  }
  const groups = (Array.isArray(json) ? json : (json as { weightsManifest?: unknown }).weightsManifest) as
    ManifestGroup[] | undefined;
  if (!Array.isArray(groups)) throw new BuildError(`${manifestFile}: not a TensorFlow.js weights manifest`);
  const dir = dirname(manifestFile);
  return decodeWeights(groups, (p) => new Uint8Array(readFileSync(join(dir, p))), manifestFile);
}

/** The named weight, checked against an expected shape. */
export function weight(map: WeightMap, name: string, shape?: readonly number[]): WeightTensor {
  const w = map.get(name);
  if (!w) throw new BuildError(`weight ${name} is missing from the manifest`);
  if (shape && (shape.length !== w.shape.length || shape.some((d, i) => d !== w.shape[i]))) {
    throw new BuildError(`weight ${name} has shape [${w.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  return w;
}
