/**
 * What `kpusim board profile` and `kpusim board calibrate` need from a board: "put these kmodels on
 * it, run each `loops` times between two `time.ticks_us()` readings, `repeats` times over, and give
 * me the time per run". One MaixPy script does it (`timingScript`), so the same measurement runs on
 * a real board over the serial link, on the virtual board, and in process on the emulator.
 *
 * ticks_us counts whole microseconds (MaixPy's `mphalport.c`: `mcycle / (cpu_freq / 1e6)`): timing
 * `loops` forwards between two readings resolves 1/loops µs per run.
 * `gc.collect()` before each repeat keeps a collection out of the timed loop. A `set_layers`
 * prefix (v3 on MaixPy) times only the model's first n layers.
 */

/** The board as the timing file records it. */
export interface BoardInfo {
  readonly firmware: string;
  readonly version?: string;
  readonly virtual: boolean;
  readonly port?: string;
  readonly cpuMhz: number;
  readonly kpuMhz: number;
}

export interface TimingJob {
  /** Unique per job; also names the model file on the board unless `file` is given. */
  readonly name: string;
  /** The model file's name on the board (jobs with the same file share one upload). */
  readonly file?: string;
  readonly kmodel: Uint8Array;
  /** The model input (forward gets a w×h RGB565 image, or a grayscale one when c is 1, converted by pix_to_ai). */
  readonly input: { readonly c: number; readonly h: number; readonly w: number };
  /** MaixPy, kmodel v4: output 0's shape for `kpu.set_outputs` (forward needs it). */
  readonly output0?: { readonly c: number; readonly h: number; readonly w: number };
  /** Time only the first n layers (`kpu.set_layers(task, n)`, v3 on MaixPy). */
  readonly layers?: number;
  readonly repeats: number;
  readonly loops: number;
}

export interface TimingRun {
  readonly name: string;
  /** Time per forward, ms: one value per repeat. */
  readonly perRunMs: readonly number[];
}

export interface TimingBoard {
  info(): Promise<BoardInfo>;
  /** Runs the jobs (uploading their models as needed) and returns one result per job, in order. */
  time(jobs: readonly TimingJob[], progress?: (done: number, total: number) => void): Promise<TimingRun[]>;
}

/** The line prefix the timing script prints its results on. */
export const TIMING_SENTINEL = 'KPUSIM-TIME';

/** The model file name of a job on the board. */
export const jobFile = (j: TimingJob): string => `${j.file ?? j.name}.kmodel`;

const pyStr = (s: string): string => JSON.stringify(s);

/**
 * Which KPU API the timing script drives: MaixPy's `KPU` module (`kpu.load`, `kpu.forward`,
 * `kpu.set_layers`), CanMV's current `maix.KPU()` (`load`, `run`) or CanMV's older one
 * (`load_kmodel`, `run_with_output`). Only MaixPy's can time a prefix of a model.
 */
export type TimingApi = 'maixpy' | 'canmv-kpu' | 'canmv-main';

/** The three calls of each API: load the model into `t`, run it once on `img`, free it. */
const API_CALLS: Record<TimingApi, { imports: string; load: string; run: string; free: string }> = {
  maixpy: {
    imports: 'import KPU as kpu',
    load: 't = kpu.load(path)',
    run: 'kpu.forward(t, img)',
    free: 'kpu.deinit(t)',
  },
  'canmv-kpu': {
    imports: 'from maix import KPU',
    load: 't = KPU()\n        t.load(path)',
    run: 't.run(img)',
    free: 't.deinit()',
  },
  'canmv-main': {
    imports: 'from maix import KPU',
    load: 't = KPU()\n        t.load_kmodel(path)',
    run: 't.run_with_output(img)',
    free: 't.deinit()',
  },
};

/**
 * The script that times `jobs` whose models are in `dir` on the board (`/sd` or `/flash`), with the
 * firmware's KPU API. Each job prints one line: `KPUSIM-TIME <name> <loops> <µs> <µs> …`, or
 * `KPUSIM-TIME-ERR <name> <message>`.
 */
export function timingScript(jobs: readonly TimingJob[], dir: string, api: TimingApi = 'maixpy'): string {
  const a = API_CALLS[api];
  const lines = [
    a.imports,
    'import image, time, gc',
    'def _kpusim_time(name, path, w, h, gray, reps, loops, layers, out0):',
    '    t = None',
    '    try:',
    `        ${a.load}`,
    '        img = image.Image(size=(w, h))',
    '        if gray:',
    '            img = img.to_grayscale()',
    '        img.pix_to_ai()',
  ];
  if (api === 'maixpy')
    lines.push(
      '        if layers > 0:',
      '            kpu.set_layers(t, layers)',
      '        if out0 is not None:',
      '            kpu.set_outputs(t, 0, out0[0], out0[1], out0[2])',
    );
  lines.push(
    `        ${a.run}`,
    '        out = []',
    '        for r in range(reps):',
    '            gc.collect()',
    '            t0 = time.ticks_us()',
    '            for i in range(loops):',
    `                ${a.run}`,
    '            out.append(time.ticks_diff(time.ticks_us(), t0))',
    `        print('${TIMING_SENTINEL} %s %d %s' % (name, loops, ' '.join([str(x) for x in out])))`,
    '    except Exception as e:',
    `        print('${TIMING_SENTINEL}-ERR %s %s' % (name, e))`,
    '    if t is not None:',
    `        ${a.free}`,
    '    gc.collect()',
  );
  for (const j of jobs) {
    if (j.layers && api !== 'maixpy') throw new Error(`${j.name}: only MaixPy's KPU API times a prefix (set_layers)`);
    const o = j.output0;
    lines.push(
      `_kpusim_time(${pyStr(j.name)}, ${pyStr(`${dir}/${jobFile(j)}`)}, ${j.input.w}, ${j.input.h}, ${j.input.c === 1 ? 1 : 0}, ${j.repeats}, ${j.loops}, ${j.layers ?? 0}, ${o ? `(${o.w}, ${o.h}, ${o.c})` : 'None'})`,
    );
  }
  return lines.join('\n') + '\n';
}

export class TimingScriptError extends Error {
  override readonly name = 'TimingScriptError';
}

/** The results of a timing script's output, one per job in order; a job without a line is an error. */
export function parseTimingOutput(text: string, jobs: readonly TimingJob[]): TimingRun[] {
  const got = new Map<string, TimingRun>();
  const errors = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\0/g, '').trim();
    if (line.startsWith(`${TIMING_SENTINEL}-ERR `)) {
      const rest = line.slice(TIMING_SENTINEL.length + 5);
      const sp = rest.indexOf(' ');
      errors.set(sp < 0 ? rest : rest.slice(0, sp), sp < 0 ? '' : rest.slice(sp + 1));
      continue;
    }
    if (!line.startsWith(`${TIMING_SENTINEL} `)) continue;
    const [name, loopsText, ...us] = line.slice(TIMING_SENTINEL.length + 1).split(/\s+/);
    const loops = Number(loopsText);
    const vals = us.map(Number);
    if (!(loops > 0) || vals.length === 0 || vals.some((v) => !Number.isFinite(v) || v < 0)) continue;
    got.set(name, { name, perRunMs: vals.map((v) => v / 1000 / loops) });
  }
  return jobs.map((j) => {
    const r = got.get(j.name);
    if (r) return r;
    const e = errors.get(j.name);
    throw new TimingScriptError(
      e !== undefined ? `the board could not time ${j.name}: ${e}` : `the board printed no time for ${j.name}`,
    );
  });
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** max − min. */
export const spread = (xs: readonly number[]): number => Math.max(...xs) - Math.min(...xs);
