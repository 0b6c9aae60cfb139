/** kpusim's own golden cases (golden/): the bundled models must reproduce them exactly. */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { checkCase, findCases } from '../src/golden.js';
import { prepare } from '../src/kpu/interpreter.js';
import { loadKmodel } from '../src/load.js';
import { REPO_ROOT } from './shared.js';

const GOLDEN = join(REPO_ROOT, 'golden');
const dirs = existsSync(GOLDEN)
  ? readdirSync(GOLDEN, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
  : [];

describe('golden/ cases of the bundled models', () => {
  test('there is a case for each bundled model', () => {
    expect(dirs.sort()).toEqual(['face_detect_320x240', 'face_features512_128', 'face_landmarks5_128']);
  });
  for (const name of dirs) {
    test(name, () => {
      const modelFile = join(REPO_ROOT, 'models', `${name}.kmodel`);
      const sha = createHash('sha256').update(readFileSync(modelFile)).digest('hex');
      const prepared = prepare(loadKmodel(modelFile).model);
      for (const c of findCases(join(GOLDEN, name))) {
        const meta = JSON.parse(readFileSync(join(c, 'case.json'), 'utf8'));
        expect(meta.model.sha256, 'the case was recorded with this model file').toBe(sha);
        const r = checkCase(prepared, c);
        expect(r.first_diverging_layer ?? null).toBeNull();
        expect(r.status).toBe('exact');
      }
    });
  }
});
