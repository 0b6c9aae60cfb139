/**
 * The stackvm interpreter, one instruction family at a time, on synthetic single-function
 * models (bytecode written with the encoder, container with the writer). Expected values are
 * worked out by hand from nncase's runtime semantics.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KmodelError, KpuFault } from '../src/errors.js';
import { BinaryReader } from '../src/kmodel-parser/binary-reader.js';
import { parseV5 } from '../src/kmodel-parser/v5/parse.js';
import { encodeStackvm, type AsmInstruction } from '../src/kmodel-parser/v5/stackvm/encode.js';
import { NUMBERINGS, SCALAR_OPCODES } from '../src/kmodel-parser/v5/stackvm/isa.js';
import { buildV5, stackvmModuleSpec, type TensorSpec } from '../src/kmodel-parser/v5/write.js';
import { runV5 } from '../src/kpu/v5/run.js';

const N = NUMBERINGS[0];
const U8 = 4;

type Asm = AsmInstruction | { label: string };

/** Encodes with labels: a `target` given as a string is the label's pc minus the next pc. */
function assemble(prog: readonly Asm[], targets: Record<number, string> = {}): Uint8Array {
  const plain = (resolve: (i: number) => AsmInstruction) =>
    prog.map((p, i) => ('label' in p ? null : resolve(i))).filter((p): p is AsmInstruction => p !== null);
  const sizes = prog.map((p) => ('label' in p ? 0 : encodeStackvm([p], N).length));
  const pcOf = (k: number) => sizes.slice(0, k).reduce((a, b) => a + b, 0);
  const labelPc = (name: string) => pcOf(prog.findIndex((p) => 'label' in p && p.label === name));
  return encodeStackvm(
    plain((i) => {
      const p = prog[i] as AsmInstruction;
      const t = targets[i];
      return t === undefined ? p : { ...p, args: { ...p.args, target: labelPc(t) - pcOf(i + 1) } };
    }),
    N,
  );
}

interface RunSpec {
  inputs?: { spec: TensorSpec; bytes: Uint8Array }[];
  outputs?: TensorSpec[];
  dataPool?: number;
  rdata?: Uint8Array;
  maxSteps?: number;
}

function runProgram(text: Uint8Array, s: RunSpec = {}): Uint8Array[] {
  const bytes = buildV5({
    modules: [
      stackvmModuleSpec(text, {
        inputs: s.inputs?.map((i) => i.spec),
        outputs: s.outputs,
        dataPool: s.dataPool,
        rdata: s.rdata,
      }),
    ],
  });
  const model = parseV5(new BinaryReader(bytes), { stackvmNumbering: N.id });
  const ins = s.inputs?.map((i) => i.bytes) ?? [];
  return runV5(model, ins[0] ?? new Uint8Array(0), {
    moreInputs: ins.length > 1 ? ins.slice(1) : undefined,
    maxSteps: s.maxSteps,
  }).outputs;
}

const lea = (location: number, offset = 0): AsmInstruction => ({
  op: 'LEA_BUFFER',
  args: { location, subres_id: 0, offset },
});
const i4 = (imm: number): AsmInstruction => ({ op: 'LDC_I4', args: { imm } });
const r4 = (imm: number): AsmInstruction => ({ op: 'LDC_R4', args: { imm } });
const op = (name: string): AsmInstruction => ({ op: name });

/** Runs `prog` and returns the 64-bit integer it leaves on top of the stack. */
function evalInt(prog: AsmInstruction[]): bigint {
  const [out] = runProgram(encodeStackvm([lea(1), ...prog, op('STIND_I'), op('RET')], N), {
    outputs: [{ datatype: U8, shape: [8] }],
  });
  return new DataView(out.buffer, out.byteOffset).getBigInt64(0, true);
}

/** Runs `prog` and returns the float it leaves on top of the stack. */
function evalReal(prog: AsmInstruction[]): number {
  const [out] = runProgram(encodeStackvm([lea(1), ...prog, op('STIND_R4'), op('RET')], N), {
    outputs: [{ datatype: U8, shape: [4] }],
  });
  return new DataView(out.buffer, out.byteOffset).getFloat32(0, true);
}

function fault(fn: () => unknown): KpuFault {
  try {
    fn();
  } catch (e) {
    if (e instanceof KpuFault) return e;
    throw e;
  }
  throw new Error('expected a KpuFault');
}

describe('stackvm: constants and stack', () => {
  it('LDC_I4 / LDC_I4_0 / LDC_I4_1 / LDNULL push integers', () => {
    expect(evalInt([i4(-123456)])).toBe(-123456n);
    expect(evalInt([op('LDC_I4_1')])).toBe(1n);
    expect(evalInt([op('LDC_I4_0')])).toBe(0n);
    expect(evalInt([op('LDNULL')])).toBe(0n);
  });
  it('LDC_R4 pushes a float32; DUP and POP', () => {
    expect(evalReal([r4(1.5)])).toBe(1.5);
    expect(evalReal([r4(0.1)])).toBe(Math.fround(0.1));
    expect(evalInt([i4(7), op('DUP'), op('ADD')])).toBe(14n);
    expect(evalInt([i4(7), i4(9), op('POP')])).toBe(7n);
  });
  it('an integer read as a float reinterprets its low 32 bits (the stack entry is a union)', () => {
    expect(evalReal([i4(0x3fc00000)])).toBe(1.5);
  });
});

describe('stackvm: integer and float arithmetic', () => {
  const bin = (a: number, b: number, name: string) => evalInt([i4(a), i4(b), op(name)]);
  it('ADD SUB MUL DIV (C truncation) NEG', () => {
    expect(bin(2, 3, 'ADD')).toBe(5n);
    expect(bin(2, 3, 'SUB')).toBe(-1n);
    expect(bin(-4, 3, 'MUL')).toBe(-12n);
    expect(bin(7, -2, 'DIV')).toBe(-3n);
    expect(evalInt([i4(5), op('NEG')])).toBe(-5n);
  });
  it('64-bit intptr arithmetic wraps', () => {
    expect(evalInt([i4(0x7fffffff), i4(0x7fffffff), op('MUL'), i4(4), op('MUL')])).toBe(
      BigInt.asIntN(64, 4n * 0x7fffffffn * 0x7fffffffn),
    );
    expect(bin(-1, 2, 'DIV_U')).toBe((1n << 63n) - 1n);
  });
  it('REM and REM_U divide, as nncase ops/scalar.cpp does', () => {
    expect(bin(7, 2, 'REM')).toBe(3n);
    expect(bin(9, 4, 'REM_U')).toBe(2n);
  });
  it('float arithmetic rounds to float32', () => {
    expect(evalReal([r4(1.5), r4(2.25), op('ADD')])).toBe(3.75);
    expect(evalReal([r4(1), r4(3), op('DIV')])).toBe(Math.fround(1 / 3));
    expect(evalReal([r4(2), op('NEG')])).toBe(-2);
  });
  it('bitwise and shifts', () => {
    expect(bin(12, 10, 'AND')).toBe(8n);
    expect(bin(12, 10, 'OR')).toBe(14n);
    expect(bin(12, 10, 'XOR')).toBe(6n);
    expect(evalInt([i4(0), op('NOT')])).toBe(-1n);
    expect(bin(1, 4, 'SHL')).toBe(16n);
    expect(bin(-16, 2, 'SHR')).toBe(-4n);
    expect(bin(-16, 60, 'SHR_U')).toBe(15n);
  });
  it('comparisons, signed and unsigned, integer and float', () => {
    expect(bin(1, 2, 'CLT')).toBe(1n);
    expect(bin(-1, 1, 'CLT')).toBe(1n);
    expect(bin(-1, 1, 'CLT_U')).toBe(0n);
    expect(bin(2, 2, 'CLE')).toBe(1n);
    expect(bin(2, 2, 'CEQ')).toBe(1n);
    expect(bin(2, 3, 'CNE')).toBe(1n);
    expect(bin(3, 2, 'CGT')).toBe(1n);
    expect(bin(-3, 2, 'CGT_U')).toBe(1n);
    expect(bin(2, 3, 'CGE')).toBe(0n);
    expect(evalInt([r4(1.5), r4(2.5), op('CLT')])).toBe(1n);
    expect(evalInt([r4(2.5), r4(2.5), op('CEQ')])).toBe(1n);
  });
  it('division by zero is a KpuFault', () => {
    expect(fault(() => bin(1, 0, 'DIV')).code).toBe('DIVIDE_BY_ZERO');
  });
});

describe('stackvm: conversions', () => {
  it('integer → narrower integer keeps the low bits, sign- or zero-extended', () => {
    expect(evalInt([i4(300), op('CONV_I1')])).toBe(44n);
    expect(evalInt([i4(-1), op('CONV_U1')])).toBe(255n);
    expect(evalInt([i4(70000), op('CONV_I2')])).toBe(4464n);
    expect(evalInt([i4(-1), op('CONV_U4')])).toBe(4294967295n);
  });
  it('float → integer truncates (x86 cvttss2si: out of range gives the minimum)', () => {
    expect(evalInt([r4(2.7), op('CONV_I4')])).toBe(2n);
    expect(evalInt([r4(-2.7), op('CONV_I4')])).toBe(-2n);
    expect(evalInt([r4(300.5), op('CONV_U1')])).toBe(44n);
    expect(evalInt([r4(3e9), op('CONV_I4')])).toBe(-2147483648n);
    expect(evalInt([r4(1e20), op('CONV_I')])).toBe(-(1n << 63n));
  });
  it('CONV_R4 makes a float; CONV_BR2 truncates to bfloat16 (the bfloat16(float) constructor)', () => {
    expect(evalReal([i4(3), op('CONV_R4')])).toBe(3);
    expect(evalReal([r4(1 + 3 * 2 ** -9), op('CONV_BR2')])).toBe(1);
  });
});

describe('stackvm: loads and stores', () => {
  const input = { spec: { datatype: U8, shape: [8] }, bytes: Uint8Array.from([1, 2, 3, 4, 5, 6, 0xff, 8]) };
  const out8 = [{ datatype: U8, shape: [8] }];
  it('LDIND of every width reads the input little-endian, signed or not', () => {
    const load = (offset: number, name: string) => {
      const [o] = runProgram(encodeStackvm([lea(1), lea(0, offset), op(name), op('STIND_I'), op('RET')], N), {
        inputs: [input],
        outputs: out8,
      });
      return new DataView(o.buffer, o.byteOffset).getBigInt64(0, true);
    };
    expect(load(2, 'LDIND_U1')).toBe(3n);
    expect(load(6, 'LDIND_I1')).toBe(-1n);
    expect(load(6, 'LDIND_U1')).toBe(255n);
    expect(load(0, 'LDIND_I2')).toBe(0x0201n);
    expect(load(0, 'LDIND_U4')).toBe(0x04030201n);
    expect(load(0, 'LDIND_I')).toBe(0x08ff060504030201n);
  });
  it('LDELEM / STELEM index by element size', () => {
    const [o] = runProgram(
      encodeStackvm([lea(1), i4(1), lea(0), i4(1), op('LDELEM_U2'), op('STELEM_I4'), op('RET')], N),
      { inputs: [input], outputs: out8 },
    );
    expect(new DataView(o.buffer, o.byteOffset).getUint32(4, true)).toBe(0x0403);
  });
  it('STIND_BR2 rounds to nearest even; STIND_I1 truncates; data pool round trip', () => {
    const [o] = runProgram(
      encodeStackvm(
        [
          lea(3, 0),
          r4(1 + 3 * 2 ** -9),
          op('STIND_BR2'),
          lea(1, 0),
          lea(3, 0),
          op('LDIND_U2'),
          op('STIND_I2'),
          lea(1, 2),
          i4(0x1ff),
          op('STIND_I1'),
          op('RET'),
        ],
        N,
      ),
      { outputs: [{ datatype: U8, shape: [4] }], dataPool: 16 },
    );
    expect(new DataView(o.buffer, o.byteOffset).getUint16(0, true)).toBe(0x3f81);
    expect(o[2]).toBe(0xff);
  });
  it('null, out-of-range and read-only accesses are KpuFaults', () => {
    expect(
      fault(() => runProgram(encodeStackvm([op('LDNULL'), op('LDIND_I4'), op('POP'), op('RET')], N))).message,
    ).toMatch(/null/);
    expect(
      fault(() => runProgram(encodeStackvm([lea(3, 14), op('LDIND_I4'), op('POP'), op('RET')], N), { dataPool: 16 }))
        .code,
    ).toBe('OUT_OF_RANGE');
    expect(
      fault(() =>
        runProgram(encodeStackvm([lea(2, 0), i4(1), op('STIND_I1'), op('RET')], N), { rdata: new Uint8Array(8) }),
      ).message,
    ).toMatch(/read-only/);
  });
});

describe('stackvm: control flow', () => {
  // data[0] = i, data[4] = sum; sum += i while --i.
  const loop: Asm[] = [
    lea(3, 0),
    i4(10),
    op('STIND_I4'),
    { label: 'L' },
    lea(3, 4),
    lea(3, 4),
    op('LDIND_I4'),
    lea(3, 0),
    op('LDIND_I4'),
    op('ADD'),
    op('STIND_I4'),
    lea(3, 0),
    lea(3, 0),
    op('LDIND_I4'),
    op('LDC_I4_1'),
    op('SUB'),
    op('STIND_I4'),
    lea(3, 0),
    op('LDIND_I4'),
    { op: 'BR_TRUE', args: { target: 0 } },
    lea(1, 0),
    lea(3, 4),
    op('LDIND_I4'),
    op('STIND_I4'),
    op('RET'),
    lea(1, 0),
    i4(-1),
    op('STIND_I4'),
  ];
  it('a BR_TRUE loop sums 1..10; RET at depth 0 ends the function', () => {
    const [o] = runProgram(assemble(loop, { 19: 'L' }), { outputs: [{ datatype: U8, shape: [4] }], dataPool: 8 });
    expect(new DataView(o.buffer, o.byteOffset).getInt32(0, true)).toBe(55);
  });
  it('BR and BR_FALSE jump relative to the next instruction', () => {
    const prog: Asm[] = [
      lea(1, 0),
      op('LDC_I4_0'),
      { op: 'BR_FALSE', args: { target: 0 } },
      i4(111),
      op('STIND_I4'),
      op('RET'),
      { label: 'A' },
      { op: 'BR', args: { target: 0 } },
      { label: 'X' },
      op('RET'),
      { label: 'B' },
      i4(222),
      op('STIND_I4'),
      op('RET'),
    ];
    const [o] = runProgram(assemble(prog, { 2: 'A', 7: 'B' }), { outputs: [{ datatype: U8, shape: [4] }] });
    expect(new DataView(o.buffer, o.byteOffset).getInt32(0, true)).toBe(222);
  });
  it('a branch outside the text, a runaway loop and a runtime underflow are KpuFaults', () => {
    expect(fault(() => runProgram(encodeStackvm([{ op: 'BR', args: { target: 1000 } }], N))).code).toBe(
      'ILLEGAL_INSTRUCTION',
    );
    expect(
      fault(() =>
        runProgram(assemble([{ label: 'L' }, { op: 'BR', args: { target: 0 } }], { 1: 'L' }), { maxSteps: 1000 }),
      ).message,
    ).toMatch(/more than 1000/);
    expect(fault(() => runProgram(encodeStackvm([{ op: 'BR', args: { target: 0 } }, op('POP')], N))).message).toMatch(
      /underflow/,
    );
  });
  it('a straight-line underflow is caught when the file is parsed', () => {
    expect(() => runProgram(encodeStackvm([op('POP')], N))).toThrow(KmodelError);
  });
  it('CALL, ECALL, THROW, BREAK and LDARG are unsupported, as upstream', () => {
    for (const p of [
      [{ op: 'CALL', args: { args: 0, target: 0 } }],
      [op('LDARG_0')],
      [op('THROW')],
      [op('BREAK')],
      [{ op: 'ECALL', args: { args: 0 } }],
    ] as AsmInstruction[][]) {
      expect(fault(() => runProgram(encodeStackvm(p, N))).code).toBe('UNSUPPORTED');
    }
  });
});

describe('stackvm: random programs', () => {
  it('decodable random bytecode gives only KmodelError or KpuFault, quickly (fast-check, fixed seed)', () => {
    const simple = SCALAR_OPCODES.filter((s) => !['LEA_GP'].includes(s.name));
    const ins = fc
      .constantFrom(...simple)
      .chain((s) =>
        fc
          .record(
            Object.fromEntries(
              s.operands.map(([n, t]) => [
                n,
                t === 'f32'
                  ? fc.float({ noNaN: true })
                  : t === 'i32'
                    ? fc.integer({ min: -40, max: 40 })
                    : fc.nat(t === 'u8' ? 6 : 64),
              ]),
            ),
          )
          .map((args) => ({ op: s.name, args })),
      );
    fc.assert(
      fc.property(fc.array(ins, { maxLength: 40 }), (prog) => {
        try {
          runProgram(encodeStackvm(prog as AsmInstruction[], N), {
            outputs: [{ datatype: U8, shape: [16] }],
            dataPool: 64,
            maxSteps: 2000,
          });
        } catch (e) {
          if (!(e instanceof KmodelError) && !(e instanceof KpuFault)) throw e;
        }
      }),
      { seed: 2024, numRuns: 1500 },
    );
  });
});
