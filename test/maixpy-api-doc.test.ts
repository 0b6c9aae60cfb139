/**
 * docs/maixpy-api.md is generated from the MaixPy modules (scripts/gen-maixpy-api.mjs). This fails
 * when it is stale, and checks the table against the running modules: every name it lists as
 * provided exists in MicroPython, and every name it lists as not supported raises
 * NotImplementedError naming it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScript } from './fixtures/maixpy/helpers.js';
import { REPO_ROOT } from './shared.js';

const DOC = join(REPO_ROOT, 'docs', 'maixpy-api.md');

function rows(): { name: string; status: string }[] {
  const out: { name: string; status: string }[] = [];
  for (const line of readFileSync(DOC, 'utf8').split('\n')) {
    const m = /^\| `([\w.]+)` \|[^|]*\| ([a-z ,]+) \|/.exec(line);
    if (m) out.push({ name: m[1], status: m[2] });
  }
  return out;
}

describe('docs/maixpy-api.md', () => {
  it('is what scripts/gen-maixpy-api.mjs writes from the current modules', () => {
    expect(() =>
      execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'gen-maixpy-api.mjs'), '--check'], { stdio: 'pipe' }),
    ).not.toThrow();
  });

  it('lists what the modules provide: listed names exist, unsupported ones raise NotImplementedError', async () => {
    const all = rows();
    expect(all.length).toBeGreaterThan(300);
    const provided = all.filter((r) => r.status !== 'not supported').map((r) => r.name);
    const missing = all.filter((r) => r.status === 'not supported').map((r) => r.name);
    // Objects whose methods and unsupported attributes only an instance shows (class-level __getattr__).
    const source = `
import sys
sys.path.append('/lib')
import image, sensor, lcd, KPU, Maix, maix, time, os, gc, machine, board, fpioa_manager
INST = {
    'image.Image': lambda: image.Image(size=(4, 4)),
    'image.qrcode': lambda: image.qrcode(((0, 0), (1, 0), (1, 1), (0, 1)), '', 1, 4, 0),
    'maix.KPU': lambda: maix.KPU(),
    'maix.KPU.Yolo2': lambda: maix.KPU().Yolo2(),
    'maix.KPU.Lpr': lambda: maix.KPU().Lpr(),
    'Maix.GPIO': lambda: Maix.GPIO(0),
    'Maix.FPIOA': lambda: Maix.FPIOA(),
    'time.clock': lambda: time.clock(),
}
MODS = {'image': image, 'sensor': sensor, 'lcd': lcd, 'KPU': KPU, 'Maix': Maix, 'maix': maix, 'time': time,
        'os': os, 'gc': gc, 'machine': machine, 'board': board, 'fpioa_manager': fpioa_manager}

def resolve(name):
    parts = name.split('.')
    for k in range(len(parts) - 1, 0, -1):
        p = '.'.join(parts[:k])
        if p in INST:
            obj = INST[p]()
            rest = parts[k:]
            break
    else:
        obj = MODS[parts[0]]
        rest = parts[1:]
    for a in rest:
        obj = getattr(obj, a)
    return obj

def call_any(f):
    # a function the firmware has but kpusim refuses: it raises when called, whatever the arguments
    for k in range(4):
        try:
            return f(*([0] * k))
        except TypeError:
            pass

def check(names, supported):
    for n in names:
        try:
            obj = resolve(n)
            if not supported:
                if callable(obj):
                    call_any(obj)
                print('NO ERROR', n)
        except NotImplementedError as e:
            if supported:
                print('NotImplementedError', n, e)
            elif n.split('.')[-1] not in str(e):
                print('UNNAMED', n, e)
        except Exception as e:
            print(type(e).__name__, n, e)

check(${JSON.stringify(provided)}, True)
check(${JSON.stringify(missing)}, False)
print('done')
`;
    const r = await runScript({ source });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.lines).toEqual(['done']);
  });
});
