/**
 * `npm test` runs the benchmark once in quick mode (one frame, no thresholds) only to prove it
 * works; speed targets live in the benchmark itself, never in a timed test.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runBenchmark } from '../src/bench/run.js';
import { HAS_SHARED, REPO_ROOT, SHARED_DIR } from './shared.js';

const canRun = HAS_SHARED || existsSync(join(REPO_ROOT, 'models/manifest.json'));

describe.skipIf(!canRun || !existsSync(join(REPO_ROOT, 'dist/bench/rss.js')))('benchmark (quick mode)', () => {
  test('produces every figure', async () => {
    const r = await runBenchmark({ quick: true, sharedDir: SHARED_DIR });
    for (const k of ['emulator_ms', 'emulator_gmacs', 'tfjs_wasm_ms', 'tfjs_wasm_gmacs', 'board_ms', 'macs']) {
      expect(Number.isFinite(r[k] as number) && (r[k] as number) > 0, k).toBe(true);
    }
    const kr = r.kpu_ratios as { models: { ratio: number; pairs: number }[] };
    expect(kr.models.length).toBeGreaterThan(0);
    for (const m of kr.models) expect(m.ratio > 0 && Number.isFinite(m.ratio) && m.pairs === 1).toBe(true);
    const st = r.startup_ratio as {
      node_ms: number;
      node_no_extra_ca_ms: number | null;
      version: { ratio: number };
      info: { ratio: number };
    };
    const h = r.hash_gb_per_s as Record<string, number>;
    for (const k of ['memory', 'memory_plain', 'random', 'random_plain']) expect(h[k] > 0, k).toBe(true);
    for (const x of [st.node_ms, st.version.ratio, st.info.ratio]) expect(x > 0 && Number.isFinite(x)).toBe(true);
    const jobs = r.jobs_speedup as { speedup: number; jobs1_ms: number; jobs2_ms: number };
    for (const x of [jobs.speedup, jobs.jobs1_ms, jobs.jobs2_ms]) expect(x > 0 && Number.isFinite(x)).toBe(true);
    const mx = r.maixpy_frame_ratio as {
      ratio: number;
      board_ms_per_frame: number;
      one_frame_wall_ms: number;
      first_frame_ms: number;
      first_frame_warm_ms: number;
      first_frame_no_extra_ca_ms: number | null;
    };
    // the runs without NODE_EXTRA_CA_CERTS are made only where the environment sets it
    for (const x of [st.node_no_extra_ca_ms, mx.first_frame_no_extra_ca_ms]) {
      if (process.env.NODE_EXTRA_CA_CERTS === undefined) expect(x).toBeNull();
      else expect(x !== null && x > 0 && Number.isFinite(x)).toBe(true);
    }
    const fr = r.face_image_ratio as { ratio: number; board_ms: number; pc_ms: number };
    expect(mx.first_frame_ms).toBeLessThan(mx.one_frame_wall_ms);
    for (const x of [
      mx.ratio,
      mx.board_ms_per_frame,
      mx.one_frame_wall_ms,
      mx.first_frame_ms,
      mx.first_frame_warm_ms,
      fr.ratio,
      fr.board_ms,
      fr.pc_ms,
    ])
      expect(x > 0 && Number.isFinite(x)).toBe(true);
  });
});
