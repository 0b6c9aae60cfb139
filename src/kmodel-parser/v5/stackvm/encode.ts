/**
 * The inverse of decode.ts: encodes instructions of one numbering back to bytes. Used to
 * write synthetic stackvm programs for tests and for the decode∘encode round trip.
 */
import {
  OPCODE_TENSOR,
  OPERAND_BYTES,
  SCALAR_OPCODES,
  TENSOR_FUNCTION_OPERANDS,
  type StackvmNumbering,
} from './isa.js';

/** An instruction to encode: a scalar opcode name, or `TENSOR` with a tensor-function name. */
export interface AsmInstruction {
  readonly op: string;
  readonly tensor?: string;
  readonly args?: Readonly<Record<string, number>>;
}

export function encodeStackvm(program: readonly AsmInstruction[], numbering: StackvmNumbering): Uint8Array {
  const bytes: number[] = [];
  const dv = new DataView(new ArrayBuffer(4));
  for (const ins of program) {
    let fields;
    if (ins.op === 'TENSOR') {
      const funct = numbering.tensorFunctions.indexOf(ins.tensor ?? '');
      const ops = TENSOR_FUNCTION_OPERANDS[ins.tensor ?? ''];
      if (funct < 0 || !ops)
        throw new RangeError(`tensor function ${ins.tensor} cannot be encoded under ${numbering.id}`);
      bytes.push(OPCODE_TENSOR, funct & 0xff, funct >> 8);
      fields = ops;
    } else {
      const spec = SCALAR_OPCODES.find((s) => s.name === ins.op);
      if (!spec) throw new RangeError(`unknown opcode ${ins.op}`);
      bytes.push(spec.opcode);
      fields = spec.operands;
    }
    for (const [name, type] of fields) {
      const v = ins.args?.[name] ?? 0;
      switch (type) {
        case 'f32':
          dv.setFloat32(0, v, true);
          break;
        case 'i32':
          dv.setInt32(0, v, true);
          break;
        default:
          dv.setUint32(0, v >>> 0, true);
      }
      for (let i = 0; i < OPERAND_BYTES[type]; i++) bytes.push(dv.getUint8(i));
    }
  }
  return Uint8Array.from(bytes);
}
