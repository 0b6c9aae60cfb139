/**
 * Fitting the timing model to board measurements: bounded least squares (Levenberg–Marquardt with
 * the step projected onto each parameter's bounds, `TIMING_PARAMETERS` in params.ts) on the relative
 * error of each case's whole-run time. The model's time is linear in almost every parameter (the
 * weight fetch enters through a max), so a few iterations reach the minimum.
 *
 * Only the parameters the cases reach are fitted: a parameter whose change moves no case's time
 * (for example the v4 runtime's CPU download when every case is a v3 model) keeps its starting value
 * and is listed in `unreached`.
 */
import type { LayerEvent } from '../events.js';
import { layerTiming, resolveClocks } from './profile.js';
import {
  parameterValues,
  TIMING_PARAMETERS,
  TIMING_PARAMS,
  timingParameter,
  withParameters,
  type TimingParams,
} from './params.js';

/** One measured case: the events of the model that ran and the board's time for one run. */
export interface FitCase {
  readonly name: string;
  readonly events: readonly LayerEvent[];
  readonly measuredMs: number;
}

/** The model's time for one run of a case's events (the `profile` total, without the memory report). */
export function predictRunMs(events: readonly LayerEvent[], params: TimingParams = TIMING_PARAMS): number {
  const clocks = resolveClocks({}, params);
  let ms = events.length > 0 ? params.cpu.runOverheadCycles / (clocks.cpuMhz * 1000) : 0;
  for (const ev of events) ms += layerTiming(ev, clocks, params).ms;
  return ms;
}

export interface FitOptions {
  /** Where the search starts (default: the built-in parameters); its clocks are the board's. */
  readonly start?: TimingParams;
  /** Parameters to consider (default: all); those the cases do not reach are left out. */
  readonly names?: readonly string[];
  readonly maxIterations?: number;
}

export interface FitResult {
  readonly params: TimingParams;
  /** The parameters fitted, and those left at their starting value because no case depends on them. */
  readonly fitted: readonly string[];
  readonly unreached: readonly string[];
  readonly iterations: number;
  /** Per case: the starting and the fitted parameters' prediction, ms. */
  readonly before: readonly number[];
  readonly after: readonly number[];
  /** Root mean square of the relative errors, %. */
  readonly rmsPctBefore: number;
  readonly rmsPctAfter: number;
}

const rmsPct = (pred: readonly number[], cases: readonly FitCase[]) =>
  100 *
  Math.sqrt(pred.reduce((s, p, i) => s + ((p - cases[i].measuredMs) / cases[i].measuredMs) ** 2, 0) / pred.length);

/** Solves A·x = b (A symmetric positive definite or nearly so) by Gaussian elimination with partial pivoting. */
function solve(A: number[][], b: number[]): number[] | null {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    if (!(Math.abs(M[p][c]) > 1e-300)) return null;
    [M[c], M[p]] = [M[p], M[c]];
    for (let r = c + 1; r < n; r++) {
      const f = M[r][c] / M[c][c];
      if (f === 0) continue;
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r][n];
    for (let k = r + 1; k < n; k++) s -= M[r][k] * x[k];
    x[r] = s / M[r][r];
  }
  return x;
}

/** Fits the timing parameters to measured cases (bounded Levenberg–Marquardt on relative errors). */
export function fitTiming(cases: readonly FitCase[], opts: FitOptions = {}): FitResult {
  if (cases.length === 0) throw new RangeError('fitTiming: no cases');
  for (const c of cases)
    if (!(c.measuredMs > 0) || !Number.isFinite(c.measuredMs))
      throw new RangeError(`fitTiming: case ${c.name} has no positive measured time (${c.measuredMs})`);
  const start = opts.start ?? TIMING_PARAMS;
  const all = (opts.names ?? TIMING_PARAMETERS.map((t) => t.name)).map((n) => {
    const t = timingParameter(n);
    if (!t) throw new RangeError(`fitTiming: unknown parameter ${n}`);
    return t;
  });
  const v0 = parameterValues(start);
  const predictAll = (p: TimingParams) => cases.map((c) => predictRunMs(c.events, p));
  const before = predictAll(start);

  // Each parameter is searched as x = value / scale, so steps are comparable.
  const scaleOf = (name: string) => (v0[name] !== 0 ? Math.abs(v0[name]) : 1);
  const paramsAt = (names: readonly string[], x: readonly number[]) =>
    withParameters(start, Object.fromEntries(names.map((n, i) => [n, x[i] * scaleOf(n)])));
  const residuals = (pred: readonly number[]) => pred.map((p, i) => (p - cases[i].measuredMs) / cases[i].measuredMs);
  const cost = (r: readonly number[]) => r.reduce((s, v) => s + v * v, 0);

  // Which parameters move some case: a relative step of 10 % in each.
  const reached: string[] = [];
  const unreached: string[] = [];
  for (const t of all) {
    const probe = withParameters(start, { [t.name]: (v0[t.name] !== 0 ? v0[t.name] : 1) * 1.1 });
    const moved = cases.some((c, i) => Math.abs(predictRunMs(c.events, probe) - before[i]) > 1e-12 * before[i]);
    (moved ? reached : unreached).push(t.name);
  }
  const names = reached;
  const lo = names.map((n) => timingParameter(n)!.min / scaleOf(n));
  const hi = names.map((n) => timingParameter(n)!.max / scaleOf(n));
  let x = names.map((n) => v0[n] / scaleOf(n));
  let pred = before;
  let r = residuals(pred);
  let c0 = cost(r);
  let lambda = 1e-3;
  let iterations = 0;
  const maxIt = opts.maxIterations ?? 100;
  for (; iterations < maxIt && names.length > 0; iterations++) {
    // Jacobian by forward differences (the model is piecewise linear; a small step stays on one piece).
    const J: number[][] = cases.map(() => new Array<number>(names.length).fill(0));
    for (let j = 0; j < names.length; j++) {
      const h = 1e-6 * Math.max(1, Math.abs(x[j]));
      const xp = [...x];
      xp[j] += h;
      const pp = predictAll(paramsAt(names, xp));
      for (let i = 0; i < cases.length; i++) J[i][j] = (pp[i] - pred[i]) / (h * cases[i].measuredMs);
    }
    const JtJ = names.map((_, a) => names.map((_, b) => cases.reduce((s, _c, i) => s + J[i][a] * J[i][b], 0)));
    const Jtr = names.map((_, a) => cases.reduce((s, _c, i) => s + J[i][a] * r[i], 0));
    let improved = false;
    for (let tries = 0; tries < 20; tries++) {
      const A = JtJ.map((row, a) => row.map((v, b) => (a === b ? v + lambda * Math.max(v, 1e-12) : v)));
      const step = solve(
        A,
        Jtr.map((v) => -v),
      );
      if (!step) {
        lambda *= 10;
        continue;
      }
      const xn = x.map((v, j) => Math.min(hi[j], Math.max(lo[j], v + step[j])));
      const pn = predictAll(paramsAt(names, xn));
      const rn = residuals(pn);
      const cn = cost(rn);
      if (cn < c0) {
        const gain = c0 - cn;
        x = xn;
        pred = pn;
        r = rn;
        lambda = Math.max(lambda / 5, 1e-12);
        improved = true;
        const done = gain <= 1e-14 * Math.max(c0, 1e-30) || cn < 1e-24;
        c0 = cn;
        if (done) iterations = maxIt;
        break;
      }
      lambda *= 8;
    }
    if (!improved) break;
  }
  const params = paramsAt(names, x);
  return {
    params,
    fitted: names,
    unreached,
    iterations: Math.min(iterations, maxIt),
    before,
    after: pred,
    rmsPctBefore: rmsPct(before, cases),
    rmsPctAfter: rmsPct(pred, cases),
  };
}
