/**
 * Calibration against the virtual board, in process: the emulated MaixPy board's clock is the timing
 * model, so timing the calibration suite on it and fitting must give back the parameters it runs
 * with: the built-in ones (the fit starting from a deliberately wrong guess), and a perturbed set
 * handed to the board as a timing file. Also: timing files round-trip and bad ones are refused.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { calibrate, calibrationTable, type Calibration } from '../src/hil/calibrate/calibrate.js';
import { inProcessBoard } from '../src/hil/calibrate/in-process.js';
import { calibrationSuite, type SuiteModel } from '../src/hil/calibrate/suite.js';
import {
  loadTimingFile,
  parameterValues,
  parseTimingFile,
  TIMING_PARAMETERS,
  TIMING_PARAMS,
  timingFileJson,
  timingFileOf,
  withParameters,
  type TimingParams,
} from '../src/kpu/timing/index.js';
import { CASE_TOLERANCE, PARAM_TOLERANCE, perturbed } from './fixtures/calibration.js';

function check(c: Calibration, truth: TimingParams, label: string): void {
  const want = parameterValues(truth);
  const got = parameterValues(c.fit.params);
  const lines = [`${label}: parameter (fitted)                       true          recovered     error`];
  let worst = 0;
  for (const n of c.fit.fitted) {
    const err = (got[n] - want[n]) / want[n];
    worst = Math.max(worst, Math.abs(err));
    lines.push(
      `${n.padEnd(44)} ${want[n].toPrecision(6).padStart(12)} ${got[n].toPrecision(6).padStart(12)} ${(100 * err).toFixed(3).padStart(8)}%`,
    );
  }
  console.log(`${lines.join('\n')}\nworst ${(100 * worst).toFixed(3)} %\n${calibrationTable(c)}`);
  for (const n of c.fit.fitted) expect(Math.abs(got[n] - want[n]) / want[n], n).toBeLessThanOrEqual(PARAM_TOLERANCE);
  for (const k of c.cases)
    expect(Math.abs(k.afterMs - k.measuredMs) / k.measuredMs, k.name).toBeLessThanOrEqual(CASE_TOLERANCE);
  // The suite reaches every KPU, v3 transfer and SDK-runtime parameter the builder can exercise.
  for (const n of [
    'kpu.cyclesPerLine',
    'kpu.cyclesPerOutputChannel',
    'kpu.weightCyclesPerByte',
    'kpu.weightChunkReloadCycles',
    'kpu.poolCyclesPerRowLine',
    'kpu.depthwiseCyclesPerLine',
    'kpu.depthwiseCyclesPerChannel',
    'kpu.launchCpuCycles',
    'transfers.uploadDmaCpuCyclesPerByte',
    'transfers.uploadCpuCyclesPerByte',
    'transfers.downloadDmaKpuCyclesPerByte',
    'cpu.runOverheadCycles',
    'cpu.sdk-dequantize.perUnitCycles',
    'cpu.sdk-fully-connected.perUnitCycles',
  ])
    expect(c.fit.fitted).toContain(n);
}

describe('calibration against the in-process virtual board', () => {
  let models: SuiteModel[];
  let dir: string;
  beforeAll(() => {
    models = calibrationSuite('small');
    dir = mkdtempSync(join(tmpdir(), 'kpusim-timing-test-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('recovers the built-in parameters from a wrong starting guess', async () => {
    const c = await calibrate(inProcessBoard(), {
      models,
      repeats: 1,
      targetMs: 5,
      start: perturbed(TIMING_PARAMS, [1.3, 0.75, 1.15]),
    });
    check(c, TIMING_PARAMS, 'built-in board');
    expect(c.board.virtual).toBe(true);
  });

  it('recovers a perturbed board given as a timing file (board serve --timing)', async () => {
    const truth = perturbed(TIMING_PARAMS, [0.8, 1.25, 1.1, 0.9]);
    const file = join(dir, 'other.json');
    writeFileSync(
      file,
      timingFileJson(timingFileOf(truth, { firmware: 'test', virtual: true, cpu_mhz: 400, kpu_mhz: 400 })),
    );
    const loaded = loadTimingFile(file);
    const c = await calibrate(inProcessBoard({ timing: loaded.params }), { models, repeats: 1, targetMs: 5 });
    check(c, truth, 'perturbed board');
    // The calibration's own file reads back to the fitted parameters.
    const back = parseTimingFile(timingFileJson(c.file), 'fitted.json');
    expect(parameterValues(withParameters(TIMING_PARAMS, back.parameters))).toEqual(parameterValues(c.fit.params));
    expect(back.cases?.length).toBe(models.length);
  });
});

describe('timing files', () => {
  const board = {
    firmware: 'MaixPy',
    version: 'v0.6.2',
    virtual: false,
    port: '/dev/ttyUSB0',
    cpu_mhz: 400,
    kpu_mhz: 300,
  };

  it('round-trip every parameter and the clocks', () => {
    const p = perturbed(TIMING_PARAMS, [1.01, 0.97]);
    const doc = timingFileOf(p, board, { fitted: ['kpu.cyclesPerLine'], cases: [{ name: 'a', measured_ms: 1.5 }] });
    expect(Object.keys(doc.parameters).sort()).toEqual(TIMING_PARAMETERS.map((t) => t.name).sort());
    const back = parseTimingFile(timingFileJson(doc));
    expect(back).toEqual(doc);
    const dir = mkdtempSync(join(tmpdir(), 'kpusim-timing-rt-'));
    try {
      writeFileSync(join(dir, 't.json'), timingFileJson(doc));
      const loaded = loadTimingFile(join(dir, 't.json'));
      expect(parameterValues(loaded.params)).toEqual(parameterValues(p));
      expect(loaded.params.clocks).toEqual({ kpuMhz: 300, cpuMhz: 400 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad files with a typed error naming the file and the field', () => {
    const good = JSON.parse(timingFileJson(timingFileOf(TIMING_PARAMS, board))) as Record<string, unknown>;
    const cases: [unknown, RegExp][] = [
      ['not json', /invalid JSON/],
      ['[]', /JSON object/],
      [JSON.stringify({ ...good, schema_version: 2 }), /schema_version/],
      [JSON.stringify({ ...good, kind: 'x' }), /kind/],
      [JSON.stringify({ ...good, board: { ...board, cpu_mhz: 0 } }), /board\.cpu_mhz/],
      [JSON.stringify({ ...good, board: { ...board, virtual: 'no' } }), /board\.virtual/],
      [JSON.stringify({ ...good, parameters: { 'kpu.cyclesPerLne': 1 } }), /unknown parameter "kpu\.cyclesPerLne"/],
      [JSON.stringify({ ...good, parameters: { 'kpu.cyclesPerLine': -1 } }), /kpu\.cyclesPerLine.*outside/],
      [JSON.stringify({ ...good, parameters: { 'kpu.cyclesPerLine': '1' } }), /finite number/],
      [JSON.stringify({ ...good, cases: [{ name: 'a' }] }), /cases\[0\]\.measured_ms/],
      [JSON.stringify({ ...good, fitted: ['nope'] }), /fitted/],
    ];
    for (const [text, re] of cases) {
      let err: unknown;
      try {
        parseTimingFile(String(text), 'board.json');
      } catch (e) {
        err = e;
      }
      expect(err, String(text).slice(0, 60)).toBeInstanceOf(UsageError);
      expect((err as UsageError).code).toBe('BAD_FILE');
      expect((err as Error).message).toMatch(/^board\.json: /);
      expect((err as Error).message).toMatch(re);
    }
  });

  it('a parameter the file does not name keeps its built-in value', () => {
    const doc = parseTimingFile(
      JSON.stringify({
        schema_version: 1,
        kind: 'kpusim-timing',
        board,
        parameters: { 'kpu.cyclesPerLine': 2 },
      }),
    );
    const p = withParameters(TIMING_PARAMS, doc.parameters);
    expect(p.kpu.cyclesPerLine).toBe(2);
    expect(p.kpu.cyclesPerOutputChannel).toBe(TIMING_PARAMS.kpu.cyclesPerOutputChannel);
  });
});
