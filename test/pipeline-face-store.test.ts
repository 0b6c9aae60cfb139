import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import {
  addFace,
  checkStoreModel,
  createFaceStore,
  parseFaceStore,
  readFaceStore,
  readFaceStoreIfExists,
  serializeFaceStore,
  sha256Hex,
  storeFeatures,
  writeFaceStore,
} from '../src/pipeline/index.js';
import { thrown } from './fixtures/thrown.js';

const MODEL_A = 'a'.repeat(64);
const MODEL_B = 'b'.repeat(64);
const dir = mkdtempSync(join(tmpdir(), 'kpusim-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const usage = (fn: () => unknown): UsageError => thrown(fn, UsageError);

const int8Store = () =>
  createFaceStore({ encoding: 'int8', featureLength: 3, featureModelSha256: MODEL_A, preset: 'maixpy' });

describe('face store', () => {
  it('hashes model bytes with sha256', () => {
    // sha256("abc") is the FIPS 180-2 test vector.
    expect(sha256Hex(new TextEncoder().encode('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('round-trips entries in enrolment order through an atomic write', () => {
    let s = int8Store();
    s = addFace(s, {
      name: 'grace',
      feature: Int8Array.of(1, -2, 127),
      featureModelSha256: MODEL_A,
      source: 'grace_hopper.jpg',
    });
    s = addFace(s, { name: 'eileen', feature: [-128, 0, 5], featureModelSha256: MODEL_A });
    const file = join(dir, 'faces.json');
    writeFaceStore(file, s);
    const back = readFaceStore(file);
    expect(back).toEqual(s);
    expect(back.entries.map((e) => e.name)).toEqual(['grace', 'eileen']);
    expect(storeFeatures(back)[1].feature).toEqual(Int8Array.of(-128, 0, 5));
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('stores float features as binary32 values', () => {
    let s = createFaceStore({ encoding: 'float32', featureLength: 2, featureModelSha256: MODEL_A });
    expect(s.scoring).toBe('feature-compare');
    s = addFace(s, { name: 'x', feature: [0.1, 0.2], featureModelSha256: MODEL_A });
    expect(s.entries[0].feature).toEqual([Math.fround(0.1), Math.fround(0.2)]);
    expect(parseFaceStore(serializeFaceStore(s), 'f.json')).toEqual(s);
  });

  it('writes through a temporary file and keeps the old store until the rename', () => {
    const file = join(dir, 'atomic.json');
    const first = addFace(int8Store(), { name: 'one', feature: [1, 2, 3], featureModelSha256: MODEL_A });
    writeFaceStore(file, first);
    const before = readFileSync(file, 'utf8');
    const second = addFace(first, { name: 'two', feature: [4, 5, 6], featureModelSha256: MODEL_A });
    let seenTemp = '';
    writeFaceStore(file, second, {
      beforeRename: (tmp) => {
        seenTemp = tmp;
        expect(tmp.startsWith(dir)).toBe(true); // same directory, so the rename is atomic
        expect(readFileSync(file, 'utf8')).toBe(before); // target untouched so far
        expect(parseFaceStore(readFileSync(tmp, 'utf8'), tmp).entries).toHaveLength(2);
      },
    });
    expect(seenTemp).not.toBe('');
    expect(existsSync(seenTemp)).toBe(false);
    expect(readFaceStore(file).entries).toHaveLength(2);
  });

  it('leaves the previous store intact and no temporary file when the write fails', () => {
    const file = join(dir, 'crash.json');
    const first = addFace(int8Store(), { name: 'one', feature: [1, 2, 3], featureModelSha256: MODEL_A });
    writeFaceStore(file, first);
    const before = readFileSync(file, 'utf8');
    const second = addFace(first, { name: 'two', feature: [4, 5, 6], featureModelSha256: MODEL_A });
    const e = usage(() =>
      writeFaceStore(file, second, {
        beforeRename: () => {
          throw Object.assign(new Error('disk full'), { code: 'ENOSPC' });
        },
      }),
    );
    expect(e.message).toMatch(/cannot write the face store \(ENOSPC\); the previous file is unchanged/);
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(readdirSync(dir).filter((n) => n.includes('crash.json') && n.endsWith('.tmp'))).toEqual([]);
    // A target that is a directory: the rename fails, nothing is left behind.
    const asDir = join(dir, 'isdir.json');
    mkdirSync(asDir);
    expect(usage(() => writeFaceStore(asDir, first)).code).toBe('BAD_FILE');
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses features of another feature model, or of the wrong shape', () => {
    const s = int8Store();
    expect(usage(() => addFace(s, { name: 'x', feature: [1, 2, 3], featureModelSha256: MODEL_B })).message).toMatch(
      /features come from feature model aaaaaaaaaaaa…, this run uses bbbbbbbbbbbb…/,
    );
    expect(() => checkStoreModel(s, MODEL_A)).not.toThrow();
    expect(usage(() => addFace(s, { name: 'x', feature: [1, 2], featureModelSha256: MODEL_A })).message).toMatch(
      /has 2 values, the store's features have 3/,
    );
    expect(usage(() => addFace(s, { name: 'x', feature: [1, 2, 300], featureModelSha256: MODEL_A })).message).toMatch(
      /= 300 is not an int8/,
    );
    expect(usage(() => addFace(s, { name: ' ', feature: [1, 2, 3], featureModelSha256: MODEL_A })).code).toBe(
      'BAD_ARGUMENT',
    );
  });

  it('treats a corrupt store as an error, never as empty', () => {
    const cases: [string, RegExp][] = [
      ['', /not valid JSON/],
      ['{"format": "kpusim-face-store", "version": 1', /not valid JSON/],
      ['[]', /the top level is not a JSON object/],
      ['{"format": "other"}', /"format" is "other"/],
      [JSON.stringify({ ...int8Store(), version: 2 }), /unsupported version 2/],
      [JSON.stringify({ ...int8Store(), extra: 1 }), /unknown field "extra"/],
      [
        JSON.stringify({ ...int8Store(), scoring: 'feature-compare' }),
        /"scoring" must be "face-compare" for int8 features/,
      ],
      [
        JSON.stringify({ ...int8Store(), models: { features: 'xyz' } }),
        /"models.features" must be a lowercase hex sha256/,
      ],
      [
        JSON.stringify({ ...int8Store(), entries: [{ name: 'a', feature: [1, 2] }] }),
        /entries\[0\]\.feature has 2 values/,
      ],
      [
        JSON.stringify({ ...int8Store(), entries: [{ name: 'a', feature: [1, 2, 3.5] }] }),
        /entries\[0\]\.feature\[2\] = 3.5 is not an int8/,
      ],
      [
        JSON.stringify({ ...int8Store(), entries: [{ feature: [1, 2, 3] }] }),
        /entries\[0\]\.name must be a non-empty string/,
      ],
      [
        JSON.stringify({
          ...int8Store(),
          encoding: 'float32',
          scoring: 'feature-compare',
          entries: [{ name: 'a', feature: [0.1, 0, 0] }],
        }),
        /= 0.1 is not a binary32 value/,
      ],
    ];
    for (const [text, re] of cases) {
      const file = join(dir, 'corrupt.json');
      writeFileSync(file, text);
      const e = usage(() => readFaceStore(file));
      expect(e.code).toBe('BAD_FILE');
      expect(e.message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: corrupt face store: `));
      expect(e.message).toMatch(re);
      expect(() => readFaceStoreIfExists(file)).toThrow(UsageError);
    }
  });

  it('reports a missing store as NOT_FOUND, and readFaceStoreIfExists as null', () => {
    expect(usage(() => readFaceStore(join(dir, 'none.json'))).code).toBe('NOT_FOUND');
    expect(readFaceStoreIfExists(join(dir, 'none.json'))).toBeNull();
  });
});
