import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KmodelError } from '../src/errors.js';
import { BinaryReader } from '../src/kmodel-parser/binary-reader.js';
import { kpuConvGeometry } from '../src/kmodel-parser/model.js';
import { decodeStackvmText } from '../src/kmodel-parser/v5/stackvm/decode.js';
import { encodeStackvm, type AsmInstruction } from '../src/kmodel-parser/v5/stackvm/encode.js';
import { NUMBERINGS, SCALAR_OPCODES, TENSOR_FUNCTION_OPERANDS } from '../src/kmodel-parser/v5/stackvm/isa.js';
import { parseV5 } from '../src/kmodel-parser/v5/parse.js';
import type { KmodelV5 } from '../src/kmodel-parser/v5/types.js';
import { buildV5, type ModelSpec } from '../src/kmodel-parser/v5/write.js';
import { GOLDEN_DIR, HAS_SHARED, SHARED_SKIP_REASON, kmodelPath } from './shared.js';

const parse = (b: Uint8Array, numbering?: string): KmodelV5 =>
  parseV5(new BinaryReader(b), { stackvmNumbering: numbering });

/** key=value pairs of one info.txt line. */
function kv(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of line.replace(/pool\[[^\]]*\]/g, '').matchAll(/(\w+)=(\S+)/g)) out[m[1]] ??= m[2];
  return out;
}

const MODELS = [
  { name: 'nncase_yolox_nano_224_k210_v5', numbering: 'nncase-1.0.0-beta1' },
  { name: 'nncase_benchmark_mnist_cpu_v5', numbering: 'nncase-cumsum-2021-10' },
];

describe.skipIf(!HAS_SHARED)(`v5 parser on the real files ${HAS_SHARED ? '' : SHARED_SKIP_REASON}`, () => {
  // The describe body runs at collection even when skipped: read the files only when they exist.
  for (const { name, numbering } of HAS_SHARED ? MODELS : []) {
    describe(name, () => {
      const bytes = new Uint8Array(readFileSync(kmodelPath(name)));
      const model = parse(bytes);
      const info = readFileSync(resolve(GOLDEN_DIR, 'v5-shared', name, 'const_128', 'info.txt'), 'utf8').split('\n');
      const trace = readFileSync(resolve(GOLDEN_DIR, 'v5-shared', name, 'const_128', 'trace.txt'), 'utf8')
        .trim()
        .split('\n');

      it('header agrees with info.txt', () => {
        const h = kv(info.find((l) => l.startsWith('header '))!);
        expect(model.version).toBe(5);
        expect(model.generation).toBe('nncase 1.x');
        expect(model.header).toMatchObject({
          version: Number(h.version),
          headerSize: Number(h.header_size),
          flags: Number(h.flags),
          alignment: Number(h.alignment),
          modules: Number(h.modules),
          entryModule: Number(h.entry_module),
          entryFunction: Number(h.entry_function),
        });
      });

      it('modules and mempools agree with info.txt', () => {
        const lines = info.filter((l) => l.startsWith('module '));
        expect(model.modules).toHaveLength(lines.length);
        lines.forEach((l, i) => {
          const m = model.modules[i];
          const f = kv(l);
          expect(m).toMatchObject({
            type: f.type,
            version: Number(f.version),
            size: Number(f.size),
            functions: expect.any(Array),
          });
          expect(m.mempools).toHaveLength(Number(f.mempools));
          expect(m.sharedMempools).toHaveLength(Number(f.shared_mempools));
          expect(m.sections).toHaveLength(Number(f.sections));
          expect(m.functions).toHaveLength(Number(f.functions));
          const pools = [...l.matchAll(/pool\[loc=(\d+) size=(\d+)\]/g)].map((p) => ({
            location: Number(p[1]),
            size: Number(p[2]),
          }));
          expect(m.mempools).toEqual(pools);
        });
      });

      it('entry inputs and outputs agree with info.txt', () => {
        const entry = model.modules[model.header.entryModule].functions[model.header.entryFunction];
        for (const [kind, list, descs] of [
          ['input', entry.inputs, model.inputs],
          ['output', entry.outputs, model.outputs],
        ] as const) {
          const lines = info.filter((l) => l.startsWith(`${kind} `));
          expect(list).toHaveLength(lines.length);
          lines.forEach((l, i) => {
            const f = kv(l);
            expect(list[i].range).toMatchObject({
              datatype: Number(f.datatype),
              location: Number(f.location),
              start: Number(f.start),
              size: Number(f.size),
            });
            expect(list[i].shape.join('x')).toBe(f.shape);
            expect(descs[i].bytes).toBe(Number(f.bytes));
            expect(descs[i].shape.join('x')).toBe(f.shape);
          });
        }
      });

      it(`decodes under its own numbering (${numbering}) and says why`, () => {
        expect(model.stackvmNumbering?.id).toBe(numbering);
        expect(model.stackvmNumbering?.overridden).toBe(false);
        expect(model.stackvmNumbering?.reason).toMatch(/only numbering/);
        const other = NUMBERINGS.find((n) => n.id !== numbering)!;
        let err: unknown;
        try {
          parse(bytes, other.id);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(KmodelError);
        expect((err as KmodelError).detail).toContain(other.id);
        expect((err as KmodelError).offset).toBeGreaterThan(0);
      });

      it('lists one layer per traced op, in trace order', () => {
        const traced = trace.map((l) => l.split(' ')[1].replace(/\(0x[0-9a-f]+\)$/, ''));
        expect(model.layers.map((l) => l.type)).toEqual(traced);
        model.layers.forEach((l, i) => expect(l.index).toBe(i));
      });
    });
  }

  it('mnist: every truncation and random byte flips give only KmodelError', () => {
    const b = new Uint8Array(readFileSync(kmodelPath('nncase_benchmark_mnist_cpu_v5')));
    for (let n = 0; n < b.length; n++) onlyKmodelErrors(b.subarray(0, n));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(b.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        (flips) => {
          const c = b.slice();
          for (const [at, v] of flips) c[at] = v;
          onlyKmodelErrors(c);
        },
      ),
      { seed: 42, numRuns: 2000 },
    );
  });

  it('yolox: K210 functions, conv parameters from .rdata', () => {
    const model = parse(new Uint8Array(readFileSync(kmodelPath('nncase_yolox_nano_224_k210_v5'))));
    const k210 = model.modules[1];
    expect(k210.type).toBe('k210');
    // SOURCES.md: the first K210 function takes [1,12,112,112] and gives [1,16,112,112].
    expect(k210.functions[0].inputs[0].shape).toEqual([1, 12, 112, 112]);
    expect(k210.functions[0].outputs[0].shape).toEqual([1, 16, 112, 112]);
    const convs = model.layers.filter((l) => l.type === 'k210:kpu_conv2d');
    expect(convs).toHaveLength(120);
    for (const c of convs) {
      const p = c.kpu!;
      const g = kpuConvGeometry(p.arg);
      expect(p.batchNorm).toHaveLength(g.outChannels);
      expect(p.activation).toHaveLength(16);
      expect(p.weights.length).toBe((g.depthwise ? 1 : g.inChannels) * g.outChannels * g.kernel * g.kernel);
      // kpu-numerics §5.1: the activation table is 256-aligned inside .rdata; dma_total_byte + 1 = OC·OH·OW.
      expect((p.fileOffsets.activation - k210.rdataOffset) % 256).toBe(0);
      expect(p.arg.dma_total_byte + 1).toBe(g.outChannels * g.outHeight * g.outWidth);
      expect(c.unit).toBe('KPU');
    }
    expect(model.stackvmNumbering?.candidates.map((c) => c.valid)).toEqual([true, false]);
  });

  it('static shapes of stackvm ops, from the constants the bytecode loads', () => {
    const yolox = parse(new Uint8Array(readFileSync(kmodelPath('nncase_yolox_nano_224_k210_v5'))));
    const shapes = (i: number) => [
      yolox.layers[i].inputs?.map((t) => `${t.dtype}[${t.shape.join(',')}]`),
      yolox.layers[i].outputs?.map((t) => `${t.dtype}[${t.shape.join(',')}]`),
    ];
    expect(shapes(0)).toEqual([['uint8[1,3,224,224]'], ['float32[1,3,224,224]']]);
    expect(shapes(5)).toEqual([['float32[1,3,224,224]'], ['float32[1,3,112,112]']]);
    expect(shapes(14)).toEqual([['uint8[1,12,112,112]'], ['uint8[1,16,112,112]']]);
    expect(shapes(316)).toEqual([['float32[1,85,1029]'], ['float32[1,1029,85]']]);
    const mnist = parse(new Uint8Array(readFileSync(kmodelPath('nncase_benchmark_mnist_cpu_v5'))));
    expect(mnist.layers[0].outputs?.[0].shape).toEqual([1, 8, 28, 28]);
    expect(mnist.layers[5].outputs?.[0].shape).toEqual([1, 16, 4, 4]);
    expect(mnist.layers[7].outputs?.[0].shape).toEqual([1, 10]);
  });
});

// ---------------------------------------------------------------------------------------------
// Synthetic containers

const beta1 = NUMBERINGS[0];

/** A minimal valid model: one stackvm function that copies its input to its output. */
function tinySpec(text?: Uint8Array): ModelSpec {
  const prog: AsmInstruction[] = [
    { op: 'LDC_I4', args: { imm: 4 } },
    { op: 'STSHAPE', args: { rshape: 0, rank: 1 } },
    { op: 'LDC_I4_1' },
    { op: 'STSHAPE', args: { rshape: 1, rank: 1 } },
    { op: 'LEA_BUFFER', args: { location: 0, subres_id: 0, offset: 0 } },
    { op: 'LEA_BUFFER', args: { location: 1, subres_id: 0, offset: 0 } },
    { op: 'TENSOR', tensor: 'COPY', args: { datatype: 4, rshape: 0, rstride_src: 1, rstride_dest: 1 } },
    { op: 'RET' },
  ];
  return {
    modules: [
      {
        type: 'stackvm',
        mempools: [
          { location: 2, size: 0 },
          { location: 3, size: 16 },
        ],
        functions: [
          {
            inputs: [{ range: { location: 0, datatype: 4, start: 0, size: 4 }, shape: [4] }],
            outputs: [{ range: { location: 1, datatype: 4, start: 0, size: 4 }, shape: [4] }],
            text: text ?? encodeStackvm(prog, beta1),
          },
        ],
        sections: [{ name: '.rdata', body: new Uint8Array(0) }],
      },
    ],
  };
}

function onlyKmodelErrors(bytes: Uint8Array): void {
  try {
    parse(bytes);
  } catch (e) {
    if (!(e instanceof KmodelError)) throw e;
  }
}

describe('v5 parser on synthetic containers', () => {
  it('parses what the writer writes', () => {
    const m = parse(buildV5(tinySpec()));
    expect(m.modules).toHaveLength(1);
    expect(m.inputs[0]).toMatchObject({ shape: [4], dtype: 'uint8', bytes: 4 });
    expect(m.layers.map((l) => l.type)).toEqual(['stackvm:COPY']);
    // Both numberings read COPY (0x0008) the same way: the newest is taken and the reason says so.
    expect(m.stackvmNumbering?.id).toBe('nncase-cumsum-2021-10');
    expect(m.stackvmNumbering?.reason).toMatch(/newest/);
    expect(parse(buildV5(tinySpec()), '4a33c5520').stackvmNumbering).toMatchObject({
      id: 'nncase-1.0.0-beta1',
      overridden: true,
    });
  });

  it('refuses an unknown numbering override by name', () => {
    expect(() => parse(buildV5(tinySpec()), 'v9.9')).toThrow(/unknown stackvm numbering/);
  });

  it('names the offset and the numbering of an illegal instruction', () => {
    const text = encodeStackvm([{ op: 'NOP' }, { op: 'NOP' }], beta1);
    const bad = new Uint8Array([...text, 0xff]);
    const b = buildV5(tinySpec(bad));
    let err: KmodelError | undefined;
    try {
      parse(b);
    } catch (e) {
      err = e as KmodelError;
    }
    expect(err).toBeInstanceOf(KmodelError);
    expect(err!.code).toBe('UNKNOWN_OPCODE');
    expect(b[err!.offset]).toBe(0xff);
    expect(err!.detail).toMatch(/pc 2 under numbering nncase-/);
  });

  it('rejects a tensor function its release cannot read (CLAMP)', () => {
    const b = buildV5(tinySpec(new Uint8Array([0x5e, 0x04, 0x00, 0, 0, 0, 0])));
    expect(() => parse(b)).toThrow(/CLAMP\) has no encoding/);
  });

  it('rejects inconsistent operands (a shape register nobody set)', () => {
    const text = encodeStackvm(
      [
        { op: 'LDNULL' },
        { op: 'LDNULL' },
        { op: 'TENSOR', tensor: 'COPY', args: { datatype: 4, rshape: 7, rstride_src: 7, rstride_dest: 7 } },
      ],
      beta1,
    );
    expect(() => parse(buildV5(tinySpec(text)))).toThrow(/shape register 7/);
  });

  it('truncation at every point gives only KmodelError', () => {
    const b = buildV5(tinySpec());
    for (let n = 0; n < b.length; n++) onlyKmodelErrors(b.subarray(0, n));
  });

  it('random byte flips and huge counts give only KmodelError (fast-check, fixed seed)', () => {
    const b = buildV5(tinySpec());
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(b.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        (flips) => {
          const c = b.slice();
          for (const [at, v] of flips) c[at] = v;
          onlyKmodelErrors(c);
        },
      ),
      { seed: 0x5eed5, numRuns: 3000 },
    );
    // Every u32 of the headers set to a huge value.
    for (let at = 0; at + 4 <= Math.min(b.length, 400); at += 4) {
      for (const v of [0xffffffff, 0x7fffffff, 0x10000000]) {
        const c = b.slice();
        new DataView(c.buffer).setUint32(at, v, true);
        onlyKmodelErrors(c);
      }
    }
  });

  it('corrupted bytecode gives only KmodelError (fast-check, fixed seed)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), (code) => onlyKmodelErrors(buildV5(tinySpec(code)))),
      { seed: 1234, numRuns: 2000 },
    );
  });

  it('decode ∘ encode is the identity on instructions (both numberings)', () => {
    const scalar = fc
      .constantFrom(...SCALAR_OPCODES)
      .chain((s) =>
        fc
          .record(
            Object.fromEntries(
              s.operands.map(([n, t]) => [
                n,
                t === 'i32'
                  ? fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })
                  : t === 'f32'
                    ? fc.constant(1.5)
                    : fc.nat(t === 'u8' || t === 'bool' ? 1 : t === 'u16' ? 65535 : 2 ** 32 - 1),
              ]),
            ),
          )
          .map((args) => ({ op: s.name, args })),
      );
    for (const n of NUMBERINGS) {
      const tensorNames = n.tensorFunctions.filter((t) => TENSOR_FUNCTION_OPERANDS[t]);
      const tensor = fc.constantFrom(...tensorNames).map((t) => ({
        op: 'TENSOR',
        tensor: t,
        args: Object.fromEntries(TENSOR_FUNCTION_OPERANDS[t]!.map(([k], i) => [k, i % 2])),
      }));
      fc.assert(
        fc.property(fc.array(fc.oneof(scalar, tensor), { maxLength: 30 }), (prog: AsmInstruction[]) => {
          const bytes = encodeStackvm(prog, n);
          const back = decodeStackvmText({ module: 0, function: 0, text: bytes, textOffset: 0 }, n);
          expect(
            back.map((i) =>
              i.name === 'TENSOR' ? { op: 'TENSOR', tensor: i.tensorName, args: i.args } : { op: i.name, args: i.args },
            ),
          ).toEqual(prog.map((p) => ({ op: p.op, ...(p.tensor ? { tensor: p.tensor } : {}), args: p.args ?? {} })));
        }),
        { seed: 77, numRuns: 300 },
      );
    }
  });
});
