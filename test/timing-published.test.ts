/**
 * Whole-model board times published for models in the corpus (src/kpu/timing/published.ts), against
 * the timing model run on the interpreter's event trace. These are printed, not asserted: the models
 * are dominated by CPU ops whose costs are ESTIMATEs (params.ts), and the printout is how the gap is
 * tracked. `npm run bench` prints the same table.
 */
import { describe, expect, it } from 'vitest';
import { publishedBoardTimes } from '../src/bench/run.js';
import { PUBLISHED_BOARD_TIMES } from '../src/kpu/timing/index.js';
import { HAS_SHARED, SHARED_DIR, SHARED_SKIP_REASON } from './shared.js';

describe.skipIf(!HAS_SHARED)('published whole-model board times (printed, not asserted)', () => {
  it(HAS_SHARED ? 'prints the model against each published total' : SHARED_SKIP_REASON, () => {
    const rows = publishedBoardTimes(SHARED_DIR) ?? [];
    expect(rows.length).toBe(PUBLISHED_BOARD_TIMES.length);
    const lines = rows.map((r) => {
      expect(Number.isFinite(r.model_ms)).toBe(true);
      return `${String(r.model).padEnd(40)} measured ${String(r.measured_ms).padStart(7)} ms  model ${String(r.model_ms).padStart(8)} ms  ${Number(r.error_pct) >= 0 ? '+' : ''}${r.error_pct}%  ${r.fitted ? 'fitted' : 'out of sample'}  ${r.source}`;
    });
    console.log(`whole-model board times at 400 MHz\n${lines.join('\n')}`);
  });
});
