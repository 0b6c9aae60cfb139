/**
 * A `TimingBoard` on kpusim's own emulated MaixPy board in this process: the models go into a
 * temporary SD card, the timing script runs as `kpusim maixpy` would run it, and the times are the
 * emulated board's clock (the timing model, with the built-in parameters or a timing file's).
 * Used by the tests (no pty, no serial link).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TIMING_PARAMS, type TimingParams } from '../../kpu/timing/params.js';
import { runMaixpy } from '../../maixpy/host.js';
import { jobFile, parseTimingOutput, timingScript, type BoardInfo, type TimingBoard, type TimingJob } from './board.js';

export interface InProcessBoardOptions {
  /** The emulated board's timing parameters (default: the built-in ones). */
  readonly timing?: TimingParams;
  /** Jobs per script run (each run boots MicroPython once). */
  readonly batch?: number;
}

export function inProcessBoard(opts: InProcessBoardOptions = {}): TimingBoard {
  const timing = opts.timing ?? TIMING_PARAMS;
  return {
    info(): Promise<BoardInfo> {
      return Promise.resolve({
        firmware: 'kpusim virtual MaixPy (in process)',
        virtual: true,
        cpuMhz: timing.clocks.cpuMhz,
        kpuMhz: timing.clocks.kpuMhz,
      });
    },
    async time(jobs: readonly TimingJob[], progress?: (done: number, total: number) => void) {
      const sd = mkdtempSync(join(tmpdir(), 'kpusim-timing-'));
      try {
        for (const j of jobs) writeFileSync(join(sd, jobFile(j)), j.kmodel);
        const batch = opts.batch ?? 1000;
        const runs = [];
        for (let i = 0; i < jobs.length; i += batch) {
          const part = jobs.slice(i, i + batch);
          let out = '';
          let err = '';
          const r = await runMaixpy({
            script: 'timing.py',
            source: timingScript(part, '/sd'),
            camera: [],
            sdDir: sd,
            bundled: false,
            timing,
            out: (t) => (out += t),
            err: (t) => (err += t),
          });
          if (r.exitCode !== 0 && r.reason !== 'script-ended')
            throw new Error(`the timing script failed on the emulated board: ${r.error?.message ?? err.trim()}`);
          runs.push(...parseTimingOutput(out, part));
          progress?.(Math.min(jobs.length, i + batch), jobs.length);
        }
        return runs;
      } finally {
        rmSync(sd, { recursive: true, force: true });
      }
    },
  };
}
