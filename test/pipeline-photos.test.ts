import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readImageFile, sha256Hex } from '../src/pipeline/index.js';
import { REPO_ROOT } from './shared.js';

const DIR = join(REPO_ROOT, 'examples/images');
const sources = readFileSync(join(DIR, 'SOURCES.md'), 'utf8');
const photos = readdirSync(DIR).filter((n) => /\.(png|jpe?g|bmp)$/i.test(n));

describe('example photographs', () => {
  it('are there, each documented in SOURCES.md with its checksum and licence', () => {
    expect(photos.length).toBeGreaterThanOrEqual(2);
    for (const name of photos) {
      const row = sources.split('\n').find((l) => l.startsWith(`| \`${name}\``));
      expect(row, `${name} has a row in SOURCES.md`).toBeDefined();
      expect(row).toMatch(/[Pp]ublic domain|CC0/);
      expect(row).toContain(sha256Hex(readFileSync(join(DIR, name))));
    }
  });

  it('are small and decode', () => {
    for (const name of photos) {
      expect(statSync(join(DIR, name)).size, name).toBeLessThanOrEqual(300 * 1024);
      const img = readImageFile(join(DIR, name));
      expect(img.width * img.height).toBeGreaterThan(100 * 100);
    }
  });
});
