/**
 * The whole loop over a real pseudo-terminal: `kpusim board serve --pty` in a child process, and
 * the `kpusim board` client in other child processes opening that device with serialport, as
 * they open a board's USB serial port. `board run` gives every output byte of `kpusim run` and a
 * board time equal to the timing model's prediction; `board exec` prints what `kpusim maixpy`
 * prints for the same camera frames; SIGTERM ends the server with exit 0 and its link removed.
 * Needs socat (Debian package `socat`; .ci/run installs it) and the compiled CLI (npm test builds).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Lcg } from './lcg.js';
import { REPO_ROOT, runKpusim, type ChildRun } from './shared.js';

const CLI = join(REPO_ROOT, 'bin', 'kpusim.js');
const BUILT = existsSync(join(REPO_ROOT, 'dist', 'hil', 'virtual', 'worker.js'));
const SOCAT = !spawnSync('socat', ['-V'], { stdio: 'ignore' }).error;
const SKIP = !BUILT
  ? 'skipped: the served board runs compiled code (dist/); run npm run build'
  : !SOCAT
    ? 'skipped: socat is not installed (apt-get install socat); board serve --pty needs it'
    : '';
if (SKIP) console.warn(SKIP);

const MODEL = join(REPO_ROOT, 'models', 'face_landmarks5_128.kmodel');
const FRAMES = [
  join(REPO_ROOT, 'examples', 'images', 'grace_hopper.jpg'),
  join(REPO_ROOT, 'examples', 'images', 'astronaut.jpg'),
];

const kpusim = (args: string[], timeoutMs = 90_000): Promise<ChildRun> => runKpusim(args, timeoutMs);

/** Starts `kpusim board serve --pty PATH …` and resolves once it says it is serving. */
function serve(path: string, extra: string[]): Promise<{ child: ChildProcess; err: () => string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [CLI, 'board', 'serve', '--pty', path, ...extra], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    const timer = setTimeout(() => rej(new Error(`board serve did not start within 30 s:\n${err}`)), 30_000);
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      if (err.includes(`kpusim board: serving on ${path}\n`)) {
        clearTimeout(timer);
        res({ child, err: () => err });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`board serve ended (${code}) before serving:\n${err}`));
    });
  });
}

describe.skipIf(SKIP !== '')('kpusim board over a pseudo-terminal (board serve --pty)', () => {
  let dir: string, sd: string, tty: string;
  let server: { child: ChildProcess; err: () => string };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kpusim-pty-'));
    sd = join(dir, 'sd');
    mkdirSync(sd);
    // The model is on the card before the board boots (a 150 kB upload takes about 15 s at a real
    // board's 115200 baud); board run still checks it by crc32 on the board before using it.
    copyFileSync(MODEL, join(sd, 'face_landmarks5_128.kmodel'));
    tty = join(dir, 'ttyK210');
    server = await serve(tty, ['--sd', sd, '--uart-buffer', '2048', '--camera', ...FRAMES]);
  }, 40_000);

  afterAll(() => {
    if (server?.child.exitCode === null) server.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('board run: output bytes identical to kpusim run, board time equal to the prediction', async () => {
    const input = join(dir, 'in.bin');
    const x = new Lcg(7).bytes(3 * 128 * 128);
    writeFileSync(input, x);
    const onBoard = join(dir, 'board-out');
    const onPc = join(dir, 'pc-out');
    const b = await kpusim([
      'board',
      'run',
      MODEL,
      '--input',
      input,
      '--port',
      tty,
      '--repeat',
      '2',
      '--out',
      onBoard,
      '--json',
    ]);
    expect(b.err).not.toMatch(/Error|error:/);
    expect(b.code).toBe(0);
    const doc = JSON.parse(b.out.toString());
    expect(doc.schema_version).toBe(1);
    expect(doc.board).toMatchObject({ flavour: 'maixpy', virtual: true });
    expect(doc.upload).toMatchObject({ uploaded: false });
    const r = await kpusim(['run', MODEL, '--input', input, '--out', onPc]);
    expect(r.code).toBe(0);
    expect(doc.outputs.length).toBeGreaterThan(0);
    for (const o of doc.outputs as { index: number; exact: boolean }[]) {
      expect(o.exact).toBe(true);
      expect(readFileSync(join(onBoard, `board_output_${o.index}.bin`))).toEqual(
        readFileSync(join(onPc, `output_${o.index}.bin`)),
      );
    }
    expect(doc.time.board_runs_ms.length).toBe(2);
    // ticks_us counts whole microseconds: the board's median is the prediction to within 1 µs
    expect(Math.abs(doc.time.board_ms - doc.time.predicted_ms)).toBeLessThanOrEqual(0.001);
  }, 120_000);

  test('board exec prints what kpusim maixpy prints for the same camera frames', async () => {
    const script = join(dir, 'detect.py');
    writeFileSync(
      script,
      [
        'import sensor, KPU as kpu',
        'sensor.reset()',
        'sensor.set_pixformat(sensor.RGB565)',
        'sensor.set_framesize(sensor.QVGA)',
        'task = kpu.load(0x300000)',
        'a = (1.889, 2.5245, 2.9465, 3.94056, 3.99987, 5.3658, 5.155437, 6.92275, 6.718375, 9.01025)',
        'kpu.init_yolo2(task, 0.5, 0.3, 5, a)',
        'for i in range(2):',
        '    img = sensor.snapshot()',
        '    faces = kpu.run_yolo2(task, img) or []',
        "    print('frame', i, img.width(), img.height(), img.get_pixel(100, 80), len(faces))",
        '    for f in faces:',
        "        print(' ', f.rect(), '%.3f' % f.value())",
        '',
      ].join('\n'),
    );
    const b = await kpusim(['board', 'exec', script, '--port', tty]);
    const e = await kpusim(['maixpy', script, '--camera', ...FRAMES]);
    expect(e.code).toBe(0);
    expect(b.code).toBe(0);
    const printed = b.out.toString();
    expect(printed).toMatch(/^frame 0 320 240 \(\d+, \d+, \d+\) \d+\n/);
    expect(printed).toBe(e.out.toString());
  }, 120_000);

  test('board exec: a traceback is exit 1 naming the script line; the board answers afterwards', async () => {
    const script = join(dir, 'bad.py');
    writeFileSync(script, "print('before')\nx = {}\nprint(x['missing'])\n");
    const b = await kpusim(['board', 'exec', script, '--port', tty]);
    expect(b.code).toBe(1);
    expect(b.out.toString()).toBe('before\n');
    expect(b.err).toContain(`KeyError at ${script}:3`);
    const info = await kpusim(['board', 'info', '--port', tty, '--json']);
    expect(info.code).toBe(0);
    expect(JSON.parse(info.out.toString()).board).toMatchObject({ virtual: true });
  }, 60_000);

  test('the sandbox holds on a served board: import js fails over the serial device', async () => {
    const script = join(dir, 'escape.py');
    writeFileSync(script, 'import js\n');
    const b = await kpusim(['board', 'exec', script, '--port', tty]);
    expect(b.code).toBe(1);
    expect(b.err).toContain("ImportError: no module named 'js'");
  }, 60_000);

  test('SIGTERM ends the server with exit 0 and removes its link', async () => {
    const exited = new Promise<number | null>((res) => server.child.once('exit', (code) => res(code)));
    server.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(tty)).toBe(false);
  }, 30_000);
});
