/**
 * The MicroPython half of the MaixPy modules lives in src/maixpy/python/*.py and reaches the build
 * through a generated module (scripts/gen-python-sources.mjs). This fails when the generated
 * module is stale, i.e. a .py file changed without `npm run build`.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PYTHON_SOURCES } from '../src/maixpy/python/sources.generated.js';
import { REPO_ROOT } from './shared.js';

describe('MaixPy Python sources', () => {
  it('the generated module holds every .py file as it is on disk', () => {
    expect(() =>
      execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'gen-python-sources.mjs'), '--check'], {
        stdio: 'pipe',
      }),
    ).not.toThrow();
    const files = readdirSync(join(REPO_ROOT, 'src', 'maixpy', 'python'))
      .filter((f) => f.endsWith('.py'))
      .map((f) => f.slice(0, -3))
      .sort();
    expect(Object.keys(PYTHON_SOURCES).sort()).toEqual(files);
  });

  it('Python talks to TypeScript through structured values, not strings to split', () => {
    for (const [name, text] of Object.entries(PYTHON_SOURCES)) {
      expect(text, name).not.toMatch(/_k\.call\([^)]*\)\.split\(/);
    }
  });
});
