/**
 * The acceptance suite of the emulator: every v3 and v4 model of the shared corpus, on both
 * golden inputs, must reproduce nncase's K210 simulator byte for byte — every output and every
 * per-layer hash of main memory and AI SRAM.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { prepare } from '../src/kpu/interpreter.js';
import { loadKmodel } from '../src/load.js';
import { GOLDEN_DIR, HAS_SHARED, kmodelPath, SHARED_SKIP_REASON } from './shared.js';

const SETS = ['v3-shared', 'v4-shared'];
const INPUTS = ['const_128', 'lcg_1'];

function models(set: string): string[] {
  const dir = join(GOLDEN_DIR, set);
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((n) => !n.endsWith('.sha256'))
        .sort()
    : [];
}

describe.skipIf(!HAS_SHARED)(`golden outputs and traces (${HAS_SHARED ? 'shared corpus' : SHARED_SKIP_REASON})`, () => {
  test('the corpus has the 20 v3 and 13 v4 models the README lists', () => {
    expect(models('v3-shared')).toHaveLength(20);
    expect(models('v4-shared')).toHaveLength(13);
  });
  for (const set of SETS) {
    for (const name of models(set)) {
      test(`${set}/${name}`, () => {
        const { model } = loadKmodel(kmodelPath(name));
        const prepared = prepare(model);
        for (const input of INPUTS) {
          const dir = join(GOLDEN_DIR, set, name, input);
          const lines: string[] = [];
          const r = prepared.run([new Uint8Array(readFileSync(join(dir, 'input.bin')))], {
            trace: (l) => lines.push(l),
          });
          const golden = readFileSync(join(dir, 'trace.txt'), 'utf8').trim().split('\n');
          // Compare line by line so a failure names the first diverging layer.
          const first = golden.findIndex((g, i) => g !== lines[i]);
          expect(first === -1 ? null : { input, layer: first, got: lines[first], want: golden[first] }).toBeNull();
          expect(lines).toHaveLength(golden.length);
          r.outputs.forEach((o, i) => {
            const want = new Uint8Array(readFileSync(join(dir, `output_${i}.bin`)));
            expect(Buffer.compare(Buffer.from(o), Buffer.from(want)), `${input} output ${i}`).toBe(0);
          });
          expect(r.outputs).toHaveLength(readdirSync(dir).filter((f) => /^output_\d+\.bin$/.test(f)).length);
        }
      });
    }
  }
});
