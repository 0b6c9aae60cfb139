/**
 * The memory report of every real model in the corpus that kpusim can prepare: AI SRAM peak within
 * 2 MiB with the layer that sets it, main SRAM within 6 MiB. Events come from the interpreter's
 * static plan (the same objects a run returns), so no model is executed here.
 */
import { readdirSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KmodelError } from '../src/errors.js';
import { prepare } from '../src/kpu/interpreter.js';
import { mainMemoryInputsOf, profile } from '../src/kpu/timing/index.js';
import { loadKmodel } from '../src/load.js';
import { HAS_SHARED, KMODELS_DIR, SHARED_SKIP_REASON } from './shared.js';

describe.skipIf(!HAS_SHARED)('memory report of the real models', () => {
  it(
    HAS_SHARED
      ? 'every model that runs on the board fits: AI SRAM peak ≤ 2 MiB (with its layer), main SRAM ≤ 6 MiB'
      : SHARED_SKIP_REASON,
    () => {
      const files = readdirSync(KMODELS_DIR)
        .filter((f) => f.endsWith('.kmodel'))
        .sort();
      const lines: string[] = [];
      let checked = 0;
      for (const f of files) {
        const path = `${KMODELS_DIR}/${f}`;
        let loaded;
        try {
          loaded = loadKmodel(path);
        } catch (e) {
          // kmodel v1 (Kendryte's older model compiler) is the one format kpusim refuses; anything else fails the test.
          if (!(e instanceof KmodelError && e.code === 'UNSUPPORTED_VERSION')) throw e;
          lines.push(`${f.padEnd(46)} not supported: ${e.message.slice(0, 80)}`);
          continue;
        }
        const events = prepare(loaded.model).events;
        const p = profile(events, { main: mainMemoryInputsOf(loaded.model, statSync(path).size) });
        const m = p.memory;
        lines.push(
          `${f.padEnd(46)} AI SRAM peak ${String(m.ai_sram_peak_bytes).padStart(8)} B at layer ${String(m.ai_sram_peak_layer).padStart(3)}   main ${String(m.main_bytes).padStart(8)} B   ${p.total_ms.toFixed(2).padStart(7)} ms`,
        );
        expect(m.fits, `${f}: ${m.problems.join('; ')}`).toBe(true);
        expect(m.ai_sram.warnings, f).toEqual([]);
        expect(m.ai_sram_peak_bytes).toBeLessThanOrEqual(2 * 1024 * 1024);
        if (events.some((e) => e.kpu)) expect(events[m.ai_sram_peak_layer].unit, f).toBe('KPU');
        else expect(m.ai_sram_peak_layer).toBe(-1);
        expect(p.layers.map((l) => l.index)).toEqual(events.map((_, i) => i));
        checked++;
      }
      console.log(`memory report (KPU = CPU = 400 MHz)\n${lines.join('\n')}`);
      expect(checked).toBeGreaterThan(25);
    },
  );
});
