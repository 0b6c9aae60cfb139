/**
 * kpusim's MicroPython modules are installed in /lib compiled by mpy-cross at build time
 * (`PYTHON_MPY`, scripts/gen-python-sources.mjs; src/maixpy/boot.ts): scripts see the same modules,
 * results, errors, tracebacks and board time as with the sources compiled at import.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { moduleFiles } from '../src/maixpy/boot.js';
import { PYTHON_MPY, PYTHON_SOURCES } from '../src/maixpy/python/sources.generated.js';
import type { RgbImage } from '../src/pipeline/types.js';
import { runScript, runView } from './fixtures/maixpy/helpers.js';
import { REPO_ROOT } from './shared.js';

afterEach(() => {
  moduleFiles.compiled = true;
});

/** A script run with the sources compiled at import, then with the modules installed compiled. */
async function runBoth(source: string, opts: Parameters<typeof runScript>[1] = {}) {
  const run = () => runScript({ source, name: 'both.py' }, opts);
  moduleFiles.compiled = false;
  const sources = await run();
  moduleFiles.compiled = true;
  return { sources, compiled: await run() };
}

describe('modules installed compiled', () => {
  it('every module but the boot has its .mpy, of the format the interpreter loads', () => {
    expect(Object.keys(PYTHON_MPY).sort()).toEqual(
      Object.keys(PYTHON_SOURCES)
        .filter((n) => n !== '_boot')
        .sort(),
    );
    for (const [name, b64] of Object.entries(PYTHON_MPY)) {
      const b = Buffer.from(b64, 'base64');
      // 'M', format 6, bytecode only; then the file name it was compiled under (a counted string)
      expect([b[0], b[1], b[2] >> 2], name).toEqual([0x4d, 6, 0]);
      expect(b.includes(Buffer.from(`/lib/${name}.py`)), name).toBe(true);
    }
  });

  it('/lib holds the .mpy files, and a script sees the same modules there', async () => {
    const source = [
      'import os, sys, KPU, image, sensor, lcd, gc',
      "print(sorted(f for f in os.listdir('/lib') if f.startswith(('KPU', 'image', 'sensor', '_kpusim.'))))",
      'print(KPU.__name__, image.__name__, [m for m in ("KPU", "image", "sensor", "lcd") if m in sys.modules])',
      'print(sorted(n for n in dir(image.Image) if not n.startswith("_"))[:12], len(dir(KPU)))',
    ].join('\n');
    const { sources, compiled } = await runBoth(source);
    expect(sources.lines[0]).toBe("['KPU.py', '_kpusim.py', 'image.py', 'sensor.py']");
    expect(compiled.lines[0]).toBe("['KPU.mpy', '_kpusim.mpy', 'image.mpy', 'sensor.mpy']");
    expect(compiled.lines.slice(1)).toEqual(sources.lines.slice(1));
    expect(compiled.exitCode).toBe(0);
  });

  it('the face-recognition example: the same output, frames and board time', async () => {
    const script = join(REPO_ROOT, 'examples', 'maixpy', 'face_recognition.py');
    const camera = [join(REPO_ROOT, 'examples', 'images', 'grace_hopper.jpg')];
    // two frames of the same face: enrolled at the first (BOOT key), recognised at the second
    const run = async () => {
      const panels: string[] = [];
      const lcdFrame = (img: RgbImage) => panels.push(createHash('sha1').update(img.data).digest('hex'));
      const r = await runScript(script, { camera: [...camera, ...camera], keyPress: [1], lcdFrame });
      return { r, panels };
    };
    moduleFiles.compiled = false;
    const a = await run();
    moduleFiles.compiled = true;
    const b = await run();
    expect(b.r.exitCode).toBe(0);
    expect([b.r.frames, b.panels.length]).toEqual([2, 2]);
    expect(runView(b.r)).toEqual(runView(a.r));
    expect(b.r.frameLog.map((f) => f.board_ms)).toEqual(a.r.frameLog.map((f) => f.board_ms));
    expect(b.panels).toEqual(a.panels);
  });

  it('errors raised inside the modules: the same exceptions and tracebacks, naming /lib/NAME.py', async () => {
    const source = [
      'import sys, image, KPU as kpu, sensor, lcd',
      'for bad in ("image.Image(size=(0, 0))", "kpu.load(-1)", "kpu.load(\'x.txt\')", "kpu.forward(None)",',
      '            "sensor.set_pixformat(99)", "lcd.display(None)", "image.Image(size=(4, 4)).draw_image(None, 0, 0)",',
      '            "image.Image(size=(4, 4)).get_pixel(\'a\', 0)", "kpu.face_compare(1, 2)"):',
      '    try:',
      '        eval(bad)',
      '        print("no error", bad)',
      '    except Exception as e:',
      '        sys.print_exception(e)',
      'kpu.init_yolo2(None, 0.5, 0.3, 5, ())',
    ].join('\n');
    const { sources, compiled } = await runBoth(source);
    expect(sources.stdout).toMatch(/File "\/lib\/image.py", line \d+, in /);
    expect(sources.stdout).toMatch(/File "\/lib\/KPU.py", line \d+, in /);
    expect(sources.error?.type).toBe('TypeError');
    expect(runView(compiled)).toEqual(runView(sources));
  });

  it("a stand-in that is not one of the generated modules (a stub sharing another's text) is installed as source", async () => {
    const { compiled } = await runBoth(
      "import os\nprint(sorted(f for f in os.listdir('/lib') if f.startswith('video')))",
    );
    expect(compiled.stdout).toMatch(/video\.py/);
  });
});
