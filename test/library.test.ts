import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { REPO_ROOT } from './shared.js';

describe.skipIf(!existsSync(join(REPO_ROOT, 'dist/index.js')))('the package as a library', () => {
  test("import { parseKmodel } from 'kpusim' works, with types", () => {
    const code =
      "import { parseKmodel, prepare, loadKmodel, KmodelError } from 'kpusim'; console.log([typeof parseKmodel, typeof prepare, typeof loadKmodel, typeof KmodelError].join(','));";
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('function,function,function,function');
    expect(existsSync(join(REPO_ROOT, 'dist/index.d.ts'))).toBe(true);
  });
});
