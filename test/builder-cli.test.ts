/**
 * `kpusim build` as a user meets it: refusals are one line and exit 2; a JSON config builds one
 * model into a directory with its manifest (small calibration set, so the test stays fast).
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { Io } from '../src/cli/common.js';
import { main } from '../src/cli/main.js';

const ROOT = join(__dirname, '..');

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => (out += t), err: (t) => (err += t), errIsTty: false };
  const code = await main(argv, io);
  return { code, out, err };
}

describe('kpusim build', () => {
  test('an unknown preset, an unknown config field and overlapping photo sets are refused with exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kpusim-build-'));
    const r1 = await cli('build', 'nosuch', '--out', dir);
    expect(r1.code).toBe(2);
    expect(r1.err).toMatch(/unknown build preset "nosuch"/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ preset: 'landmarks', bogus: 1 }));
    const r2 = await cli('build', bad, '--out', dir);
    expect(r2.code).toBe(2);
    expect(r2.err).toMatch(/unknown field "bogus"/);
    const same = join(dir, 'same.json');
    const photo = join(ROOT, 'examples', 'images', 'astronaut.jpg');
    writeFileSync(same, JSON.stringify({ preset: 'landmarks', calibration: [photo], evaluation: [photo] }));
    const r3 = await cli('build', same, '--out', dir);
    expect(r3.code).toBe(2);
    expect(r3.err).toMatch(/both a calibration and an evaluation photo/);
    expect(r3.err).not.toMatch(/\n\s+at /);
  });

  test('a JSON config builds the landmark model with its manifest and accuracy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kpusim-build-'));
    const cfg = join(dir, 'landmarks.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        preset: 'landmarks',
        calibration: [join(ROOT, 'node_modules', '@vladmandic', 'face-api', 'demo', 'sample1.jpg')],
        evaluation: [join(ROOT, 'examples', 'images', 'grace_hopper.jpg')],
        closeUps: false,
      }),
    );
    const r = await cli('build', cfg, '--out', dir, '--no-tfjs', '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.models).toHaveLength(1);
    const e = doc.models[0];
    expect(e.role).toBe('landmarks');
    expect(existsSync(join(dir, e.file))).toBe(true);
    expect(e.accuracy.cosine_min).toBeGreaterThan(0.99);
    expect(e.accuracy.point_error_px_max).toBeLessThan(3);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.models[0].sha256).toBe(e.sha256);
  }, 120_000);
});
