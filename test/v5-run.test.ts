import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BinaryReader } from '../src/kmodel-parser/binary-reader.js';
import { parseV5 } from '../src/kmodel-parser/v5/parse.js';
import type { LayerEvent } from '../src/kpu/events.js';
import { fnv1a64 } from '../src/kpu/hash.js';
import { prepare } from '../src/kpu/interpreter.js';
import { profile } from '../src/kpu/timing/index.js';
import { runV5 } from '../src/kpu/v5/run.js';
import { GOLDEN_DIR, HAS_SHARED, SHARED_SKIP_REASON, kmodelPath } from './shared.js';

/** The golden acceptance: every output byte and every trace line of nncase 1.x's simulator. */
describe.skipIf(!HAS_SHARED)(
  `v5 runs against shared/golden-nncase/v5-shared ${HAS_SHARED ? '' : SHARED_SKIP_REASON}`,
  () => {
    // The describe body runs at collection even when skipped: read the files only when they exist.
    for (const name of HAS_SHARED ? ['nncase_yolox_nano_224_k210_v5', 'nncase_benchmark_mnist_cpu_v5'] : []) {
      const model = parseV5(new BinaryReader(new Uint8Array(readFileSync(kmodelPath(name)))));
      for (const input of ['const_128', 'lcg_1']) {
        it(`${name} on ${input}: outputs byte-identical, every trace line equal`, () => {
          const dir = resolve(GOLDEN_DIR, 'v5-shared', name, input);
          const inputBytes = new Uint8Array(readFileSync(resolve(dir, 'input.bin')));
          const gold = readFileSync(resolve(dir, 'trace.txt'), 'utf8').trim().split('\n');
          const info = readFileSync(resolve(dir, 'info.txt'), 'utf8');
          const lines: string[] = [];
          const events: LayerEvent[] = [];
          const { outputs } = runV5(model, inputBytes, { trace: (l) => lines.push(l), onEvent: (e) => events.push(e) });
          expect(outputs).toHaveLength(1);
          const want = new Uint8Array(readFileSync(resolve(dir, 'output_0.bin')));
          expect(outputs[0].length).toBe(want.length);
          expect(Buffer.compare(Buffer.from(outputs[0]), Buffer.from(want))).toBe(0);
          expect(info).toContain(`fnv1a64=${fnv1a64(outputs[0])}`);
          expect(lines.length).toBe(gold.length);
          const firstDiff = lines.findIndex((l, i) => l !== gold[i]);
          expect(
            firstDiff,
            firstDiff >= 0 ? `line ${firstDiff}:\n ours ${lines[firstDiff]}\n gold ${gold[firstDiff]}` : '',
          ).toBe(-1);
          // One event per trace line, in the same order, typed like the layers.
          expect(events.map((e) => e.type)).toEqual(gold.map((l) => l.split(' ')[1].replace(/\(0x[0-9a-f]+\)$/, '')));
          const convs = events.filter((e) => e.unit === 'KPU');
          for (const c of convs) expect(c.kpu?.geometry.outChannels).toBeGreaterThan(0);
        });
      }
    }

    it('prepare knows the events before the first run: equal to those the run then reports, board time > 0', () => {
      for (const name of ['nncase_yolox_nano_224_k210_v5', 'nncase_benchmark_mnist_cpu_v5']) {
        const model = parseV5(new BinaryReader(new Uint8Array(readFileSync(kmodelPath(name)))));
        const prepared = prepare(model);
        const before = prepared.events;
        expect(before.length, name).toBeGreaterThan(0);
        expect(profile(before).total_ms, name).toBeGreaterThan(0);
        const input = new Uint8Array(readFileSync(resolve(GOLDEN_DIR, 'v5-shared', name, 'lcg_1', 'input.bin')));
        const { events } = prepared.run([input]);
        expect(before, name).toEqual(events);
      }
    });

    it('mnist (benchmark_only, zero weights) gives ten 0.0f for any input, as the README defines', () => {
      const model = parseV5(
        new BinaryReader(new Uint8Array(readFileSync(kmodelPath('nncase_benchmark_mnist_cpu_v5')))),
      );
      expect(model.stackvmNumbering?.id).toBe('nncase-cumsum-2021-10');
      const input = new Uint8Array(new Float32Array(28 * 28).fill(0.7).buffer);
      const { outputs } = runV5(model, input);
      expect([...new Float32Array(outputs[0].buffer, outputs[0].byteOffset, 10)]).toEqual(new Array(10).fill(0));
    });

    it('yolox: the run is repeatable and the trace does not change the outputs', () => {
      const model = parseV5(
        new BinaryReader(new Uint8Array(readFileSync(kmodelPath('nncase_yolox_nano_224_k210_v5')))),
      );
      const input = new Uint8Array(
        readFileSync(resolve(GOLDEN_DIR, 'v5-shared', 'nncase_yolox_nano_224_k210_v5', 'lcg_1', 'input.bin')),
      );
      const a = runV5(model, input).outputs[0];
      const b = runV5(model, input).outputs[0];
      expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(0);
    });

    it('refuses an input of the wrong size before running', () => {
      const model = parseV5(
        new BinaryReader(new Uint8Array(readFileSync(kmodelPath('nncase_yolox_nano_224_k210_v5')))),
      );
      expect(() => runV5(model, new Uint8Array(10))).toThrow(/needs 150528/);
    });
  },
);
