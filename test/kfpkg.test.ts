/**
 * `.kfpkg` packages are untrusted zips: declared sizes are checked against a K210's 16 MiB flash
 * before anything is inflated, only the file asked for is inflated, and a file whose data does
 * not match its directory record (size, CRC) is refused.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { beforeAll, describe, expect, test } from 'vitest';
import { KmodelError } from '../src/errors.js';
import { readKfpkg } from '../src/kmodel-parser/kfpkg.js';
import { readModelBytes } from '../src/load.js';
import { buildV3, tinyModel } from './fixtures/v3-builder.js';
import { deflated, rawZip } from './fixtures/zip.js';
import { REPO_ROOT } from './shared.js';

const MiB = 1024 * 1024;
let dir: string;
let model: Uint8Array;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kpusim-kfpkg-'));
  model = buildV3(tinyModel());
});

function containerError(f: () => unknown): KmodelError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(KmodelError);
    expect((e as KmodelError).code).toBe('BAD_CONTAINER');
    return e as KmodelError;
  }
  throw new Error('expected a KmodelError');
}

/** CRC-32 as fflate's zip writer records it, read back from a real archive's directory. */
function fflateCrc(content: Uint8Array): number {
  const z = zipSync({ x: content });
  const eocd = z.length - 22;
  const dirStart = new DataView(z.buffer).getUint32(eocd + 16, true);
  return new DataView(z.buffer).getUint32(dirStart + 16, true);
}

describe('readKfpkg', () => {
  test('a package whose files declare more than the flash holds is refused from its directory', () => {
    // 40 entries each declaring 15 MiB of zeros: 600 MiB from a file of a few hundred KB.
    const zeros = deflated('x', new Uint8Array(15 * MiB));
    const bomb = rawZip(Array.from({ length: 40 }, (_, i) => ({ ...zeros, name: `part${i}.bin` })));
    expect(bomb.length).toBeLessThan(1 * MiB);
    const e = containerError(() => readKfpkg(bomb, 'bomb.kfpkg'));
    expect(e.message).toMatch(/^bomb\.kfpkg: at byte \d+: /);
    expect(e.message).toMatch(/up to entry "part1\.bin", more than a K210's 16 MiB flash/);
  });

  test('one file declaring more than the flash is refused', () => {
    const big = rawZip([{ name: 'big.bin', data: new Uint8Array(0), method: 8, size: 17 * MiB }]);
    const e = containerError(() => readKfpkg(big, 'big.kfpkg'));
    expect(e.message).toMatch(/entry "big\.bin" declares 17825792 bytes/);
  });

  test('a file that inflates past its declared size is refused while inflating, not cut', () => {
    const content = new Uint8Array(MiB).fill(7);
    const pkg = rawZip([deflated('m.kmodel', content, { size: 100, crc: fflateCrc(content) })]);
    const e = containerError(() => readKfpkg(pkg, 'lie.kfpkg').read('m.kmodel'));
    expect(e.message).toMatch(/entry "m\.kmodel" inflates to more than the 100 bytes its directory record declares/);
  });

  test('a file shorter than its declared size is refused', () => {
    const content = new Uint8Array(1000).fill(1);
    const pkg = rawZip([deflated('m.kmodel', content, { size: 2000, crc: fflateCrc(content) })]);
    const e = containerError(() => readKfpkg(pkg, 'short.kfpkg').read('m.kmodel'));
    expect(e.message).toMatch(/inflates to 1000 bytes, but its directory record \(at offset \d+\) declares 2000/);
  });

  test('a CRC mismatch is refused', () => {
    const content = new Uint8Array(1000).fill(1);
    const pkg = rawZip([deflated('m.kmodel', content, { crc: (fflateCrc(content) ^ 1) >>> 0 })]);
    expect(containerError(() => readKfpkg(pkg, 'crc.kfpkg').read('m.kmodel')).message).toMatch(/CRC-32 mismatch/);
  });

  test('only the file asked for is inflated: a damaged neighbour does not matter', () => {
    const good = deflated('tiny.kmodel', model, { crc: fflateCrc(model) });
    const damaged = { name: 'broken.bin', data: new Uint8Array(64).fill(0xff), method: 8 as const, size: 4096 };
    const file = join(dir, 'mixed.kfpkg');
    writeFileSync(file, rawZip([damaged, good]));
    expect(Array.from(readModelBytes(`${file}#tiny.kmodel`).bytes)).toEqual(Array.from(model));
    // Listing the package does meet the damaged file, and says which one and where.
    const e = containerError(() => readKfpkg(readFileSync(file), file).entries);
    expect(e.message).toMatch(/entry "broken\.bin": its deflate data is damaged/);
  });

  test('a package written by fflate reads back whole', () => {
    const pkg = zipSync({ 'a.kmodel': model, 'flash-list.json': new TextEncoder().encode('{"files":[]}') });
    const p = readKfpkg(pkg, 'ok.kfpkg');
    expect(Array.from(p.read('a.kmodel')!)).toEqual(Array.from(model));
    expect(p.entries.map((e) => [e.name, e.bytes, e.kind])).toEqual([['a.kmodel', model.length, 'kmodel v3']]);
  });
});

describe.skipIf(!existsSync(join(REPO_ROOT, 'dist/cli/main.js')))('the CLI on a zip bomb', () => {
  /** Runs the CLI in a child and reports its exit code, stderr and peak resident memory. */
  function cliMaxRss(...argv: string[]): { status: number | null; stderr: string; maxRssMiB: number } {
    const code =
      `const { main } = await import(${JSON.stringify(join(REPO_ROOT, 'dist/cli/main.js'))});` +
      `const c = await main(${JSON.stringify(argv)});` +
      `process.stdout.write(JSON.stringify({ maxRss: process.resourceUsage().maxRSS }));process.exitCode = c;`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 120_000 });
    return { status: r.status, stderr: r.stderr, maxRssMiB: JSON.parse(r.stdout).maxRss / 1024 };
  }

  test('info and profile refuse a 600 MiB bomb without inflating it', () => {
    const zeros = deflated('x', new Uint8Array(15 * MiB));
    const bomb = join(dir, 'bomb.kfpkg');
    writeFileSync(bomb, rawZip(Array.from({ length: 40 }, (_, i) => ({ ...zeros, name: `m${i}.kmodel` }))));
    for (const argv of [
      ['info', bomb],
      ['profile', `${bomb}#m0.kmodel`],
    ]) {
      const r = cliMaxRss(...argv);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/more than a K210's 16 MiB flash can hold/);
      // Inflating even one declared entry would add 15 MiB; all of them, 600 MiB.
      expect(r.maxRssMiB).toBeLessThan(300);
    }
  });
});
