/**
 * The stackvm instruction set of nncase 1.x, as tables: one row per opcode and per tensor
 * function, giving the upstream name and the operand encoding (fields read back to back,
 * unaligned, little-endian, after the opcode byte — and after the u16 tensor-function number
 * for TENSOR). Learned from nncase's generated `stackvm/opcode.h` and `op_reader.h`.
 *
 * The scalar opcodes are the same in every 1.x release we support. The tensor-function
 * numbering is not: a kmodel v5 header does not say which release wrote it, so each
 * supported numbering is a row of NUMBERINGS and the parser picks one per file
 * (see decode.ts). A tensor function that a release names but cannot read (no op_reader in
 * that tree, e.g. CLAMP or SOFTMAX in 2021) is an illegal instruction there, as upstream.
 */

export type OperandType = 'u8' | 'u16' | 'u32' | 'i32' | 'f32' | 'bool';

/** `[name, type]`; names are the upstream struct member names. */
export type OperandField = readonly [name: string, type: OperandType];

export const OPERAND_BYTES: Readonly<Record<OperandType, number>> = { u8: 1, u16: 2, u32: 4, i32: 4, f32: 4, bool: 1 };

export interface ScalarOpcodeSpec {
  readonly opcode: number;
  readonly name: string;
  readonly operands: readonly OperandField[];
}

/** The 0x5E opcode: a u16 tensor-function number and that function's operands follow. */
export const OPCODE_TENSOR = 0x5e;

const NO: readonly OperandField[] = [];

/** Scalar opcodes (`opcode_t`), identical at nncase 4a33c5520 and 2985fabbd. */
export const SCALAR_OPCODES: readonly ScalarOpcodeSpec[] = [
  { opcode: 0x00, name: 'NOP', operands: NO },
  { opcode: 0x01, name: 'LDNULL', operands: NO },
  { opcode: 0x02, name: 'LDC_I4', operands: [['imm', 'i32']] },
  { opcode: 0x03, name: 'LDC_I4_0', operands: NO },
  { opcode: 0x04, name: 'LDC_I4_1', operands: NO },
  { opcode: 0x05, name: 'LDC_R4', operands: [['imm', 'f32']] },
  { opcode: 0x06, name: 'LDIND_I1', operands: NO },
  { opcode: 0x07, name: 'LDIND_I2', operands: NO },
  { opcode: 0x08, name: 'LDIND_I4', operands: NO },
  { opcode: 0x09, name: 'LDIND_I', operands: NO },
  { opcode: 0x0a, name: 'LDIND_U1', operands: NO },
  { opcode: 0x0b, name: 'LDIND_U2', operands: NO },
  { opcode: 0x0c, name: 'LDIND_U4', operands: NO },
  { opcode: 0x0d, name: 'LDIND_U', operands: NO },
  { opcode: 0x0e, name: 'LDIND_BR2', operands: NO },
  { opcode: 0x0f, name: 'LDIND_R4', operands: NO },
  { opcode: 0x10, name: 'STIND_I1', operands: NO },
  { opcode: 0x11, name: 'STIND_I2', operands: NO },
  { opcode: 0x12, name: 'STIND_I4', operands: NO },
  { opcode: 0x13, name: 'STIND_I', operands: NO },
  { opcode: 0x14, name: 'STIND_BR2', operands: NO },
  { opcode: 0x15, name: 'STIND_R4', operands: NO },
  {
    opcode: 0x16,
    name: 'LEA_GP',
    operands: [
      ['gpid', 'u8'],
      ['offset', 'i32'],
    ],
  },
  {
    opcode: 0x17,
    name: 'LEA_BUFFER',
    operands: [
      ['location', 'u8'],
      ['subres_id', 'u8'],
      ['offset', 'u32'],
    ],
  },
  { opcode: 0x18, name: 'LDELEM_I1', operands: NO },
  { opcode: 0x19, name: 'LDELEM_I2', operands: NO },
  { opcode: 0x1a, name: 'LDELEM_I4', operands: NO },
  { opcode: 0x1b, name: 'LDELEM_I', operands: NO },
  { opcode: 0x1c, name: 'LDELEM_U1', operands: NO },
  { opcode: 0x1d, name: 'LDELEM_U2', operands: NO },
  { opcode: 0x1e, name: 'LDELEM_U4', operands: NO },
  { opcode: 0x1f, name: 'LDELEM_U', operands: NO },
  { opcode: 0x20, name: 'LDELEM_BR2', operands: NO },
  { opcode: 0x21, name: 'LDELEM_R4', operands: NO },
  { opcode: 0x22, name: 'STELEM_I1', operands: NO },
  { opcode: 0x23, name: 'STELEM_I2', operands: NO },
  { opcode: 0x24, name: 'STELEM_I4', operands: NO },
  { opcode: 0x25, name: 'STELEM_I', operands: NO },
  { opcode: 0x26, name: 'STELEM_BR2', operands: NO },
  { opcode: 0x27, name: 'STELEM_R4', operands: NO },
  { opcode: 0x28, name: 'LDARG', operands: [['index', 'u32']] },
  { opcode: 0x29, name: 'LDARG_0', operands: NO },
  { opcode: 0x2a, name: 'LDARG_1', operands: NO },
  { opcode: 0x2b, name: 'LDARG_2', operands: NO },
  { opcode: 0x2c, name: 'LDARG_3', operands: NO },
  { opcode: 0x2d, name: 'LDARG_4', operands: NO },
  { opcode: 0x2e, name: 'LDARG_5', operands: NO },
  { opcode: 0x2f, name: 'DUP', operands: NO },
  { opcode: 0x30, name: 'POP', operands: NO },
  {
    opcode: 0x31,
    name: 'STSHAPE',
    operands: [
      ['rshape', 'u8'],
      ['rank', 'u8'],
    ],
  },
  {
    opcode: 0x32,
    name: 'STPADDINGS',
    operands: [
      ['rpaddings', 'u8'],
      ['rank', 'u8'],
    ],
  },
  { opcode: 0x33, name: 'NEG', operands: NO },
  { opcode: 0x34, name: 'ADD', operands: NO },
  { opcode: 0x35, name: 'SUB', operands: NO },
  { opcode: 0x36, name: 'MUL', operands: NO },
  { opcode: 0x37, name: 'DIV', operands: NO },
  { opcode: 0x38, name: 'DIV_U', operands: NO },
  { opcode: 0x39, name: 'REM', operands: NO },
  { opcode: 0x3a, name: 'REM_U', operands: NO },
  { opcode: 0x3b, name: 'AND', operands: NO },
  { opcode: 0x3c, name: 'OR', operands: NO },
  { opcode: 0x3d, name: 'XOR', operands: NO },
  { opcode: 0x3e, name: 'NOT', operands: NO },
  { opcode: 0x3f, name: 'SHL', operands: NO },
  { opcode: 0x40, name: 'SHR', operands: NO },
  { opcode: 0x41, name: 'SHR_U', operands: NO },
  { opcode: 0x42, name: 'CLT', operands: NO },
  { opcode: 0x43, name: 'CLT_U', operands: NO },
  { opcode: 0x44, name: 'CLE', operands: NO },
  { opcode: 0x45, name: 'CLE_U', operands: NO },
  { opcode: 0x46, name: 'CEQ', operands: NO },
  { opcode: 0x47, name: 'CGE', operands: NO },
  { opcode: 0x48, name: 'CGE_U', operands: NO },
  { opcode: 0x49, name: 'CGT', operands: NO },
  { opcode: 0x4a, name: 'CGT_U', operands: NO },
  { opcode: 0x4b, name: 'CNE', operands: NO },
  { opcode: 0x4c, name: 'CONV_I1', operands: NO },
  { opcode: 0x4d, name: 'CONV_I2', operands: NO },
  { opcode: 0x4e, name: 'CONV_I4', operands: NO },
  { opcode: 0x4f, name: 'CONV_I', operands: NO },
  { opcode: 0x50, name: 'CONV_U1', operands: NO },
  { opcode: 0x51, name: 'CONV_U2', operands: NO },
  { opcode: 0x52, name: 'CONV_U4', operands: NO },
  { opcode: 0x53, name: 'CONV_U', operands: NO },
  { opcode: 0x54, name: 'CONV_BR2', operands: NO },
  { opcode: 0x55, name: 'CONV_R4', operands: NO },
  { opcode: 0x56, name: 'BR', operands: [['target', 'i32']] },
  { opcode: 0x57, name: 'BR_TRUE', operands: [['target', 'i32']] },
  { opcode: 0x58, name: 'BR_FALSE', operands: [['target', 'i32']] },
  { opcode: 0x59, name: 'RET', operands: NO },
  {
    opcode: 0x5a,
    name: 'CALL',
    operands: [
      ['args', 'u8'],
      ['target', 'i32'],
    ],
  },
  { opcode: 0x5b, name: 'ECALL', operands: [['args', 'u8']] },
  { opcode: 0x5c, name: 'THROW', operands: NO },
  { opcode: 0x5d, name: 'BREAK', operands: NO },
];

export const SCALAR_BY_OPCODE: ReadonlyMap<number, ScalarOpcodeSpec> = new Map(
  SCALAR_OPCODES.map((s) => [s.opcode, s]),
);

export interface TensorFunctionSpec {
  readonly name: string;
  /** Operands after opcode and funct; `null` = the release names the function but has no reader for it. */
  readonly operands: readonly OperandField[] | null;
}

/** Operand encodings by tensor-function name (the same in every release that can read them). */
const OPERANDS = {
  BATCH_TO_SPACE: [
    ['datatype', 'u8'],
    ['rshape_src', 'u8'],
    ['rstride_src', 'u8'],
    ['rstride_dest', 'u8'],
    ['rshape_block', 'u8'],
    ['rpad_crops', 'u8'],
  ],
  BINARY: [
    ['datatype', 'u8'],
    ['rshape_src1', 'u8'],
    ['rstride_src1', 'u8'],
    ['rshape_src2', 'u8'],
    ['rstride_src2', 'u8'],
    ['rstride_dest', 'u8'],
    ['binary_op', 'u8'],
    ['fused_clamp_low', 'f32'],
    ['fused_clamp_high', 'f32'],
  ],
  BROADCAST: [
    ['datatype', 'u8'],
    ['rshape_src', 'u8'],
    ['rstride_src', 'u8'],
    ['rshape_dest', 'u8'],
    ['rstride_dest', 'u8'],
  ],
  CALL: [
    ['function_id', 'u32'],
    ['module_id', 'u16'],
    ['num_src', 'u8'],
    ['num_dst', 'u8'],
  ],
  CLAMP: null,
  CONV2D: [
    ['datatype', 'u8'],
    ['rshape_src', 'u8'],
    ['rstride_src', 'u8'],
    ['rshape_kernel', 'u8'],
    ['rstride_kernel', 'u8'],
    ['rstride_bias', 'u8'],
    ['rstride_dest', 'u8'],
    ['groups', 'u16'],
    ['stride_h', 'u16'],
    ['stride_w', 'u16'],
    ['dilation_h', 'u16'],
    ['dilation_w', 'u16'],
    ['fused_clamp_low', 'f32'],
    ['fused_clamp_high', 'f32'],
  ],
  CONV2D_TRANSPOSE: null,
  CONVERT: [
    ['in_datatype', 'u8'],
    ['dst_datatype', 'u8'],
    ['rshape_src', 'u8'],
    ['rstride_src', 'u8'],
    ['rstride_dest', 'u8'],
  ],
  COPY: [
    ['datatype', 'u8'],
    ['rshape', 'u8'],
    ['rstride_src', 'u8'],
    ['rstride_dest', 'u8'],
  ],
  CUMSUM: [
    ['datatype', 'u8'],
    ['rshape_src', 'u8'],
    ['axis', 'i32'],
    ['exclusive', 'bool'],
    ['reverse', 'bool'],
  ],
  DEQUANTIZE: [
    ['in_datatype', 'u8'],
    ['dst_datatype', 'u8'],
    ['rshape_src', 'u8'],
    ['rstride_src', 'u8'],
    ['rstride_dest', 'u8'],
  ],
  GATHER: [
    ['datatype', 'u8'],
    ['rshape_src', 'u8'],
    ['rshape_dest', 'u8'],
    ['rstride_src', 'u8'],
    ['rstride_dest', 'u8'],
    ['rshape_indices', 'u8'],
    ['axis', 'u8'],
  ],
  GATHER_ND: [
    ['datatype', 'u8'],
    ['rshape_src', 'u8'],
    ['rshape_dest', 'u8'],
    ['rstride_src', 'u8'],
    ['rstride_dest', 'u8'],
    ['rshape_indices', 'u8'],
    ['batch_dims', 'u8'],
  ],
  LOGISTIC: null,
  LUT1D: [
    ['datatype', 'u8'],
    ['rshape_src', 'u8'],
    ['rstride_src', 'u8'],
    ['rstride_dest', 'u8'],
    ['table_len', 'u16'],
  ],
  MATMUL: null,
  ONEHOT: [
    ['datatype', 'u8'],
    ['rshape_indices', 'u8'],
    ['rshape_dest', 'u8'],
    ['rstride_dest', 'u8'],
    ['axis', 'u8'],
    ['onehot_mode', 'u8'],
  ],
  PAD: [
    ['datatype', 'u8'],
    ['rshape_src', 'u8'],
    ['rstride_src', 'u8'],
    ['rstride_dest', 'u8'],
    ['rpaddings', 'u8'],
    ['pad_mode', 'u8'],
  ],
  QUANTIZE: [
    ['in_datatype', 'u8'],
    ['dst_datatype', 'u8'],
    ['rshape_src', 'u8'],
    ['rstride_src', 'u8'],
    ['rstride_dest', 'u8'],
  ],
  REDUCE: [
    ['datatype', 'u8'],
    ['rshape_src', 'u8'],
    ['rstride_src', 'u8'],
    ['rstride_dest', 'u8'],
    ['reduce_op', 'u8'],
    ['rshape_axis', 'u8'],
    ['keep_dims', 'bool'],
  ],
  REDUCEARG: [
    ['datatype_src', 'u8'],
    ['rshape_src', 'u8'],
    ['rstride_src', 'u8'],
    ['datatype_dest', 'u8'],
    ['rstride_dest', 'u8'],
    ['reduce_arg_op', 'u8'],
    ['rshape_axis', 'u8'],
    ['keep_dims', 'bool'],
    ['select_last_idx', 'bool'],
  ],
  REDUCE_WINDOW2D: [
    ['datatype', 'u8'],
    ['reduce_op', 'u8'],
    ['rshape_src', 'u8'],
    ['rstride_src', 'u8'],
    ['rstride_dest', 'u8'],
    ['filter_h', 'u16'],
    ['filter_w', 'u16'],
    ['stride_h', 'u16'],
    ['stride_w', 'u16'],
    ['dilation_h', 'u16'],
    ['dilation_w', 'u16'],
    ['fused_clamp_low', 'f32'],
    ['fused_clamp_high', 'f32'],
  ],
  RESIZE_IMAGE: [
    ['datatype', 'u8'],
    ['rshape_src', 'u8'],
    ['rstride_src', 'u8'],
    ['rstride_dest', 'u8'],
    ['align_corners', 'bool'],
    ['half_pixel_centers', 'bool'],
    ['image_resize_mode', 'u8'],
  ],
  SLICE: [
    ['datatype', 'u8'],
    ['rshape_src', 'u8'],
    ['rstride_src', 'u8'],
    ['rstride_dest', 'u8'],
    ['rbegins', 'u8'],
    ['rends', 'u8'],
    ['rstrides', 'u8'],
  ],
  SOFTMAX: null,
  SPACE_TO_BATCH: null,
  TAKE: null,
  TRANSPOSE: [
    ['datatype', 'u8'],
    ['rshape_src', 'u8'],
    ['rstride_src', 'u8'],
    ['rstride_dest', 'u8'],
    ['rshape_perm', 'u8'],
  ],
  UNARY: [
    ['datatype', 'u8'],
    ['rshape_src', 'u8'],
    ['rstride_src', 'u8'],
    ['rstride_dest', 'u8'],
    ['unary_op', 'u8'],
  ],
} satisfies Record<string, readonly OperandField[] | null>;

/** Every tensor function a supported release names. */
export type TensorFunctionName = keyof typeof OPERANDS;

export const TENSOR_FUNCTION_OPERANDS: Readonly<Record<string, readonly OperandField[] | null>> = OPERANDS;

export interface StackvmNumbering {
  /** Stable identifier, accepted by `--nncase-version`. */
  readonly id: string;
  /** The nncase commit whose `opcode.h` defines it, and when its ISA was generated. */
  readonly commit: string;
  readonly isaDate: string;
  readonly description: string;
  /** Other names users may give for it (tags, commits). */
  readonly aliases: readonly string[];
  /** tensor_function_t value → name, in upstream order. */
  readonly tensorFunctions: readonly string[];
}

/**
 * Supported numberings, oldest first. `tensorFunctions[i]` is the name of function number i.
 * (Tags v1.0.0 final, v1.9.0 and release/1.0 renumber again; no real file here needs them.)
 */
export const NUMBERINGS: readonly StackvmNumbering[] = [
  {
    id: 'nncase-1.0.0-beta1',
    commit: '4a33c5520',
    isaDate: '2021-08-11',
    description: 'nncase 1.0.0-beta1 … 1.0.0-rc1 (commit 4a33c5520, ISA generated 2021-08-11)',
    aliases: [
      '4a33c5520',
      '4a33c5520dfb56fcb60bd6b60e3aa9eb634547ef',
      '1.0.0-beta1',
      '1.0.0-beta2',
      '1.0.0-rc1',
      'v1.0.0-beta1',
      'v1.0.0-rc1',
      '2021-08-11',
    ],
    tensorFunctions: [
      'BATCH_TO_SPACE',
      'BINARY',
      'BROADCAST',
      'CALL',
      'CLAMP',
      'CONV2D',
      'CONV2D_TRANSPOSE',
      'CONVERT',
      'COPY',
      'DEQUANTIZE',
      'GATHER',
      'GATHER_ND',
      'LOGISTIC',
      'LUT1D',
      'MATMUL',
      'ONEHOT',
      'PAD',
      'QUANTIZE',
      'REDUCE',
      'REDUCE_WINDOW2D',
      'RESIZE_IMAGE',
      'SLICE',
      'SOFTMAX',
      'SPACE_TO_BATCH',
      'TAKE',
      'TRANSPOSE',
      'UNARY',
    ],
  },
  {
    id: 'nncase-cumsum-2021-10',
    commit: '2985fabbd',
    isaDate: '2021-10-20',
    description: 'nncase CumSum-era ISA (commit 2985fabbd = merge 42e77dc27, ISA generated 2021-10-20)',
    aliases: ['2985fabbd', '42e77dc27', '42e77dc275d80a45ed0ae494f3cef819e8c701a3', 'cumsum', '2021-10-20'],
    tensorFunctions: [
      'BATCH_TO_SPACE',
      'BINARY',
      'BROADCAST',
      'CALL',
      'CLAMP',
      'CONV2D',
      'CONV2D_TRANSPOSE',
      'CONVERT',
      'COPY',
      'CUMSUM',
      'DEQUANTIZE',
      'GATHER',
      'GATHER_ND',
      'LOGISTIC',
      'LUT1D',
      'MATMUL',
      'ONEHOT',
      'PAD',
      'QUANTIZE',
      'REDUCE',
      'REDUCEARG',
      'REDUCE_WINDOW2D',
      'RESIZE_IMAGE',
      'SLICE',
      'SOFTMAX',
      'SPACE_TO_BATCH',
      'TAKE',
      'TRANSPOSE',
      'UNARY',
    ],
  },
];

/** Finds a numbering by id or alias (case-insensitive); undefined when unknown. */
export function findNumbering(name: string): StackvmNumbering | undefined {
  const n = name.trim().toLowerCase();
  return NUMBERINGS.find((x) => x.id.toLowerCase() === n || x.aliases.some((a) => a.toLowerCase() === n));
}

export function tensorFunctionSpec(numbering: StackvmNumbering, funct: number): TensorFunctionSpec | undefined {
  const name = numbering.tensorFunctions[funct];
  if (name === undefined) return undefined;
  return { name, operands: TENSOR_FUNCTION_OPERANDS[name] ?? null };
}

/** One decoded instruction. `args` holds the operands by upstream field name. */
export interface StackvmInstruction {
  /** Offset inside the function's text, absolute file offset, and encoded size. */
  readonly pc: number;
  readonly fileOffset: number;
  readonly size: number;
  readonly opcode: number;
  /** Scalar opcode name, or 'TENSOR'. */
  readonly name: string;
  /** TENSOR only: the tensor-function number and its name under the chosen numbering. */
  readonly funct?: number;
  readonly tensorName?: string;
  readonly args: Readonly<Record<string, number>>;
}

/** How the numbering of a file was chosen, for `kpusim info`. */
export interface StackvmNumberingChoice {
  readonly id: string;
  readonly description: string;
  readonly overridden: boolean;
  /** One sentence: why this numbering. */
  readonly reason: string;
  /** Every supported numbering and whether it decodes the file (detail = the first problem). */
  readonly candidates: readonly { readonly id: string; readonly valid: boolean; readonly detail: string }[];
}

/** nncase 1.x enums the tensor ops use (`datatypes.h`). */
export const BINARY_OPS = [
  'add',
  'sub',
  'mul',
  'div',
  'min',
  'max',
  'pow',
  'floor_div',
  'floor_mod',
  'bitwise_and',
  'bitwise_or',
  'bitwise_xor',
  'logical_and',
  'logical_or',
  'logical_xor',
] as const;
export const REDUCE_OPS = ['mean', 'min', 'max', 'sum'] as const;
export const IMAGE_RESIZE_MODES = ['bilinear', 'nearest_neighbor'] as const;
export const PAD_MODES = ['constant', 'reflect', 'symmetric', 'edge'] as const;
