/**
 * Parts of classes compiled on first use (`# kpusim-later:` in src/maixpy/python/*.py, split by
 * scripts/gen-python-sources.mjs, loaded by `later` in _kpusim.py): the split keeps every line of
 * the file at its line number, and scripts see the same methods, results, errors, tracebacks and
 * board time as with the whole file compiled at import (the file as it is on disk, installed in
 * place of the split module).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { imageModule } from '../src/maixpy/modules/image.js';
import { PYTHON_LATER, PYTHON_SOURCES } from '../src/maixpy/python/sources.generated.js';
import { runScript, runView, type ScriptRun } from './fixtures/maixpy/helpers.js';
import { REPO_ROOT } from './shared.js';

const onDisk = (name: string) => readFileSync(join(REPO_ROOT, 'src', 'maixpy', 'python', `${name}.py`), 'utf8');
const split = imageModule.python;

afterEach(() => {
  (imageModule as { python: string }).python = split;
});

/** The whole of image.py compiled at import, with nothing registered for later. */
const wholeFile = () => onDisk('image').replace(/^_k\.later\(.*\)$/m, '');

/** A script run with the whole image.py, then with the split one. */
async function runBoth(source: string, name: string): Promise<{ whole: ScriptRun; later: ScriptRun }> {
  const run = () => runScript({ source, name });
  (imageModule as { python: string }).python = wholeFile();
  const w = await run();
  (imageModule as { python: string }).python = split;
  return { whole: w, later: await run() };
}

describe('class bodies compiled on first use', () => {
  it('split a file into two with every line at its own line number', () => {
    const names = Object.keys(PYTHON_LATER);
    expect(names).toContain('image');
    for (const name of names) {
      const file = onDisk(name).split('\n');
      const now = PYTHON_SOURCES[name as keyof typeof PYTHON_SOURCES].split('\n');
      const later = PYTHON_LATER[name].split('\n');
      expect(now.length, name).toBe(file.length);
      const mark = file.findIndex((l) => /^ +# kpusim-later:/.test(l));
      expect(mark, name).toBeGreaterThan(0);
      expect(later[mark]).toBe('class _kpusim_later:');
      let kept = 0;
      for (let i = 0; i < file.length; i++) {
        if (i === mark || i === mark + 1) continue;
        // Each other line is in one of the two, at its own number; the other has it blank.
        if (now[i] === file[i]) {
          kept++;
          expect(later[i] ?? '', `${name}.py:${i + 1}`).toBe('');
        } else {
          expect(now[i], `${name}.py:${i + 1}`).toBe('');
          expect(later[i], `${name}.py:${i + 1}`).toBe(file[i]);
        }
      }
      expect(later[mark + 1]).toBe(file[mark + 1]);
      // one line of stand-ins, one for each method of the later part
      const defs = later.map((l) => /^ {4}def (\w+)\(/.exec(l)?.[1]).filter(Boolean);
      expect(now[mark + 1]).toBe(`    ${defs.map((d) => `${d} = _k.deferred('Image', '${d}')`).join('; ')}`);
      expect(kept).toBeGreaterThan(100);
      // Special methods are looked up in the class alone (no __getattr__): they cannot wait.
      expect(
        later.filter((l) => /^ {4}def __\w+__\(/.test(l)),
        name,
      ).toEqual([]);
      // The part left for later is large, or the split buys nothing.
      expect(later.filter((l) => l !== '').length).toBeGreaterThan(200);
    }
  });

  it('scripts see the same methods, results, errors and tracebacks as with the whole file at import', async () => {
    const source = [
      'import image, sys',
      'img = image.Image(size=(16, 12))',
      'img.draw_rectangle(2, 2, 8, 6, color=(255, 0, 0), fill=True)',
      'print(hasattr(img, "find_blobs"), hasattr(img, "nope"), getattr(img, "nope", 7))',
      'print(img.get_pixel(3, 3), img.to_grayscale(copy=True).get_pixel(3, 3))',
      'other = image.Image(size=(4, 4))',
      'other.draw_rectangle(0, 0, 4, 4, color=(0, 0, 255), fill=True)',
      'img.draw_image(other, 10, 5)',
      'print([img.get_pixel(x, 6) for x in range(8, 16)])',
      'print(img.copy().invert().get_pixel(0, 0), img.copy().negate().get_pixel(3, 3))',
      'print([b.rect() for b in img.find_blobs([(0, 100, 0, 127, 0, 127)], pixels_threshold=1, area_threshold=1)])',
      'g = img.to_grayscale(copy=True)',
      'print(g.copy().binary([(50, 255)]).get_pixel(3, 3), g.copy().mean(1).get_pixel(5, 5), g.copy().histeq().get_pixel(3, 3))',
      'print(img.copy().mean_pooled(2, 2).get_pixel(1, 1), img.copy().lens_corr(1.8).get_pixel(8, 6))',
      'print(img.copy().difference(img).get_pixel(3, 3), img.copy().rotation_corr(z_rotation=30).get_pixel(8, 6))',
      'print(image.Image.find_blobs is type(img).find_blobs, img.find_qrcodes())',
      'class Mine(image.Image):',
      '    pass',
      'm = Mine(size=(4, 4))',
      'print(m.to_grayscale(copy=True).format(), m.median(1).width())',
      'for bad in ("img.draw_image(None, 0, 0)", "img.find_lines()", "img.nope", "img.binary(None)",',
      '            "img.lens_corr(-1)", "img.save(\'/flash/x.bmp\')"):',
      '    try:',
      '        eval(bad)',
      '    except Exception as e:',
      '        sys.print_exception(e)',
      'img.save("/flash/x.png")',
      'img.morph(1, [1] * 9).draw_arrow(0, 0, 5, 5)',
      'img.rotation_corr(x_rotation=1, fov=200)',
    ].join('\n');
    // The reference: the whole file compiled at import, with nothing registered for later.
    expect(wholeFile()).not.toBe(onDisk('image'));
    const { whole, later } = await runBoth(source, 'later.py');
    expect(whole.stdout).toMatch(/True False 7/);
    expect(whole.stdout).toMatch(/File "\/lib\/image.py", line \d+, in draw_image/);
    expect(whole.error?.type).toBe('ValueError');
    expect(runView(later)).toEqual(runView(whole));
  });

  it('methods read from the class before any instance reads one: there, callable, the same results', async () => {
    const source = [
      'import image',
      'print(hasattr(image.Image, "save"), hasattr(image.Image, "nope"), callable(image.Image.to_grayscale))',
      'img = image.Image(size=(8, 6))',
      'img.draw_rectangle(1, 1, 4, 3, color=(0, 200, 0), fill=True)',
      'g = image.Image.to_grayscale(img, copy=True)',
      'print(g.format(), g.get_pixel(2, 2), image.Image.invert(img.copy()).get_pixel(2, 2))',
      'print(image.Image.find_blobs is type(img).find_blobs, img.to_grayscale is not None)',
      'try:',
      '    image.Image.binary(img, None)',
      'except Exception as e:',
      '    print(type(e).__name__)',
    ].join('\n');
    const { whole, later } = await runBoth(source, 'cls.py');
    expect(whole.exitCode).toBe(0);
    expect(whole.stdout).toMatch(/^True False True\n/);
    expect(later.stdout).toBe(whole.stdout);
    expect(later.exitCode).toBe(0);
  });

  it('the first read of a deferred method, from an instance, is that method bound to it', async () => {
    const source = [
      'import image',
      'img = image.Image(size=(4, 4))',
      'f = img.invert',
      'print(f().get_pixel(0, 0), img.get_pixel(1, 1))',
    ].join('\n');
    const { whole, later } = await runBoth(source, 'first.py');
    expect(whole.exitCode).toBe(0);
    expect(whole.stdout).toMatch(/^\(255, 255, 255\) \(255, 255, 255\)\n$/);
    expect([later.stdout, later.exitCode]).toEqual([whole.stdout, 0]);
  });

  it('a full heap while compiling the rest of the class: MemoryError at each miss, never a missing method', async () => {
    const source = [
      'import image',
      'img = image.Image(size=(8, 8))',
      'hog = []',
      'try:',
      '    while True:',
      '        hog.append(bytearray(1024))',
      'except MemoryError:',
      '    pass',
      'for i in range(2):',
      '    try:',
      '        img.to_grayscale(copy=True)',
      '        print("compiled with the heap full")',
      '    except MemoryError:',
      '        print("memory error")',
      '    except AttributeError as e:',
      '        print("attribute error", e)',
    ].join('\n');
    const r = await runScript({ source, name: 'full.py' }, { heapMb: 1 });
    expect(r.stdout).toBe('memory error\nmemory error\n');
    expect(r.exitCode).toBe(0);
  });
});
