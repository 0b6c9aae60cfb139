/**
 * The board's boot (the firmware's frozen _boot.py, MaixPy-v1 and CanMV alike): working directory
 * /sd with a card (else /flash), sys.path '', '.', '/sd', '/flash' (kpusim's '/lib' last), os, sys
 * and time imported in __main__; file errors carry the board's errno values (FatFs through
 * MicroPython: ENOENT = 2), not the interpreter's (Emscripten: 44).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScript, tempDir } from './fixtures/maixpy/helpers.js';

const SCRIPT = `
print(os.getcwd())
print(sys.path)
print(sorted(k for k in globals() if not k.startswith('__')))
print(sorted(os.listdir('/')))
import uos, utime
print(uos is os, utime is time)
time.sleep(1)
print(time.ticks_ms())
try:
    print(open('anchors.txt').read().strip())
except OSError as e:
    print('no anchors', e.args[0])
for f in (lambda: open('missing.txt'), lambda: os.stat('/sd/missing'), lambda: os.listdir('/nodir'), lambda: os.mkdir('/flash')):
    try:
        f()
    except OSError as e:
        print('E', e.args[0], str(e))
`;

describe('MaixPy boot', () => {
  it('with a card: cwd /sd, sys.path, os/sys/time in __main__, relative open, board errno values', async () => {
    const sd = tempDir('sd');
    writeFileSync(join(sd, 'anchors.txt'), '1.889, 2.5245\n');
    const r = await runScript({ source: SCRIPT }, { sdDir: sd });
    expect(r.error).toBeUndefined();
    expect(r.lines).toEqual([
      '/sd',
      "['', '.', '/sd', '/flash', '/lib']",
      "['os', 'sys', 'time']",
      "['flash', 'sd']",
      'True True',
      '1000',
      '1.889, 2.5245',
      'E 2 [Errno 2] ENOENT',
      'E 2 [Errno 2] ENOENT',
      'E 2 [Errno 2] ENOENT',
      'E 17 [Errno 17] EEXIST',
    ]);
  });

  it('without a card: cwd /flash and no /sd on the path', async () => {
    const r = await runScript({ source: SCRIPT });
    expect(r.error).toBeUndefined();
    expect(r.lines.slice(0, 4)).toEqual([
      '/flash',
      "['', '.', '/flash', '/lib']",
      "['os', 'sys', 'time']",
      "['flash']",
    ]);
    expect(r.lines).toContain('no anchors 2');
  });

  it('an uncaught file error reads as on the board', async () => {
    const r = await runScript({ source: "open('x.bin')\n" });
    expect(r.exitCode).toBe(1);
    expect(r.error?.type).toBe('OSError');
    expect(r.error?.message).toBe('[Errno 2] ENOENT');
    expect(r.error?.line).toBe(1);
  });
});

describe('built-in modules win over the SD card', () => {
  it("a folder named like a built-in module (CanMV's /sd/KPU of models) does not hide it", async () => {
    const sd = tempDir('sd');
    mkdirSync(join(sd, 'KPU'));
    writeFileSync(join(sd, 'KPU', 'model.kmodel'), 'not a model');
    writeFileSync(join(sd, 'lcd.py'), "print('the card lcd.py ran')\n");
    const source = [
      'import KPU, lcd',
      "print(hasattr(KPU, 'load'), hasattr(lcd, 'display'))",
      "print(sorted(os.listdir('KPU')))",
      'print(sys.path)',
      "print(sorted(k for k in globals() if not k.startswith('__')))",
    ].join('\n');
    const r = await runScript({ source }, { sdDir: sd });
    expect(r.error).toBeUndefined();
    expect(r.lines).toEqual([
      'True True',
      "['model.kmodel']",
      "['', '.', '/sd', '/flash', '/lib']",
      "['KPU', 'lcd', 'os', 'sys', 'time']",
    ]);
  });
});
