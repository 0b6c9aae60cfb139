/** `kpusim board info/push/exec` against firmware fakes (registered as the `fake:` port scheme). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SerialPortMock } from 'serialport';
import type { Io } from '../../src/cli/common.js';
import { main } from '../../src/cli/main.js';
import { registerPortScheme } from '../../src/hil/connect.js';
import { openSerialLink } from '../../src/hil/serial.js';
import { FakeBoard, fakeBinding } from './fake-firmware.js';

const boards = new Map<string, FakeBoard>();
let unregister: () => void;
const dir = mkdtempSync(join(tmpdir(), 'kpusim-board-cli-'));

beforeAll(() => {
  unregister = registerPortScheme('fake', async (name, opts) => {
    const board = boards.get(name) ?? new FakeBoard();
    boards.set(name, board);
    const path = `/dev/fake-${name}`;
    return openSerialLink({ path, binding: fakeBinding({ [path]: board }), board: opts.board, warn: opts.warn });
  });
});
afterAll(() => unregister());
afterEach(() => SerialPortMock.binding.reset());

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => (out += t), err: (t) => (err += t), errIsTty: false };
  const code = await main(argv, io);
  return { code, out, err };
}

describe('kpusim board (fakes)', () => {
  it('info --json describes the board', async () => {
    boards.set('a', new FakeBoard({ files: { '/flash/boot.py': new Uint8Array(12) } }));
    const r = await cli('board', 'info', '--port', 'fake:a', '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.schema_version).toBe(1);
    expect(doc.board).toMatchObject({ flavour: 'maixpy', virtual: false, firmware: 'v0.6.2-89-gd8901fd' });
    expect(doc.kmodel_versions).toEqual([3, 4]);
    expect(doc.files).toEqual([{ path: '/flash/boot.py', size: 12, dir: false }]);
    const h = await cli('board', 'info', '--port', 'fake:a');
    expect(h.code).toBe(0);
    expect(h.out).toContain('/sd: not present');
  });

  it('push uploads, says how long it will take, and skips an identical file', async () => {
    const board = new FakeBoard({ files: { '/sd/keep.txt': new Uint8Array(1) } });
    boards.set('p', board);
    const f = join(dir, 'model.kmodel');
    const data = new Uint8Array(9000).map((_, i) => i * 13);
    writeFileSync(f, data);
    const r = await cli('board', 'push', f, '--port', 'fake:p');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/uploading 9000 bytes to \/sd\/model\.kmodel: about .* at 115200 baud/);
    expect(board.fs.get('/sd/model.kmodel')).toEqual(data);
    expect(board.dropped).toBe(0);
    const again = await cli('board', 'push', f, '--port', 'fake:p', '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ uploaded: false, to: '/sd/model.kmodel', bytes: 9000 });
  });

  it('push --baud-up switches the link for the transfer and back; the board never sees garbage', async () => {
    const board = new FakeBoard({ replUart: true, files: { '/sd/keep.txt': new Uint8Array(1) } });
    boards.set('fast', board);
    const f = join(dir, 'fast.bin');
    const data = new Uint8Array(6000).map((_, i) => i * 7);
    writeFileSync(f, data);
    const r = await cli('board', 'push', f, '--port', 'fake:fast', '--baud-up', '921600', '--json');
    expect(r.err).not.toContain('warning');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ uploaded: true, bytes: 6000, baud: 921600 });
    expect(board.fs.get('/sd/fast.bin')).toEqual(data);
    expect(board.baudChanges).toEqual([921600, 115200]);
    expect(board.received.some((b) => b >= 0x80)).toBe(false);
  });

  it('push --baud-up on a firmware without repl_uart warns and stays at 115200', async () => {
    const board = new FakeBoard({ files: { '/sd/keep.txt': new Uint8Array(1) } });
    boards.set('slow', board);
    const f = join(dir, 'slow.bin');
    writeFileSync(f, new Uint8Array(300).fill(5));
    const r = await cli('board', 'push', f, '--port', 'fake:slow', '--baud-up', '921600');
    expect(r.code).toBe(0);
    expect(r.err).toContain('cannot change its REPL baud rate; staying at 115200 baud');
    expect(board.baudChanges).toEqual([]);
    expect(board.fs.get('/sd/slow.bin')?.length).toBe(300);
  });

  it('push --baud-up to a rate the board does not reach: a clear error, nothing kept', async () => {
    const board = new FakeBoard({ replUart: true, baudStuckAt: 460800, files: { '/sd/keep.txt': new Uint8Array(1) } });
    boards.set('stuck', board);
    const f = join(dir, 'stuck.bin');
    writeFileSync(f, new Uint8Array(300).fill(9));
    const r = await cli('board', 'push', f, '--port', 'fake:stuck', '--baud-up', '921600', '--timeout', '3');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/did not answer at 921600 baud/);
    expect(board.fs.has('/sd/stuck.bin')).toBe(false);
  });

  it('a bad --to is a usage error before anything is sent', async () => {
    const board = new FakeBoard();
    boards.set('u', board);
    const f = join(dir, 'x.bin');
    writeFileSync(f, 'x');
    const r = await cli('board', 'push', f, '--port', 'fake:u', '--to', '/etc/passwd');
    expect(r.code).toBe(2);
    expect(r.err).toContain('/flash/ or /sd/');
    expect(board.received.length).toBe(0);
  });

  it('exec streams prints; a traceback is exit 1 naming the script line', async () => {
    boards.set('e', new FakeBoard());
    const f = join(dir, 'demo.py');
    writeFileSync(f, "print('one')\nprint('two')\nraise ValueError('boom')\n");
    const r = await cli('board', 'exec', f, '--port', 'fake:e');
    expect(r.code).toBe(1);
    expect(r.out).toBe('one\ntwo\n');
    expect(r.err).toContain(`File "${f}", line 3`);
    expect(r.err).toContain('ValueError: boom');
    expect(r.err).toContain(`kpusim board exec: ValueError at ${f}:3`);
  });

  it('a port that does not exist is exit 2; a silent board is exit 1 with the likely causes', async () => {
    const r = await cli('board', 'info', '--port', '/dev/kpusim-no-such-port');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no such device; serial ports found/);
    boards.set('s', new FakeBoard({ silent: true }));
    const s = await cli('board', 'info', '--port', 'fake:s', '--timeout', '1');
    expect(s.code).toBe(1);
    expect(s.err).toMatch(/no MicroPython prompt within 1\.0 s/);
  });
});
