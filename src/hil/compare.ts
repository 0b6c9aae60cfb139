/**
 * The board's outputs against the emulator's: per output exact or not, the largest difference in
 * the output's own units and in LSB (uint8: quantisation steps; float32: units in the last place),
 * the first differing element, and which numerics mode (`golden`: nncase's simulator, `board`:
 * the firmware's float arithmetic) the board matched. The board's time against the prediction.
 */
import type { Kmodel, TensorDesc } from '../kmodel-parser/model.js';
import { prepare, type NumericsMode } from '../kpu/interpreter.js';
import { profile } from '../kpu/timing/index.js';
import { TOLERANCES } from '../tolerances.js';

export interface OutputDiff {
  readonly exact: boolean;
  /** Largest |board − emulator| in the output's units (uint8 dequantised when the model says how). */
  readonly max_abs_diff: number;
  /** Largest difference in LSB: quantisation steps (uint8) or float32 ulps. */
  readonly max_lsb_diff: number;
  /** Element index of the first difference, null when exact. */
  readonly first_diff_index: number | null;
  /** Elements that differ. */
  readonly mismatched: number;
  /** float32 only: every element within TOLERANCES.goldenFloat (the `golden check` tolerance). */
  readonly within_tolerance: boolean;
}

/** The float32 bit pattern as an integer on one ordered line (so that ulp distance is a subtraction). */
function ordered(bits: number): number {
  return bits < 0 ? -(bits & 0x7fffffff) : bits;
}

export function diffOutput(board: Uint8Array, emu: Uint8Array, desc: TensorDesc): OutputDiff {
  if (board.length !== emu.length)
    return {
      exact: false,
      max_abs_diff: Infinity,
      max_lsb_diff: Infinity,
      first_diff_index: 0,
      mismatched: Math.max(board.length, emu.length),
      within_tolerance: false,
    };
  let maxAbs = 0;
  let maxLsb = 0;
  let first: number | null = null;
  let mismatched = 0;
  let within = true;
  if (desc.dtype === 'float32') {
    const a = new DataView(board.buffer, board.byteOffset, board.length);
    const b = new DataView(emu.buffer, emu.byteOffset, emu.length);
    const { abs, rel } = TOLERANCES.goldenFloat;
    for (let i = 0; i < board.length >> 2; i++) {
      const ia = a.getInt32(4 * i, true);
      const ib = b.getInt32(4 * i, true);
      if (ia === ib) continue;
      mismatched++;
      first ??= i;
      const fa = a.getFloat32(4 * i, true);
      const fb = b.getFloat32(4 * i, true);
      const d = Number.isNaN(fa) || Number.isNaN(fb) ? Infinity : Math.abs(fa - fb);
      maxAbs = Math.max(maxAbs, d);
      maxLsb = Math.max(maxLsb, Math.abs(ordered(ia) - ordered(ib)));
      if (!(d <= abs + rel * Math.abs(fb))) within = false;
    }
  } else {
    const scale = desc.quant?.scale ?? 1;
    for (let i = 0; i < board.length; i++) {
      if (board[i] === emu[i]) continue;
      mismatched++;
      first ??= i;
      const d = Math.abs(board[i] - emu[i]);
      maxLsb = Math.max(maxLsb, d);
      maxAbs = Math.max(maxAbs, d * scale);
    }
    within = mismatched === 0;
  }
  return {
    exact: mismatched === 0,
    max_abs_diff: maxAbs,
    max_lsb_diff: maxLsb,
    first_diff_index: first,
    mismatched,
    within_tolerance: within,
  };
}

export interface EmulatorTruth {
  readonly golden: readonly Uint8Array[];
  readonly board: readonly Uint8Array[];
  /** The timing model's prediction of one forward at the board's clocks (ms). */
  readonly predicted_ms: number;
}

/** Runs the case on the emulator in both numerics modes and predicts its board time. */
export function emulatorTruth(
  model: Kmodel,
  input: Uint8Array,
  opts: { cpuMhz?: number; kpuMhz?: number; kpuNumerics?: 'nncase02' | 'nncase01' } = {},
): EmulatorTruth {
  const run = (numerics: NumericsMode) => prepare(model, { numerics, kpuNumerics: opts.kpuNumerics }).run([input]);
  const g = run('golden');
  const b = run('board');
  const p = profile(g.events, { cpuMhz: opts.cpuMhz, kpuMhz: opts.kpuMhz });
  return { golden: g.outputs, board: b.outputs, predicted_ms: p.total_ms };
}

export type Matched = 'golden' | 'board' | 'both' | 'neither';

export interface OutputReport {
  readonly index: number;
  readonly dtype: string;
  readonly bytes: number;
  /** Board output equal to the emulator's (in the matched mode; in `board` mode when neither matched). */
  readonly exact: boolean;
  readonly matched: Matched;
  readonly vs_golden: OutputDiff;
  readonly vs_board: OutputDiff;
  /** False when the firmware cannot return this output (CanMV main: output 0 only). */
  readonly read: boolean;
}

export interface CaseComparison {
  readonly outputs: readonly OutputReport[];
  /** The numerics mode every output read back matched exactly. */
  readonly matched: Matched;
  readonly exact: boolean;
}

function matchedOf(g: boolean, b: boolean): Matched {
  return g && b ? 'both' : g ? 'golden' : b ? 'board' : 'neither';
}

export function compareCase(
  boardOutputs: readonly (Uint8Array | null)[],
  truth: Pick<EmulatorTruth, 'golden' | 'board'>,
  descs: readonly TensorDesc[],
): CaseComparison {
  const outputs: OutputReport[] = descs.map((d, i) => {
    const got = boardOutputs[i];
    if (!got) {
      const none: OutputDiff = {
        exact: true,
        max_abs_diff: 0,
        max_lsb_diff: 0,
        first_diff_index: null,
        mismatched: 0,
        within_tolerance: true,
      };
      return {
        index: i,
        dtype: d.dtype,
        bytes: d.bytes,
        exact: true,
        matched: 'both',
        vs_golden: none,
        vs_board: none,
        read: false,
      };
    }
    const vg = diffOutput(got, truth.golden[i], d);
    const vb = diffOutput(got, truth.board[i], d);
    const matched = matchedOf(vg.exact, vb.exact);
    return {
      index: i,
      dtype: d.dtype,
      bytes: d.bytes,
      exact: vg.exact || vb.exact,
      matched,
      vs_golden: vg,
      vs_board: vb,
      read: true,
    };
  });
  const read = outputs.filter((o) => o.read);
  const g = read.every((o) => o.vs_golden.exact);
  const b = read.every((o) => o.vs_board.exact);
  return { outputs, matched: matchedOf(g, b), exact: g || b };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
