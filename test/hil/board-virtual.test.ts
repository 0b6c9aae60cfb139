/**
 * Every `kpusim board` command against kpusim's virtual board in this process (no pty): info,
 * push (through a 2048-byte receive buffer: nothing dropped), run (outputs identical to the
 * emulator's, board time = the prediction), check, golden record --on, exec (the same output as
 * `kpusim maixpy`, a traceback, a timeout), and a KeyboardInterrupt through the library.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Io } from '../../src/cli/common.js';
import { main } from '../../src/cli/main.js';
import { registerPortScheme } from '../../src/hil/connect.js';
import type { ByteLink } from '../../src/hil/link.js';
import { BoardSession } from '../../src/hil/session.js';
import { prepare } from '../../src/kpu/interpreter.js';
import { rgb565Route } from '../../src/hil/run-case.js';
import { loadKmodel } from '../../src/load.js';
import { HAS_SHARED, kmodelPath, REPO_ROOT, SHARED_SKIP_REASON } from '../shared.js';
import { Lcg } from '../lcg.js';

const VIRTUAL = resolve(REPO_ROOT, 'src/hil/virtual/index.ts');
const HAS_VIRTUAL = existsSync(VIRTUAL);
if (!HAS_SHARED) console.warn(`${SHARED_SKIP_REASON} (the gray-route and v5 cases)`);
if (!HAS_VIRTUAL) console.warn('skipped: the in-process virtual board (src/hil/virtual) is not in this tree');

interface Vb {
  link: ByteLink;
  dropped: number;
  close(): Promise<void>;
}
type Create = (o: Record<string, unknown>) => Promise<Vb>;

const MODEL = resolve(REPO_ROOT, 'models/face_landmarks5_128.kmodel');
const dir = mkdtempSync(join(tmpdir(), 'kpusim-board-virtual-'));
const sd = join(dir, 'sd');
let create: Create;
const boards: Vb[] = [];
let unregister = () => {};

beforeAll(async () => {
  if (!HAS_VIRTUAL) return;
  mkdirSync(sd);
  // The model is already on the SD card: `board run` finds the same crc32 there and skips the upload.
  copyFileSync(MODEL, join(sd, 'face_landmarks5_128.kmodel'));
  const path = VIRTUAL;
  create = ((await import(path)) as { createVirtualBoard: Create }).createVirtualBoard;
  unregister = registerPortScheme('vtest', async () => {
    const vb = await create({ sdDir: sd, uartBuffer: 2048, onWarning: () => {} });
    boards.push(vb);
    return {
      write: (d) => vb.link.write(d),
      onData: (l) => vb.link.onData(l),
      onClose: (l) => vb.link.onClose(l),
      setSignals: (s) => vb.link.setSignals(s),
      setBaud: (b) => vb.link.setBaud(b),
      close: async () => {
        await vb.close();
      },
    };
  });
});
afterAll(() => unregister());

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => (out += t), err: (t) => (err += t), errIsTty: false };
  const code = await main(argv, io);
  return { code, out, err };
}

function input(n: number, seed: number): Uint8Array {
  return new Lcg(seed).bytes(n);
}

describe.skipIf(!HAS_VIRTUAL)('kpusim board against the in-process virtual board', () => {
  it('info: a virtual MaixPy board with the SD card folder', async () => {
    const r = await cli('board', 'info', '--port', 'vtest:', '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.board).toMatchObject({ flavour: 'maixpy', virtual: true });
    expect(doc.kmodel_versions).toEqual([3, 4]);
    expect(doc.files).toContainEqual({ path: '/sd/face_landmarks5_128.kmodel', size: 150272, dir: false });
  });

  it('push through a 2048-byte receive buffer drops nothing; the same file again is not sent', async () => {
    const f = join(dir, 'blob.bin');
    const data = input(20_000, 3);
    writeFileSync(f, data);
    const r = await cli('board', 'push', f, '--port', 'vtest:', '--to', '/sd/blob.bin', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ uploaded: true, bytes: 20_000, to: '/sd/blob.bin' });
    expect(boards[boards.length - 1].dropped).toBe(0);
    expect(new Uint8Array(readFileSync(join(sd, 'blob.bin')))).toEqual(data);
    expect(readdirSync(sd).some((n) => n.endsWith('.part'))).toBe(false);
    const again = await cli('board', 'push', f, '--port', 'vtest:', '--to', '/sd/blob.bin', '--json');
    expect(JSON.parse(again.out).uploaded).toBe(false);
  });

  it('run: every output byte equals the emulator’s and the board time equals the prediction', async () => {
    const loaded = loadKmodel(MODEL);
    const p = prepare(loaded.model, {});
    const x = input(p.inputs[0].bytes, 11);
    const f = join(dir, 'in.bin');
    writeFileSync(f, x);
    const out = join(dir, 'run-out');
    const r = await cli(
      'board',
      'run',
      MODEL,
      '--input',
      f,
      '--port',
      'vtest:',
      '--repeat',
      '3',
      '--out',
      out,
      '--json',
    );
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.schema_version).toBe(1);
    expect(doc.board).toMatchObject({ flavour: 'maixpy', virtual: true });
    expect(doc.input).toMatchObject({ path: 'ai', exact: true });
    expect(doc.upload).toMatchObject({ uploaded: false });
    expect(doc.outputs.length).toBe(p.outputs.length);
    const want = p.run([x]).outputs;
    for (const o of doc.outputs) {
      expect(o.exact).toBe(true);
      expect(new Uint8Array(readFileSync(join(out, `board_output_${o.index}.bin`)))).toEqual(want[o.index]);
    }
    expect(doc.time.board_runs_ms.length).toBe(3);
    expect(doc.time.board_ms).toBeCloseTo(doc.time.predicted_ms, 2);
  });

  it("run --input-path rgb565: MaixPy's camera-pixel route (to_bytes by reference, pix_to_ai) on the virtual board", async () => {
    const loaded = loadKmodel(MODEL);
    const p = prepare(loaded.model, {});
    const [, h, w] = p.inputs[0].shape.slice(-3);
    // arbitrary bytes are not RGB565 pixels: the board sees the nearest RGB565 image, and the
    // emulator runs on that same image
    const f = join(dir, 'in565.bin');
    const run565 = () =>
      cli('board', 'run', MODEL, '--input', f, '--port', 'vtest:', '--input-path', 'rgb565', '--repeat', '1', '--json');
    writeFileSync(f, input(p.inputs[0].bytes, 21));
    const r = await run565();
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.input).toMatchObject({ path: 'rgb565', exact: false });
    expect(doc.outputs.every((o: { exact: boolean }) => o.exact)).toBe(true);
    // bytes that are an RGB565 image's expansion go through exactly
    const exactIn = rgb565Route(input(p.inputs[0].bytes, 21), w, h).ai;
    writeFileSync(f, exactIn);
    const e = await run565();
    expect(e.code).toBe(0);
    const d2 = JSON.parse(e.out);
    expect(d2.input).toMatchObject({ path: 'rgb565', exact: true });
    const want = p.run([exactIn]).outputs;
    for (const o of d2.outputs) expect(o.exact).toBe(true);
    expect(d2.outputs.length).toBe(want.length);
  });

  it.skipIf(!HAS_SHARED)(
    "run --input-path gray: MaixPy's grayscale route (to_grayscale, to_bytes, pix_to_ai) is exact",
    async () => {
      const mnist = kmodelPath('maixpy_mnist_v3.kmodel');
      const x = input(28 * 28, 9);
      const f = join(dir, 'mnist.bin');
      writeFileSync(f, x);
      const r = await cli(
        'board',
        'run',
        mnist,
        '--input',
        f,
        '--port',
        'vtest:',
        '--input-path',
        'gray',
        '--repeat',
        '1',
        '--out',
        join(dir, 'gray-out'),
        '--json',
      );
      expect(r.code).toBe(0);
      const doc = JSON.parse(r.out);
      expect(doc.input).toMatchObject({ path: 'gray', exact: true });
      const want = prepare(loadKmodel(mnist).model, {}).run([x]).outputs;
      for (const o of doc.outputs) {
        expect(o.exact).toBe(true);
        expect(new Uint8Array(readFileSync(join(dir, 'gray-out', `board_output_${o.index}.bin`)))).toEqual(
          want[o.index],
        );
      }
    },
  );

  it('Image.to_bytes() is a view of the pixels, as on the firmware: writing into it changes the image', async () => {
    const s = join(dir, 'view.py');
    writeFileSync(
      s,
      'import image\nimg = image.Image(size=(4, 2))\nb = img.to_bytes()\nprint(len(b), img.get_pixel(0, 0))\nb[:] = bytes([255]) * len(b)\nprint(img.get_pixel(3, 1) != (0, 0, 0))\n',
    );
    const r = await cli('board', 'exec', s, '--port', 'vtest:');
    expect(r.code).toBe(0);
    expect(r.out).toBe('16 (0, 0, 0)\nTrue\n');
  });

  it.skipIf(!HAS_SHARED)('run: a v5 model is refused before anything is uploaded (exit 2)', async () => {
    const v5 = kmodelPath('nncase_benchmark_mnist_cpu_v5.kmodel');
    const f = join(dir, 'm5.bin');
    writeFileSync(f, new Uint8Array(3136));
    const before = readdirSync(sd).sort();
    const r = await cli('board', 'run', v5, '--input', f, '--port', 'vtest:');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/kmodel v5; MaixPy loads v3, v4/);
    expect(readdirSync(sd).sort()).toEqual(before);
  });

  it('golden record --on keeps the board’s outputs; board check passes them and catches a change (exit 3)', async () => {
    const loaded = loadKmodel(MODEL);
    const p = prepare(loaded.model, {});
    const f = join(dir, 'case-a.bin');
    writeFileSync(f, input(p.inputs[0].bytes, 5));
    const g = join(dir, 'golden');
    const rec = await cli('golden', 'record', MODEL, '--inputs', f, '--out', g, '--on', 'vtest:');
    expect(rec.code).toBe(0);
    const meta = JSON.parse(readFileSync(join(g, 'case-a', 'case.json'), 'utf8'));
    expect(meta.board).toMatchObject({ virtual: true, flavour: 'maixpy' });
    const ok = await cli('board', 'check', MODEL, g, '--port', 'vtest:', '--json');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ passed: 1, failed: 0 });
    // the emulator agrees with the recorded board outputs too
    expect((await cli('golden', 'check', MODEL, g)).code).toBe(0);
    const o = join(g, 'case-a', 'output_0.bin');
    const b = readFileSync(o);
    b[0] ^= 1;
    writeFileSync(o, b);
    const bad = await cli('board', 'check', MODEL, g, '--port', 'vtest:', '--json');
    expect(bad.code).toBe(3);
    expect(JSON.parse(bad.out).cases[0].outputs[0].status).toBe('different');
  });

  it('exec prints what kpusim maixpy prints; a traceback is exit 1 with the script line', async () => {
    const s = join(dir, 'demo.py');
    writeFileSync(
      s,
      "import time\nprint('hello', 1 + 2)\nfor i in range(3):\n    print('line', i)\nx = [1]\nprint(x[4])\n",
    );
    const board = await cli('board', 'exec', s, '--port', 'vtest:');
    const emu = await cli('maixpy', s);
    expect(board.code).toBe(1);
    expect(emu.code).toBe(1);
    expect(board.out).toBe('hello 3\nline 0\nline 1\nline 2\n');
    expect(board.out).toBe(emu.out);
    expect(board.err).toContain(`File "${s}", line 6, in <module>`);
    expect(board.err).toContain('IndexError');
    expect(board.err).toContain(`kpusim board exec: IndexError at ${s}:6`);
  });

  it('exec: a script over --timeout is interrupted (exit 1), the board answers afterwards', async () => {
    const s = join(dir, 'spin.py');
    writeFileSync(s, 'n = 0\nwhile True:\n    n += 1\n');
    const r = await cli('board', 'exec', s, '--port', 'vtest:', '--timeout', '1');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/longer than 1\.0 s and was interrupted/);
  });

  it('prints stream while the script runs (exec --follow): on its first line the client stops an endless loop', async () => {
    const vb = await create({ onWarning: () => {} });
    try {
      const s = await BoardSession.open(vb.link);
      let seen = '';
      let asked = false;
      // Were the output held until the script ends, this loop would never end: no timer here.
      const r = await s.runScript("print('ready')\nn = 0\nwhile True:\n    n += 1\n", 'follow.py', {
        timeoutMs: 0,
        onOutput: (t) => {
          seen += t;
          if (!asked && seen.includes('ready\n')) {
            asked = true;
            void s.interrupt();
          }
        },
      });
      expect(seen).toBe('ready\n');
      expect(r.interrupted).toBe(true);
      expect(r.error?.type).toBe('KeyboardInterrupt');
      await s.close();
    } finally {
      await vb.close();
    }
  });

  it('KeyboardInterrupt: Ctrl-C from the client stops a camera-style loop', async () => {
    const vb = await create({ onWarning: () => {} });
    try {
      const s = await BoardSession.open(vb.link);
      const out: string[] = [];
      const run = s.runScript("print('start')\nn = 0\nwhile True:\n    n += 1\n", 'loop.py', {
        timeoutMs: 0,
        onOutput: (t) => out.push(t),
      });
      await new Promise((r) => setTimeout(r, 300));
      await s.interrupt();
      const r = await run;
      expect(out.join('')).toBe('start\n');
      expect(r.exitCode).toBe(1);
      expect(r.error?.type).toBe('KeyboardInterrupt');
      expect(r.error?.file).toBe('loop.py');
      expect(await s.eval('1 + 1')).toBe('2');
      await s.close();
    } finally {
      await vb.close();
    }
  });
});
