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
  type TimingParams,
} from '../src/kpu/timing/index.js';
import { TOLERANCES } from '../src/tolerances.js';
import { HAS_SHARED, kmodelPath, REPO_ROOT, SHARED_SKIP_REASON } from './shared.js';

/** Parameters recovered within this fraction of the truth (the issue's criterion). */
const PARAM_TOLERANCE = 0.02;
/** Every suite case reproduced within this fraction. */
const CASE_TOLERANCE = 0.01;

const dir = mkdtempSync(join(tmpdir(), 'kpusim-board-timing-'));
let unregister: () => void;

/** Every parameter scaled by one of a few factors (never the clocks). */
function perturbed(base: TimingParams, factors: readonly number[]): TimingParams {
  const v = parameterValues(base);
  return withParameters(
    base,
    Object.fromEntries(Object.entries(v).map(([k, x], i) => [k, x * factors[i % factors.length]])),
  );
}

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
  unregister = registerPortScheme('timed', async (file) => {
    const vb = await createVirtualBoard({ timing: loadTimingFile(file).params, onWarning: () => {} });
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
    expect(rows[0]).toBe('index,type,unit,predicted_ms,board_ms,spread_ms,error_pct,raw_ms,correction_ms');
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
    `refuses a model without a per-layer lever (v4) with exit 2, before opening the board${HAS_SHARED ? '' : ` (${SHARED_SKIP_REASON})`}`,
    async () => {
      const r = await cli('board', 'profile', kmodelPath('canmv_mnist_cnn_v4'), '--port', '/dev/kpusim-no-such-port');
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(/kpu\.set_layers, which MaixPy offers for kmodel v3 only; this model is v4/);
    },
  );
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
