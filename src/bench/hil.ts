/**
 * The hardware-in-the-loop figures of `npm run bench`: kpusim's virtual board served on a
 * pseudo-terminal (`kpusim board serve --pty`, in a child process, as a user runs it) and driven
 * through that device by the client library, as `kpusim board` drives a real board's USB serial
 * port. Measured: the server's start (spawn to "serving on"), the session's start (prompt and
 * prelude), the round trip of one raw-REPL command, and upload throughput (checked by crc32 on the
 * board: a dropped byte fails it), without a receive-buffer limit and with MaixPy's 2048 bytes (`--uart-buffer 2048`).
 * Needs socat; without it the section says so and is left out.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openPort } from '../hil/connect.js';
import { BoardSession } from '../hil/session.js';

const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/kpusim.js');

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

export interface HilBoardFigures {
  readonly uart_buffer: number | null;
  readonly serve_start_ms: number;
  readonly session_open_ms: number;
  readonly command_round_trip_ms: Spread;
  readonly upload_bytes_per_s: Spread;
  readonly upload_bytes: number;
}

function spread(xs: number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  const median = s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  const r = (x: number) => Math.round(x * 100) / 100;
  return { median: r(median), min: r(s[0]), max: r(s[s.length - 1]), n: s.length };
}

function startServer(path: string, extra: string[]): Promise<{ child: ChildProcess; ms: number }> {
  const t0 = performance.now();
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [CLI, 'board', 'serve', '--pty', path, ...extra], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      if (err.includes('kpusim board: serving on')) res({ child, ms: performance.now() - t0 });
    });
    child.once('exit', (code) => rej(new Error(`board serve ended (${code}): ${err.trim()}`)));
  });
}

async function measureOne(uartBuffer: number | null, commands: number, uploads: number, bytes: number) {
  const dir = mkdtempSync(join(tmpdir(), 'kpusim-bench-hil-'));
  const tty = join(dir, 'tty');
  const server = await startServer(tty, uartBuffer === null ? [] : ['--uart-buffer', String(uartBuffer)]);
  try {
    const t0 = performance.now();
    const session = await BoardSession.open(await openPort(tty));
    const openMs = performance.now() - t0;
    const trips: number[] = [];
    for (let i = 0; i < commands; i++) {
      const t = performance.now();
      await session.eval('1 + 1');
      trips.push(performance.now() - t);
    }
    const data = new Uint8Array(bytes);
    let x = 1;
    for (let i = 0; i < bytes; i++) data[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
    const rates: number[] = [];
    for (let i = 0; i < uploads; i++) {
      const r = await session.putFile('/flash/bench.bin', data, { force: true });
      rates.push((r.bytes * 1000) / r.ms);
    }
    await session.close();
    const figures: HilBoardFigures = {
      uart_buffer: uartBuffer,
      serve_start_ms: Math.round(server.ms),
      session_open_ms: Math.round(openMs),
      command_round_trip_ms: spread(trips),
      upload_bytes_per_s: spread(rates.map(Math.round)),
      upload_bytes: bytes,
    };
    return figures;
  } finally {
    const exited = new Promise((r) => server.child.once('exit', r));
    server.child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The figures, or why they were left out. */
export async function hilBenchmark(
  log: (line: string) => void,
): Promise<{ boards: HilBoardFigures[] } | { skipped: string }> {
  if (spawnSync('socat', ['-V'], { stdio: 'ignore' }).error) return { skipped: 'socat is not installed' };
  const boards: HilBoardFigures[] = [];
  for (const ub of [null, 2048]) {
    const f = await measureOne(ub, 40, 3, 64 * 1024);
    log(
      `hil (pty, uart buffer ${ub ?? 'unlimited'}): command ${f.command_round_trip_ms.median} ms, upload ${f.upload_bytes_per_s.median} B/s`,
    );
    boards.push(f);
  }
  return { boards };
}
