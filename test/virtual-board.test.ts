/**
 * The virtual board in process: MaixPy's REPL byte sequences (friendly and raw REPL, the raw-paste
 * probe answered as MicroPython v1.11 does, Ctrl-C in running code, Ctrl-D, Ctrl-E), a JavaScript
 * fault inside a module, the receive buffer of `--uart-buffer`, and the mapped folders.
 *
 * Expected bytes come from the firmware sources (micropython v1.11 lib/utils/pyexec.c, MaixPy-v1
 * and CanMV maixpy_main.c), as docs/virtual-board.md quotes them, not from the code under test.
 * The board's worker runs the compiled code: these tests need `npm run build` (npm test builds).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createVirtualBoard, type VirtualBoard, type VirtualBoardOptions } from '../src/hil/virtual/index.js';
import { REPO_ROOT } from './shared.js';

const BUILT = existsSync(join(REPO_ROOT, 'dist', 'hil', 'virtual', 'worker.js'));
if (!BUILT) console.warn('skipped: the virtual board runs compiled code (dist/); run npm run build');

const CAMERA = join(REPO_ROOT, 'examples', 'images', 'camera.png');
const RAW_BANNER = 'raw REPL; CTRL-B to exit\r\n';

/** Everything the board sent, as latin1 text, with waiting for a pattern. */
class Wire {
  text = '';
  private waiters: (() => void)[] = [];
  constructor(readonly board: VirtualBoard) {
    board.link.onData((c) => {
      this.text += Buffer.from(c).toString('latin1');
      for (const w of this.waiters.splice(0)) w();
    });
  }
  send(s: string): Promise<void> {
    return this.board.link.write(new Uint8Array(Buffer.from(s, 'latin1')));
  }
  /** Waits until the text since `from` ends with `pattern` (or matches it); returns that text. */
  async until(pattern: string | RegExp, from = 0, ms = 30_000): Promise<string> {
    const t0 = Date.now();
    for (;;) {
      const part = this.text.slice(from);
      if (typeof pattern === 'string' ? part.endsWith(pattern) : pattern.test(part)) return part;
      if (Date.now() - t0 > ms)
        throw new Error(`timed out waiting for ${String(pattern)}; got ${JSON.stringify(part)}`);
      await new Promise<void>((res) => {
        const timer = setTimeout(res, 200);
        this.waiters.push(() => {
          clearTimeout(timer);
          res();
        });
      });
    }
  }
  /** Sends `s` and returns what the board answers up to `end`. */
  async ask(s: string, end: string | RegExp): Promise<string> {
    const from = this.text.length;
    await this.send(s);
    return this.until(end, from);
  }
}

async function open(opts: VirtualBoardOptions = {}): Promise<Wire> {
  const warnings: string[] = [];
  const board = await createVirtualBoard({ onWarning: (t) => warnings.push(t), ...opts });
  const w = new Wire(board);
  await w.until('>>> ');
  return w;
}

describe.skipIf(!BUILT)('virtual board: friendly REPL', () => {
  let w: Wire;
  beforeAll(async () => {
    w = await open({ camera: [CAMERA] });
  });
  afterAll(async () => {
    await w?.board.close();
  });

  test('boots with the firmware line and a banner naming the virtual K210 and the flavour', () => {
    expect(w.text.startsWith('[MaixPy] init end\r\n')).toBe(true);
    expect(w.text).toMatch(/\r\nMicroPython v[^\r\n]*; kpusim virtual K210 \(MaixPy\) with kendryte-k210\r\n/);
    expect(w.text.endsWith('Type "help()" for more information.\r\n>>> ')).toBe(true);
  });

  test('echo, \\r\\n line endings, prompt', async () => {
    expect(await w.ask('print("a\\nb")\r', '>>> ')).toBe('print("a\\nb")\r\na\r\nb\r\n>>> ');
  });

  test('a traceback, then the REPL goes on', async () => {
    const out = await w.ask('1/0\r', '>>> ');
    expect(out).toBe(
      '1/0\r\nTraceback (most recent call last):\r\n  File "<stdin>", line 1, in <module>\r\nZeroDivisionError: divide by zero\r\n>>> ',
    );
    expect(await w.ask('6*7\r', '>>> ')).toBe('6*7\r\n42\r\n>>> ');
  });

  test('Ctrl-C on an empty line: a new prompt', async () => {
    expect(await w.ask('\x03', '>>> ')).toBe('\r\n>>> ');
  });

  test('Ctrl-E paste mode, Ctrl-D runs it', async () => {
    expect(await w.ask('\x05', '=== ')).toBe('\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== ');
    expect(await w.ask('x = 5\rprint(x * 2)\r', '=== print(x * 2)\r\n=== ')).toBe('x = 5\r\n=== print(x * 2)\r\n=== ');
    expect(await w.ask('\x04', '>>> ')).toBe('\r\n10\r\n>>> ');
  });

  test('Ctrl-C in a while True loop around sensor.snapshot()', async () => {
    const from = w.text.length;
    await w.send('\x05');
    await w.send(
      'import sensor\rsensor.reset()\rsensor.set_pixformat(sensor.RGB565)\rsensor.set_framesize(sensor.QQVGA)\r' +
        'n = 0\rwhile True:\r    img = sensor.snapshot()\r    n += 1\r    print("frame", n)\r\x04',
    );
    // the camera cycles through its one file: the loop never runs out
    await w.until(/frame 3\r\n/, from);
    await w.send('\x03');
    const out = await w.until(/KeyboardInterrupt: \r\n>>> $/, from);
    expect(out).toMatch(/Traceback \(most recent call last\):\r\n(.*\r\n)*KeyboardInterrupt: \r\n>>> $/);
    expect(await w.ask('n >= 3\r', '>>> ')).toBe('n >= 3\r\nTrue\r\n>>> ');
  });

  test('Ctrl-C in a pure Python loop', async () => {
    const from = w.text.length;
    await w.send('\x05i = 0\rwhile True:\r    i += 1\r    if i == 50000: print("running")\r\x04');
    await w.until(/running\r\n/, from);
    await w.send('\x03');
    const out = await w.until(/KeyboardInterrupt: \r\n>>> $/, from);
    expect(out).toContain('Traceback (most recent call last):\r\n  File "<stdin>", line ');
    expect(await w.ask('i > 50000\r', '>>> ')).toBe('i > 50000\r\nTrue\r\n>>> ');
  });

  test('a JavaScript fault inside a module is a Python exception; the REPL goes on', async () => {
    // sensor_snapshot told to write to address 0: the host's memory check throws a RangeError
    await w.ask('import _kpusim, _kpusim_js\r', '>>> ');
    const out = await w.ask('_kpusim.call("sensor_snapshot", 0, 0, 0, 8, 8, 0, 0, 0, 8, 8)\r', /Error[^\r]*\r\n>>> $/);
    expect(out).toMatch(/\r\nValueError: kpusim host: a buffer at 0 [^\r]*\r\n>>> $/);
    // the hand-over of a result with nothing pending: an exception in the host's plumbing
    const out2 = await w.ask('_kpusim.take(4)\r', /Error[^\r]*\r\n>>> $/);
    expect(out2).toMatch(/\r\nRuntimeError: kpusim host: nothing to take\r\n>>> $/);
    expect(await w.ask('1+1\r', '>>> ')).toBe('1+1\r\n2\r\n>>> ');
  });

  test('Ctrl-D: soft reboot (fresh interpreter), boot line, banner', async () => {
    await w.ask('gone = 1\r', '>>> ');
    const out = await w.ask('\x04', '>>> ');
    expect(out).toMatch(
      /^\r\n\[MaixPy\]: soft reboot\r\n\[MaixPy\] init end\r\nMicroPython [^\r\n]*; kpusim virtual K210 \(MaixPy\) with kendryte-k210\r\nType "help\(\)" for more information\.\r\n>>> $/,
    );
    expect(await w.ask('gone\r', '>>> ')).toContain("NameError: name 'gone' isn't defined\r\n>>> ");
  });
});

describe.skipIf(!BUILT)('virtual board: raw REPL', () => {
  let w: Wire;
  beforeAll(async () => {
    w = await open({ flavor: 'canmv' });
  });
  afterAll(async () => {
    await w?.board.close();
  });

  test('CanMV flavour: boot line and banner', () => {
    expect(w.text.startsWith('[CanMV] init end\r\n')).toBe(true);
    expect(w.text).toContain('; kpusim virtual K210 (CanMV) with kendryte-k210\r\n');
  });

  test('enter, exec, traceback framing, raw-paste probe, leave', async () => {
    // pyboard.py's enter_raw_repl: \r\x03\x03, then \r\x01
    expect(await w.ask('\r\x03\x03', '>>> \r\n>>> \r\n>>> ')).toBe('\r\n>>> \r\n>>> \r\n>>> ');
    expect(await w.ask('\r\x01', `${RAW_BANNER}>`)).toBe(`\r\n>>> \r\n${RAW_BANNER}>`);
    expect(await w.ask('print(6*7)\x04', '\x04>')).toBe('OK42\r\n\x04\x04>');
    expect(await w.ask('1/0\x04', '\x04>')).toBe(
      'OK\x04Traceback (most recent call last):\r\n  File "<stdin>", line 1, in <module>\r\nZeroDivisionError: divide by zero\r\n\x04>',
    );
    // v1.11 has no raw-paste: \x05A\x01 is a Ctrl-A (mpremote then falls back to the plain raw REPL)
    expect(await w.ask('\x05A\x01', `${RAW_BANNER}>`)).toBe(`${RAW_BANNER}>`);
    expect(await w.ask('print("still raw")\x04', '\x04>')).toBe('OK' + 'still raw\r\n\x04\x04>');
    // Ctrl-C in the raw REPL clears the line
    expect(await w.ask('garbage\x03print(1)\x04', '\x04>')).toBe('OK1\r\n\x04\x04>');
  });

  test('Ctrl-C interrupts a command; the framing holds', async () => {
    const from = w.text.length;
    await w.send('print("go")\nwhile True:\n  pass0 = 1\n\x04');
    await w.until(/OKgo\r\n/, from);
    await w.send('\x03');
    const out = await w.until('\x04>', from);
    expect(out.startsWith('OKgo\r\n\x04Traceback (most recent call last):\r\n')).toBe(true);
    expect(out.endsWith('\r\nKeyboardInterrupt: \r\n\x04>')).toBe(true);
  });

  test('soft reset from the raw REPL stays in the raw REPL; CanMV sends a stray NUL', async () => {
    await w.ask('kept = 1\x04', '\x04>');
    const out = await w.ask('\x04', `${RAW_BANNER}>`);
    expect(out).toBe(`OK\r\n[CanMV]: soft reboot\r\n\x00[CanMV] init end\r\n${RAW_BANNER}>`);
    expect(await w.ask('print(kept)\x04', '\x04>')).toContain("NameError: name 'kept' isn't defined");
    expect(await w.ask('\r\x02', '>>> ')).toMatch(
      /\r\nMicroPython [^\r\n]*\(CanMV\)[^\r\n]*\r\nType "help\(\)" for more information\.\r\n>>> $/,
    );
  });
});

describe.skipIf(!BUILT)('virtual board: receive buffer (--uart-buffer)', () => {
  // A command prints "go" and then runs for a while; what is sent meanwhile becomes the next command.
  const busy = 'print("go")\nfor i in range(400000):\n  pass\n\x04';
  const payload = `print(len('${'a'.repeat(300)}'))`;

  async function sendWhileBusy(w: Wire): Promise<string> {
    await w.ask('\r\x01', `${RAW_BANNER}>`);
    const from = w.text.length;
    await w.send(busy);
    await w.until(/OKgo\r\n/, from);
    await w.send(payload);
    await w.until('\x04\x04>', from);
    // whatever got through, end the line with a closing that makes it valid when it was cut
    return w.ask('\x04', '\x04>');
  }

  test('no limit: every byte arrives', async () => {
    const w = await open();
    try {
      expect(await sendWhileBusy(w)).toBe('OK300\r\n\x04\x04>');
      expect(w.board.dropped).toBe(0);
    } finally {
      await w.board.close();
    }
  });

  test('limit 64: bytes past 64 that arrive while code runs are dropped', async () => {
    const w = await open({ uartBuffer: 64 });
    try {
      const out = await sendWhileBusy(w);
      // the first 64 bytes: print(len(' (11 bytes) + 53 a's, the line cut: a syntax error
      expect(out).toContain('SyntaxError');
      expect(w.board.dropped).toBe(payload.length - 64);
      // when idle, the board takes any amount
      expect(await w.ask(payload + '\x04', '\x04>')).toBe('OK300\r\n\x04\x04>');
    } finally {
      await w.board.close();
    }
  });
});

describe.skipIf(!BUILT)('virtual board: mapped folders', () => {
  let dir: string, sd: string, flash: string, outside: string;
  let w: Wire;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kpusim-vboard-'));
    sd = join(dir, 'sd');
    flash = join(dir, 'flash');
    outside = join(dir, 'outside.txt');
    for (const d of [sd, flash]) rmSync(d, { recursive: true, force: true });
    mkdirSync(sd);
    mkdirSync(flash);
    writeFileSync(join(sd, 'hello.txt'), 'from the PC');
    writeFileSync(outside, 'untouched');
    w = await open({ sdDir: sd, flashDir: flash });
    // A link out of the folder made while the board runs (a link there at start is refused: sandbox)
    symlinkSync(outside, join(sd, 'link.txt'));
    await w.ask('\r\x01', `${RAW_BANNER}>`);
  });
  afterAll(async () => {
    await w?.board.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('files written into /sd and /flash land in the mapped folders', async () => {
    expect(await w.ask("print(open('/sd/hello.txt').read())\x04", '\x04>')).toBe('OKfrom the PC\r\n\x04\x04>');
    expect(
      await w.ask(
        "f = open('/sd/new.bin', 'wb')\nf.write(b'\\x00\\x01\\xff')\nf.close()\nf = open('/flash/boot.py', 'w')\nf.write('x = 1')\nf.close()\x04",
        '\x04>',
      ),
    ).toBe('OK\x04\x04>');
    expect([...readFileSync(join(sd, 'new.bin'))]).toEqual([0, 1, 255]);
    expect(readFileSync(join(flash, 'boot.py'), 'utf8')).toBe('x = 1');
    expect(
      await w.ask("import os\nos.rename('/sd/new.bin', '/sd/renamed.bin')\nos.remove('/sd/hello.txt')\x04", '\x04>'),
    ).toBe('OK\x04\x04>');
    expect(existsSync(join(sd, 'new.bin'))).toBe(false);
    expect([...readFileSync(join(sd, 'renamed.bin'))]).toEqual([0, 1, 255]);
    expect(existsSync(join(sd, 'hello.txt'))).toBe(false);
  });

  test('a write never follows a link out of the folder', async () => {
    const out = await w.ask("f = open('/sd/link.txt', 'w')\nf.write('escaped')\nf.close()\x04", '\x04>');
    expect(out).toContain('OSError');
    expect(readFileSync(outside, 'utf8')).toBe('untouched');
    // a soft reset maps the folder again, and a link out of it there stops the board (sandbox)
    rmSync(join(sd, 'link.txt'));
  });

  test('a link leading out of a mapped folder is a usage error before the board starts', async () => {
    const bad = join(dir, 'bad-sd');
    mkdirSync(bad);
    symlinkSync(outside, join(bad, 'out.txt'));
    await expect(createVirtualBoard({ sdDir: bad })).rejects.toThrow(/--sd .*leading out of the folder/);
    await expect(createVirtualBoard({ flashDir: bad })).rejects.toThrow(/--flash-dir .*leading out of the folder/);
  });

  test('the sandbox holds on the served board: no js module, no host files, no reaching into the bridge', async () => {
    expect(await w.ask('import js\x04', '\x04>')).toContain("ImportError: no module named 'js'");
    expect(await w.ask("open('/etc/passwd')\x04", '\x04>')).toContain('OSError');
    expect(await w.ask('print(1)\x04', '\x04>')).toBe('OK1\r\n\x04\x04>');
    // reaching into the JavaScript bridge ends the command with an error and reboots the board
    const out = await w.ask('import _kpusim_js\n_kpusim_js.x = 1\x04', `${RAW_BANNER}>`);
    expect(out.startsWith('OK\x04SandboxViolation: ')).toBe(true);
    expect(out).toContain('\r\n\x04[MaixPy]: soft reboot\r\n');
    expect(await w.ask('print(2)\x04', '\x04>')).toBe('OK2\r\n\x04\x04>');
  });

  test("the working directory and sys.path are the board's", async () => {
    expect(await w.ask('import os, sys\nprint(os.getcwd(), sys.path)\x04', '\x04>')).toBe(
      "OK/sd ['', '.', '/sd', '/flash', '/lib']\r\n\x04\x04>",
    );
  });

  test('boot.py runs at every boot; main.py only when the board boots into the friendly REPL', async () => {
    await w.ask(
      "f = open('boot.py', 'w')\nf.write('booted = 1')\nf.close()\nf = open('main.py', 'w')\nf.write('print(\"main ran\")')\nf.close()\x04",
      '\x04>',
    );
    expect(existsSync(join(sd, 'boot.py'))).toBe(true);
    expect(await w.ask('\x04', `${RAW_BANNER}>`)).not.toContain('main ran');
    expect(await w.ask('print(booted)\x04', '\x04>')).toBe('OK1\r\n\x04\x04>');
    await w.ask('\x02', '>>> ');
    expect(await w.ask('\x04', '>>> ')).toMatch(
      /^\r\n\[MaixPy\]: soft reboot\r\n\[MaixPy\] init end\r\nmain ran\r\nMicroPython /,
    );
    await w.ask('\x01', `${RAW_BANNER}>`);
    await w.ask("import os\nos.remove('main.py')\nos.remove('boot.py')\x04", '\x04>');
  });

  test('a soft reset sees the files written before it', async () => {
    await w.ask('\x04', `${RAW_BANNER}>`);
    expect(await w.ask("print(open('/flash/boot.py').read())\x04", '\x04>')).toBe('OKx = 1\r\n\x04\x04>');
  });
});

describe.skipIf(!BUILT)('virtual board: /flash without a folder', () => {
  test('lives in memory and persists across a soft reset, as SPIFFS does', async () => {
    const w = await open();
    try {
      await w.ask('\r\x01', `${RAW_BANNER}>`);
      await w.ask("f = open('/flash/keep.txt', 'w')\nf.write('kept')\nf.close()\x04", '\x04>');
      await w.ask('\x04', `${RAW_BANNER}>`);
      expect(await w.ask("print(open('/flash/keep.txt').read())\x04", '\x04>')).toBe('OKkept\r\n\x04\x04>');
    } finally {
      await w.board.close();
    }
  });
});
