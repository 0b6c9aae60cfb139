/**
 * One case on the board: the model placed (uploaded, or already in flash at an address), the input
 * fed as exactly as the firmware allows, N timed forwards, every output read back byte for byte.
 *
 * Input paths (README.md, "With a board"):
 * - `ai`: kpusim's virtual board: the bytes go straight into the image's AI buffer (exact);
 * - `gray`: MaixPy, 1-channel uint8: a grayscale image's pixels, `pix_to_ai()` copies them (exact);
 * - `rgb565`: MaixPy, 3-channel uint8: RGB565 pixels expanded by `pix_to_ai()` (exact only for data
 *   an RGB565 camera can produce; otherwise the board sees the nearest such image);
 * - `pix_ai`: MaixPy, 3-channel uint8: the bytes written at the image's `pix_ai` pointer, found
 *   through `uctypes` and used only after a self-check (exact);
 * - `floats`: float32 inputs as a list of floats (`forward(task, [floats])`, exact for numbers);
 * - `file`: CanMV (main): the input uploaded as a file, `run_with_output(path)` (exact; output 0 only).
 */
import type { Kmodel, TensorDesc } from '../kmodel-parser/model.js';
import { DTYPE_BYTES } from '../kmodel-parser/model.js';
import { pixToAi, rgb888ToRgb565Pixel } from '../pipeline/rgb565.js';
import { BoardError } from './errors.js';
import { pyStr, type HilRecord } from './prelude.js';
import { crc32Of, type BoardSession, type PutProgress, type PutResult } from './session.js';

export type InputPath = 'ai' | 'gray' | 'rgb565' | 'pix_ai' | 'floats' | 'file';
export const INPUT_PATHS: readonly InputPath[] = ['ai', 'gray', 'rgb565', 'pix_ai', 'floats', 'file'];

export interface BoardCase {
  readonly model: { readonly path: string; readonly bytes: Uint8Array; readonly model: Kmodel };
  readonly inputs: readonly TensorDesc[];
  readonly outputs: readonly TensorDesc[];
  /** The model input, dense NCHW bytes. */
  readonly input: Uint8Array;
  readonly repeat?: number;
  /** A flash address where the model already is (`kpu.load(addr)`), instead of an upload. */
  readonly at?: number;
  /** Where to upload the model (default /sd/NAME, or /flash/NAME without an SD card). */
  readonly to?: string;
  /** Force an input path (default: the most exact one this firmware offers). */
  readonly inputPath?: InputPath;
  readonly onProgress?: (what: string, p: PutProgress) => void;
  readonly onNote?: (text: string) => void;
}

export interface BoardCaseResult {
  readonly inputPath: InputPath;
  /** True when the board's model input equals the given input byte for byte. */
  readonly inputExact: boolean;
  /** The input the board's model saw (differs from the given one only when `inputExact` is false). */
  readonly effectiveInput: Uint8Array;
  readonly inputNote: string;
  /** `ticks_us` around each forward. */
  readonly timesUs: readonly number[];
  /** Output bytes by index; `null` where the firmware cannot return that output. */
  readonly outputs: readonly (Uint8Array | null)[];
  /** `kpu.load`'s argument: a path on the board or a flash address. */
  readonly modelRef: string;
  readonly upload: PutResult | null;
}

/** Models above this size fail to load from a file on the standard firmwares (ERR_NO_MEM). */
export const MODEL_SIZE_CEILING = 2_500_000;

function nchw(shape: readonly number[]): [number, number, number, number] {
  const s = [...shape];
  while (s.length < 4) s.unshift(1);
  return [s[s.length - 4], s[s.length - 3], s[s.length - 2], s[s.length - 1]];
}

function basename(p: string): string {
  return p.split(/[\\/]/).pop() ?? p;
}

function records(rs: HilRecord[], key: string): string[] {
  return rs.filter((r) => r.key === key).map((r) => r.value);
}

/** RGB565 approximation of a planar RGB input: the pixel values and what `pix_to_ai()` makes of them. */
export function rgb565Route(input: Uint8Array, w: number, h: number): { pixels: Uint8Array; ai: Uint8Array } {
  const n = w * h;
  const px = new Uint16Array(n);
  for (let i = 0; i < n; i++) px[i] = rgb888ToRgb565Pixel(input[i], input[n + i], input[2 * n + i]);
  const ai = pixToAi({ kind: 'rgb565', width: w, height: h, pixels: px }).data.subarray(0, 3 * n);
  const pixels = new Uint8Array(2 * n);
  for (let i = 0; i < n; i++) {
    pixels[2 * i] = px[i] & 0xff;
    pixels[2 * i + 1] = px[i] >> 8;
  }
  return { pixels, ai: ai.slice() };
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

/** Refuses a model the board's firmware cannot load, before anything is uploaded. */
export function checkModelFits(s: BoardSession, c: Pick<BoardCase, 'model' | 'inputs'>): void {
  const info = s.info;
  const v = c.model.model.version;
  if (!info.kmodelVersions.includes(v)) {
    const fw = info.flavour === 'canmv' ? 'CanMV' : info.flavour === 'maixpy' ? 'MaixPy' : 'this firmware';
    throw new BoardError(
      'UNSUPPORTED',
      `${c.model.path}: a kmodel v${v}; ${fw} loads ${info.kmodelVersions.map((x) => `v${x}`).join(', ') || 'no kmodel'}` +
        (v === 5 ? ' (v5 runs only on CanMV built from its feat/kpu branch, or custom SDK firmware)' : ''),
    );
  }
  if (c.inputs.length !== 1)
    throw new BoardError('UNSUPPORTED', `${c.model.path}: ${c.inputs.length} inputs; the board's KPU API feeds one`);
}

/** The input path this firmware offers for this input (the most exact one). */
export function chooseInputPath(s: BoardSession, desc: TensorDesc, input: Uint8Array): InputPath {
  const info = s.info;
  if (info.kpuApi === 'canmv-main') return 'file';
  if (desc.dtype === 'float32') return 'floats';
  if (info.virtual) return 'ai';
  const [, c, h, w] = nchw(desc.shape);
  if (c === 1) return 'gray';
  if (c === 3) return equal(rgb565Route(input, w, h).ai, input) ? 'rgb565' : 'pix_ai';
  return 'ai';
}

async function placeModel(s: BoardSession, c: BoardCase): Promise<{ ref: string; upload: PutResult | null }> {
  const bytes = c.model.bytes;
  if (c.at !== undefined) {
    const { records: rs } = await s.run(`_hil_flashcrc(${c.at}, ${bytes.length})`, { timeoutMs: 120_000 });
    const crc = records(rs, 'crc')[0];
    if (crc === undefined)
      c.onNote?.(`cannot read the flash from Python here; trusting that 0x${c.at.toString(16)} holds the model`);
    else if (Number(crc.split(' ')[1]) >>> 0 !== crc32Of(bytes))
      throw new BoardError(
        'VERIFY_FAILED',
        `the flash at 0x${c.at.toString(16)} does not hold ${c.model.path} (crc32 differs): flash it with kflash (a .kfpkg with this address), or upload it without --at`,
      );
    return { ref: String(c.at), upload: null };
  }
  if (bytes.length > MODEL_SIZE_CEILING && !s.info.virtual)
    c.onNote?.(
      `the model is ${bytes.length} bytes: models above ~2.5 MB usually fail to load from a file (ERR_NO_MEM); flash it and use --at`,
    );
  const to = c.to ?? `${s.info.missingDirs.includes('/sd') ? '/flash' : '/sd'}/${basename(c.model.path)}`;
  const upload = await s.putFile(to, bytes, { onProgress: (p) => c.onProgress?.('model', p) });
  return { ref: pyStr(to), upload };
}

/** Runs one case on the board (see the file comment for the input paths). */
export async function runCaseOnBoard(s: BoardSession, c: BoardCase): Promise<BoardCaseResult> {
  checkModelFits(s, c);
  const desc = c.inputs[0];
  if (c.input.length !== desc.bytes)
    throw new BoardError('PROTOCOL', `the input has ${c.input.length} bytes, the model takes ${desc.bytes}`);
  const path = c.inputPath ?? chooseInputPath(s, desc, c.input);
  const repeat = Math.max(1, Math.floor(c.repeat ?? 1));
  const api = s.info.kpuApi;
  if (api === 'none') throw new BoardError('UNSUPPORTED', 'this board has no KPU module (neither MaixPy nor CanMV)');
  if (api === 'canmv-kpu')
    throw new BoardError(
      'UNSUPPORTED',
      "CanMV's feat/kpu KPU() API is not driven by kpusim yet; use MaixPy or CanMV main",
    );
  if (path === 'file' && api !== 'canmv-main')
    throw new BoardError(
      'UNSUPPORTED',
      "the file input path is CanMV's run_with_output; this board has MaixPy's KPU API",
    );
  if (path !== 'file' && api === 'canmv-main')
    throw new BoardError(
      'UNSUPPORTED',
      `CanMV's KPU API takes its input from a file; --input-path ${path} needs MaixPy's`,
    );

  const { ref, upload } = await placeModel(s, c);
  const [, ch, h, w] = nchw(desc.shape);
  const slow = { timeoutMs: 120_000 };
  let effective = c.input;
  let note = '';
  const progress = (p: PutProgress) => c.onProgress?.('input', p);

  if (api === 'canmv-main') {
    const size = c.at !== undefined ? c.model.bytes.length : 0;
    await s.run(`_hil_cmload(${ref}, ${size})`, slow);
    const inPath = `${s.info.missingDirs.includes('/sd') ? '/flash' : '/sd'}/kpusim_input.bin`;
    await s.putFile(inPath, c.input, { onProgress: progress });
    note = `the input uploaded as ${inPath}, read by run_with_output (exact; CanMV returns output 0 only)`;
    const { records: rs } = await s.run(`_hil_cmrun(${pyStr(inPath)}, ${repeat})`, slow);
    const times = parseTimes(rs, repeat);
    const outs: (Uint8Array | null)[] = c.outputs.map(() => null);
    const o0 = c.outputs[0];
    if (o0.dtype !== 'float32')
      throw new BoardError('UNSUPPORTED', `CanMV's run_with_output returns floats; output 0 is ${o0.dtype}`);
    outs[0] = await readOutput(s, 0, o0, '_hil_dump(0, _hil_d, %N, %T, %K)');
    return {
      inputPath: 'file',
      inputExact: true,
      effectiveInput: c.input,
      inputNote: note,
      timesUs: times,
      outputs: outs,
      modelRef: ref,
      upload,
    };
  }

  await s.run(`_hil_load(${ref})`, slow);
  if (c.model.model.version !== 3)
    for (let i = 0; i < c.outputs.length; i++) {
      const [, oc, oh, ow] = nchw(c.outputs[i].shape);
      const { records: rs } = await s.run(`_hil_setout(${i}, ${ow}, ${oh}, ${oc})`);
      if (records(rs, 'setout')[0]?.split(' ')[1] !== '1')
        throw new BoardError('PROTOCOL', `kpu.set_outputs refused output ${i} as ${ow}×${oh}×${oc}`);
    }

  let x = '_hil_img';
  if (path === 'ai') {
    const bpp = ch === 1 ? 1 : 2;
    await s.run(
      `import image\n_hil_img = image.Image(_raw=(${w}, ${h}, ${bpp}, bytearray(${w * h * bpp}), bytearray(${desc.bytes})))`,
    );
    await s.putBuffer(c.input, { target: '_hil_img._ai', onProgress: progress });
    note = "written into the virtual board's image AI buffer (exact)";
  } else if (path === 'gray') {
    if (ch !== 1 || desc.dtype !== 'uint8')
      throw new BoardError('UNSUPPORTED', 'the gray path takes a 1-channel uint8 input');
    await s.run(`import image\n_hil_img = image.Image(size=(${w}, ${h})).to_grayscale()`);
    await s.putBuffer(c.input, { target: '_hil_img.to_bytes()', onProgress: progress });
    await s.run('_hil_img.pix_to_ai()');
    note = 'grayscale image pixels, copied by pix_to_ai() (exact)';
  } else if (path === 'rgb565' || path === 'pix_ai') {
    if (ch !== 3 || desc.dtype !== 'uint8')
      throw new BoardError('UNSUPPORTED', `the ${path} path takes a 3-channel uint8 input`);
    const route = rgb565Route(c.input, w, h);
    await s.run(`import image\n_hil_img = image.Image(size=(${w}, ${h}))`);
    await s.putBuffer(route.pixels, { target: '_hil_img.to_bytes()', onProgress: progress });
    let done = false;
    if (path === 'pix_ai') {
      const { records: rs } = await s.run(`_hil_pixai(${3 * w * h})`);
      const [ok, p, crc] = (records(rs, 'pixai')[0] ?? '0 0 0').split(' ').map(Number);
      if (ok === 1 && crc >>> 0 === crc32Of(route.ai)) {
        await s.run(`import uctypes\n_hil_pix = uctypes.bytearray_at(${p}, ${desc.bytes})`);
        await s.putBuffer(c.input, { target: '_hil_pix', onProgress: progress });
        note = "written at the image's pix_ai pointer (found with uctypes, self-checked against pix_to_ai()) (exact)";
        done = true;
      } else c.onNote?.('the pix_ai pointer did not pass its self-check; falling back to the RGB565 path');
    }
    if (!done) {
      await s.run('_hil_img.pix_to_ai()');
      effective = route.ai;
      note = equal(route.ai, c.input)
        ? 'RGB565 pixels expanded by pix_to_ai() (exact: the input is RGB565-representable)'
        : 'RGB565 pixels expanded by pix_to_ai() (NOT exact: the board saw the nearest RGB565 image; the emulator runs on that same image)';
    }
  } else if (path === 'floats') {
    if (desc.dtype !== 'float32') throw new BoardError('UNSUPPORTED', 'the floats path takes a float32 input');
    const f = new Float32Array(c.input.buffer.slice(c.input.byteOffset, c.input.byteOffset + c.input.length));
    if (f.some((v) => Number.isNaN(v)))
      c.onNote?.('the input holds NaN values: their bit patterns may not survive the float list');
    await s.putBuffer(c.input, { onProgress: progress });
    await s.run(`_hil_x = list(_hs.unpack('<%df' % ${f.length}, _hil_d))\n_hil_d = None`);
    x = '_hil_x';
    note = 'a list of floats (forward(task, [floats]); exact for numbers)';
  } else throw new BoardError('UNSUPPORTED', `input path ${path} on this board`);

  const { records: rs } = await s.run(`_hil_fwd(${x}, ${repeat})`, slow);
  const times = parseTimes(rs, repeat);
  const outs: (Uint8Array | null)[] = [];
  for (let i = 0; i < c.outputs.length; i++)
    outs.push(await readOutput(s, i, c.outputs[i], `_hil_getout(${i}, %N, %T, %K)`));
  return {
    inputPath: path,
    inputExact: equal(effective, c.input),
    effectiveInput: effective,
    inputNote: note,
    timesUs: times,
    outputs: outs,
    modelRef: ref,
    upload,
  };
}

function parseTimes(rs: HilRecord[], repeat: number): number[] {
  const t = records(rs, 'time')[0];
  const times = (t ?? '').split(' ').filter(Boolean).map(Number);
  if (times.length !== repeat || times.some((v) => !Number.isFinite(v)))
    throw new BoardError('PROTOCOL', `expected ${repeat} forward time(s) from the board, got "${t ?? ''}"`);
  return times;
}

/** Reads output `i` in base64 lines of `k` elements each and checks that every byte arrived. */
async function readOutput(s: BoardSession, i: number, d: TensorDesc, template: string): Promise<Uint8Array> {
  const size = DTYPE_BYTES[d.dtype];
  if (d.dtype !== 'float32' && d.dtype !== 'uint8')
    throw new BoardError('UNSUPPORTED', `output ${i} is ${d.dtype}; the board returns float32 or uint8 outputs`);
  const n = d.bytes / size;
  const tc = d.dtype === 'float32' ? "'f'" : "'B'";
  const k = d.dtype === 'float32' ? 256 : 1024;
  const code = template.replace('%N', String(n)).replace('%T', tc).replace('%K', String(k));
  const { records: rs } = await s.run(code, { timeoutMs: 30_000 + (d.bytes * 4 * 10) / 1000 });
  const out = new Uint8Array(d.bytes);
  let got = 0;
  for (const v of records(rs, 'out')) {
    const m = /^(\d+) (\d+) ([A-Za-z0-9+/=]*)$/.exec(v);
    if (!m || Number(m[1]) !== i) continue;
    const b = Buffer.from(m[3], 'base64');
    const at = Number(m[2]) * size;
    if (at + b.length > out.length)
      throw new BoardError('PROTOCOL', `output ${i}: more bytes than the model's ${d.bytes}`);
    out.set(b, at);
    got += b.length;
  }
  if (got !== d.bytes) throw new BoardError('PROTOCOL', `output ${i}: the board sent ${got} of ${d.bytes} bytes`);
  return out;
}
