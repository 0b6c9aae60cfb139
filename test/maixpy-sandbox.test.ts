/**
 * The MaixPy script sandbox: a script reaches nothing of the PC beyond its mapped folders, imports
 * nothing a K210 lacks, cannot outgrow its heap or the wall-clock bound, and links in `--sd` do not
 * lead out of the folder.
 */
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { runScript, tempDir } from './fixtures/maixpy/helpers.js';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '',
    err = '';
  const code = await main(args, { out: (t) => (out += t), err: (t) => (err += t), errIsTty: false });
  return { code, out, err };
}

function scriptFile(source: string): string {
  const p = join(tempDir('sandbox'), 'script.py');
  writeFileSync(p, source);
  return p;
}

/** A secret outside every mapped folder, and an --sd folder the script must not write into. */
function hostFixture(): { secret: string; sd: string } {
  const dir = tempDir('host');
  const secret = join(dir, 'secret.txt');
  writeFileSync(secret, 'TOP-SECRET-HOST-FILE');
  const sd = join(dir, 'sd');
  mkdirSync(sd);
  writeFileSync(join(sd, 'data.txt'), 'on the card');
  return { secret, sd };
}

/**
 * Each attempt prints ESCAPED when it reaches the host (reads the secret, or gets a Node object) and
 * BLOCKED with the exception type otherwise; the run may also be stopped as a sandbox violation.
 */
function attempt(body: string): string {
  return [
    'try:',
    ...body.split('\n').map((l) => '    ' + l),
    'except BaseException as e:',
    "    print('BLOCKED', type(e).__name__)",
  ].join('\n');
}

const ESCAPES: Record<string, (secret: string) => string> = {
  'import js': (s) =>
    attempt(
      `import js\nfs = js.process.getBuiltinModule('fs')\nprint('ESCAPED', fs.readFileSync(${JSON.stringify(s)}, 'utf8'))`,
    ),
  'import jsffi': () =>
    attempt(`import jsffi\nf = jsffi.to_js([1]).constructor.constructor\nprint('ESCAPED', f('return process.pid')())`),
  "__import__('js')": () => attempt(`js = __import__('js')\nprint('ESCAPED', js.process.pid)`),
  'sys.modules and builtins tricks': () =>
    attempt(
      [
        'import sys, builtins',
        'sys.modules.clear()',
        'try:',
        '    del builtins.__import__',
        'except Exception:',
        '    pass',
        "sys.path.append('.frozen')",
        'import js',
        'g = js.globalThis',
        "print('ESCAPED', g.process.pid)",
      ].join('\n'),
    ),
  'js module attributes after undoing the import hook': () =>
    attempt(
      [
        'import builtins',
        'del builtins.__import__',
        'import js',
        "for name in ('process', 'eval', 'globalThis', 'Function', 'require', 'Module', 'constructor'):",
        '    try:',
        '        v = getattr(js, name)',
        "        print('ESCAPED', name, v)",
        '    except AttributeError:',
        '        pass',
        "print('BLOCKED', 'AttributeError')",
      ].join('\n'),
    ),
  '_kpusim_js function constructor': () =>
    attempt(`import _kpusim_js\nF = _kpusim_js.call.constructor\nprint('ESCAPED', F('return process.pid')())`),
  '_kpusim_js via the runtime module': () =>
    attempt(
      `import _kpusim\nF = getattr(_kpusim._js, 'call').constructor\nprint('ESCAPED', F('return process.pid')())`,
    ),
  'asyncio (imports js)': () => attempt(`import asyncio\nprint('ESCAPED', asyncio.js.process.pid)`),
  "open('/etc/passwd')": () => attempt(`print('ESCAPED', open('/etc/passwd').read())`),
  'open of the secret by its host path': (s) => attempt(`print('ESCAPED', open(${JSON.stringify(s)}).read())`),
  "open('/sd/../..')": (s) => attempt(`print('ESCAPED', open('/sd/../../../..' + ${JSON.stringify(s)}).read())`),
  'os.VfsPosix': (s) =>
    attempt(
      `import os\nv = os.VfsPosix('/')\nos.mount(v, '/host')\nprint('ESCAPED', open('/host' + ${JSON.stringify(s)}).read())`,
    ),
  "image.Image('/sd/../secret')": () =>
    attempt(`import image\nimg = image.Image('/sd/../secret.txt')\nprint('ESCAPED', img)`),
};

describe('a MaixPy script cannot reach the host', () => {
  for (const [name, make] of Object.entries(ESCAPES)) {
    it(`escape attempt: ${name}`, async () => {
      const { secret, sd } = hostFixture();
      const r = await runScript({ source: make(secret) + '\n' }, { sdDir: sd });
      expect(r.stdout).not.toContain('ESCAPED');
      expect(r.stdout).not.toContain('TOP-SECRET');
      // Either Python saw an exception, or the run was stopped as a sandbox violation.
      if (r.reason === 'sandbox-violation') expect(r.exitCode).toBe(1);
      else expect(r.stdout).toMatch(/^BLOCKED \w+/m);
    });
  }

  it('modules a K210 lacks are not importable; the board modules still are', async () => {
    const r = await runScript({
      source: [
        "for name in ('js', 'jsffi', 'vfs', 'platform', 'asyncio', 'functools', 'pyscript'):",
        '    try:',
        '        __import__(name)',
        "        print('importable', name)",
        '    except ImportError:',
        "        print('missing', name)",
        'import sys, os, gc, time, math, struct, json, uctypes, sensor, image, lcd, KPU',
        "print('board ok')",
      ].join('\n'),
    });
    expect(r.stdout).toBe(
      [
        'missing js',
        'missing jsffi',
        'missing vfs',
        'missing platform',
        'missing asyncio',
        'missing functools',
        'missing pyscript',
        'board ok',
        '',
      ].join('\n'),
    );
  });

  it('writes to /sd stay in the emulated card: the --sd folder is never written', async () => {
    const { sd } = hostFixture();
    const r = await runScript(
      { source: "f = open('/sd/new.txt', 'w')\nf.write('x')\nf.close()\nprint(open('/sd/new.txt').read())\n" },
      { sdDir: sd },
    );
    expect(r.stdout).toBe('x\n');
    expect(readdirSync(sd)).toEqual(['data.txt']);
  });
});

describe('links in --sd', () => {
  it('a link leading out of the folder is refused (exit 2, with the reason), nothing of its target is mapped', async () => {
    const { secret, sd } = hostFixture();
    symlinkSync(secret, join(sd, 'secret.txt'));
    const s = scriptFile("print(open('/sd/secret.txt').read())\n");
    const r = await cli(['maixpy', s, '--sd', sd]);
    expect(r.out).not.toContain('TOP-SECRET');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/secret\.txt.*link.*out of/);
  });

  it('a link to /etc is refused', async () => {
    const { sd } = hostFixture();
    symlinkSync('/etc', join(sd, 'etc'));
    const r = await cli(['maixpy', scriptFile("print(open('/sd/etc/hostname').read())\n"), '--sd', sd]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/etc.*link.*out of/);
  });

  it('a symlink loop is exit 2 with a reason', async () => {
    const { sd } = hostFixture();
    symlinkSync('b', join(sd, 'a'));
    symlinkSync('a', join(sd, 'b'));
    const r = await cli(['maixpy', scriptFile('pass\n'), '--sd', sd]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/link/);
    expect(r.err).not.toMatch(/internal error/);
  });

  it('a directory link back into its own parent is exit 2 (a cycle), not a hang', async () => {
    const { sd } = hostFixture();
    mkdirSync(join(sd, 'd'));
    symlinkSync('..', join(sd, 'd', 'up'));
    const r = await cli(['maixpy', scriptFile('pass\n'), '--sd', sd]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/loop|cycle/);
  });

  it('a link to a file inside the folder is followed', async () => {
    const { sd } = hostFixture();
    symlinkSync('data.txt', join(sd, 'alias.txt'));
    const r = await cli(['maixpy', scriptFile("print(open('/sd/alias.txt').read())\n"), '--sd', sd]);
    expect(r.code).toBe(0);
    expect(r.out).toBe('on the card\n');
  });

  it('kpu.load and image.Image do not follow a link out of the folder', async () => {
    const { secret, sd } = hostFixture();
    mkdirSync(join(sd, 'm'));
    const { Storage } = await import('../src/maixpy/storage.js');
    symlinkSync(secret, join(sd, 'm', 'model.kmodel'));
    const st = new Storage({ sdDir: sd });
    expect(() => st.readBoardFile('/sd/m/model.kmodel')).toThrow(/out of/);
    expect(existsSync(join(sd, 'm', 'model.kmodel'))).toBe(true);
  });
});

describe('resource bounds', () => {
  it('an allocation bomb ends in MemoryError within --heap, exit 1', async () => {
    const s = scriptFile('l = []\nwhile True:\n    l.append(bytearray(1 << 20))\n');
    const r = await cli(['maixpy', s, '--heap', '8']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/MemoryError/);
  });

  it('--heap is a bound: more than it is MemoryError, less than it runs', async () => {
    const over = await cli(['maixpy', scriptFile('b = bytearray(12 * 1024 * 1024)\nprint(len(b))\n'), '--heap', '8']);
    expect(over.code).toBe(1);
    expect(over.err).toMatch(/MemoryError/);
    const under = await cli(['maixpy', scriptFile('b = bytearray(4 * 1024 * 1024)\nprint(len(b))\n'), '--heap', '8']);
    expect(under.code).toBe(0);
    expect(under.out).toBe(`${4 * 1024 * 1024}\n`);
  });

  it('--heap 0, negative or not a number: exit 2 with a reason', async () => {
    const s = scriptFile('pass\n');
    for (const v of ['0', '-1', 'abc', '0.0001']) {
      const r = await cli(['maixpy', s, '--heap', v]);
      expect(r.code, `--heap ${v}`).toBe(2);
      expect(r.err).toMatch(/--heap/);
    }
  });

  it('--timeout stops a pure-Python endless loop: exit 1, "timed out after N s", summary', async () => {
    const s = scriptFile('print("start")\nwhile True:\n    pass\n');
    const r = await cli(['maixpy', s, '--timeout', '1']);
    expect(r.code).toBe(1);
    expect(r.out).toBe('start\n');
    expect(r.err).toMatch(/timed out after 1 s/);
    expect(r.err).toMatch(/^kpusim maixpy: .*emulator/m);
  });

  it('--timeout 0, negative or not a number: exit 2', async () => {
    const s = scriptFile('pass\n');
    for (const v of ['0', '-3', 'soon']) expect((await cli(['maixpy', s, '--timeout', v])).code, v).toBe(2);
  });
});

describe('messages', () => {
  it('kpu.load(0xFFFFFFFF) names the address unsigned', async () => {
    const r = await runScript({ source: 'import KPU as kpu\nkpu.load(0xFFFFFFFF)\n' }, { bundled: false });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).not.toMatch(/0x-/);
    expect(r.stderr).toMatch(/0xffffffff/);
  });
});
