/**
 * MaixPy's `kpu.set_layers(task, n)` and what `forward` returns afterwards, as the firmware's
 * runtime library does it (sipeed_kpu, shipped as a binary in MaixPy-v1; read from its
 * disassembly, see docs/maixpy-api.md):
 *
 * - v3 models only. `set_layers(task, n)` with 0 < n ≤ layers sets the runtime's layer count to n
 *   and points output 0 at the main-memory output of layer n − 1; n ≤ 0 means all layers. On a v4
 *   model the runtime's layer count is an error code (−2014), so any n > 0 prints
 *   `err: set layers_length to n, but max -2014` and returns False, and n ≤ 0 changes nothing.
 * - The output's size comes from layer n − 1's body, per layer type (the firmware's switch): the
 *   layer's output bytes, except a float ADD (its element count, a quarter of its bytes) and a
 *   CONCAT (input count × the first input's size). A K210_CONV that writes only to KPU memory is
 *   switched to also write its output densely to main memory (so the run pays that DMA).
 *   K210_ADD_PADDING, K210_UPLOAD and the types the switch lacks print the firmware's message and
 *   leave output 0 as it was.
 * - `forward` then runs layers 0 … n − 1 only; the fmap's `index()` is n − 1 and its typecode comes
 *   from layer n − 1's type (`'B'` with the conv's w, h, ch for a K210_CONV, else the firmware's
 *   type table, with w = the byte count and h = ch = 1).
 *
 * kpusim runs the whole model and keeps layer n − 1's output as it was when that layer finished
 * (later layers cannot change it then); only the first n layers' time is charged to the board.
 * Outputs other than 0 hold this run's values, where the board's buffers would hold whatever the
 * last full run left there.
 */
import type { V3Layer } from '../../kmodel-parser/v3/types.js';
import type { LayerEvent } from '../../kpu/events.js';
import type { LayerHook } from '../../kpu/interpreter.js';
import { kpuDownload } from '../../kpu/layout.js';
import { profile, resolveClocks, transferMs } from '../../kpu/timing/profile.js';
import type { LoadedKpuModel } from '../storage.js';

/** The runtime's layer-count error on a model that is not v3 (what `max_layers` holds there). */
export const NOT_V3_LAYER_COUNT = -2014;

/** The firmware's typecode table (`layer_type_dtype0`, indexed by the v3 layer type code 0…25). */
const DTYPE_BY_CODE = '\0fB\0\0f\0\0BfBBfBfffBfBfBfBff';

/** Typecode of a v3 layer type: the table for codes 0…25, 'B' for the K210 types 0x2800…0x2803, else NUL. */
export function firmwareTypecode(code: number): string {
  if (code >= 0 && code < DTYPE_BY_CODE.length) return DTYPE_BY_CODE[code];
  if (code >= 0x2800 && code <= 0x2803) return 'B';
  return '\0';
}

export interface LayerPrefix {
  /** The runtime's layer count after set_layers. */
  readonly layers: number;
  /** Output 0 after set_layers: layer n − 1's main-memory output, or null when the firmware left output 0 unchanged. */
  readonly output: { readonly layer: number; readonly bytes: number; readonly forcedConvDownload: boolean } | null;
  /** Board time of a run of layers 0 … n − 1, ms. */
  readonly boardMs: number;
}

/** The runtime's layer count as `kpu.load` records it (`max_layers`). */
export function maxLayers(m: LoadedKpuModel): number {
  return m.model.version === 3 ? m.layerCount : NOT_V3_LAYER_COUNT;
}

/**
 * What `set_layers(task, n)` leaves in the runtime. Returns the firmware's printed line (if any)
 * and the prefix (null: unchanged, as on a v4 model).
 */
export function setLayers(
  m: LoadedKpuModel,
  n: number,
): { ok: boolean; print: string | null; prefix: LayerPrefix | null } {
  const max = maxLayers(m);
  if (n > 0 && n > max) return { ok: false, print: `err: set layers_length to ${n}, but max ${max}`, prefix: null };
  const len = n > 0 ? n : max;
  if (m.model.version !== 3) return { ok: true, print: null, prefix: null };
  const layer = m.model.layers[len - 1] as V3Layer;
  const ev = m.prepared.events[len - 1];
  const clocks = resolveClocks({}, m.timing);
  let boardMs = profile(m.prepared.events.slice(0, len), { params: m.timing }).total_ms;
  let output: LayerPrefix['output'] = null;
  let print: string | null = null;
  const bytesOut = ev.bytesOut;
  switch (layer.type) {
    case 'ADD':
      output = { layer: len - 1, bytes: layer.count, forcedConvDownload: false };
      break;
    case 'CONCAT':
    case 'QUANTIZED_CONCAT':
      output = {
        layer: len - 1,
        bytes: layer.input_count * (layer.inputs_mem[0]?.size ?? 0),
        forcedConvDownload: false,
      };
      break;
    case 'K210_CONV': {
      const toMain = (layer.flags & 1) === 1;
      const g = ev.kpu?.geometry;
      const dense = g ? g.outChannels * g.outHeight * g.outWidth : 0;
      if (!toMain) boardMs += transferMs({ kind: 'download-dma', bytes: dense }, clocks, undefined, m.timing);
      output = { layer: len - 1, bytes: dense, forcedConvDownload: !toMain };
      break;
    }
    case 'QUANTIZED_ADD':
    case 'GLOBAL_AVERAGE_POOL2D':
    case 'QUANTIZED_MAX_POOL2D':
    case 'AVERAGE_POOL2D':
    case 'QUANTIZE':
    case 'DEQUANTIZE':
    case 'REQUANTIZE':
    case 'L2_NORMALIZATION':
    case 'SOFTMAX':
    case 'FULLY_CONNECTED':
    case 'TENSORFLOW_FLATTEN':
    case 'K210_REMOVE_PADDING':
      output = { layer: len - 1, bytes: bytesOut, forcedConvDownload: false };
      break;
    case 'K210_ADD_PADDING':
      print = 'KL_K210_ADD_PADDING not support output to mainbuf!';
      break;
    case 'K210_UPLOAD':
      print = 'KL_K210_UPLOAD not support output to mainbuf!';
      break;
    default:
      print = `Unknow layer type: ${layer.code}!`;
  }
  return { ok: true, print, prefix: { layers: len, output, boardMs } };
}

/** Layer `p.output.layer`'s output bytes, read while the model runs (pass `hook` as the run's onLayer). */
export function captureLayerOutput(m: LoadedKpuModel, p: LayerPrefix): { hook: LayerHook; bytes: () => Uint8Array } {
  let got: Uint8Array | null = null;
  const out = p.output;
  const hook: LayerHook = (step, state) => {
    if (!out || step.index !== out.layer) return;
    const ev = m.prepared.events[out.layer];
    if (out.forcedConvDownload && ev.kpu) {
      const g = ev.kpu.geometry;
      got = new Uint8Array(out.bytes);
      kpuDownload(state.ai, ev.kpu.output.address, [1, g.outChannels, g.outHeight, g.outWidth], got);
    } else if (step.output?.memory === 'main') {
      const a = step.output.address;
      got = new Uint8Array(out.bytes);
      got.set(state.main.subarray(a, Math.min(state.main.length, a + out.bytes)));
    }
  };
  return { hook, bytes: () => got ?? new Uint8Array(out?.bytes ?? 0) };
}

/** The fmap description `forward` builds for output `idx` (v3): typecode, w, h, ch and index. */
export function v3Fmap(
  m: LoadedKpuModel,
  layers: number,
  bytes: number,
): { typecode: string; w: number; h: number; ch: number; index: number } {
  const last = layers - 1;
  const ev: LayerEvent | undefined = m.prepared.events[last];
  const layer = m.model.layers[last];
  if (layer?.type === 'K210_CONV' && ev?.kpu) {
    const g = ev.kpu.geometry;
    return { typecode: 'B', w: g.outWidth, h: g.outHeight, ch: g.outChannels, index: last };
  }
  // get_typecode_size falls through to 1 for every typecode: w is the byte count.
  return { typecode: firmwareTypecode(layer?.code ?? -1), w: bytes, h: 1, ch: 1, index: last };
}
