/**
 * The face store under concurrent writers, permissions, links and killed writers: every
 * enrolment that reports success is in the file; a read-only store is refused; modes are kept
 * (new stores 0600); a link is written through to its target; stale temporaries are cleaned.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { Io } from '../src/cli/common.js';
import { main } from '../src/cli/main.js';
import { UsageError } from '../src/errors.js';
import {
  addFace,
  cleanStaleTemps,
  createFaceStore,
  readFaceStore,
  STALE_TEMP_MS,
  writeFaceStore,
} from '../src/pipeline/face-store.js';
import { REPO_ROOT } from './shared.js';
import { thrown } from './fixtures/thrown.js';

const BIN = join(REPO_ROOT, 'bin/kpusim.js');
const HAS_DIST = existsSync(join(REPO_ROOT, 'dist/cli/main.js'));
const IMAGE = join(REPO_ROOT, 'examples/images/grace_hopper.jpg');
const MODEL = 'c'.repeat(64);
const dir = mkdtempSync(join(tmpdir(), 'kpusim-store-safety-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mode = (f: string) => statSync(f).mode & 0o777;
const oneFace = (name: string) =>
  addFace(createFaceStore({ encoding: 'int8', featureLength: 3, featureModelSha256: MODEL }), {
    name,
    feature: [1, 2, 3],
    featureModelSha256: MODEL,
  });

const usage = (fn: () => unknown): UsageError => thrown(fn, UsageError);

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => (out += t), err: (t) => (err += t), errIsTty: false };
  const code = await main(argv, io);
  return { code, out, err };
}

const enrollArgs = (db: string, name: string) => [
  'face',
  'enroll',
  IMAGE,
  '--preset',
  'bundled',
  '--db',
  db,
  '--name',
  name,
];

describe.skipIf(!HAS_DIST)('concurrent enrolments (real CLI processes)', () => {
  test('every enrolment that reports success is in the store', async () => {
    const db = join(dir, 'parallel.json');
    const names = Array.from({ length: 4 }, (_, i) => `person${i}`);
    const results = await Promise.all(
      names.map(
        (name) =>
          new Promise<{ name: string; code: number | null; out: string; err: string }>((done) => {
            const p = spawn(process.execPath, [BIN, ...enrollArgs(db, name)], { stdio: ['ignore', 'pipe', 'pipe'] });
            let out = '';
            let err = '';
            p.stdout.on('data', (d) => (out += d));
            p.stderr.on('data', (d) => (err += d));
            p.on('close', (code) => done({ name, code, out, err }));
          }),
      ),
    );
    for (const r of results) {
      expect(r.err, r.name).toBe('');
      expect(r.code, r.name).toBe(0);
      expect(r.out).toMatch(new RegExp(`enrolled ${r.name} from 1 image`));
    }
    const stored = readFaceStore(db).entries.map((e) => e.name);
    expect([...stored].sort()).toEqual(names);
    expect(mode(db)).toBe(0o600);
    expect(readdirSync(dir).filter((n) => n.startsWith('.parallel.json') || n.endsWith('.lock'))).toEqual([]);
  });
});

describe('store permissions and links', () => {
  test('a read-only (0444) store is refused with exit 2 and a reason, and left as it was', async () => {
    const db = join(dir, 'readonly.json');
    writeFaceStore(db, oneFace('first'));
    chmodSync(db, 0o444);
    const before = readFileSync(db, 'utf8');
    const r = await cli(...enrollArgs(db, 'second'));
    expect(r.out).toBe('');
    expect(r.err).toMatch(/read-only \(mode 0444\); nothing written/);
    expect(r.code).toBe(2);
    expect(readFileSync(db, 'utf8')).toBe(before);
    expect(mode(db)).toBe(0o444);
    expect(usage(() => writeFaceStore(db, oneFace('x'))).message).toMatch(/read-only/);
  });

  test('an existing store keeps its mode; a new store is 0600', () => {
    const kept = join(dir, 'private.json');
    writeFaceStore(kept, oneFace('a'));
    expect(mode(kept)).toBe(0o600);
    chmodSync(kept, 0o640);
    writeFaceStore(kept, oneFace('b'));
    expect(mode(kept)).toBe(0o640);
    expect(readFaceStore(kept).entries[0].name).toBe('b');
    chmodSync(kept, 0o600);
    writeFaceStore(kept, oneFace('c'));
    expect(mode(kept)).toBe(0o600);
  });

  test('a symlinked store is written through the link: the target gets the entry, the link stays', () => {
    const target = join(dir, 'real-store.json');
    const link = join(dir, 'link-store.json');
    writeFaceStore(target, oneFace('old'));
    chmodSync(target, 0o640);
    symlinkSync(target, link);
    writeFaceStore(link, oneFace('new'));
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(target);
    expect(readFaceStore(target).entries[0].name).toBe('new');
    expect(mode(target)).toBe(0o640);
    // A link to nowhere is refused with a reason, and nothing is created.
    const dangling = join(dir, 'dangling.json');
    symlinkSync(join(dir, 'missing', 'store.json'), dangling);
    expect(usage(() => writeFaceStore(dangling, oneFace('x'))).message).toMatch(/symbolic link.*nothing written/);
  });

  test('a store that is not a regular file is refused, never read', () => {
    expect(usage(() => readFaceStore('/dev/zero')).message).toMatch(/not a regular file/);
    expect(usage(() => writeFaceStore(dir, oneFace('x'))).message).toMatch(/not a regular file/);
  });

  test('a failed write of a new store does not claim a previous file', () => {
    const e = usage(() => writeFaceStore(join(dir, 'no-such-folder', 'store.json'), oneFace('x')));
    expect(e.message).toMatch(/no store was written/);
    expect(e.message).not.toMatch(/previous file/);
  });
});

describe('temporary files of a killed writer', () => {
  // A writer killed (kill -9) between its fsync and its rename leaves `.<store>.<pid>.<hex>.tmp`.
  const deadPid = (): number =>
    Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());

  test('the next write removes stale temporaries of our own pattern, and nothing else', () => {
    const db = join(dir, 'killed.json');
    writeFaceStore(db, oneFace('one'));
    const complete = readFileSync(db);
    const dead = `.killed.json.${deadPid()}.0123456789ab.tmp`;
    const live = `.killed.json.${process.pid}.0123456789ab.tmp`; // a writer that is still running
    const old = `.killed.json.${process.ppid}.aaaaaaaaaaaa.tmp`; // running pid, but an hour old
    const other = ['.killed.json.backup', 'killed.json.1234.0123456789ab.tmp', '.killed.json.12.xyz.tmp'];
    for (const n of [dead, live, old, ...other]) writeFileSync(join(dir, n), complete);
    const anHourAgo = (Date.now() - STALE_TEMP_MS - 60_000) / 1000;
    utimesSync(join(dir, old), anHourAgo, anHourAgo);
    writeFaceStore(db, oneFace('two'));
    const left = readdirSync(dir);
    expect(left).not.toContain(dead);
    expect(left).not.toContain(old);
    expect(left).toContain(live);
    for (const n of other) expect(left).toContain(n);
    expect(readFaceStore(db).entries[0].name).toBe('two');
    expect(cleanStaleTemps(join(dir, 'killed.json'))).toEqual([]);
  });
});
