/**
 * A `TimingBoard` over a `BoardSession`: a real MaixPy board on a serial port, or kpusim's virtual
 * board on any link. The jobs' models go to the board with the session's checked upload (a file
 * already there with the same size and crc32 is not sent again), then the timing script of board.ts
 * runs over the raw REPL and its `KPUSIM-TIME` lines are parsed.
 *
 * Files on the board are named by content (`ks<crc32>.kmodel`, short enough for SPIFFS), so jobs of
 * one model share one upload and a second calibration finds the suite already there. On `/sd` they
 * stay (a re-run uploads nothing); on `/flash` (no SD card: little room) a file is removed once
 * the last batch that uses it is timed.
 */
import { BoardError } from '../errors.js';
import { BoardSession, crc32Of, type PutProgress } from '../session.js';
import {
  parseTimingOutput,
  TIMING_SENTINEL,
  TimingScriptError,
  timingScript,
  type BoardInfo,
  type TimingBoard,
  type TimingJob,
  type TimingApi,
  type TimingRun,
} from './board.js';

export interface SessionBoardOptions {
  /** The port the session is on (recorded in the timing file). */
  readonly port?: string;
  /** Most jobs timed by one script run (default 12). */
  readonly batchJobs?: number;
  /** Most model bytes one batch puts on the board (default 1 MiB; on /flash the batch's files are removed after it). */
  readonly batchBytes?: number;
  /** Time limit of one batch's script run, ms (default 10 minutes). */
  readonly batchTimeoutMs?: number;
  /** Upload progress of one file. */
  readonly onUpload?: (file: string, p: PutProgress, uploaded: boolean) => void;
  /** Called once before any upload: distinct model files and their bytes (some may be on the board already). */
  readonly onUploadPlan?: (files: number, bytes: number) => void;
  /** Notes for the user (clock defaults, where files go). */
  readonly onNote?: (text: string) => void;
  /** The KPU API the timing script drives (default: the one the firmware offers, `timingApiOf`). */
  readonly api?: TimingApi;
}

/** The clocks a board reports, else the chip's usual 400 MHz (noted). */
function clocksOf(s: BoardSession, note?: (t: string) => void): { cpuMhz: number; kpuMhz: number } {
  const i = s.info;
  if (i.cpuMhz && i.kpuMhz) return { cpuMhz: i.cpuMhz, kpuMhz: i.kpuMhz };
  note?.('the board does not report its clocks (Maix.freq); assuming CPU and KPU at 400 MHz');
  return { cpuMhz: i.cpuMhz || 400, kpuMhz: i.kpuMhz || 400 };
}

/** The KPU API the timing script drives on this firmware (null: none). */
export function timingApiOf(s: BoardSession): TimingApi | null {
  const a = s.info.kpuApi;
  return a === 'maixpy' || a === 'canmv-kpu' || a === 'canmv-main' ? a : null;
}

/** Checks that the firmware can run the timing script (a KPU API kpusim drives, v3 models). */
export function checkTimingFirmware(s: BoardSession, what: string): void {
  const i = s.info;
  if (timingApiOf(s) === null)
    throw new BoardError(
      'UNSUPPORTED',
      `${what} needs a KPU module (MaixPy's KPU or CanMV's maix.KPU); this firmware (${i.firmware}, KPU API ${i.kpuApi}) does not offer one`,
    );
  if (!i.kmodelVersions.includes(3))
    throw new BoardError('UNSUPPORTED', `${what} times kmodel v3 files; this firmware does not load them`);
}

export function sessionTimingBoard(s: BoardSession, opts: SessionBoardOptions = {}): TimingBoard {
  const dir = s.info.missingDirs.includes('/sd') ? '/flash' : '/sd';
  const onFlash = dir === '/flash';
  const api = opts.api ?? timingApiOf(s) ?? 'maixpy';
  return {
    info(): Promise<BoardInfo> {
      const i = s.info;
      const c = clocksOf(s, opts.onNote);
      return Promise.resolve({
        firmware: i.flavour === 'maixpy' ? 'MaixPy' : i.flavour === 'canmv' ? 'CanMV' : i.implementation,
        ...(i.firmware ? { version: i.firmware } : {}),
        virtual: i.virtual,
        ...(opts.port ? { port: opts.port } : {}),
        cpuMhz: c.cpuMhz,
        kpuMhz: c.kpuMhz,
      });
    },

    async time(jobs: readonly TimingJob[], progress?: (done: number, total: number) => void): Promise<TimingRun[]> {
      // Content-named files: one upload per distinct model.
      const named = jobs.map((j) => ({ ...j, file: `ks${crc32Of(j.kmodel).toString(16).padStart(8, '0')}` }));
      const maxJobs = opts.batchJobs ?? 12;
      const maxBytes = opts.batchBytes ?? 1024 * 1024;
      const batches: (typeof named)[] = [];
      let cur: typeof named = [];
      let bytes = 0;
      const seen = new Set<string>();
      for (const j of named) {
        const fresh = !seen.has(j.file);
        if (cur.length > 0 && (cur.length >= maxJobs || (fresh && bytes + j.kmodel.length > maxBytes))) {
          batches.push(cur);
          cur = [];
          bytes = 0;
          seen.clear();
        }
        if (!seen.has(j.file)) {
          seen.add(j.file);
          bytes += j.kmodel.length;
        }
        cur.push(j);
      }
      if (cur.length) batches.push(cur);

      // On /flash a file goes once no later batch needs it.
      const lastUse = new Map<string, number>();
      batches.forEach((bt, i) => bt.forEach((j) => lastUse.set(`${dir}/${j.file}.kmodel`, i)));
      const filesOf = (bt: typeof named) => new Map(bt.map((j) => [`${dir}/${j.file}.kmodel`, j.kmodel]));
      const upload = async (files: Map<string, Uint8Array>) => {
        for (const [path, data] of files) {
          const r = await s.putFile(path, data, { onProgress: (p) => opts.onUpload?.(path, p, true) });
          if (!r.uploaded) opts.onUpload?.(path, { sent: data.length, total: data.length }, false);
        }
      };
      const all = filesOf(named);
      opts.onUploadPlan?.(
        all.size,
        [...all.values()].reduce((n, d) => n + d.length, 0),
      );
      // On /sd every file goes up first: one upload phase, then one timing phase.
      if (!onFlash) await upload(all);
      const runs: TimingRun[] = [];
      let done = 0;
      progress?.(0, jobs.length);
      for (const [bi, batch] of batches.entries()) {
        const files = filesOf(batch);
        if (onFlash) await upload(files);
        let out = '';
        let pending = '';
        const r = await s.runScript(timingScript(batch, dir, api), 'kpusim_timing.py', {
          timeoutMs: opts.batchTimeoutMs ?? 600_000,
          onOutput: (t) => {
            out += t;
            pending += t;
            const lines = pending.split('\n');
            pending = lines.pop() ?? '';
            for (const l of lines)
              if (l.startsWith(`${TIMING_SENTINEL} `) || l.startsWith(`${TIMING_SENTINEL}-ERR `))
                progress?.(Math.min(jobs.length, ++done), jobs.length);
          },
        });
        if (onFlash)
          for (const path of files.keys()) if (lastUse.get(path) === bi) await s.remove(path).catch(() => false);
        if (r.error) throw r.error;
        try {
          runs.push(...parseTimingOutput(out, batch));
        } catch (e) {
          if (e instanceof TimingScriptError) throw new BoardError('PYTHON', e.message);
          throw e;
        }
      }
      return runs;
    },
  };
}
