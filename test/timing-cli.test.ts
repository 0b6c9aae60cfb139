/** The profile, estimate and check commands, parsed by yargs as the CLI entry point does. */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { describe, expect, it } from 'vitest';
import { checkCommand } from '../src/cli/check.js';
import type { Command } from '../src/cli/command.js';
import { classifyError, EXIT, type Io } from '../src/cli/common.js';
import { estimateCommand } from '../src/cli/estimate.js';
import { profileCommand } from '../src/cli/profile.js';
import { TIMING_PARAMS, timingFileJson, timingFileOf, withParameters } from '../src/kpu/timing/index.js';
import { HAS_SHARED, kmodelPath, REPO_ROOT, SHARED_SKIP_REASON } from './shared.js';

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => (out += t), err: (t) => (err += t), errIsTty: false };
  let code: number = EXIT.OK;
  let usage: string | undefined;
  const parser = yargs(argv)
    .strict()
    .exitProcess(false)
    .fail((msg, e) => {
      if (e) throw e;
      usage = msg;
    });
  for (const c of [profileCommand, estimateCommand, checkCommand] as Command[]) {
    parser.command({
      command: c.command,
      describe: c.describe,
      builder: c.builder,
      handler: async (a: Record<string, unknown>) => (code = await c.run(a, io)),
    } as never);
  }
  try {
    await parser.parseAsync();
  } catch (e) {
    const c = classifyError(e);
    return { code: c.code, out, err: err + c.message };
  }
  if (usage !== undefined) return { code: EXIT.BAD_INPUT, out, err: err + usage };
  return { code, out, err };
}

describe('kpusim estimate conv', () => {
  it('prints { ms, cycles } as JSON, matching the Sipeed 256×256 row within 15 %', async () => {
    const r = await cli([
      'estimate',
      'conv',
      '--width',
      '256',
      '--height',
      '256',
      '--in-channels',
      '128',
      '--out-channels',
      '128',
      '--kernel',
      '3',
      '--weight-bits',
      '16',
      '--kpu-mhz',
      '300',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.schema_version).toBe(1);
    expect(Math.abs(doc.ms - 57.756) / 57.756).toBeLessThan(0.15);
    expect(Number.isInteger(doc.cycles)).toBe(true);
    // 128 maps of 256×256 are 8 MiB: Sipeed's large rows cannot hold real data in AI SRAM (the 15-bit
    // line addresses wrap), so only their timing is meaningful, and the report says so.
    expect(doc.fits_ai_sram).toBe(false);
  });

  it('human output, pooling by name, depthwise', async () => {
    const r = await cli([
      'estimate',
      'conv',
      '--width',
      '320',
      '--height',
      '240',
      '--in-channels',
      '3',
      '--out-channels',
      '16',
      '--pool',
      'max_2_s2',
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/time: 0\.2\d\d ms/);
    const dw = await cli([
      'estimate',
      'conv',
      '--width',
      '20',
      '--height',
      '15',
      '--in-channels',
      '256',
      '--depthwise',
      '--json',
    ]);
    expect(JSON.parse(dw.out).ms).toBeLessThan(0.05);
  });

  it('an over-size layer is reported as not fitting AI SRAM', async () => {
    const r = await cli([
      'estimate',
      'conv',
      '--width',
      '512',
      '--height',
      '256',
      '--in-channels',
      '64',
      '--out-channels',
      '64',
      '--json',
    ]);
    expect(JSON.parse(r.out).fits_ai_sram).toBe(false);
  });

  it('bad usage exits 2', async () => {
    expect((await cli(['estimate', 'conv', '--width', '0', '--height', '4', '--in-channels', '1'])).code).toBe(2);
    expect(
      (
        await cli([
          'estimate',
          'conv',
          '--width',
          '8',
          '--height',
          '4',
          '--in-channels',
          '4',
          '--out-channels',
          '8',
          '--depthwise',
        ])
      ).code,
    ).toBe(2);
    expect(
      (await cli(['estimate', 'conv', '--width', '8', '--height', '4', '--in-channels', '4', '--pool', 'huge'])).code,
    ).toBe(2);
    expect(
      (await cli(['estimate', 'conv', '--width', '8', '--height', '4', '--in-channels', '4', '--kpu-mhz', '-1'])).code,
    ).toBe(2);
  });
});

describe.skipIf(!HAS_SHARED)('kpusim profile and check on the face detector', () => {
  const model = HAS_SHARED ? kmodelPath('maixpy_face_detect_0x300000_v3') : '';
  it(
    HAS_SHARED ? 'profile: table, JSON with one entry per layer, CSV, Chrome trace and SVG files' : SHARED_SKIP_REASON,
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'kpusim-profile-'));
      const text = await cli(['profile', model]);
      expect(text.code).toBe(0);
      expect(text.out).toMatch(/^KPU: \d+\.\d{3} ms$/m);
      expect(text.out).toMatch(/^Model: \d+\.\d{3} ms/m);
      const r = await cli([
        'profile',
        model,
        '--json',
        '--csv',
        join(dir, 'p.csv'),
        '--chrome-trace',
        join(dir, 'p.json'),
        '--svg',
        join(dir, 'p.svg'),
      ]);
      expect(r.code).toBe(0);
      const doc = JSON.parse(r.out);
      expect(doc.layers).toHaveLength(24);
      doc.layers.forEach((l: { index: number }, i: number) => expect(l.index).toBe(i));
      for (const k of ['index', 'type', 'ms', 'cycles', 'macs', 'ai_sram_bytes'])
        expect(doc.layers[0]).toHaveProperty(k);
      expect(doc.total_ms).toBeCloseTo(doc.kpu_ms + doc.cpu_ms + doc.overhead_ms, 9);
      expect(doc.memory).toMatchObject({ ai_sram_peak_bytes: 983040, ai_sram_peak_layer: 5, fits: true });
      expect(doc.memory.main_bytes).toBeGreaterThan(388776);
      expect(readFileSync(join(dir, 'p.csv'), 'utf8').trimEnd().split('\r\n')).toHaveLength(25);
      expect(JSON.parse(readFileSync(join(dir, 'p.json'), 'utf8')).traceEvents.length).toBeGreaterThan(24);
      expect(readFileSync(join(dir, 'p.svg'), 'utf8')).toMatch(/^<\?xml[^]*<\/svg>\n$/);
    },
  );

  it(HAS_SHARED ? 'check: 0 within budget, 3 with one line per violation' : SHARED_SKIP_REASON, async () => {
    const ok = await cli(['check', model, '--max-ms', '50', '--max-main-bytes', '3MiB', '--max-ai-sram-bytes', '1MiB']);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^ok: /);
    const bad = await cli([
      'check',
      model,
      '--max-ms',
      '5',
      '--max-main-bytes',
      '100KiB',
      '--max-ai-sram-bytes',
      '512KiB',
    ]);
    expect(bad.code).toBe(3);
    expect(bad.out.trimEnd().split('\n')).toHaveLength(3);
    const json = await cli(['check', model, '--max-ms', '5', '--json']);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.out)).toMatchObject({ ok: false });
    expect((await cli(['check', model, '--max-main-bytes', 'lots'])).code).toBe(2);
    expect((await cli(['check', '/nonexistent.kmodel'])).code).toBe(2);
  });
});

describe('--timing FILE (a board timing file replaces the built-in parameters)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kpusim-timing-cli-'));
  const board = {
    firmware: 'MaixPy',
    version: 'v0.6.2',
    virtual: false,
    port: '/dev/ttyUSB0',
    cpu_mhz: 400,
    kpu_mhz: 300,
  };
  // Twice the built-in cost per line: a 256×256 3×3 conv is dominated by the line stream.
  const slow = withParameters(TIMING_PARAMS, { 'kpu.cyclesPerLine': 2 * TIMING_PARAMS.kpu.cyclesPerLine });
  const file = join(dir, 'board-timing.json');
  writeFileSync(file, timingFileJson(timingFileOf(slow, board)));
  const conv = ['estimate', 'conv', '--width', '256', '--height', '256', '--in-channels', '128', '--kernel', '3'];
  const model = join(REPO_ROOT, 'models/face_detect_320x240.kmodel');

  it("estimate: the file's parameters and clocks; --kpu-mhz still overrides", async () => {
    const base = JSON.parse((await cli([...conv, '--json'])).out) as { ms: number; cycles: number; timing: unknown };
    const r = await cli([...conv, '--json', '--timing', file]);
    expect(r.code).toBe(EXIT.OK);
    const doc = JSON.parse(r.out) as { ms: number; cycles: number; kpu_mhz: number; timing: { file: string } };
    expect(doc.kpu_mhz).toBe(300);
    expect(doc.timing.file).toBe(file);
    expect(base.timing).toEqual({ file: null, builtin: true });
    expect(doc.cycles / base.cycles).toBeGreaterThan(1.8);
    const at400 = JSON.parse((await cli([...conv, '--json', '--timing', file, '--kpu-mhz', '400'])).out) as {
      kpu_mhz: number;
    };
    expect(at400.kpu_mhz).toBe(400);
  });

  it.skipIf(!existsSync(model))('profile says which file and board the figures come from', async () => {
    const plain = await cli(['profile', model]);
    expect(plain.out).toMatch(/timing: built-in parameters/);
    const r = await cli(['profile', model, '--timing', file]);
    expect(r.code).toBe(EXIT.OK);
    expect(r.out).toContain(`timing: ${file}: board MaixPy v0.6.2 on /dev/ttyUSB0, CPU 400 MHz, KPU 300 MHz`);
    const a = JSON.parse((await cli(['profile', model, '--json'])).out) as { total_ms: number };
    const b = JSON.parse((await cli(['profile', model, '--json', '--timing', file])).out) as {
      total_ms: number;
      timing: { file: string; board: { firmware: string } };
    };
    expect(b.timing.board.firmware).toBe('MaixPy');
    expect(b.total_ms).toBeGreaterThan(a.total_ms);
  });

  it('a bad timing file is a usage error (exit 2) naming the file, with nothing printed on stdout', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ schema_version: 1, kind: 'kpusim-timing', board, parameters: { nope: 1 } }));
    for (const argv of [
      [...conv, '--timing', bad],
      [...conv, '--timing', join(dir, 'missing.json')],
      [...conv, '--timing', dir],
    ]) {
      const r = await cli(argv);
      expect(r.code, argv.join(' ')).toBe(EXIT.BAD_INPUT);
      expect(r.out).toBe('');
    }
    expect((await cli([...conv, '--timing', bad])).err).toMatch(
      /bad\.json: not a kpusim timing file: unknown parameter "nope"/,
    );
  });
});
