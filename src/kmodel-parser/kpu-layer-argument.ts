/**
 * The KPU layer argument: 12 × 64-bit register words (`kpu_layer_argument_t` of the SDK), decoded
 * and encoded by declarative bit-field tables. Field names are the upstream ones so that both
 * code bases can be grepped side by side. kpu-numerics §5.
 */

/** One bit field: `[name, lsb, width, signed?]`. */
type FieldSpec = readonly [name: string, lsb: number, width: number, signed?: boolean];

/** Word order and field layout, exactly as in the SDK header (kpu-numerics §5.1). */
export const KPU_LAYER_ARGUMENT_WORDS = [
  {
    word: 'interrupt_enabe',
    fields: [
      ['int_en', 0, 1],
      ['ram_flag', 1, 1],
      ['full_add', 2, 1],
      ['depth_wise_layer', 3, 1],
    ],
  },
  {
    word: 'image_addr',
    fields: [
      ['image_src_addr', 0, 15],
      ['image_dst_addr', 32, 15],
    ],
  },
  {
    word: 'image_channel_num',
    fields: [
      ['i_ch_num', 0, 10],
      ['o_ch_num', 32, 10],
      ['o_ch_num_coef', 48, 10],
    ],
  },
  {
    word: 'image_size',
    fields: [
      ['i_row_wid', 0, 10],
      ['i_col_high', 10, 9],
      ['o_row_wid', 32, 10],
      ['o_col_high', 42, 9],
    ],
  },
  {
    word: 'kernel_pool_type_cfg',
    fields: [
      ['kernel_type', 0, 3],
      ['pad_type', 3, 1],
      ['pool_type', 4, 4],
      ['first_stride', 8, 1],
      ['bypass_conv', 9, 1],
      ['load_para', 10, 1],
      ['dma_burst_size', 16, 8],
      ['pad_value', 24, 8],
      ['bwsx_base_addr', 32, 32],
    ],
  },
  {
    word: 'kernel_load_cfg',
    fields: [
      ['load_coor', 0, 1],
      ['load_time', 1, 6],
      ['para_size', 15, 17],
      ['para_start_addr', 32, 32],
    ],
  },
  {
    word: 'kernel_offset',
    fields: [
      ['coef_column_offset', 0, 4],
      ['coef_row_offset', 4, 12],
    ],
  },
  {
    word: 'kernel_calc_type_cfg',
    fields: [
      ['channel_switch_addr', 0, 15],
      ['row_switch_addr', 16, 4],
      ['coef_size', 20, 8],
      ['coef_group', 28, 3],
      ['load_act', 31, 1],
      ['active_addr', 32, 32],
    ],
  },
  {
    word: 'write_back_cfg',
    fields: [
      ['wb_channel_switch_addr', 0, 15],
      ['wb_row_switch_addr', 16, 4],
      ['wb_group', 20, 3],
    ],
  },
  {
    word: 'conv_value',
    fields: [
      ['shr_w', 0, 4],
      ['shr_x', 4, 4],
      ['arg_w', 8, 24, true],
      ['arg_x', 32, 24, true],
    ],
  },
  { word: 'conv_value2', fields: [['arg_add', 0, 40, true]] },
  {
    word: 'dma_parameter',
    fields: [
      ['send_data_out', 0, 1],
      ['channel_byte_num', 16, 16],
      ['dma_total_byte', 32, 32],
    ],
  },
] as const satisfies readonly { word: string; fields: readonly FieldSpec[] }[];

type Words = typeof KPU_LAYER_ARGUMENT_WORDS;
type FieldNames<W> = W extends { fields: readonly (infer F)[] }
  ? F extends readonly [infer N, ...unknown[]]
    ? N
    : never
  : never;
export type KpuFieldName = FieldNames<Words[number]>;

/** Every register field as a plain number (all fit: the widest, arg_add, is 40 bits signed). */
export type KpuLayerArgument = { readonly [K in KpuFieldName]: number };

const MASKS = new Map<number, bigint>();
function mask(width: number): bigint {
  let m = MASKS.get(width);
  if (m === undefined) {
    m = (1n << BigInt(width)) - 1n;
    MASKS.set(width, m);
  }
  return m;
}

/** Extracts `width` bits at `lsb` of `word`, sign-extending when `signed`. */
export function getBits(word: bigint, lsb: number, width: number, signed = false): number {
  let v = (word >> BigInt(lsb)) & mask(width);
  if (signed && v >> BigInt(width - 1) === 1n) v -= 1n << BigInt(width);
  return Number(v);
}

/** Inserts `value` (wrapped to `width` bits, two's complement for negatives) at `lsb`. */
export function setBits(word: bigint, lsb: number, width: number, value: number): bigint {
  const m = mask(width);
  const v = BigInt(value) & m;
  return (word & ~(m << BigInt(lsb))) | (v << BigInt(lsb));
}

/** Decodes the 12 words. Bits outside every field (reserved) are ignored. */
export function decodeKpuLayerArgument(words: readonly bigint[]): KpuLayerArgument {
  if (words.length !== 12) throw new RangeError(`a KPU layer argument has 12 words, got ${words.length}`);
  const out: Record<string, number> = {};
  KPU_LAYER_ARGUMENT_WORDS.forEach((w, i) => {
    for (const [name, lsb, width, signed] of w.fields as readonly FieldSpec[])
      out[name] = getBits(words[i], lsb, width, signed ?? false);
  });
  return Object.freeze(out) as KpuLayerArgument;
}

/**
 * Encodes the fields into 12 words (reserved bits zero). Values are wrapped to the field width,
 * so encode∘decode is the identity on words whose reserved bits are zero, and decode∘encode is
 * the identity on in-range field values.
 */
export function encodeKpuLayerArgument(arg: KpuLayerArgument): bigint[] {
  return KPU_LAYER_ARGUMENT_WORDS.map((w) => {
    let word = 0n;
    for (const [name, lsb, width] of w.fields as readonly FieldSpec[])
      word = setBits(word, lsb, width, (arg as Record<string, number>)[name]);
    return word;
  });
}

/** The mask of all defined bits of word `i` (reserved bits are 0). */
export function definedBitsMask(i: number): bigint {
  let m = 0n;
  for (const [, lsb, width] of KPU_LAYER_ARGUMENT_WORDS[i].fields as readonly FieldSpec[])
    m |= mask(width) << BigInt(lsb);
  return m;
}

/** Range of each field as `[min, max]`, for validation and property tests. */
export function fieldRange(name: KpuFieldName): [number, number] {
  for (const w of KPU_LAYER_ARGUMENT_WORDS) {
    for (const [n, , width, signed] of w.fields as readonly FieldSpec[]) {
      if (n === name) return signed ? [-(2 ** (width - 1)), 2 ** (width - 1) - 1] : [0, 2 ** width - 1];
    }
  }
  throw new RangeError(`no field ${name}`);
}

/** Batch-norm entry of one output channel (kpu-numerics §5.3). */
export interface BatchNormEntry {
  readonly norm_mul: number; // signed 24
  readonly norm_add: number; // signed 32
  readonly norm_shift: number; // unsigned 4
}

const BN_FIELDS: readonly FieldSpec[] = [
  ['norm_mul', 0, 24, true],
  ['norm_add', 24, 32, true],
  ['norm_shift', 56, 4],
];

/**
 * The BN_FIELDS of one word, from its two 32-bit halves in Number arithmetic (one entry per output
 * channel: a large model has thousands, and BigInt shifts per field were most of parsing it).
 */
export function decodeBatchNorm(word: bigint): BatchNormEntry {
  return batchNormOf(Number(word & 0xffffffffn), Number((word >> 32n) & 0xffffffffn));
}

/** The BN_FIELDS of the word whose low and high 32-bit halves are `lo` and `hi` (unsigned). */
function batchNormOf(lo: number, hi: number): BatchNormEntry {
  return {
    norm_mul: (lo << 8) >> 8, // bits 0..23, sign-extended
    norm_add: (lo >>> 24) | (hi << 8), // bits 24..55 as a signed 32-bit value
    norm_shift: (hi >>> 24) & 0xf, // bits 56..59
  };
}

/**
 * `decodeBatchNorm` of each of the `n` little-endian words of `bytes`, read as two 32-bit halves
 * (what `readWords` then `decodeBatchNorm` give, without a BigInt per channel; a view too short
 * for `n` words throws as `readWords` does).
 */
export function decodeBatchNormTable(bytes: Uint8Array, n: number): BatchNormEntry[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: BatchNormEntry[] = [];
  for (let i = 0; i < n; i++) out.push(batchNormOf(dv.getUint32(i * 8, true), dv.getUint32(i * 8 + 4, true)));
  return out;
}

export function encodeBatchNorm(e: BatchNormEntry): bigint {
  let w = 0n;
  for (const [n, lsb, width] of BN_FIELDS) w = setBits(w, lsb, width, (e as unknown as Record<string, number>)[n]);
  return w;
}

/** One of the 16 activation segments (kpu-numerics §5.4, corrected by §10 C9). */
export interface ActivationSegment {
  readonly shift_number: number; // unsigned 8
  readonly y_mul: number; // signed 16
  readonly x_start: number; // signed 36 (bits 60..63 are ignored: real files carry garbage there)
  readonly bias: number; // unsigned 8, from words 16 and 17
}

const ACT_FIELDS: readonly FieldSpec[] = [
  ['shift_number', 0, 8],
  ['y_mul', 8, 16, true],
  ['x_start', 24, 36, true],
];

/** Decodes the 18-word (144-byte) activation table into 16 segments. */
export function decodeActivationTable(words: readonly bigint[]): ActivationSegment[] {
  if (words.length !== 18) throw new RangeError(`an activation table has 18 words, got ${words.length}`);
  const segs: ActivationSegment[] = [];
  for (let i = 0; i < 16; i++) {
    const o: Record<string, number> = {};
    for (const [n, lsb, width, signed] of ACT_FIELDS) o[n] = getBits(words[i], lsb, width, signed ?? false);
    o.bias = getBits(words[16 + (i >> 3)], (i & 7) * 8, 8);
    segs.push(Object.freeze(o) as unknown as ActivationSegment);
  }
  return segs;
}

/**
 * `decodeActivationTable(readWords(bytes, 18))` in Number arithmetic: each segment word read as two
 * little-endian 32-bit halves lo, hi, its fields as ACT_FIELDS place them (x_start, bits 24..59,
 * is lo's top byte plus hi's low 28 bits times 2^8, below 2^36, exact in a double, then
 * sign-extended), and segment i's bias byte (i & 7) of word 16 + (i >> 3), i.e. byte 128 + i.
 */
export function decodeActivationBytes(bytes: Uint8Array): ActivationSegment[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // as readWords(bytes, 18) would, a view shorter than 18 words throws
  dv.getBigUint64(17 * 8, true);
  const segs: ActivationSegment[] = [];
  for (let i = 0; i < 16; i++) {
    const lo = dv.getUint32(i * 8, true);
    const hi = dv.getUint32(i * 8 + 4, true);
    const x = (lo >>> 24) + (hi & 0x7ffffff) * 256 - (hi & 0x8000000 ? 2 ** 35 : 0);
    segs.push(
      Object.freeze({ shift_number: lo & 0xff, y_mul: (lo << 8) >> 16, x_start: x, bias: dv.getUint8(128 + i) }),
    );
  }
  return segs;
}

export function encodeActivationTable(segs: readonly ActivationSegment[]): bigint[] {
  if (segs.length !== 16) throw new RangeError(`an activation table has 16 segments, got ${segs.length}`);
  const words: bigint[] = [];
  for (const s of segs) {
    let w = 0n;
    for (const [n, lsb, width] of ACT_FIELDS) w = setBits(w, lsb, width, (s as unknown as Record<string, number>)[n]);
    words.push(w);
  }
  let b0 = 0n;
  let b1 = 0n;
  for (let i = 0; i < 8; i++) {
    b0 = setBits(b0, i * 8, 8, segs[i].bias);
    b1 = setBits(b1, i * 8, 8, segs[8 + i].bias);
  }
  words.push(b0, b1);
  return words;
}

/** Reads `n` little-endian u64 words from a byte view. */
export function readWords(bytes: Uint8Array, n: number): bigint[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) out.push(dv.getBigUint64(i * 8, true));
  return out;
}
