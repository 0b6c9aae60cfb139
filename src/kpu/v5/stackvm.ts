/**
 * The stackvm interpreter of nncase 1.x (`src/runtime/stackvm`): scalar, stack, load/store
 * and control-flow instructions, and the TENSOR instructions through the tensor-function table
 * (src/ops/v5/, one definition per function). Behaviour mirrors the upstream runtime, including its quirks:
 * REM computes a quotient, CALL/ECALL/THROW/BREAK/LDARG are unsupported, RET at depth 0 ends
 * the function.
 */
import { KpuFault } from '../../errors.js';
import type { StackvmInstruction } from '../../kmodel-parser/v5/stackvm/isa.js';
import {
  MEM_DATA,
  MEM_INPUT,
  MEM_OUTPUT,
  MEM_RDATA,
  type FunctionV5,
  type ModuleV5,
} from '../../kmodel-parser/v5/types.js';
import { MAIN_SRAM_BYTES } from '../../chip.js';
import type { Padding } from '../ops/common.js';
import { copy } from '../ops/v5/copy.js';
import { bfloat16ToFloat, cvtToInt32, roundToBfloat16 } from './number-formats.js';
import { defaultStrides, elementCount, elemSize, extentBytes, type StridedTensor, view } from './tensor.js';
import { AddressSpace, memBlock, touch, type MemBlock } from './memory.js';
import { EvalStack, asI, asI4, asR4, asSize, asU, intEntry, realEntry, type StackEntry } from './stack.js';
import type { RecordedViews, V5OpParams } from './hooks.js';
import { isNotApplicable } from '../../ops/not-applicable.js';
import { v5Function } from '../../ops/v5/index.js';

/** A tensor passed to a called function: where it is and how it is laid out. */
export interface CallTensor {
  readonly block: MemBlock;
  readonly offset: number;
  readonly datatype: number;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
}

/** What a tensor op touched, for the event trace. */
export interface TensorOpInfo {
  readonly inputShapes: readonly (readonly number[])[];
  readonly outputShapes: readonly (readonly number[])[];
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly macs: number;
}

export interface StackvmHost {
  /** TENSOR CALL: run function `functionId` of module `moduleId` on these tensors. */
  call(moduleId: number, functionId: number, inputs: readonly CallTensor[], outputs: readonly CallTensor[]): void;
  /** After every TENSOR instruction; `views` when `recordViews` is set. */
  afterTensorOp(ins: StackvmInstruction, info: TensorOpInfo, views?: RecordedViews): void;
  /** Record each tensor op's operands (views and scalar parameters) for the two hooks. */
  readonly recordViews?: boolean;
  /** A tensor op's operands are resolved and it is about to run (only with `recordViews`). */
  beforeTensorOp?(ins: StackvmInstruction, views: RecordedViews): void;
  /** Instruction budget per function call (default MAX_STEPS). */
  readonly maxSteps?: number;
}

/** Per-module state that outlives a function call: pools and the shape/padding/general registers. */
/**
 * A tensor operand's element count is bounded by the chip: with zero strides (broadcast) a small
 * extent can stand for any number of elements, and a kernel loops over every one. No tensor a
 * K210 computes has more elements than its 6 MiB of main SRAM has bytes.
 */
function checkElements(shape: readonly number[], ctx: { layer?: number; type?: string }): void {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (n > MAIN_SRAM_BYTES)
      throw new KpuFault(
        'OUT_OF_RANGE',
        `a tensor of shape [${shape.join(', ')}] has more elements than the K210's 6 MiB of main SRAM holds bytes`,
        ctx,
      );
  }
}

export class StackvmModuleState {
  readonly data: MemBlock;
  readonly rdata: MemBlock;
  readonly shapeRegs: (readonly number[] | undefined)[] = [];
  readonly paddingRegs: (readonly Padding[] | undefined)[] = [];
  /** `regs_` (MAX_GENERAL_REGS = 32); nothing in these ISAs writes them, upstream leaves them uninitialised. */
  readonly gpRegs: bigint[] = new Array<bigint>(32).fill(0n);

  constructor(
    readonly index: number,
    readonly module: ModuleV5,
  ) {
    this.data = memBlock(`module ${index} data pool`, new Uint8Array(module.dataPoolSize));
    this.rdata = memBlock(`module ${index} .rdata`, module.rdata, false);
  }
}

/** Instruction budget of one function call; runaway loops become a fault. */
export const MAX_STEPS = 50_000_000;

const f32 = Math.fround;

/** `(T)float` for the integer CONV_* targets on x86-64. */
function floatToIntBits(v: number, bits: 8 | 16 | 32 | 64, signed: boolean): bigint {
  let t: bigint;
  if (bits === 64 && !signed && v >= 2 ** 63 && v < 2 ** 64) t = BigInt(Math.trunc(v));
  else if (bits === 64 || (bits === 32 && !signed)) {
    const x = Math.trunc(v);
    t = x >= -(2 ** 63) && x < 2 ** 63 ? BigInt(x) : -(1n << 63n);
  } else t = BigInt(cvtToInt32(v));
  return signed ? BigInt.asIntN(bits, t) : BigInt.asUintN(bits, t);
}

function truncateToBfloat16(v: number): number {
  if (Number.isNaN(v)) return bfloat16ToFloat(0x7fc0);
  const dv = new DataView(new ArrayBuffer(4));
  dv.setFloat32(0, v, true);
  return bfloat16ToFloat(dv.getUint16(2, true));
}

export class StackvmRun {
  readonly stack = new EvalStack();
  readonly space = new AddressSpace();
  private readonly inputBases: number[];
  private readonly outputBases: number[];
  private readonly dataBase: number;
  private readonly rdataBase: number;
  readonly ctx: { layer?: number; type?: string } = {};
  /** Operands of the running tensor op, recorded while the host asks for them. */
  private views?: RecordedViews;
  private current?: StackvmInstruction;

  constructor(
    readonly state: StackvmModuleState,
    readonly fn: FunctionV5,
    readonly instructions: readonly StackvmInstruction[],
    readonly inputs: readonly MemBlock[],
    readonly outputs: readonly MemBlock[],
    readonly host: StackvmHost,
  ) {
    this.dataBase = this.space.map(state.data);
    this.rdataBase = this.space.map(state.rdata);
    this.inputBases = inputs.map((b) => this.space.map(b));
    this.outputBases = outputs.map((b) => this.space.map(b));
  }

  fault(
    code: 'OUT_OF_RANGE' | 'BAD_LAYER' | 'UNSUPPORTED' | 'ILLEGAL_INSTRUCTION' | 'DIVIDE_BY_ZERO',
    detail: string,
  ): never {
    throw new KpuFault(code, detail, this.ctx);
  }

  // ---- helpers the tensor ops use ----------------------------------------------------------

  /** Throws unless a tensor of `shape` has at most as many elements as main SRAM has bytes. */
  checkElements(shape: readonly number[]): void {
    checkElements(shape, this.ctx);
  }

  popAddr(): number {
    return Number(asU(this.stack.pop()));
  }

  shapeReg(id: number): readonly number[] {
    const s = this.state.shapeRegs[id];
    if (!s) this.fault('ILLEGAL_INSTRUCTION', `shape register ${id} was never set`);
    return s;
  }

  /** A stride register as `runtime_axis_t` (int32), as nncase's `as_runtime_axis` reads it. */
  axisReg(id: number): number[] {
    return this.shapeReg(id).map((v) => Number(BigInt.asIntN(32, BigInt(v))));
  }

  paddingsReg(id: number): readonly Padding[] {
    const p = this.state.paddingRegs[id];
    if (!p) this.fault('ILLEGAL_INSTRUCTION', `paddings register ${id} was never set`);
    return p;
  }

  popPadding(): Padding {
    const after = asI4(this.stack.pop());
    const before = asI4(this.stack.pop());
    return { before, after };
  }

  /** Resolves a tensor at `addr`, checks its extent, and records a write when `write`. */
  tensor(
    addr: number,
    datatype: number,
    shape: readonly number[],
    strides: readonly number[],
    write: boolean,
  ): StridedTensor {
    checkElements(shape, this.ctx);
    const extent = extentBytes(shape, strides, datatype);
    const p = this.space.span(addr, extent, write, this.ctx);
    if (write) touch(p.block);
    if (this.views)
      (write ? this.views.outputs : this.views.inputs).push({
        block: p.block,
        offset: p.offset,
        datatype,
        shape,
        strides,
        layout: 'strided',
      });
    return { bytes: p.block.bytes, offset: p.offset, datatype, shape, strides };
  }

  /** Records a tensor a CALL passes (resolved without `tensor`). */
  recordCallTensor(t: CallTensor, output: boolean): void {
    if (this.views)
      (output ? this.views.outputs : this.views.inputs).push({
        block: t.block,
        offset: t.offset,
        datatype: t.datatype,
        shape: t.shape,
        strides: t.strides,
        layout: 'strided',
      });
  }

  /** Every operand of the running tensor op is resolved; its kernel runs next. */
  ready(params: V5OpParams = {}): void {
    if (!this.views) return;
    this.views.params = params;
    this.host.beforeTensorOp?.(this.current!, this.views);
  }

  // ---- the interpreter loop ------------------------------------------------------------------

  run(): void {
    const ins = this.instructions;
    const byPc = new Map<number, number>();
    ins.forEach((x, i) => byPc.set(x.pc, i));
    const textSize = this.fn.textSize;
    let i = 0;
    let steps = 0;
    let depth = 0;
    const maxSteps = this.host.maxSteps ?? MAX_STEPS;
    const jump = (target: number): void => {
      const k = byPc.get(target);
      if (target < 0 || target >= textSize || k === undefined)
        this.fault(
          'ILLEGAL_INSTRUCTION',
          `branch target pc ${target} is not an instruction of the function (text of ${textSize} bytes)`,
        );
      i = k;
    };
    while (i < ins.length) {
      if (++steps > maxSteps)
        this.fault('ILLEGAL_INSTRUCTION', `stackvm function ran more than ${maxSteps} instructions`);
      const x = ins[i++];
      this.ctx.type = x.tensorName ? `stackvm:${x.tensorName}` : `stackvm ${x.name}`;
      const next = x.pc + x.size;
      switch (x.name) {
        case 'BR':
          jump(next + x.args.target);
          break;
        case 'BR_TRUE':
          if (asI(this.stack.pop()) !== 0n) jump(next + x.args.target);
          break;
        case 'BR_FALSE':
          if (asI(this.stack.pop()) === 0n) jump(next + x.args.target);
          break;
        case 'RET':
          if (depth === 0) return;
          depth--;
          jump(Number(asU(this.stack.pop())));
          break;
        case 'TENSOR': {
          const def = v5Function(x);
          if (!def || isNotApplicable(def.run))
            this.fault('UNSUPPORTED', `tensor function ${x.tensorName} is known but not implemented by kpusim`);
          const exec = def.run;
          if (this.host.recordViews) {
            this.views = { inputs: [], outputs: [], params: {} };
            this.current = x;
          }
          const info = exec(this, x);
          const views = this.views;
          this.views = undefined;
          this.host.afterTensorOp(x, info, views);
          break;
        }
        default:
          this.scalar(x);
      }
    }
  }

  private scalar(x: StackvmInstruction): void {
    const s = this.stack;
    const n = x.name;
    const push = (v: bigint | number): void => s.push(intEntry(v));
    switch (n) {
      case 'NOP':
        return;
      case 'LDNULL':
      case 'LDC_I4_0':
        return push(0);
      case 'LDC_I4_1':
        return push(1);
      case 'LDC_I4':
        return push(x.args.imm);
      case 'LDC_R4':
        return s.push(realEntry(x.args.imm));
      case 'DUP':
        return s.push(s.peek());
      case 'POP':
        s.pop();
        return;
      case 'LEA_GP': {
        const id = x.args.gpid;
        if (id >= this.state.gpRegs.length)
          this.fault('OUT_OF_RANGE', `general register ${id} does not exist (32 registers)`);
        return push(this.state.gpRegs[id] + BigInt(x.args.offset));
      }
      case 'LEA_BUFFER':
        return push(this.leaBuffer(x.args.location, x.args.offset));
      case 'STSHAPE': {
        const shape = new Array<number>(x.args.rank);
        for (let k = 0; k < x.args.rank; k++) shape[x.args.rank - k - 1] = asSize(s.pop());
        this.state.shapeRegs[x.args.rshape] = shape;
        return;
      }
      case 'STPADDINGS': {
        const p = new Array<Padding>(x.args.rank);
        for (let k = 0; k < x.args.rank; k++) p[x.args.rank - k - 1] = this.popPadding();
        this.state.paddingRegs[x.args.rpaddings] = p;
        return;
      }
    }
    if (n.startsWith('LDIND_')) return this.load(n.slice(6), this.nonNull(Number(asU(s.pop()))));
    if (n.startsWith('STIND_')) {
      const v = s.pop();
      return this.store(n.slice(6), this.nonNull(Number(asU(s.pop()))), v);
    }
    if (n.startsWith('LDELEM_')) {
      const off = asU(s.pop());
      const addr = Number(asU(s.pop()));
      const t = n.slice(7);
      return this.load(t, addr + Number(off) * ELEM_BYTES[t]);
    }
    if (n.startsWith('STELEM_')) {
      const v = s.pop();
      const off = asU(s.pop());
      const addr = Number(asU(s.pop()));
      const t = n.slice(7);
      return this.store(t, addr + Number(off) * ELEM_BYTES[t], v);
    }
    if (n.startsWith('CONV_')) return this.conv(n.slice(5), s.pop());
    if (n === 'NEG') {
      const v = s.pop();
      return s.push(v.real ? realEntry(-v.r) : intEntry(-v.i));
    }
    if (n === 'NOT') return push(~asU(s.pop()));
    if (n.startsWith('LDARG') || n === 'CALL' || n === 'ECALL' || n === 'THROW' || n === 'BREAK') {
      this.fault('UNSUPPORTED', `${n} is not supported by nncase's stackvm runtime either`);
    }
    const b = s.pop();
    const a = s.pop();
    s.push(this.binaryScalar(n, a, b));
  }

  private binaryScalar(n: string, a: StackEntry, b: StackEntry): StackEntry {
    const unsigned = n.endsWith('_U') || n === 'CEQ' || n === 'CNE';
    const op = unsigned && n.endsWith('_U') ? n.slice(0, -2) : n;
    if (['AND', 'OR', 'XOR', 'SHL', 'SHR', 'SHR_U'].includes(n)) {
      const x = n === 'SHR' ? asI(a) : asU(a);
      const y = asU(b) & 63n; // x86 masks the count; C++ leaves ≥ 64 undefined
      switch (n) {
        case 'AND':
          return intEntry(asU(a) & asU(b));
        case 'OR':
          return intEntry(asU(a) | asU(b));
        case 'XOR':
          return intEntry(asU(a) ^ asU(b));
        case 'SHL':
          return intEntry(x << y);
        case 'SHR':
          return intEntry(x >> y);
        default:
          return intEntry(BigInt.asUintN(64, x) >> y);
      }
    }
    if (a.real) {
      const x = a.r;
      const y = asR4(b);
      switch (op) {
        case 'ADD':
          return realEntry(x + y);
        case 'SUB':
          return realEntry(x - y);
        case 'MUL':
          return realEntry(x * y);
        case 'DIV':
        case 'REM': // upstream REM/REM_U divide (a copy-paste slip in ops/scalar.cpp); mirrored
          return realEntry(x / y);
        case 'CLT':
          return intEntry(x < y ? 1 : 0);
        case 'CLE':
          return intEntry(x <= y ? 1 : 0);
        case 'CEQ':
          return intEntry(x === y ? 1 : 0);
        case 'CGE':
          return intEntry(x >= y ? 1 : 0);
        case 'CGT':
          return intEntry(x > y ? 1 : 0);
        case 'CNE':
          return intEntry(x !== y ? 1 : 0);
      }
    }
    const x = unsigned ? asU(a) : asI(a);
    const y = unsigned ? asU(b) : asI(b);
    switch (op) {
      case 'ADD':
        return intEntry(x + y);
      case 'SUB':
        return intEntry(x - y);
      case 'MUL':
        return intEntry(x * y);
      case 'DIV':
      case 'REM':
        if (y === 0n) this.fault('DIVIDE_BY_ZERO', `stackvm ${n} by zero`);
        return intEntry(x / y);
      case 'CLT':
        return intEntry(x < y ? 1 : 0);
      case 'CLE':
        return intEntry(x <= y ? 1 : 0);
      case 'CEQ':
        return intEntry(x === y ? 1 : 0);
      case 'CGE':
        return intEntry(x >= y ? 1 : 0);
      case 'CGT':
        return intEntry(x > y ? 1 : 0);
      case 'CNE':
        return intEntry(x !== y ? 1 : 0);
    }
    return this.fault('ILLEGAL_INSTRUCTION', `no semantics for ${n}`);
  }

  private conv(t: string, v: StackEntry): void {
    const s = this.stack;
    if (t === 'R4') return s.push(realEntry(v.real ? v.r : Number(v.i)));
    if (t === 'BR2') return s.push(realEntry(truncateToBfloat16(v.real ? v.r : f32(Number(v.i)))));
    const [bits, signed] = CONV_INT[t];
    if (v.real) return s.push(intEntry(floatToIntBits(v.r, bits, signed)));
    return s.push(intEntry(signed ? BigInt.asIntN(bits, v.i) : BigInt.asUintN(bits, v.i)));
  }

  private nonNull(addr: number): number {
    if (addr === 0) this.fault('OUT_OF_RANGE', 'load or store through a null address');
    return addr;
  }

  private load(t: string, addr: number): void {
    const size = ELEM_BYTES[t];
    const p = this.space.span(addr, size, false, this.ctx);
    const dv = view(p.block);
    const o = p.offset;
    switch (t) {
      case 'I1':
        return this.stack.push(intEntry(dv.getInt8(o)));
      case 'I2':
        return this.stack.push(intEntry(dv.getInt16(o, true)));
      case 'I4':
        return this.stack.push(intEntry(dv.getInt32(o, true)));
      case 'I':
      case 'U':
        return this.stack.push(intEntry(dv.getBigInt64(o, true)));
      case 'U1':
        return this.stack.push(intEntry(dv.getUint8(o)));
      case 'U2':
        return this.stack.push(intEntry(dv.getUint16(o, true)));
      case 'U4':
        return this.stack.push(intEntry(dv.getUint32(o, true)));
      case 'BR2':
        return this.stack.push(realEntry(bfloat16ToFloat(dv.getUint16(o, true))));
      case 'R4':
        return this.stack.push(realEntry(dv.getFloat32(o, true)));
    }
  }

  private store(t: string, addr: number, v: StackEntry): void {
    const size = ELEM_BYTES[t];
    const p = this.space.span(addr, size, true, this.ctx);
    touch(p.block);
    const dv = view(p.block);
    const o = p.offset;
    switch (t) {
      case 'I1':
        return dv.setInt8(o, Number(BigInt.asIntN(8, asI(v))));
      case 'I2':
        return dv.setInt16(o, Number(BigInt.asIntN(16, asI(v))), true);
      case 'I4':
        return dv.setInt32(o, asI4(v), true);
      case 'I':
        return dv.setBigInt64(o, asI(v), true);
      case 'BR2':
        return dv.setUint16(o, roundToBfloat16(asR4(v)), true);
      case 'R4':
        return dv.setFloat32(o, asR4(v), true);
    }
  }

  /** `lea_buffer`: input/output by the range whose start is the largest ≤ offset; pools by offset. */
  private leaBuffer(location: number, offset: number): number {
    const pick = (ranges: readonly { range: { start: number } }[], bases: number[], what: string): number => {
      let id = -1;
      let last = 0;
      ranges.forEach((r, k) => {
        if (r.range.start <= offset && r.range.start >= last) {
          id = k;
          last = r.range.start;
        }
      });
      if (id < 0) this.fault('OUT_OF_RANGE', `LEA_BUFFER ${what} offset ${offset} matches no ${what} of the function`);
      return bases[id] + (offset - last);
    };
    switch (location) {
      case MEM_INPUT:
        return pick(this.fn.inputs, this.inputBases, 'input');
      case MEM_OUTPUT:
        return pick(this.fn.outputs, this.outputBases, 'output');
      case MEM_RDATA:
        if (offset > this.state.rdata.bytes.length)
          this.fault(
            'OUT_OF_RANGE',
            `LEA_BUFFER rdata offset ${offset} is past .rdata (${this.state.rdata.bytes.length} bytes)`,
          );
        return this.rdataBase + offset;
      case MEM_DATA:
        if (offset > this.state.data.bytes.length)
          this.fault(
            'OUT_OF_RANGE',
            `LEA_BUFFER data offset ${offset} is past the data pool (${this.state.data.bytes.length} bytes)`,
          );
        return this.dataBase + offset;
      default:
        return this.fault('OUT_OF_RANGE', `LEA_BUFFER of memory location ${location}`);
    }
  }
}

const ELEM_BYTES: Record<string, number> = { I1: 1, I2: 2, I4: 4, I: 8, U1: 1, U2: 2, U4: 4, U: 8, BR2: 2, R4: 4 };
const CONV_INT: Record<string, [8 | 16 | 32 | 64, boolean]> = {
  I1: [8, true],
  I2: [16, true],
  I4: [32, true],
  I: [64, true],
  U1: [8, false],
  U2: [16, false],
  U4: [32, false],
  U: [64, false],
};

/** Copies a strided call tensor into a fresh dense buffer (nncase's staging `copy_to`). */
export function denseCopy(t: CallTensor): Uint8Array {
  const size = elemSize(t.datatype);
  const out = new Uint8Array(elementCount(t.shape) * size);
  copy(
    { bytes: t.block.bytes, offset: t.offset, datatype: t.datatype, shape: t.shape, strides: t.strides },
    { bytes: out, offset: 0, datatype: t.datatype, shape: t.shape, strides: defaultStrides(t.shape) },
  );
  return out;
}
