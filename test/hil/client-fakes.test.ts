/**
 * The board client against scripted fakes of MaixPy and CanMV firmware (test/hil/fake-firmware.ts)
 * on serialport's mock binding: boot output, CanMV's stray NUL, the v1.11 raw REPL, a receive ring
 * that drops bytes while busy, printk noise, tracebacks, timeouts, Ctrl-C, a pulled cable.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SerialPortMock } from 'serialport';
import { BoardError, BoardPythonError } from '../../src/hil/errors.js';
import { openSerialLink } from '../../src/hil/serial.js';
import { BoardSession, crc32Of } from '../../src/hil/session.js';
import { FakeBoard, fakeBinding } from './fake-firmware.js';
import { Lcg } from '../lcg.js';

let n = 0;
afterEach(() => SerialPortMock.binding.reset());

async function connect(board: FakeBoard, opts: { promptTimeoutMs?: number; commandTimeoutMs?: number } = {}) {
  const path = `/dev/fake${n++}`;
  const binding = fakeBinding({ [path]: board });
  const log: string[] = [];
  const link = await openSerialLink({ path, binding });
  const session = await BoardSession.open(link, { ...opts, onLog: (t) => log.push(t) });
  return { session, log, path, binding };
}

function bytes(n: number, seed = 1): Uint8Array {
  return new Lcg(seed).bytes(n);
}

describe('board client against firmware fakes', () => {
  it('opens a MaixPy board that boots when the port opens, ignoring its boot output', async () => {
    const board = new FakeBoard({ flavour: 'maixpy', bootOnOpen: true, bootMs: 200 });
    const { session, log } = await connect(board);
    expect(session.info.flavour).toBe('maixpy');
    expect(session.info.virtual).toBe(false);
    expect(session.info.firmware).toBe('v0.6.2-89-gd8901fd');
    expect(session.info.kpuApi).toBe('maixpy');
    expect(session.info.kmodelVersions).toEqual([3, 4]);
    expect(session.info.cpuMhz).toBe(400);
    expect(session.info.missingDirs).toEqual(['/sd']);
    expect(log.join('')).toContain('[MaixPy] init end');
    // modem lines: one call with both lines released (profile none)
    expect(board.signals).toEqual([{ dtr: false, rts: false }]);
    await session.close();
  });

  it("tolerates CanMV's soft-reboot line with its stray NUL and detects CanMV's KPU API", async () => {
    const board = new FakeBoard({ flavour: 'canmv', softRebootOnOpen: true });
    const { session, log } = await connect(board);
    expect(session.info.flavour).toBe('canmv');
    expect(session.info.kpuApi).toBe('canmv-main');
    expect(log.join('')).toContain('[CanMV]: soft reboot');
    expect(log.join('')).not.toContain('\0');
    await session.close();
  });

  it('never sends the raw-paste probe; after a probe left by another tool the session still opens', async () => {
    const board = new FakeBoard();
    // another tool probed raw-paste: v1.11 stores \x05 and A, and \x01 restarts the raw REPL
    board.state = 'raw';
    const answers: string[] = [];
    board.attach(
      (b) => answers.push(Buffer.from(b).toString('latin1')),
      () => {},
    );
    board.receive(Uint8Array.from([5, 0x41, 1]));
    await new Promise((r) => setTimeout(r, 5));
    expect(answers.join('')).toBe('raw REPL; CTRL-B to exit\r\n>');
    board.receive(Uint8Array.from([0x78])); // junk left in the raw line
    board.received = [];
    const { session } = await connect(board);
    expect(session.info.flavour).toBe('maixpy');
    expect(board.received.includes(5)).toBe(false);
    await session.close();
  });

  it('never overruns a board whose 2048-byte ring drops bytes while busy (a 40 KB upload)', async () => {
    const board = new FakeBoard({ busyMs: 3 });
    const { session } = await connect(board);
    const data = bytes(40_000);
    const progress: number[] = [];
    const r = await session.putFile('/flash/m.kmodel', data, { onProgress: (p) => progress.push(p.sent) });
    expect(r.uploaded).toBe(true);
    expect(board.dropped).toBe(0);
    expect(board.maxRing).toBeLessThanOrEqual(2048);
    expect(Math.max(...board.commands.map((c) => Buffer.byteLength(c) + 1))).toBeLessThanOrEqual(2048);
    expect(board.fs.get('/flash/m.kmodel')).toEqual(data);
    expect(board.fs.has('/flash/m.kmodel.part')).toBe(false);
    expect(progress[progress.length - 1]).toBe(data.length);
    // the same file again is not sent
    const before = board.commands.length;
    const again = await session.putFile('/flash/m.kmodel', data);
    expect(again.uploaded).toBe(false);
    expect(board.commands.length - before).toBe(1);
    await session.close();
  });

  it('the fake does drop bytes beyond its ring when a client floods it while busy', async () => {
    const board = new FakeBoard({ busyMs: 50 });
    board.state = 'raw';
    board.attach(
      () => {},
      () => {},
    );
    board.receive(new TextEncoder().encode('x=1\x04'));
    board.receive(new Uint8Array(3000).fill(0x41));
    expect(board.dropped).toBe(3000 - 2048);
  });

  it('keeps results apart from printk noise and NUL bytes between sentinel lines', async () => {
    const board = new FakeBoard({ printk: true, files: { '/flash/boot.py': bytes(10) } });
    const { session, log } = await connect(board);
    expect(session.info.files.map((f) => `${f.dir}/${f.name}:${f.size}`)).toEqual(['/flash/boot.py:10']);
    expect(session.info.gcFree).toBe(300_000);
    expect(log.join('')).toContain('kpu printk');
    expect(await session.eval('1 + 2')).toBe('3');
    await session.close();
  });

  it('a cable pulled mid-upload is a clear error, and the half-written file is never taken as done', async () => {
    const board = new FakeBoard({ pullAfterPuts: 5 });
    const { session } = await connect(board);
    const data = bytes(20_000, 7);
    const err = await session.putFile('/sd/m.kmodel', data).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BoardError);
    expect((err as BoardError).code).toBe('LINK_LOST');
    expect((err as BoardError).exitCode).toBe(1);
    expect(board.fs.has('/sd/m.kmodel')).toBe(false);
    expect(board.fs.get('/sd/m.kmodel.part')?.length).toBeLessThan(data.length);
    // plugged back in: the upload starts over and completes
    const again = new FakeBoard();
    for (const [k, v] of board.fs) again.fs.set(k, v);
    const { session: s2 } = await connect(again);
    const r = await s2.putFile('/sd/m.kmodel', data);
    expect(r.uploaded).toBe(true);
    expect(crc32Of(again.fs.get('/sd/m.kmodel') as Uint8Array)).toBe(crc32Of(data));
    await s2.close();
  });

  it('a traceback names the script line; stdout streams before it', async () => {
    const board = new FakeBoard();
    const { session } = await connect(board);
    const out: string[] = [];
    const r = await session.runScript("print('hello')\nprint('board')\nraise ValueError('bad value')\n", 'demo.py', {
      onOutput: (t) => out.push(t),
    });
    expect(out.join('')).toBe('hello\nboard\n');
    expect(r.exitCode).toBe(1);
    expect(r.error?.type).toBe('ValueError');
    expect(r.error?.pyMessage).toBe('bad value');
    expect(r.error?.line).toBe(3);
    expect(r.error?.traceback).not.toContain('<stdin>');
    await session.close();
  });

  it('a board out of memory is an OUT_OF_MEMORY error', async () => {
    const board = new FakeBoard({ heapFree: 1000 });
    const { session } = await connect(board);
    const err = await session.putBuffer(bytes(5000)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BoardPythonError);
    expect((err as BoardPythonError).code).toBe('OUT_OF_MEMORY');
    await session.close();
  });

  it('Ctrl-C from the PC interrupts a running script with KeyboardInterrupt', async () => {
    const board = new FakeBoard();
    const { session } = await connect(board);
    const run = session.runScript("print('start')\nwhile True:\n    pass\n", 'loop.py', { timeoutMs: 0 });
    await new Promise((r) => setTimeout(r, 100));
    await session.interrupt();
    const r = await run;
    expect(r.exitCode).toBe(1);
    expect(r.interrupted).toBe(true);
    expect(r.error?.type).toBe('KeyboardInterrupt');
    expect(r.error?.line).toBe(2);
    // the session is usable afterwards
    expect(await session.eval('2 + 2')).toBe('4');
    await session.close();
  });

  it('a command over its time limit is interrupted and reported as TIMEOUT; the session survives', async () => {
    const board = new FakeBoard();
    const { session } = await connect(board, { commandTimeoutMs: 300 });
    const err = await session.runScript('while True:\n    pass\n', 'spin.py').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BoardError);
    expect((err as BoardError).code).toBe('TIMEOUT');
    expect(await session.eval('1 + 1')).toBe('2');
    await session.close();
  });

  it('a board that never answers: NO_PROMPT with the likely causes, exit 1', async () => {
    const board = new FakeBoard({ silent: true });
    const err = await connect(board, { promptTimeoutMs: 1200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BoardError);
    expect((err as BoardError).code).toBe('NO_PROMPT');
    expect((err as BoardError).exitCode).toBe(1);
    expect((err as Error).message).toMatch(/no MicroPython prompt within 1\.2 s/);
    expect((err as Error).message).toMatch(/ISP/);
    expect((err as Error).message).toMatch(/1\.5 Mbaud/);
    expect((err as Error).message).toMatch(/main\.py/);
  });

  it('a port that does not exist: PORT_NOT_FOUND listing the ports found, exit 2', async () => {
    const binding = fakeBinding({ '/dev/fakeA': new FakeBoard() });
    const err = await openSerialLink({ path: '/dev/nothere', binding }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BoardError);
    expect((err as BoardError).code).toBe('PORT_NOT_FOUND');
    expect((err as BoardError).exitCode).toBe(2);
    expect((err as Error).message).toContain('/dev/fakeA');
  });

  it('board profiles set both lines in one call (goD: both asserted)', async () => {
    const board = new FakeBoard();
    const path = `/dev/fake${n++}`;
    const link = await openSerialLink({ path, binding: fakeBinding({ [path]: board }), board: 'goD' });
    expect(board.signals).toEqual([{ dtr: true, rts: true }]);
    await link.close();
  });
});
