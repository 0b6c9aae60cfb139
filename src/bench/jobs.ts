/**
 * What `--jobs 2` buys on a sweep: wall time of `kpusim golden check` over cases of the bundled
 * face detector with `--jobs 1` and with `--jobs 2`, each in a fresh process (process start and
 * model preparation included, as a user sees it), alternated so both see the same load. Reported
 * as the median of the per-pair speed-ups (jobs 1 time / jobs 2 time) with their min–max.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, r3, wallMs } from './stats.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(REPO, 'bin/kpusim.js');
const MODEL = join(REPO, 'models/face_detect_320x240.kmodel');

export interface JobsFigures {
  readonly command: string;
  readonly cases: number;
  /** Median of the per-pair speed-ups, with their min–max. */
  readonly speedup: number;
  readonly min: number;
  readonly max: number;
  readonly pairs: number;
  readonly jobs1_ms: number;
  readonly jobs2_ms: number;
}

export function jobsSpeedup(cases: number, pairs: number): JobsFigures {
  const dir = mkdtempSync(join(tmpdir(), 'kpusim-bench-jobs-'));
  try {
    const inputs = join(dir, 'inputs');
    mkdirSync(inputs);
    // Deterministic pseudo-random frames (the detector's 3×240×320 input).
    let s = 12345;
    for (let i = 0; i < cases; i++) {
      const b = new Uint8Array(3 * 240 * 320);
      for (let k = 0; k < b.length; k++) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        b[k] = s >>> 24;
      }
      writeFileSync(join(inputs, `frame_${String(i).padStart(3, '0')}.bin`), b);
    }
    const goldens = join(dir, 'cases');
    wallMs([CLI, 'golden', 'record', MODEL, '--inputs', inputs, '--out', goldens]);
    const check = (jobs: number) => wallMs([CLI, 'golden', 'check', MODEL, goldens, '--jobs', String(jobs)]);
    check(1);
    check(2);
    const ratios: number[] = [];
    const one: number[] = [];
    const two: number[] = [];
    for (let i = 0; i < pairs; i++) {
      const first = i % 2 === 0;
      const a = first ? check(1) : 0;
      const b = check(2);
      const c = first ? a : check(1);
      one.push(c);
      two.push(b);
      ratios.push(c / b);
    }
    return {
      command: `kpusim golden check (bundled face detector, ${cases} cases)`,
      cases,
      speedup: r3(median(ratios)),
      min: r3(Math.min(...ratios)),
      max: r3(Math.max(...ratios)),
      pairs,
      jobs1_ms: r3(median(one)),
      jobs2_ms: r3(median(two)),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
