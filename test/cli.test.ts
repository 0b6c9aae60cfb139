/**
 * The command line as a user meets it: exit codes, one-line errors (never a stack trace), one
 * JSON document with --json, and the files `run` and `golden` write.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { beforeAll, describe, expect, test } from 'vitest';
import { main } from '../src/cli/main.js';
import type { Io } from '../src/cli/common.js';
import { buildV3, tinyModel } from './fixtures/v3-builder.js';
import { GOLDEN_DIR, HAS_SHARED, kmodelPath, REPO_ROOT, SHARED_SKIP_REASON } from './shared.js';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => (out += t), err: (t) => (err += t), errIsTty: false };
  const code = await main(argv, io);
  return { code, out, err };
}

let dir: string;
let model: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kpusim-cli-'));
  model = join(dir, 'tiny.kmodel');
  writeFileSync(model, buildV3(tinyModel()));
});

describe('kpusim info', () => {
  test('a synthetic v3 model, as JSON', async () => {
    const r = await cli('info', model, '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.schema_version).toBe(1);
    expect(doc.version).toBe(3);
    expect(doc.layers.map((l: { type: string }) => l.type)).toEqual(['K210_CONV', 'DEQUANTIZE', 'FULLY_CONNECTED']);
    expect(doc.layers.map((l: { index: number }) => l.index)).toEqual([0, 1, 2]);
    // K210_CONV 2→3 channels, 8×8, 3×3: 3·8·8·2·9 MACs; FC 48→3: 144 MACs.
    expect(doc.layers[0].macs).toBe(3 * 8 * 8 * 2 * 9);
    expect(doc.layers[2].macs).toBe(48 * 3);
    expect(doc.inputs[0].shape).toEqual([1, 2, 8, 8]);
  });

  test('human form has the per-layer table and totals', async () => {
    const r = await cli('info', model);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/kmodel v3/);
    expect(r.out).toMatch(/K210_CONV\s+KPU/);
    expect(r.out).toMatch(/total MACs: 3,600/);
  });

  test('a missing file is exit 2 with one line', async () => {
    const r = await cli('info', join(dir, 'nope.kmodel'));
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/no such file/);
  });

  test('a truncated model names the file and the byte offset', async () => {
    const bytes = readFileSync(model);
    const cut = join(dir, 'cut.kmodel');
    writeFileSync(cut, bytes.subarray(0, 60));
    const r = await cli('info', cut);
    expect(r.code).toBe(2);
    expect(r.err).toContain('cut.kmodel');
    expect(r.err).toMatch(/at byte \d+/);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  test('random bytes are refused as not a kmodel', async () => {
    const junk = join(dir, 'junk.kmodel');
    writeFileSync(junk, Buffer.from('hello world, not a model'));
    const r = await cli('info', junk);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/not a kmodel/);
  });

  test('a byte-swapped copy is recognised', async () => {
    const b = Buffer.from(readFileSync(model));
    for (let i = 0; i + 4 <= b.length; i += 4) b.writeUInt32BE(b.readUInt32LE(i), i);
    const swapped = join(dir, 'swapped.kmodel');
    writeFileSync(swapped, b);
    const r = await cli('info', swapped);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/byte-swapped/);
  });

  test('.kfpkg: lists files with flash addresses, and #name opens a model inside', async () => {
    const pkg = join(dir, 'face.kfpkg');
    const flashList = {
      version: '0.1.0',
      files: [
        { address: 0, bin: 'maixpy.bin', sha256Prefix: true },
        { address: 0x300000, bin: 'tiny.kmodel', sha256Prefix: false },
      ],
    };
    writeFileSync(
      pkg,
      zipSync({
        'flash-list.json': new TextEncoder().encode(JSON.stringify(flashList)),
        'maixpy.bin': new Uint8Array(64),
        'tiny.kmodel': new Uint8Array(readFileSync(model)),
      }),
    );
    const list = await cli('info', pkg, '--json');
    expect(list.code).toBe(0);
    const files = JSON.parse(list.out).files as { name: string; address: number; kind: string }[];
    expect(files.find((f) => f.name === 'tiny.kmodel')).toMatchObject({ address: 0x300000, kind: 'kmodel v3' });
    const inner = await cli('info', `${pkg}#tiny.kmodel`, '--json');
    expect(inner.code).toBe(0);
    expect(JSON.parse(inner.out).layers).toHaveLength(3);
    const missing = await cli('info', `${pkg}#other.kmodel`);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/no file named other.kmodel/);
  });

  test('no command is a usage error, exit 2', async () => {
    const r = await cli();
    expect(r.code).toBe(2);
  });
});

describe('kpusim run and golden', () => {
  test('run writes outputs and outputs.json; the trace has one line per layer', async () => {
    const input = join(dir, 'in.bin');
    writeFileSync(input, Buffer.alloc(2 * 8 * 8, 7));
    const out = join(dir, 'out');
    const r = await cli('run', model, '--input', input, '--out', out, '--trace', join(out, 'trace.txt'), '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.outputs[0]).toMatchObject({ file: 'output_0.bin', dtype: 'float32', bytes: 12 });
    expect(readFileSync(join(out, 'output_0.bin'))).toHaveLength(12);
    expect(JSON.parse(readFileSync(join(out, 'outputs.json'), 'utf8')).schema_version).toBe(1);
    const trace = readFileSync(join(out, 'trace.txt'), 'utf8').trim().split('\n');
    expect(trace).toHaveLength(3);
    expect(trace[0]).toMatch(/^0 type=10240 main=[0-9a-f]{16} kpu=[0-9a-f]{16}$/);
  });

  test('an input of the wrong size is exit 2 naming the expected size', async () => {
    const bad = join(dir, 'bad.bin');
    writeFileSync(bad, Buffer.alloc(5));
    const r = await cli('run', model, '--input', bad, '--out', join(dir, 'o2'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/128 bytes/);
  });

  test('a corrupt PNG is exit 2', async () => {
    const png = join(dir, 'broken.png');
    writeFileSync(
      png,
      Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(40, 1)]),
    );
    const r = await cli('run', model, '--input', png, '--out', join(dir, 'o3'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('broken.png');
  });

  test('golden record then check is exact; a changed output is exit 3 with the diverging layer', async () => {
    const inputs = join(dir, 'inputs');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(inputs, { recursive: true });
    writeFileSync(join(inputs, 'a.bin'), Buffer.alloc(128, 3));
    writeFileSync(join(inputs, 'b.bin'), Buffer.from(Array.from({ length: 128 }, (_, i) => (i * 37) & 255)));
    const g = join(dir, 'golden');
    expect((await cli('golden', 'record', model, '--inputs', inputs, '--out', g)).code).toBe(0);
    const ok = await cli('golden', 'check', model, g, '--json');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out).cases.map((c: { status: string }) => c.status)).toEqual(['exact', 'exact']);
    // Tamper with one output byte and one trace line.
    const f = join(g, 'b', 'output_0.bin');
    const bytes = readFileSync(f);
    bytes.writeFloatLE(bytes.readFloatLE(0) + 1, 0);
    writeFileSync(f, bytes);
    const t = join(g, 'b', 'trace.txt');
    writeFileSync(t, readFileSync(t, 'utf8').replace(/^1 (\S+) main=[0-9a-f]+/m, '1 $1 main=0000000000000000'));
    // As if the cases came from another emulator version: case.json records the changed files.
    const { createHash } = await import('node:crypto');
    const meta = JSON.parse(readFileSync(join(g, 'b', 'case.json'), 'utf8'));
    meta.outputs[0].sha256 = createHash('sha256').update(readFileSync(f)).digest('hex');
    meta.trace.sha256 = createHash('sha256').update(readFileSync(t)).digest('hex');
    writeFileSync(join(g, 'b', 'case.json'), JSON.stringify(meta));
    const bad = await cli('golden', 'check', model, g);
    expect(bad.code).toBe(3);
    expect(bad.out).toMatch(/b: different/);
    expect(bad.out).toMatch(/first diverging layer 1/);
    expect(bad.out).toMatch(/1 passed, 1 failed/);
  });
});

describe.skipIf(!HAS_SHARED)(`on real models (${HAS_SHARED ? 'shared corpus' : SHARED_SKIP_REASON})`, () => {
  test('info --json of the MaixPy face detector', async () => {
    const r = await cli('info', kmodelPath('maixpy_face_detect_0x300000_v3'), '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.version).toBe(3);
    expect(doc.layers).toHaveLength(24);
    expect(doc.inputs[0].shape).toEqual([1, 3, 240, 320]);
    expect(doc.outputs[0].shape).toEqual([1, 30, 15, 20]);
  });

  test('the v1 model is refused naming its version', async () => {
    const r = await cli('info', kmodelPath('k210demo_face_detect_modelcompiler_v1'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/version 1/);
  });

  test('golden check reads the nncase goldens layout', async () => {
    const r = await cli(
      'golden',
      'check',
      kmodelPath('maixpy_mnist_v3'),
      join(GOLDEN_DIR, 'v3-shared/maixpy_mnist_v3'),
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/const_128: exact/);
    expect(r.out).toMatch(/2 passed, 0 failed/);
  });
});

describe.skipIf(!existsSync(join(REPO_ROOT, 'dist/cli/main.js')))('the installed binary', () => {
  test('bin/kpusim.js exits 2 with one line for a bad file', () => {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/kpusim.js'), 'info', join(dir, 'nope.kmodel')], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
  });
});
