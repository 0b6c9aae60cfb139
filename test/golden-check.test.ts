/**
 * `golden check` never passes what it could not check: a diverging trace is exit 3; a missing
 * trace says the layer checks were skipped; a missing or invalid case.json, a missing output, a
 * file not matching its sha256 are a malformed case (exit 2); an extra output is a difference
 * with its reason. Both layouts (kpusim's with case.json, nncase's without) are named.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Io } from '../src/cli/common.js';
import { main } from '../src/cli/main.js';
import { buildV3, tinyModel } from './fixtures/v3-builder.js';
import { GOLDEN_DIR, HAS_SHARED, kmodelPath, REPO_ROOT, SHARED_SKIP_REASON } from './shared.js';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => (out += t), err: (t) => (err += t), errIsTty: false };
  const code = await main(argv, io);
  return { code, out, err };
}

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
let dir: string;
let model: string;
let recorded: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kpusim-golden-check-'));
  model = join(dir, 'tiny.kmodel');
  writeFileSync(model, buildV3(tinyModel()));
  const inputs = join(dir, 'inputs');
  mkdirSync(inputs);
  writeFileSync(join(inputs, 'a.bin'), Buffer.alloc(128, 3));
  writeFileSync(join(inputs, 'b.bin'), Buffer.from(Array.from({ length: 128 }, (_, i) => (i * 37) & 255)));
  recorded = join(dir, 'recorded');
  const r = await cli('golden', 'record', model, '--inputs', inputs, '--out', recorded);
  expect(r.code, r.err).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** A fresh copy of the recorded cases; `nncase` drops every case.json (nncase's layout). */
function copy(layout: 'kpusim' | 'nncase' = 'kpusim'): string {
  const d = join(dir, `copy${n++}`);
  cpSync(recorded, d, { recursive: true });
  if (layout === 'nncase') for (const c of ['a', 'b']) rmSync(join(d, c, 'case.json'));
  return d;
}

/** Replaces layer `layer`'s main-memory hash in a trace. */
function editTraceLayer(file: string, layer: number): void {
  const text = readFileSync(file, 'utf8');
  const edited = text.replace(new RegExp(`^${layer} (\\S+) main=[0-9a-f]+`, 'm'), `${layer} $1 main=0123456789abcdef`);
  expect(edited).not.toBe(text);
  writeFileSync(file, edited);
}

/** Records the current sha256 of a case's files in its case.json, as a re-recording would. */
function rehash(caseDir: string): void {
  const f = join(caseDir, 'case.json');
  const meta = JSON.parse(readFileSync(f, 'utf8'));
  meta.trace.sha256 = sha(readFileSync(join(caseDir, 'trace.txt')));
  meta.outputs.forEach((o: { file: string; sha256: string }) => (o.sha256 = sha(readFileSync(join(caseDir, o.file)))));
  writeFileSync(f, JSON.stringify(meta, null, 2));
}

describe('golden check reports what it could not check', () => {
  test('untouched cases pass, and the output names the layout', async () => {
    const r = await cli('golden', 'check', model, recorded);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/layout: kpusim's/);
    expect(r.out).toMatch(/2 passed, 0 failed/);
    const nn = await cli('golden', 'check', model, copy('nncase'));
    expect(nn.code).toBe(0);
    expect(nn.out).toMatch(/layout: nncase's .*not verified against sha256/);
  });

  test('a diverging trace is a failure (exit 3), never "passed"', async () => {
    // nncase's layout: no sha256 to betray the edit, so the layer check finds it.
    const d = copy('nncase');
    editTraceLayer(join(d, 'b', 'trace.txt'), 1);
    const r = await cli('golden', 'check', model, d);
    expect(r.out).toMatch(/b: different\n {2}the trace diverges at layer 1\n {2}first diverging layer 1/);
    expect(r.out).toMatch(/1 passed, 1 failed/);
    expect(r.code).toBe(3);
    // kpusim's layout, re-recorded trace (as if the emulator had changed since): the same.
    const k = copy();
    editTraceLayer(join(k, 'b', 'trace.txt'), 2);
    rehash(join(k, 'b'));
    const rk = await cli('golden', 'check', model, k, '--json');
    expect(rk.code).toBe(3);
    const doc = JSON.parse(rk.out);
    expect(doc.failed).toBe(1);
    expect(doc.cases[1]).toMatchObject({ case: 'b', status: 'different', trace: 'diverged' });
    expect(doc.cases[1].first_diverging_layer.index).toBe(2);
  });

  test('a trace edited against its sha256 in case.json is a malformed case (exit 2)', async () => {
    const d = copy();
    editTraceLayer(join(d, 'b', 'trace.txt'), 1);
    const r = await cli('golden', 'check', model, d);
    expect(r.out).toMatch(/b: malformed\n {2}not checked: trace.txt does not match its sha256 in case.json/);
    expect(r.out).toMatch(/1 passed, 0 failed, 1 malformed/);
    expect(r.code).toBe(2);
  });

  test('a deleted trace.txt: kpusim layout malformed; nncase layout passes saying the layer checks were skipped', async () => {
    const k = copy();
    rmSync(join(k, 'a', 'trace.txt'));
    const rk = await cli('golden', 'check', model, k);
    expect(rk.out).toMatch(/trace.txt is missing \(listed in case.json\)/);
    expect(rk.code).toBe(2);
    const d = copy('nncase');
    rmSync(join(d, 'a', 'trace.txt'));
    const r = await cli('golden', 'check', model, d);
    expect(r.out).toMatch(/a: exact\n {2}note: no trace.txt: the layer checks were skipped/);
    expect(r.out).toMatch(/layer checks skipped in 1 case \(no trace.txt\)/);
    expect(r.code).toBe(0);
  });

  test('an invalid or missing case.json is a malformed case (exit 2), not ignored', async () => {
    const d = copy();
    writeFileSync(join(d, 'a', 'case.json'), '{"schema_version": 1, ');
    const r = await cli('golden', 'check', model, d);
    expect(r.out).toMatch(/a: malformed\n {2}not checked: case.json is not valid JSON/);
    expect(r.code).toBe(2);
    const m = copy();
    rmSync(join(m, 'a', 'case.json'));
    const rm = await cli('golden', 'check', model, m);
    expect(rm.out).toMatch(/a: malformed\n {2}not checked: case.json is missing/);
    expect(rm.code).toBe(2);
    // One case alone, its case.json deleted: auto takes it for nncase's layout and says so;
    // --layout kpusim insists on case.json.
    const one = join(m, 'a');
    expect((await cli('golden', 'check', model, one)).out).toMatch(/layout: nncase's/);
    const forced = await cli('golden', 'check', model, one, '--layout', 'kpusim');
    expect(forced.out).toMatch(/case.json is missing/);
    expect(forced.code).toBe(2);
  });

  test('a missing output_0.bin is reported as missing (exit 2), not as elements that differ', async () => {
    for (const layout of ['kpusim', 'nncase'] as const) {
      const d = copy(layout);
      rmSync(join(d, 'a', 'output_0.bin'));
      const r = await cli('golden', 'check', model, d);
      expect(r.out).toMatch(/a: malformed\n {2}not checked: output_0.bin is missing/);
      expect(r.out).not.toMatch(/elements differ/);
      expect(r.code).toBe(2);
    }
  });

  test('an extra output_1.bin says why the case differs', async () => {
    const d = copy('nncase');
    writeFileSync(join(d, 'a', 'output_1.bin'), Buffer.alloc(12));
    const r = await cli('golden', 'check', model, d);
    expect(r.out).toMatch(/a: different\n {2}the golden has 2 outputs \(output_0..1.bin\), the model gives 1/);
    expect(r.code).toBe(3);
    const k = copy();
    writeFileSync(join(k, 'a', 'output_1.bin'), Buffer.alloc(12));
    const rk = await cli('golden', 'check', model, k);
    expect(rk.out).toMatch(/output_1.bin is not listed in case.json/);
    expect(rk.code).toBe(2);
  });

  test('cases of another model (sha256 in case.json) are refused', async () => {
    const other = join(dir, 'other.kmodel');
    const bytes = Buffer.from(readFileSync(model));
    writeFileSync(other, Buffer.concat([bytes, Buffer.alloc(4)])); // same layers, different file
    const r = await cli('golden', 'check', other, recorded);
    expect(r.out).toMatch(/recorded with model tiny.kmodel sha256 [0-9a-f]{12}…, this model's sha256 is/);
    expect(r.code).toBe(2);
  });
});

describe('the goldens that must still pass', () => {
  for (const name of ['face_detect_320x240', 'face_landmarks5_128', 'face_features512_128'])
    test(`golden/${name} (kpusim's layout, trace verified)`, async () => {
      const r = await cli(
        'golden',
        'check',
        join(REPO_ROOT, 'models', `${name}.kmodel`),
        join(REPO_ROOT, 'golden', name),
      );
      expect(r.out).toMatch(/layout: kpusim's/);
      expect(r.out).not.toMatch(/skipped|note:/);
      expect(r.out).toMatch(/1 passed, 0 failed\n$/);
      expect(r.code).toBe(0);
    });

  test.skipIf(!HAS_SHARED)(`nncase's goldens (${HAS_SHARED ? 'shared corpus' : SHARED_SKIP_REASON})`, async () => {
    for (const m of ['v3-shared/maixpy_mnist_v3', 'v4-shared/canmv_mnist_cnn_v4']) {
      const name = m.split('/')[1];
      const r = await cli('golden', 'check', kmodelPath(name), join(GOLDEN_DIR, m));
      expect(r.out).toMatch(/layout: nncase's/);
      expect(r.out).toMatch(/2 passed, 0 failed\n$/);
      expect(r.code).toBe(0);
    }
  });
});
