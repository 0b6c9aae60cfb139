/**
 * `kpusim board calibrate` and `kpusim board profile` through the whole serial path: the CLI, a
 * BoardSession on the raw REPL, the session's checked uploads and the timing script, against the
 * virtual board (whose clock is the timing model). A perturbed virtual board (a timing file handed to
 * `createVirtualBoard`, as `board serve --timing` does) must be recovered by the calibration, and
 * the per-layer board times of the bundled face detector must match the model it runs on.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Io } from '../src/cli/common.js';
import { socatAvailable } from '../src/cli/board-serve.js';
import { main } from '../src/cli/main.js';
import { sessionTimingBoard } from '../src/hil/calibrate/session-board.js';
import { calibrationSuite } from '../src/hil/calibrate/suite.js';
import { BoardSession, crc32Of } from '../src/hil/session.js';
import { registerPortScheme } from '../src/hil/connect.js';
import { createVirtualBoard } from '../src/hil/virtual/index.js';
import {
  loadTimingFile,
  parameterValues,
  TIMING_PARAMS,
  timingFileJson,
  timingFileOf,
  withParameters,
} from '../src/kpu/timing/index.js';
import { TOLERANCES } from '../src/tolerances.js';
import { HAS_SHARED, kmodelPath, REPO_ROOT, SHARED_SKIP_REASON } from './shared.js';
import { CASE_TOLERANCE, PARAM_TOLERANCE, perturbed } from './fixtures/calibration.js';

const dir = mkdtempSync(join(tmpdir(), 'kpusim-board-timing-'));
let unregister: () => void;

const truth = perturbed(TIMING_PARAMS, [0.8, 1.25, 1.1, 0.9]);
const truthFile = join(dir, 'other.json');

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => (out += t), err: (t) => (err += t), errIsTty: false };
  const code = await main(argv, io);
  return { code, out, err };
}

beforeAll(() => {
  writeFileSync(
    truthFile,
    timingFileJson(timingFileOf(truth, { firmware: 'test', virtual: true, cpu_mhz: 400, kpu_mhz: 400 })),
  );
  // `--port timed:FILE`: a virtual board whose clock runs on the timing file FILE (what `board serve
  // --timing FILE` serves on a pty).
  unregister = registerPortScheme('timed', async (spec) => {
    // `timed:FILE` (MaixPy) or `timed:canmv:FILE` (the CanMV-flavoured virtual board).
    const canmv = spec.startsWith('canmv:');
    const file = canmv ? spec.slice(6) : spec;
    const vb = await createVirtualBoard({
      timing: loadTimingFile(file).params,
      onWarning: () => {},
      ...(canmv ? { flavor: 'canmv' as const } : {}),
    });
    const link = vb.link;
    return {
      write: (d) => link.write(d),
      onData: (l) => link.onData(l),
      onClose: (l) => link.onClose(l),
      setSignals: (s) => link.setSignals(s),
      setBaud: (b) => link.setBaud(b),
      close: () => vb.close(),
    };
  });
});
afterAll(() => {
  unregister();
  rmSync(dir, { recursive: true, force: true });
});

describe('kpusim board calibrate (virtual board over the raw REPL)', () => {
  it('recovers the parameters of a perturbed virtual board and writes a timing file that reads back', async () => {
    const out = join(dir, 'board-timing.json');
    const t0 = performance.now();
    const r = await cli('board', 'calibrate', '--port', `timed:${truthFile}`, '--quick', '--repeat', '1');
    expect(r.code, r.err).toBe(2); // --out is required
    const c = await cli(
      'board',
      'calibrate',
      '--port',
      `timed:${truthFile}`,
      '--quick',
      '--repeat',
      '1',
      '--out',
      out,
      '--json',
    );
    const secs = (performance.now() - t0) / 1000;
    expect(c.code, c.err).toBe(0);
    const doc = JSON.parse(c.out);
    expect(doc.schema_version).toBe(1);
    expect(doc.board).toMatchObject({ virtual: true, flavour: 'maixpy', cpu_mhz: 400, kpu_mhz: 400 });
    expect(c.err).toMatch(/model file\(s\) uploaded/);
    const loaded = loadTimingFile(out);
    expect(loaded.doc.board.virtual).toBe(true);
    expect(loaded.doc.cases?.length).toBe(doc.cases.length);
    const want = parameterValues(truth);
    const got = parameterValues(loaded.params);
    const fitted: string[] = doc.fit.fitted;
    const lines = ['parameter (fitted)                               true       recovered   error'];
    for (const n of fitted)
      lines.push(
        `${n.padEnd(44)} ${want[n].toPrecision(6).padStart(10)} ${got[n].toPrecision(6).padStart(10)} ${((100 * (got[n] - want[n])) / want[n]).toFixed(3).padStart(7)}%`,
      );
    console.log(`${lines.join('\n')}\n(board calibrate --quick --repeat 1 via the CLI: ${secs.toFixed(1)} s)`);
    expect(fitted.length).toBeGreaterThan(20);
    for (const n of fitted) expect(Math.abs(got[n] - want[n]) / want[n], n).toBeLessThanOrEqual(PARAM_TOLERANCE);
    for (const k of doc.cases)
      expect(Math.abs(k.after_ms - k.measured_ms) / k.measured_ms, k.name).toBeLessThanOrEqual(CASE_TOLERANCE);
    // The built-in parameters miss the perturbed board: the fit had something to do.
    expect(doc.fit.rms_pct_before).toBeGreaterThan(5);
    // The parameters table lists every parameter with its before and after values.
    const row = doc.parameters.find((p: { name: string }) => p.name === 'kpu.cyclesPerLine');
    expect(row).toMatchObject({ fitted: true, before: TIMING_PARAMS.kpu.cyclesPerLine });
  }, 120_000);
});

describe("kpusim board calibrate through CanMV's maix.KPU (load_kmodel / run_with_output)", () => {
  it("recovers the perturbed parameters as through MaixPy's KPU module", async () => {
    const out = join(dir, 'canmv-timing.json');
    const c = await cli(
      'board',
      'calibrate',
      '--port',
      `timed:canmv:${truthFile}`,
      '--kpu-api',
      'canmv-main',
      '--quick',
      '--repeat',
      '1',
      '--out',
      out,
      '--json',
    );
    expect(c.code, c.err).toBe(0);
    const doc = JSON.parse(c.out);
    const want = parameterValues(truth);
    const got = parameterValues(loadTimingFile(out).params);
    expect(doc.fit.fitted.length).toBeGreaterThan(20);
    for (const n of doc.fit.fitted as string[])
      expect(Math.abs(got[n] - want[n]) / want[n], n).toBeLessThanOrEqual(PARAM_TOLERANCE);
    for (const k of doc.cases)
      expect(Math.abs(k.after_ms - k.measured_ms) / k.measured_ms, k.name).toBeLessThanOrEqual(CASE_TOLERANCE);
  }, 120_000);
});

describe('the timing board on a session', () => {
  it('keeps the models on /sd by content name: a second run uploads nothing and times the same', async () => {
    const sd = join(dir, 'sd');
    mkdirSync(sd);
    const vb = await createVirtualBoard({ sdDir: sd, onWarning: () => {} });
    const s = await BoardSession.open(vb.link);
    try {
      const models = calibrationSuite('small').filter((m) => m.name === 'launches1' || m.name === 'launches2');
      const jobs = models.map((m) => ({ name: m.name, kmodel: m.kmodel, input: m.input, repeats: 2, loops: 3 }));
      const sent: boolean[] = [];
      const board = sessionTimingBoard(s, { onUpload: (_f, p, fresh) => p.sent === p.total && sent.push(fresh) });
      const first = await board.time(jobs);
      expect(sent).toEqual([true, true]);
      expect(readdirSync(sd).sort()).toEqual(
        models.map((m) => `ks${crc32Of(m.kmodel).toString(16).padStart(8, '0')}.kmodel`).sort(),
      );
      sent.length = 0;
      const again = await board.time(jobs);
      expect(sent).toEqual([false, false]);
      expect(again.map((r) => r.perRunMs)).toEqual(first.map((r) => r.perRunMs));
      expect(first[1].perRunMs[0]).toBeGreaterThan(first[0].perRunMs[0]);
    } finally {
      await s.close();
    }
  }, 60_000);
});

describe('kpusim board profile (virtual board over the raw REPL)', () => {
  it("times every layer of the bundled face detector: the virtual board's times are the model's", async () => {
    const csv = join(dir, 'fd.csv');
    const trace = join(dir, 'fd-trace.json');
    const r = await cli(
      'board',
      'profile',
      join(REPO_ROOT, 'models', 'face_detect_320x240.kmodel'),
      '--port',
      'virtual',
      '--repeat',
      '1',
      '--json',
      '--csv',
      csv,
      '--trace',
      trace,
    );
    expect(r.code, r.err).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.schema_version).toBe(1);
    expect(doc.method).toBe('set_layers-prefixes');
    const layers: { index: number; predicted_ms: number; board_ms: number; raw_ms: number; correction_ms: number }[] =
      doc.layers;
    expect(layers.length).toBe(16);
    layers.forEach((l, i) => {
      expect(l.index).toBe(i);
      expect(Math.abs(l.board_ms - l.predicted_ms), `layer ${i}`).toBeLessThanOrEqual(
        TOLERANCES.virtualBoardLayerMs.abs,
      );
      expect(l.board_ms).toBeGreaterThan(0);
    });
    // The prefixes add up: the last prefix is the whole model.
    expect(Math.abs(doc.total.board_ms - doc.total.predicted_ms)).toBeLessThanOrEqual(
      TOLERANCES.virtualBoardLayerMs.abs,
    );
    // Some prefixes end on a conv whose output stays in KPU memory: the firmware's download is corrected for.
    expect(layers.some((l) => l.correction_ms < 0)).toBe(true);
    const rows = readFileSync(csv, 'utf8').trim().split('\r\n');
    expect(rows[0]).toBe(
      'index,type,unit,predicted_ms,board_ms,spread_ms,error_pct,raw_ms,correction_ms,priced_ms,reason',
    );
    expect(rows.length).toBe(17);
    const t = JSON.parse(readFileSync(trace, 'utf8'));
    const x = t.traceEvents.filter((e: { ph: string }) => e.ph === 'X');
    expect(new Set(x.map((e: { pid: number }) => e.pid))).toEqual(new Set([1, 2]));
    expect(x.length).toBe(32);
  }, 120_000);

  it('shows the error against a perturbed board, and none once --timing names its timing file', async () => {
    const m = calibrationSuite('small').find((s) => s.name === 'conv3x3_32_20x15')!;
    const model = join(dir, 'conv.kmodel');
    writeFileSync(model, m.kmodel);
    const base = ['board', 'profile', model, '--port', `timed:${truthFile}`, '--repeat', '1', '--json'];
    const a = await cli(...base);
    expect(a.code, a.err).toBe(0);
    const off = JSON.parse(a.out);
    expect(off.timing).toMatchObject({ file: null, builtin: true });
    expect(Math.max(...off.layers.map((l: { error_pct: number }) => Math.abs(l.error_pct)))).toBeGreaterThan(5);
    const b = await cli(...base, '--timing', truthFile);
    expect(b.code, b.err).toBe(0);
    const on = JSON.parse(b.out);
    for (const l of on.layers)
      expect(Math.abs(l.board_ms - l.predicted_ms), `layer ${l.index}`).toBeLessThanOrEqual(
        TOLERANCES.virtualBoardLayerMs.abs,
      );
    const h = await cli(
      'board',
      'profile',
      model,
      '--port',
      `timed:${truthFile}`,
      '--repeat',
      '1',
      '--timing',
      truthFile,
    );
    expect(h.code, h.err).toBe(0);
    expect(h.out).toMatch(/layer +type +unit +predicted ms +board ms +spread +error/);
    expect(h.out).toContain(`timing file ${truthFile}`);
  }, 120_000);

  it.skipIf(!HAS_SHARED)(
    `refuses --method set_layers on a v4 model with exit 2, before opening the board${HAS_SHARED ? '' : ` (${SHARED_SKIP_REASON})`}`,
    async () => {
      const r = await cli(
        'board',
        'profile',
        kmodelPath('canmv_mnist_cnn_v4'),
        '--method',
        'set_layers',
        '--port',
        '/dev/kpusim-no-such-port',
      );
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(/MaixPy offers set_layers for v3 only\); this model is v4: use --method layer-models/);
    },
  );
});

interface LayerRow {
  index: number;
  type: string;
  unit: string;
  predicted_ms: number;
  board_ms: number | null;
  error_pct: number | null;
  reason?: string;
  priced_ms?: number;
}

/**
 * Whole-model board time against the layers: measured layers' board times, the others' predictions, the per-run
 * overhead.
 */
function checkSum(doc: { layers: LayerRow[]; total: Record<string, number> }): void {
  const t = doc.total;
  const rest = doc.layers.filter((l) => l.board_ms === null).reduce((a, l) => a + l.predicted_ms, 0);
  expect(t.measured_layers).toBe(doc.layers.filter((l) => l.board_ms !== null).length);
  expect(Math.abs(t.board_ms - t.predicted_ms)).toBeLessThanOrEqual(TOLERANCES.virtualBoardLayerMs.abs);
  expect(Math.abs(t.layers_board_ms + rest + t.overhead_ms - t.board_ms)).toBeLessThanOrEqual(
    TOLERANCES.virtualBoardLayerMs.abs * t.measured_layers,
  );
}

describe('kpusim board profile with single-layer models (no set_layers: kmodel v4, CanMV)', () => {
  it.skipIf(!HAS_SHARED)(
    `times the KPU layers of a v4 model with builder replicas; the nncase 0.2 CPU ops are "not measured"${HAS_SHARED ? '' : ` (${SHARED_SKIP_REASON})`}`,
    async () => {
      const r = await cli(
        'board',
        'profile',
        kmodelPath('canmv_mnist_cnn_v4'),
        '--port',
        'virtual',
        '--repeat',
        '1',
        '--json',
      );
      expect(r.code, r.err).toBe(0);
      const doc = JSON.parse(r.out);
      expect(doc.method).toBe('layer-models');
      const layers: LayerRow[] = doc.layers;
      expect(layers.length).toBe(13);
      for (const l of layers) {
        if (l.unit === 'KPU') {
          expect(l.board_ms, `layer ${l.index}`).not.toBeNull();
          expect(Math.abs(l.board_ms! - l.predicted_ms), `layer ${l.index}`).toBeLessThanOrEqual(
            TOLERANCES.virtualBoardLayerMs.abs,
          );
        } else {
          // nncase 0.2's CPU ops: no v3 replica runs their code; never a made-up figure.
          expect(l.board_ms, `layer ${l.index}`).toBeNull();
          expect(l.error_pct).toBeNull();
          expect(l.reason).toMatch(/nncase 0\.2 runtime \(kmodel v4\)/);
        }
      }
      // Layer 3 sends its output to main memory by the v4 runtime's CPU copy, which no v3 replica runs: priced.
      expect(layers[3].priced_ms).toBeGreaterThan(0);
      // The whole model is timed too (a grayscale input; MaixPy's forward of a v4 model after set_outputs).
      checkSum(doc);
      expect(doc.runs.at(-1).name).toBe('whole');
    },
    120_000,
  );

  it.skipIf(!HAS_SHARED)(
    `a virtual board with a slower pooling unit shows it in the pooled layers only${HAS_SHARED ? '' : ` (${SHARED_SKIP_REASON})`}`,
    async () => {
      const slowPool = withParameters(TIMING_PARAMS, {
        'kpu.poolCyclesPerRowLine': 3 * TIMING_PARAMS.kpu.poolCyclesPerRowLine,
      });
      const file = join(dir, 'slow-pool.json');
      writeFileSync(
        file,
        timingFileJson(timingFileOf(slowPool, { firmware: 'test', virtual: true, cpu_mhz: 400, kpu_mhz: 400 })),
      );
      const r = await cli(
        'board',
        'profile',
        kmodelPath('canmv_mnist_cnn_v4'),
        '--port',
        `timed:${file}`,
        '--repeat',
        '1',
        '--json',
      );
      expect(r.code, r.err).toBe(0);
      const layers: LayerRow[] = JSON.parse(r.out).layers;
      // Layers 0-3 pool (max_2_s2), layer 9 does not. The extra time of a pooled layer is twice its
      // pooling cycles at the built-in rate: poolCyclesPerRowLine × output channels × input row lines
      // (a row of w > 32 takes ceil(w / 64) lines, of w ≤ 32 one), at the KPU's 400 MHz.
      const rowLines = [
        [32, 112 * 2],
        [64, 56],
        [128, 28],
        [256, 14],
      ];
      rowLines.forEach(([oc, lines], i) => {
        const extra = (2 * TIMING_PARAMS.kpu.poolCyclesPerRowLine * oc * lines) / 400_000;
        expect(layers[i].board_ms! - layers[i].predicted_ms, `layer ${i}`).toBeGreaterThan(extra / 2);
        expect(Math.abs(layers[i].board_ms! - layers[i].predicted_ms - extra), `layer ${i}`).toBeLessThanOrEqual(
          TOLERANCES.virtualBoardLayerMs.abs,
        );
      });
      expect(Math.abs(layers[9].board_ms! - layers[9].predicted_ms)).toBeLessThanOrEqual(
        TOLERANCES.virtualBoardLayerMs.abs,
      );
    },
    120_000,
  );

  it("times a bundled model through CanMV's maix.KPU() on --port virtual:canmv", async () => {
    const r = await cli(
      'board',
      'profile',
      join(REPO_ROOT, 'models', 'face_landmarks5_128.kmodel'),
      '--port',
      'virtual:canmv',
      '--kpu-api',
      'canmv-kpu',
      '--repeat',
      '1',
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.method).toBe('layer-models');
    expect(doc.kpu_api).toBe('canmv-kpu');
    const layers: LayerRow[] = doc.layers;
    for (const l of layers)
      if (l.board_ms !== null)
        expect(Math.abs(l.board_ms - l.predicted_ms), `layer ${l.index} ${l.type}`).toBeLessThanOrEqual(
          TOLERANCES.virtualBoardLayerMs.abs,
        );
    // The builder replicates the SDK's convs, resize, upload, dequantize, pool and FC; not QUANTIZED_CONCAT.
    expect(layers.filter((l) => l.board_ms === null).map((l) => l.type)).toEqual(['QUANTIZED_CONCAT']);
    checkSum(doc);
    // set_layers is MaixPy's: refused with CanMV's API.
    const s = await cli(
      'board',
      'profile',
      join(REPO_ROOT, 'models', 'face_landmarks5_128.kmodel'),
      '--port',
      'virtual:canmv',
      '--kpu-api',
      'canmv-kpu',
      '--method',
      'set_layers',
    );
    expect(s.code).toBe(2);
    expect(s.err).toMatch(/use --method layer-models/);
  }, 120_000);
});

describe.skipIf(!socatAvailable())(
  `kpusim board serve --timing FILE${socatAvailable() ? '' : ' (skipped: socat is not installed)'}`,
  () => {
    it("serves a board whose clock runs on the timing file: board profile over the pty sees that board's times", async () => {
      const m = calibrationSuite('small').find((s) => s.name === 'conv3x3_32_20x15')!;
      const model = join(dir, 'pty-conv.kmodel');
      writeFileSync(model, m.kmodel);
      const pty = join(dir, 'ttyKPUSIM');
      const child = spawn(
        process.execPath,
        [join(REPO_ROOT, 'bin', 'kpusim.js'), 'board', 'serve', '--pty', pty, '--timing', truthFile],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let err = '';
      child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
      const ended = new Promise<void>((res) => child.once('exit', () => res()));
      try {
        const t0 = Date.now();
        while (!existsSync(pty) && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 50));
        expect(existsSync(pty), err).toBe(true);
        const args = ['board', 'profile', model, '--port', pty, '--repeat', '1', '--json'];
        const on = await cli(...args, '--timing', truthFile);
        expect(on.code, on.err).toBe(0);
        for (const l of JSON.parse(on.out).layers)
          expect(Math.abs(l.board_ms - l.predicted_ms), `layer ${l.index}`).toBeLessThanOrEqual(
            TOLERANCES.virtualBoardLayerMs.abs,
          );
        const off = await cli(...args);
        expect(off.code, off.err).toBe(0);
        expect(Math.abs(JSON.parse(off.out).total.predicted_ms - JSON.parse(on.out).total.board_ms)).toBeGreaterThan(
          0.01,
        );
      } finally {
        child.kill('SIGTERM');
        await ended;
      }
    }, 120_000);
  },
);
