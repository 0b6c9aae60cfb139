/**
 * kmodel v5 sizes are bounded by the chip, as v3 and v4 sizes are: a 300-byte file must not
 * declare a 4 GiB data pool or a 1 GiB output and have kpusim allocate, loop over or write it.
 * The models are built here with the v5 writer; each hostile field is refused by the parser with
 * its byte offset, or (bytecode shapes) by the machine before a kernel loops.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { KmodelError, KpuFault } from '../src/errors.js';
import { BinaryReader } from '../src/kmodel-parser/binary-reader.js';
import { parseV5 } from '../src/kmodel-parser/v5/parse.js';
import { encodeStackvm, type AsmInstruction } from '../src/kmodel-parser/v5/stackvm/encode.js';
import { NUMBERINGS } from '../src/kmodel-parser/v5/stackvm/isa.js';
import { buildV5, type ModelSpec, type ModuleSpec } from '../src/kmodel-parser/v5/write.js';
import { prepare } from '../src/kpu/interpreter.js';
import { REPO_ROOT } from './shared.js';

const U8 = 4;
const F32 = 9;

const COPY4: AsmInstruction[] = [
  { op: 'LDC_I4', args: { imm: 4 } },
  { op: 'STSHAPE', args: { rshape: 0, rank: 1 } },
  { op: 'LDC_I4_1' },
  { op: 'STSHAPE', args: { rshape: 1, rank: 1 } },
  { op: 'LEA_BUFFER', args: { location: 0, subres_id: 0, offset: 0 } },
  { op: 'LEA_BUFFER', args: { location: 1, subres_id: 0, offset: 0 } },
  { op: 'TENSOR', tensor: 'COPY', args: { datatype: U8, rshape: 0, rstride_src: 1, rstride_dest: 1 } },
  { op: 'RET' },
];

interface Hostile {
  outShape?: number[];
  outSize?: number;
  outDatatype?: number;
  dataPool?: number;
  kpuPool?: number;
  outputPool?: number;
  program?: AsmInstruction[];
}

/** A stackvm model that copies its 4-byte input to its output, with one field made hostile. */
function model(h: Hostile = {}): Uint8Array {
  const mempools = [
    { location: 2, size: 0 },
    { location: 3, size: h.dataPool ?? 16 },
    ...(h.kpuPool !== undefined ? [{ location: 64, size: h.kpuPool }] : []),
  ];
  const mod: ModuleSpec = {
    type: 'stackvm',
    mempools,
    functions: [
      {
        inputs: [{ range: { location: 0, datatype: U8, start: 0, size: 4 }, shape: [4] }],
        outputs: [
          {
            range: { location: 1, datatype: h.outDatatype ?? U8, start: 0, size: h.outSize ?? 4 },
            shape: h.outShape ?? [4],
          },
        ],
        outputPoolSize: h.outputPool,
        text: encodeStackvm(h.program ?? COPY4, NUMBERINGS[0]),
      },
    ],
    sections: [{ name: '.rdata', body: new Uint8Array(0) }],
  };
  const spec: ModelSpec = { modules: [mod] };
  return buildV5(spec);
}

const parse = (b: Uint8Array) => parseV5(new BinaryReader(b));

function refused(b: Uint8Array): KmodelError {
  try {
    parse(b);
  } catch (e) {
    expect(e).toBeInstanceOf(KmodelError);
    return e as KmodelError;
  }
  throw new Error('the parser accepted it');
}

const u32At = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint32(at, true);

describe('v5 sizes the parser refuses', () => {
  test('the well-formed model parses (the baseline the others change one field of)', () => {
    const m = parse(model());
    expect(m.outputs[0]).toMatchObject({ shape: [4], bytes: 4 });
    expect(m.mainMemBytes).toBe(16);
  });

  test('an output dimension of 0xffffffff', () => {
    const b = model({ outShape: [1, 1, 1, 0xffffffff], outSize: 4, outputPool: 4 });
    const e = refused(b);
    expect(e.code).toBe('BAD_VALUE');
    expect(e.detail).toMatch(/function 0 output 0: shape \[1, 1, 1, 4294967295\] .* more than the K210's 6 MiB/);
    expect(u32At(b, e.offset)).toBe(4); // the offset is the shape's rank field
  });

  test('an output of 2^28 elements (1 GiB of output_0.bin from a tiny file)', () => {
    const e = refused(model({ outShape: [1, 1, 1, 0x10000000], outSize: 4, outputPool: 4 }));
    expect(e.detail).toMatch(/more than the K210's 6 MiB of main SRAM/);
  });

  test('a shape larger than its memory range', () => {
    const e = refused(model({ outShape: [2, 4], outSize: 4, outputPool: 8 }));
    expect(e.detail).toMatch(/shape \[2, 4\] needs 8 bytes but its memory range holds 4/);
  });

  test('a memory range outside the output pool', () => {
    const b = model({ outSize: 4, outputPool: 2 });
    const e = refused(b);
    expect(e.detail).toMatch(/memory range \[0, 4\) lies outside the function's output_pool_size of 2 bytes/);
    expect(b[e.offset]).toBe(1); // the range's location byte (output)
  });

  test('a range size of 0xffffffff', () => {
    const e = refused(model({ outSize: 0xffffffff, outputPool: 4 }));
    expect(e.detail).toMatch(/memory range \[0, 4294967295\) is beyond the K210's 6 MiB/);
  });

  test('a function pool of 0xffffffff', () => {
    const b = model({ outputPool: 0xffffffff });
    const e = refused(b);
    expect(e.detail).toMatch(/function 0: output_pool_size 4294967295 is more than the K210's 6 MiB/);
    expect(u32At(b, e.offset)).toBe(0xffffffff);
  });

  test('a data pool of 0xffffffff (info said "4096 MiB of 6 MiB", --trace hashed it per layer)', () => {
    const b = model({ dataPool: 0xffffffff });
    const e = refused(b);
    expect(e.detail).toMatch(/module 0 mempool 1 \(location 3\) is 4294967295 bytes, more than the K210's 6 MiB/);
    expect(u32At(b, e.offset)).toBe(0xffffffff);
  });

  test('a data pool of 6 MiB + 1', () => {
    expect(refused(model({ dataPool: 6 * 1024 * 1024 + 1 })).detail).toMatch(/mempool 1/);
    expect(parse(model({ dataPool: 6 * 1024 * 1024 })).mainMemBytes).toBe(6 * 1024 * 1024);
  });

  test('a KPU pool beyond the 2 MiB AI SRAM', () => {
    expect(refused(model({ kpuPool: 2 * 1024 * 1024 + 64 })).detail).toMatch(/location 64.*2 MiB of AI SRAM/);
  });

  test('a float32 output is counted in bytes, not elements', () => {
    const e = refused(model({ outShape: [2, 1024, 1024], outDatatype: F32, outSize: 4, outputPool: 4 }));
    expect(e.detail).toMatch(/of 4-byte elements is more than/);
  });
});

describe('K210 op records', () => {
  /** A K210 module whose one function is a `copy` record (76 bytes) with the given in_shape. */
  function k210Copy(inShape: number[]): Uint8Array {
    const rec = new Uint8Array(76);
    const dv = new DataView(rec.buffer);
    rec[0] = 3; // copy
    const range = (at: number, location: number) => {
      rec[at] = location;
      rec[at + 1] = U8;
      dv.setUint32(at + 8, 16, true);
    };
    range(4, 3);
    range(16, 3);
    inShape.forEach((d, i) => dv.setUint32(28 + 4 * i, d, true));
    [1, 1, 1, 1].forEach((d, i) => dv.setUint32(44 + 4 * i, d, true));
    [1, 1, 1, 1].forEach((d, i) => dv.setUint32(60 + 4 * i, d, true));
    const k210: ModuleSpec = {
      type: 'k210',
      mempools: [
        { location: 2, size: 0 },
        { location: 3, size: 16 },
      ],
      functions: [{ inputs: [], outputs: [], text: rec }],
      sections: [{ name: '.rdata', body: new Uint8Array(0) }],
    };
    return buildV5({ modules: [k210] });
  }

  test('a copy whose in_shape has more elements than main SRAM has bytes', () => {
    const b = k210Copy([0x10000, 0x10000, 1, 1]);
    const e = refused(b);
    expect(e.detail).toMatch(/k210 copy: in_shape \[65536, 65536, 1, 1\] has more elements than/);
    expect(u32At(b, e.offset)).toBe(0x10000);
    expect(parse(k210Copy([1, 1, 4, 4])).modules[0].k210?.functions[0][0]).toMatchObject({ name: 'copy' });
  });
});

describe('v5 bytecode shapes the machine refuses', () => {
  test('a COPY over 2^40 broadcast elements is a fault, not a 2^40-step loop', () => {
    const program: AsmInstruction[] = [
      { op: 'LDC_I4', args: { imm: 0x100000 } },
      { op: 'LDC_I4', args: { imm: 0x100000 } },
      { op: 'STSHAPE', args: { rshape: 0, rank: 2 } },
      { op: 'LDC_I4_0' },
      { op: 'LDC_I4_0' },
      { op: 'STSHAPE', args: { rshape: 1, rank: 2 } },
      { op: 'LEA_BUFFER', args: { location: 0, subres_id: 0, offset: 0 } },
      { op: 'LEA_BUFFER', args: { location: 1, subres_id: 0, offset: 0 } },
      { op: 'TENSOR', tensor: 'COPY', args: { datatype: U8, rshape: 0, rstride_src: 1, rstride_dest: 1 } },
      { op: 'RET' },
    ];
    const m = parse(model({ program }));
    const p = prepare(m);
    let err: unknown;
    try {
      p.run([new Uint8Array(4)]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KpuFault);
    expect((err as KpuFault).message).toMatch(/shape \[1048576, 1048576\] has more elements than the K210's 6 MiB/);
  });
});

describe('stackvm tensor functions prepare refuses, before anything runs', () => {
  const broadcast: AsmInstruction = {
    op: 'TENSOR',
    tensor: 'BROADCAST',
    args: { datatype: F32, rshape_src: 0, rstride_src: 1, rshape_dest: 0, rstride_dest: 1 },
  };
  const fault = (program: AsmInstruction[]): KpuFault => {
    const m = parse(model({ program }));
    let err: unknown;
    try {
      prepare(m);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KpuFault);
    return err as KpuFault;
  };

  test('a function that decodes but kpusim does not run (BROADCAST), even after RET where no run reaches it', () => {
    const lea = (location: number): AsmInstruction => ({
      op: 'LEA_BUFFER',
      args: { location, subres_id: 0, offset: 0 },
    });
    const e = fault([...COPY4, lea(0), lea(1), broadcast, { op: 'RET' }]);
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.phase).toBe('prepare');
    // pc counts bytes of text: the BROADCAST follows COPY4 and the two LEA_BUFFERs.
    const pc = encodeStackvm([...COPY4, lea(0), lea(1)], NUMBERINGS[0]).length;
    expect(e.message).toContain(
      `tensor function BROADCAST is known but not implemented by kpusim (pc ${pc} of module 0 function 0`,
    );
    expect(e.context.type).toBe('stackvm:BROADCAST');
  });
});

describe.skipIf(!existsSync(join(REPO_ROOT, 'dist/cli/main.js')))('the CLI', () => {
  test('run refuses a model declaring a 1 GiB output, writing nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kpusim-v5lim-'));
    const file = join(dir, 'huge-out.kmodel');
    writeFileSync(file, model({ outShape: [1, 1, 1, 0x10000000], outSize: 4, outputPool: 4 }));
    writeFileSync(join(dir, 'in.bin'), new Uint8Array(4));
    const out = join(dir, 'out');
    const r = spawnSync(
      process.execPath,
      [join(REPO_ROOT, 'bin/kpusim.js'), 'run', file, '--input', join(dir, 'in.bin'), '--out', out],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/huge-out\.kmodel: at byte \d+: function 0 output 0: shape/);
    expect(existsSync(join(out, 'output_0.bin'))).toBe(false);
  });
});
