/**
 * Decoding of stackvm bytecode under one numbering, the static operand check, and the choice
 * of numbering for a file.
 *
 * A numbering is valid for a file when every function's text decodes to whole instructions
 * (an unknown opcode, a tensor function the release cannot read, or an instruction running
 * past the end of the text is an illegal instruction, as in nncase's `op_visitor::next`) and
 * a straight-line walk of each function finds every tensor op's operands consistent: enough
 * stack entries, shape registers defined with matching ranks, known datatypes and enum
 * values, CALL targets that exist with the right argument counts.
 */
import { KmodelError } from '../../../errors.js';
import {
  BINARY_OPS,
  IMAGE_RESIZE_MODES,
  NUMBERINGS,
  OPCODE_TENSOR,
  OPERAND_BYTES,
  PAD_MODES,
  REDUCE_OPS,
  SCALAR_BY_OPCODE,
  findNumbering,
  tensorFunctionSpec,
  type OperandField,
  type StackvmInstruction,
  type StackvmNumbering,
  type StackvmNumberingChoice,
} from './isa.js';

/** What the static check needs to know about the model around a function. */
export interface StackvmCheckContext {
  /** Per module: type and, per function, its input and output counts (and their tensors when known). */
  readonly modules: readonly {
    readonly type: string;
    readonly functions: readonly {
      readonly inputs: number;
      readonly outputs: number;
      readonly tensors?: { readonly inputs: readonly StaticTensor[]; readonly outputs: readonly StaticTensor[] };
    }[];
  }[];
  /** Sizes of this stackvm module's data pool and rdata section. */
  readonly dataPoolSize: number;
  readonly rdataSize: number;
}

export interface StackvmFunctionText {
  readonly module: number;
  readonly function: number;
  readonly text: Uint8Array;
  /** Absolute file offset of text[0]. */
  readonly textOffset: number;
}

function readOperand(text: Uint8Array, pos: number, type: OperandField[1]): number {
  const dv = new DataView(text.buffer, text.byteOffset + pos, OPERAND_BYTES[type]);
  switch (type) {
    case 'u8':
    case 'bool':
      return dv.getUint8(0);
    case 'u16':
      return dv.getUint16(0, true);
    case 'u32':
      return dv.getUint32(0, true);
    case 'i32':
      return dv.getInt32(0, true);
    case 'f32':
      return dv.getFloat32(0, true);
  }
}

function illegal(fileOffset: number, numbering: StackvmNumbering, where: string, detail: string): never {
  throw new KmodelError(
    'UNKNOWN_OPCODE',
    fileOffset,
    `stackvm illegal instruction at ${where} under numbering ${numbering.id}: ${detail}`,
  );
}

/**
 * Decodes one function's text into instructions. Throws a KmodelError (code UNKNOWN_OPCODE)
 * naming the absolute offset and the numbering at the first illegal instruction.
 */
export function decodeStackvmText(fn: StackvmFunctionText, numbering: StackvmNumbering): StackvmInstruction[] {
  const { text, textOffset } = fn;
  const where = (pc: number) => `module ${fn.module} function ${fn.function} pc ${pc}`;
  const out: StackvmInstruction[] = [];
  let pc = 0;
  while (pc < text.length) {
    const start = pc;
    const opcode = text[pc];
    let fields: readonly OperandField[];
    let name: string;
    let funct: number | undefined;
    let tensorName: string | undefined;
    let headerBytes = 1;
    if (opcode === OPCODE_TENSOR) {
      if (pc + 3 > text.length)
        illegal(
          textOffset + pc,
          numbering,
          where(pc),
          'TENSOR opcode without its 2-byte function number before the end of the text',
        );
      funct = text[pc + 1] | (text[pc + 2] << 8);
      const spec = tensorFunctionSpec(numbering, funct);
      if (!spec)
        illegal(
          textOffset + pc,
          numbering,
          where(pc),
          `unknown tensor function 0x${funct.toString(16).padStart(4, '0')}`,
        );
      if (!spec.operands) {
        illegal(
          textOffset + pc,
          numbering,
          where(pc),
          `tensor function 0x${funct.toString(16).padStart(4, '0')} (${spec.name}) has no encoding in that release`,
        );
      }
      fields = spec.operands;
      name = 'TENSOR';
      tensorName = spec.name;
      headerBytes = 3;
    } else {
      const spec = SCALAR_BY_OPCODE.get(opcode);
      if (!spec)
        illegal(textOffset + pc, numbering, where(pc), `unknown opcode 0x${opcode.toString(16).padStart(2, '0')}`);
      fields = spec.operands;
      name = spec.name;
    }
    let size = headerBytes;
    for (const [, t] of fields) size += OPERAND_BYTES[t];
    if (pc + size > text.length) {
      illegal(
        textOffset + pc,
        numbering,
        where(pc),
        `${tensorName ?? name} needs ${size} bytes but the text ends after ${text.length - pc}`,
      );
    }
    const args: Record<string, number> = {};
    let p = pc + headerBytes;
    for (const [n, t] of fields) {
      args[n] = readOperand(text, p, t);
      p += OPERAND_BYTES[t];
    }
    out.push(
      Object.freeze({
        pc: start,
        fileOffset: textOffset + start,
        size,
        opcode,
        name,
        funct,
        tensorName,
        args: Object.freeze(args),
      }),
    );
    pc += size;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Static operand check: a straight-line walk with an abstract stack depth and shape-register ranks.

/** Stack entries each scalar opcode pops and pushes (STSHAPE/STPADDINGS depend on rank). */
function scalarStackEffect(ins: StackvmInstruction): [pops: number, pushes: number] {
  const n = ins.name;
  if (n === 'STSHAPE') return [ins.args.rank, 0];
  if (n === 'STPADDINGS') return [2 * ins.args.rank, 0];
  if (n === 'NOP' || n === 'BR' || n === 'RET' || n === 'THROW' || n === 'BREAK') return [0, 0];
  if (n.startsWith('LDC') || n === 'LDNULL' || n === 'LEA_GP' || n === 'LEA_BUFFER' || n.startsWith('LDARG'))
    return [0, 1];
  if (n.startsWith('LDIND')) return [1, 1];
  if (n.startsWith('STIND')) return [2, 0];
  if (n.startsWith('LDELEM')) return [2, 1];
  if (n.startsWith('STELEM')) return [3, 0];
  if (n === 'DUP') return [1, 2];
  if (n === 'POP' || n === 'BR_TRUE' || n === 'BR_FALSE') return [1, 0];
  if (n === 'NEG' || n === 'NOT' || n.startsWith('CONV_')) return [1, 1];
  if (n === 'CALL' || n === 'ECALL') return [ins.args.args, 0];
  return [2, 1]; // binary arithmetic, logic, shifts and comparisons
}

/** Stack entries a tensor function pops (nncase's `tensor.*.cpp` visitors). */
function tensorPops(ins: StackvmInstruction): number {
  switch (ins.tensorName) {
    case 'BINARY':
      return 3;
    case 'CALL':
      return 4 * (ins.args.num_src + ins.args.num_dst);
    case 'CONV2D':
      return 8;
    case 'DEQUANTIZE':
    case 'QUANTIZE':
    case 'RESIZE_IMAGE':
      return 4;
    case 'REDUCE_WINDOW2D':
      return 7;
    case 'PAD':
    case 'GATHER':
    case 'GATHER_ND':
    case 'REDUCE':
      return 3;
    case 'LUT1D':
      return 5;
    case 'ONEHOT':
      return 5;
    default:
      return 2; // CONVERT, COPY, SLICE, TRANSPOSE, UNARY, BROADCAST, BATCH_TO_SPACE, CUMSUM, REDUCEARG
  }
}

/** A tensor operand as far as a straight-line walk can know it (shape undefined when not constant). */
export interface StaticTensor {
  readonly datatype: number;
  readonly shape?: readonly number[];
}

/** Inputs and outputs of one TENSOR instruction, from the constants the bytecode loads. */
export interface TensorOpShapes {
  readonly inputs: readonly StaticTensor[];
  readonly outputs: readonly StaticTensor[];
}

/** Module-level register state of the walk: ranks (for the checks) and constant values (for shapes). */
export interface StaticRegisters {
  readonly shapeRanks: Map<number, number>;
  readonly shapeValues: Map<number, readonly number[] | undefined>;
  readonly paddingRanks: Map<number, number>;
}

export function newStaticRegisters(): StaticRegisters {
  return { shapeRanks: new Map(), shapeValues: new Map(), paddingRanks: new Map() };
}

function broadcastShape(a: readonly number[], b: readonly number[]): number[] | undefined {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[i - (n - a.length)] ?? 1;
    const db = b[i - (n - b.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out.push(da === 1 ? db : da);
  }
  return out;
}

function windowed(
  size: number,
  filter: number,
  stride: number,
  dilation: number,
  before: number,
  after: number,
): number {
  return Math.trunc((size + before + after - ((filter - 1) * dilation + 1) + stride) / stride);
}

/** Static output shapes of the tensor functions whose result shape the operands determine. */
function staticShapes(
  ins: StackvmInstruction,
  val: (field: string) => readonly number[] | undefined,
  popped: readonly (number | undefined)[],
  ctx: StackvmCheckContext,
): TensorOpShapes | undefined {
  const a = ins.args;
  const same = (dIn: number, dOut: number, field = 'rshape_src'): TensorOpShapes => ({
    inputs: [{ datatype: dIn, shape: val(field) }],
    outputs: [{ datatype: dOut, shape: val(field) }],
  });
  const known = (v: readonly (number | undefined)[]): number[] | undefined =>
    v.every((x) => x !== undefined) ? (v as number[]) : undefined;
  switch (ins.tensorName) {
    case 'DEQUANTIZE':
    case 'QUANTIZE':
    case 'CONVERT':
      return same(a.in_datatype, a.dst_datatype);
    case 'COPY':
      return same(a.datatype, a.datatype, 'rshape');
    case 'UNARY':
      return same(a.datatype, a.datatype);
    case 'BINARY': {
      const x = val('rshape_src1');
      const y = val('rshape_src2');
      return {
        inputs: [
          { datatype: a.datatype, shape: x },
          { datatype: a.datatype, shape: y },
        ],
        outputs: [{ datatype: a.datatype, shape: x && y ? broadcastShape(x, y) : undefined }],
      };
    }
    case 'SLICE': {
      const x = val('rshape_src');
      const b = val('rbegins');
      const e = val('rends');
      const st = val('rstrides');
      const out =
        x && b && e && st && st.every((v) => v > 0 && v < 2 ** 31)
          ? x.map((d, i) => (Math.min(e[i], d) > b[i] ? Math.ceil((Math.min(e[i], d) - b[i]) / st[i]) : 0))
          : undefined;
      return { inputs: [{ datatype: a.datatype, shape: x }], outputs: [{ datatype: a.datatype, shape: out }] };
    }
    case 'TRANSPOSE': {
      const x = val('rshape_src');
      const perm = val('rshape_perm');
      return {
        inputs: [{ datatype: a.datatype, shape: x }],
        outputs: [{ datatype: a.datatype, shape: x && perm ? perm.map((p) => x[p]) : undefined }],
      };
    }
    case 'RESIZE_IMAGE': {
      const x = val('rshape_src');
      const hw = known([popped[3], popped[2]]); // popped top first: output, input, w, h
      return {
        inputs: [{ datatype: a.datatype, shape: x }],
        outputs: [{ datatype: a.datatype, shape: x && hw ? [x[0], x[1], ...hw] : undefined }],
      };
    }
    case 'REDUCE_WINDOW2D': {
      const x = val('rshape_src');
      const p = known(popped.slice(0, 4)); // padW.after, padW.before, padH.after, padH.before
      const out =
        x && x.length === 4 && p
          ? [
              x[0],
              x[1],
              windowed(x[2], a.filter_h, a.stride_h, a.dilation_h, p[3], p[2]),
              windowed(x[3], a.filter_w, a.stride_w, a.dilation_w, p[1], p[0]),
            ]
          : undefined;
      return { inputs: [{ datatype: a.datatype, shape: x }], outputs: [{ datatype: a.datatype, shape: out }] };
    }
    case 'CONV2D': {
      const x = val('rshape_src');
      const k = val('rshape_kernel');
      const p = known(popped.slice(0, 4));
      const out =
        x && k && x.length === 4 && k.length === 4 && p
          ? [
              x[0],
              k[0],
              windowed(x[2], k[2], a.stride_h, a.dilation_h, p[3], p[2]),
              windowed(x[3], k[3], a.stride_w, a.dilation_w, p[1], p[0]),
            ]
          : undefined;
      return {
        inputs: [
          { datatype: a.datatype, shape: x },
          { datatype: a.datatype, shape: k },
          { datatype: a.datatype, shape: k ? [k[0]] : undefined },
        ],
        outputs: [{ datatype: a.datatype, shape: out }],
      };
    }
    case 'CALL':
      return ctx.modules[a.module_id]?.functions[a.function_id]?.tensors;
    default:
      return undefined;
  }
}

const DATATYPE_FIELDS = ['datatype', 'in_datatype', 'dst_datatype', 'datatype_src', 'datatype_dest'];
const U8_CODES = [0, 4]; // int8, uint8
const F32 = 9;

/**
 * Walks a decoded function and throws a KmodelError (BAD_VALUE) at the first tensor op whose
 * operands are inconsistent; returns the static shapes of the tensor ops it could work out.
 * The walk is straight-line: it tracks the stack (and the integer constants on it) until the
 * first branch, and the shape registers throughout.
 */
export function checkStackvmFunction(
  fn: StackvmFunctionText,
  instrs: readonly StackvmInstruction[],
  numbering: StackvmNumbering,
  ctx: StackvmCheckContext,
  regs: StaticRegisters,
): Map<StackvmInstruction, TensorOpShapes> {
  const { shapeRanks, shapeValues, paddingRanks } = regs;
  const shapes = new Map<StackvmInstruction, TensorOpShapes>();
  /** The abstract stack, bottom first: known integer constants, or undefined; undefined as a whole after a branch. */
  let stack: (number | undefined)[] | undefined = [];
  const bad = (ins: StackvmInstruction, detail: string): never => {
    throw new KmodelError(
      'BAD_VALUE',
      ins.fileOffset,
      `stackvm ${ins.tensorName ?? ins.name} at module ${fn.module} function ${fn.function} pc ${ins.pc} under numbering ${numbering.id}: ${detail}`,
    );
  };
  const rank = (ins: StackvmInstruction, field: string): number => {
    const reg = ins.args[field];
    const r = shapeRanks.get(reg);
    if (r === undefined) return bad(ins, `${field} names shape register ${reg}, which no STSHAPE has set`);
    return r;
  };
  const sameRank = (ins: StackvmInstruction, ...fields: string[]): number => {
    const r = rank(ins, fields[0]);
    for (const f of fields.slice(1))
      if (rank(ins, f) !== r) bad(ins, `${f} has rank ${rank(ins, f)} but ${fields[0]} has rank ${r}`);
    return r;
  };
  /** Pops `n` entries (checking the depth while it is known); returns them top first. */
  const pop = (ins: StackvmInstruction, n: number): (number | undefined)[] => {
    if (!stack) return new Array<undefined>(n).fill(undefined);
    if (stack.length < n) bad(ins, `pops ${n} stack entries but only ${stack.length} are there`);
    return stack.splice(stack.length - n, n).reverse();
  };
  for (const ins of instrs) {
    if (ins.name !== 'TENSOR') {
      const [pops, pushes] = scalarStackEffect(ins);
      const top = stack && stack.length ? stack[stack.length - 1] : undefined;
      const popped = pop(ins, pops);
      if (stack) {
        const n = ins.name;
        if (n === 'LDC_I4') stack.push(ins.args.imm);
        else if (n === 'LDC_I4_0' || n === 'LDNULL') stack.push(0);
        else if (n === 'LDC_I4_1') stack.push(1);
        else if (n === 'DUP') stack.push(top, top);
        else for (let k = 0; k < pushes; k++) stack.push(undefined);
      }
      if (ins.name === 'STSHAPE') {
        shapeRanks.set(ins.args.rshape, ins.args.rank);
        const dims = popped.reverse();
        shapeValues.set(ins.args.rshape, dims.every((d) => d !== undefined && d >= 0) ? (dims as number[]) : undefined);
      }
      if (ins.name === 'STPADDINGS') paddingRanks.set(ins.args.rpaddings, ins.args.rank);
      if (ins.name === 'LEA_BUFFER') {
        const loc = ins.args.location;
        if (loc > 3) bad(ins, `memory location ${loc} cannot be addressed by LEA_BUFFER`);
        if (loc === 3 && ins.args.offset > ctx.dataPoolSize)
          bad(ins, `data offset ${ins.args.offset} is beyond the data pool of ${ctx.dataPoolSize} bytes`);
        if (loc === 2 && ins.args.offset > ctx.rdataSize)
          bad(ins, `rdata offset ${ins.args.offset} is beyond .rdata of ${ctx.rdataSize} bytes`);
      }
      if (ins.name === 'BR' || ins.name === 'BR_TRUE' || ins.name === 'BR_FALSE') stack = undefined;
      continue;
    }
    const a = ins.args;
    for (const f of DATATYPE_FIELDS) if (f in a && a[f] > 11) bad(ins, `${f} ${a[f]} is not a datatype`);
    for (const [k, v] of Object.entries(a)) {
      if (
        ['align_corners', 'half_pixel_centers', 'keep_dims', 'exclusive', 'reverse', 'select_last_idx'].includes(k) &&
        v > 1
      )
        bad(ins, `${k} = ${v} is not a bool`);
    }
    const popped = pop(ins, tensorPops(ins));
    switch (ins.tensorName) {
      case 'CALL': {
        const m = ctx.modules[a.module_id];
        if (!m) bad(ins, `calls module ${a.module_id} but the model has ${ctx.modules.length}`);
        const f = m.functions[a.function_id];
        if (!f) bad(ins, `calls function ${a.function_id} of module ${a.module_id}, which has ${m.functions.length}`);
        if (f.inputs !== a.num_src || f.outputs !== a.num_dst) {
          bad(
            ins,
            `passes ${a.num_src} inputs and ${a.num_dst} outputs to module ${a.module_id} function ${a.function_id}, which takes ${f.inputs} and ${f.outputs}`,
          );
        }
        break;
      }
      case 'BINARY':
        if (a.datatype !== F32) bad(ins, `datatype ${a.datatype} (only float32 is supported)`);
        if (a.binary_op >= BINARY_OPS.length) bad(ins, `binary_op ${a.binary_op} is unknown`);
        if (
          rank(ins, 'rshape_src1') !== rank(ins, 'rstride_src1') ||
          rank(ins, 'rshape_src2') !== rank(ins, 'rstride_src2')
        )
          bad(ins, 'shape and stride ranks differ');
        if (rank(ins, 'rstride_dest') !== Math.max(rank(ins, 'rshape_src1'), rank(ins, 'rshape_src2')))
          bad(ins, 'output stride rank is not the broadcast rank');
        break;
      case 'DEQUANTIZE':
        if (!U8_CODES.includes(a.in_datatype) || a.dst_datatype !== F32)
          bad(ins, `dequantizes datatype ${a.in_datatype} to ${a.dst_datatype}`);
        sameRank(ins, 'rshape_src', 'rstride_src', 'rstride_dest');
        break;
      case 'QUANTIZE':
        if (a.in_datatype !== F32 || !U8_CODES.includes(a.dst_datatype))
          bad(ins, `quantizes datatype ${a.in_datatype} to ${a.dst_datatype}`);
        sameRank(ins, 'rshape_src', 'rstride_src', 'rstride_dest');
        break;
      case 'CONVERT':
      case 'UNARY':
        sameRank(ins, 'rshape_src', 'rstride_src', 'rstride_dest');
        break;
      case 'COPY':
        sameRank(ins, 'rshape', 'rstride_src', 'rstride_dest');
        break;
      case 'TRANSPOSE':
        sameRank(ins, 'rshape_src', 'rstride_src', 'rstride_dest', 'rshape_perm');
        break;
      case 'SLICE':
        sameRank(ins, 'rshape_src', 'rstride_src', 'rstride_dest', 'rbegins', 'rends', 'rstrides');
        break;
      case 'RESIZE_IMAGE':
        if (a.image_resize_mode >= IMAGE_RESIZE_MODES.length)
          bad(ins, `image_resize_mode ${a.image_resize_mode} is unknown`);
        if (sameRank(ins, 'rshape_src', 'rstride_src', 'rstride_dest') !== 4)
          bad(ins, 'resize_image needs 4-D tensors');
        break;
      case 'REDUCE_WINDOW2D':
        if (a.datatype !== F32) bad(ins, `datatype ${a.datatype} (only float32 is supported)`);
        if (a.reduce_op >= REDUCE_OPS.length) bad(ins, `reduce_op ${a.reduce_op} is unknown`);
        if (
          a.filter_h === 0 ||
          a.filter_w === 0 ||
          a.stride_h === 0 ||
          a.stride_w === 0 ||
          a.dilation_h === 0 ||
          a.dilation_w === 0
        )
          bad(ins, 'zero filter, stride or dilation');
        if (sameRank(ins, 'rshape_src', 'rstride_src', 'rstride_dest') !== 4)
          bad(ins, 'reduce_window2d needs 4-D tensors');
        break;
      case 'CONV2D':
        if (a.datatype !== F32) bad(ins, `datatype ${a.datatype} (only float32 is supported)`);
        if (a.groups === 0 || a.stride_h === 0 || a.stride_w === 0 || a.dilation_h === 0 || a.dilation_w === 0)
          bad(ins, 'zero groups, stride or dilation');
        if (sameRank(ins, 'rshape_src', 'rstride_src', 'rshape_kernel', 'rstride_kernel', 'rstride_dest') !== 4)
          bad(ins, 'conv2d needs 4-D tensors');
        rank(ins, 'rstride_bias');
        break;
      case 'PAD':
        if (a.pad_mode >= PAD_MODES.length) bad(ins, `pad_mode ${a.pad_mode} is unknown`);
        sameRank(ins, 'rshape_src', 'rstride_src', 'rstride_dest');
        if (paddingRanks.get(a.rpaddings) === undefined) bad(ins, `paddings register ${a.rpaddings} is not set`);
        break;
      case 'CUMSUM':
        if (a.datatype !== F32) bad(ins, `datatype ${a.datatype} (only float32 is supported)`);
        rank(ins, 'rshape_src');
        break;
      case 'REDUCE':
        if (a.reduce_op >= REDUCE_OPS.length) bad(ins, `reduce_op ${a.reduce_op} is unknown`);
        sameRank(ins, 'rshape_src', 'rstride_src');
        rank(ins, 'rshape_axis');
        break;
      default:
        break;
    }
    const st = staticShapes(ins, (field) => shapeValues.get(a[field]), popped, ctx);
    if (st) shapes.set(ins, st);
  }
  return shapes;
}

// ---------------------------------------------------------------------------------------------

export interface DecodedStackvm {
  readonly numbering: StackvmNumbering;
  readonly choice: StackvmNumberingChoice;
  /** Instructions per function text, in the order of `texts`. */
  readonly functions: readonly (readonly StackvmInstruction[])[];
  /** Static shapes of the TENSOR instructions where the bytecode's constants determine them. */
  readonly shapes: ReadonlyMap<StackvmInstruction, TensorOpShapes>;
}

/** Decodes and checks every function of a file under one numbering (throws at the first problem). */
export function decodeUnder(
  texts: readonly StackvmFunctionText[],
  numbering: StackvmNumbering,
  ctxOf: (module: number) => StackvmCheckContext,
): { functions: StackvmInstruction[][]; shapes: Map<StackvmInstruction, TensorOpShapes> } {
  const decoded = texts.map((t) => decodeStackvmText(t, numbering));
  // Shape and padding registers belong to the module and persist across its functions.
  const regs = new Map<number, StaticRegisters>();
  const shapes = new Map<StackvmInstruction, TensorOpShapes>();
  texts.forEach((t, i) => {
    let r = regs.get(t.module);
    if (!r) regs.set(t.module, (r = newStaticRegisters()));
    for (const [k, v] of checkStackvmFunction(t, decoded[i], numbering, ctxOf(t.module), r)) shapes.set(k, v);
  });
  return { functions: decoded, shapes };
}

/**
 * Chooses the numbering for a file: the only valid one; the newest when several are valid;
 * `override` (an id or alias of NUMBERINGS) wins when given. When none is valid the error of
 * the numbering that decoded furthest is thrown.
 */
export function chooseNumbering(
  texts: readonly StackvmFunctionText[],
  ctxOf: (module: number) => StackvmCheckContext,
  override?: string,
): DecodedStackvm {
  const results = NUMBERINGS.map((n) => {
    try {
      return { n, decoded: decodeUnder(texts, n, ctxOf), error: undefined as KmodelError | undefined };
    } catch (e) {
      if (!(e instanceof KmodelError)) throw e;
      return { n, decoded: undefined, error: e };
    }
  });
  const candidates = results.map((r) => ({
    id: r.n.id,
    valid: !r.error,
    detail: r.error ? r.error.detail : 'every function decodes and every tensor op is consistent',
  }));
  if (override !== undefined) {
    const n = findNumbering(override);
    if (!n) {
      throw new KmodelError(
        'BAD_VALUE',
        0,
        `unknown stackvm numbering "${override}"; known: ${NUMBERINGS.map((x) => `${x.id} (${x.aliases.slice(0, 2).join(', ')})`).join('; ')}`,
      );
    }
    const r = results.find((x) => x.n === n)!;
    if (r.error) throw r.error;
    return {
      numbering: n,
      ...r.decoded!,
      choice: {
        id: n.id,
        description: n.description,
        overridden: true,
        reason: `chosen by the user (${override})`,
        candidates,
      },
    };
  }
  const valid = results.filter((r) => !r.error);
  if (valid.length === 0) {
    const furthest = results.reduce((a, b) => (b.error!.offset > a.error!.offset ? b : a));
    throw furthest.error!;
  }
  const pick = valid[valid.length - 1];
  const others = results.filter((r) => r !== pick);
  const reason =
    valid.length === 1
      ? `the only numbering under which the bytecode decodes${others.length ? ` (${others.map((o) => `${o.n.id}: ${o.error!.detail}`).join('; ')})` : ''}`
      : `several numberings decode the bytecode (${valid.map((v) => v.n.id).join(', ')}); the newest was taken`;
  return {
    numbering: pick.n,
    ...pick.decoded!,
    choice: { id: pick.n.id, description: pick.n.description, overridden: false, reason, candidates },
  };
}
