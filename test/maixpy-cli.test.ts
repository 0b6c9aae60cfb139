/** `kpusim maixpy` through the command line: exit codes, stdout/stderr, PNGs. */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { REPO, tempDir } from './fixtures/maixpy/helpers.js';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '',
    err = '';
  const code = await main(args, { out: (t) => (out += t), err: (t) => (err += t), errIsTty: false });
  return { code, out, err };
}

function script(source: string): string {
  const p = join(tempDir('cli'), 'script.py');
  writeFileSync(p, source);
  return p;
}

const HOPPER = join(REPO, 'examples/images/grace_hopper.jpg');

describe('kpusim maixpy (CLI)', () => {
  it('runs until the camera runs out: prints on stdout, summary on stderr, PNGs in --lcd-out, exit 0', async () => {
    const lcd = tempDir('cli-lcd');
    const s = script(
      'import sensor, lcd\nlcd.init()\nsensor.reset()\nwhile True:\n    img = sensor.snapshot()\n    print("frame", img.width(), img.height())\n    lcd.display(img)\n',
    );
    const r = await cli(['maixpy', s, '--camera', HOPPER, HOPPER, '--lcd-out', lcd]);
    expect(r.code).toBe(0);
    expect(r.out).toBe('frame 320 240\nframe 320 240\n');
    expect(r.err).toMatch(/^kpusim maixpy: the camera ran out of frames: 2 frames, 2 lcd images in /m);
    expect(readdirSync(lcd)).toEqual(['lcd-0001.png', 'lcd-0002.png']);
  });

  it('--json prints one document with the script output, the end reason, frames and board time', async () => {
    const s = script('import sensor\nsensor.reset()\nwhile True:\n    sensor.snapshot()\n    print("x")\n');
    const r = await cli(['maixpy', s, '--camera', HOPPER, HOPPER, HOPPER, '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc).toMatchObject({
      schema_version: 1,
      end: 'camera-exhausted',
      exit_code: 0,
      frames: 3,
      output: 'x\nx\nx\n',
      error: null,
    });
    expect(doc.frame_log.map((f: { index: number }) => f.index)).toEqual([1, 2, 3]);
    expect(doc.board_ms).toBeGreaterThan(0);
  });

  it("KPUSIM_TRACE=1: the run's milestones on stderr in order, times since the process started; none without it", async () => {
    const s = script(
      'import sensor, lcd, KPU as kpu\nt = kpu.load(0x400000)\nlcd.init()\nsensor.reset()\nwhile True:\n    lcd.display(sensor.snapshot())\n',
    );
    const quiet = await cli(['maixpy', s, '--camera', HOPPER]);
    expect(quiet.code).toBe(0);
    expect(quiet.err).not.toContain('kpusim trace');
    const before = performance.now();
    process.env.KPUSIM_TRACE = '1';
    let r;
    try {
      r = await cli(['maixpy', s, '--camera', HOPPER]);
    } finally {
      delete process.env.KPUSIM_TRACE;
    }
    const after = performance.now();
    expect(r.code).toBe(0);
    const lines = [
      ...r.err.matchAll(
        /^kpusim trace: (\d+\.\d) ms (.*?)(?: \(CPU: (?:main thread (\d+\.\d) ms, )?process (\d+\.\d) ms\))?$/gm,
      ),
    ];
    expect(lines.map((m) => m[2])).toEqual([
      'command started',
      'micropython loaded',
      'booted',
      'kpu_load_flash',
      'sensor_snapshot',
      'lcd_display',
      'run ended',
    ]);
    const times = lines.map((m) => Number(m[1]));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    // the CPU time so far, the process's on every line and the running thread's on Linux: never decreasing,
    // the thread's never more than the process's
    const proc = lines.map((m) => Number(m[4]));
    expect(proc.every((c) => c > 0)).toBe(true);
    expect([...proc].sort((a, b) => a - b)).toEqual(proc);
    if (process.platform === 'linux') {
      const thread = lines.map((m) => Number(m[3]));
      expect(thread.every((c, i) => c > 0 && c <= proc[i] + 0.1)).toBe(true);
      expect([...thread].sort((a, b) => a - b)).toEqual(thread);
    }
    expect(times[0]).toBeGreaterThanOrEqual(Math.floor(before * 10) / 10);
    expect(times[times.length - 1]).toBeLessThanOrEqual(after);
  });

  it('a Python error: traceback with the script file and line on stderr, exit 1', async () => {
    const s = script('x = 1\ny = undefined_name\n');
    const r = await cli(['maixpy', s]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`File "${s}", line 2, in <module>`);
    expect(r.err).toMatch(/NameError: name 'undefined_name' isn't defined/);
  });

  it('bad arguments are usage errors (exit 2)', async () => {
    const s = script('pass\n');
    expect((await cli(['maixpy', s, '--camera', join(REPO, 'no/such/folder')])).code).toBe(2);
    expect((await cli(['maixpy', s, '--flash', 'nonsense'])).code).toBe(2);
    expect((await cli(['maixpy', s, '--key-press', '0'])).code).toBe(2);
    expect((await cli(['maixpy', join(REPO, 'no/such/script.py')])).code).toBe(2);
  });

  it.skipIf(!existsSync(join(REPO, 'dist/bin/cli.js')))(
    'the built binary (camera files decoded ahead in a worker) prints, writes and fails as the command in-process does',
    async () => {
      const s = script(
        'import sensor, lcd\nlcd.init()\nsensor.reset()\nwhile True:\n    img = sensor.snapshot()\n' +
          '    print(img.get_pixel(10, 10), img.get_pixel(200, 100))\n    lcd.display(img)\n',
      );
      const dir = tempDir('cli-prefetch');
      const bad = join(dir, 'bad.jpg');
      writeFileSync(bad, 'not a jpeg');
      const CAMERA = join(REPO, 'examples/images/camera.png');
      const bin = (args: string[]) => {
        const r = spawnSync(process.execPath, [join(REPO, 'bin/kpusim.js'), ...args], { encoding: 'utf8' });
        return { code: r.status, out: r.stdout, err: r.stderr };
      };
      const same = (t: string, lcd?: string) =>
        t.replace(/emulator \d+(\.\d+)? s/g, 'emulator T s').replaceAll(lcd ?? '\0', 'LCD');
      const runs: [string[], string?][] = [
        [['--camera', HOPPER, CAMERA, HOPPER, '--lcd-out'], 'lcd'],
        [['--camera', CAMERA, '--camera-fit', 'fit', '--lcd-out'], 'lcd'],
        [['--camera', HOPPER, bad]],
        [['--camera', bad, HOPPER]],
        [['--camera', HOPPER, '--frames', 'x']],
        [['--camera', HOPPER, '--no-such-option']],
      ];
      for (const [args, lcd] of runs) {
        const a = lcd && join(dir, `${lcd}-a-${runs.findIndex((r) => r[0] === args)}`),
          b = lcd && join(dir, `${lcd}-b-${runs.findIndex((r) => r[0] === args)}`);
        const inProcess = await cli(['maixpy', s, ...args, ...(a ? [a] : [])]);
        const built = bin(['maixpy', s, ...args, ...(b ? [b] : [])]);
        expect(built.code, args.join(' ')).toBe(inProcess.code);
        expect(built.out).toBe(inProcess.out);
        expect(same(built.err, b)).toBe(same(inProcess.err, a));
        if (a && b) {
          const pngs = readdirSync(a).sort();
          expect(pngs.length).toBeGreaterThan(0);
          expect(readdirSync(b).sort()).toEqual(pngs);
          for (const f of pngs) expect(readFileSync(join(b, f)).equals(readFileSync(join(a, f)))).toBe(true);
        }
      }
    },
  );
});
