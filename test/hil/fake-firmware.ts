/**
 * Scripted fakes of a K210 board's serial side (MaixPy or CanMV on MicroPython v1.11), behind
 * serialport's mock binding. They reproduce the wire, not Python:
 * - boot output (firmware log lines, the MaixPy/CanMV banner), input ignored while booting;
 * - CanMV's "soft reboot" line with its stray NUL byte;
 * - the friendly REPL (`>>> `, echo) and the v1.11 raw REPL (no raw-paste: `\x05A\x01` is stored
 *   and the `\x01` restarts the raw REPL, as v1.11's pyexec does);
 * - a 2048-byte receive ring that drops bytes silently while a command runs (counted in `dropped`);
 * - firmware log lines (printk) and NUL bytes between output lines;
 * - tracebacks, MemoryError, KeyboardInterrupt on Ctrl-C, a cable pulled after N commands;
 * - a REPL UART that changes its baud rate (`UART.repl_uart().init(b)`, 100 ms after the command
 *   was taken); while the two ends' rates differ, every byte arrives as framing garbage.
 * Commands are understood by the `_hil_*` names the client's prelude defines (a few scripted
 * statements for scripts); anything else is a NameError, as an undefined name would be.
 */
import { SerialPortMock } from 'serialport';
import type { BindingInterface } from '../../src/hil/serial.js';

export type FakeFlavour = 'maixpy' | 'canmv';

export interface FakeOptions {
  readonly flavour?: FakeFlavour;
  /** Receive ring size (default 2048). */
  readonly rxBuffer?: number;
  /** How long each command keeps the board busy (ms, default 2). */
  readonly busyMs?: number;
  /** Firmware log lines (and a NUL) between output lines. */
  readonly printk?: boolean;
  /** Boot when the port opens (boot output, input ignored for `bootMs`). */
  readonly bootOnOpen?: boolean;
  readonly bootMs?: number;
  /** A soft reboot's output just before the client arrives (CanMV: with its stray NUL). */
  readonly softRebootOnOpen?: boolean;
  /** The board never answers (ISP mode, wrong baud): all input ignored. */
  readonly silent?: boolean;
  /** Pull the cable when this many `_hil_put` commands have arrived. */
  readonly pullAfterPuts?: number;
  /** GC heap free (bytes); larger `_hil_buf` requests raise MemoryError. */
  readonly heapFree?: number;
  /** Files present at start. */
  readonly files?: Record<string, Uint8Array>;
  /** The firmware has `machine.UART.repl_uart()` (the REPL's baud rate can change). */
  readonly replUart?: boolean;
  /** The UART comes up at this rate whatever was asked (a board that cannot keep up). */
  readonly baudStuckAt?: number;
}

const MockBinding = SerialPortMock.binding;

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    c ^= bytes[i];
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

type State = 'booting' | 'friendly' | 'raw' | 'busy' | 'dead';

export class FakeBoard {
  readonly opts: Required<Omit<FakeOptions, 'files' | 'pullAfterPuts' | 'baudStuckAt'>> & {
    pullAfterPuts?: number;
    baudStuckAt?: number;
  };
  /** The board's REPL UART rate, and the host's (set by the binding). */
  baud = 115200;
  hostBaud = 115200;
  /** Every rate the board's UART was set to. */
  readonly baudChanges: number[] = [];
  /** The board's file system (shared across reconnections). */
  readonly fs = new Map<string, Uint8Array>();
  state: State = 'friendly';
  /** Bytes dropped because the receive ring was full. */
  dropped = 0;
  /** Most bytes ever waiting in the ring. */
  maxRing = 0;
  /** Every complete command text the raw REPL received. */
  readonly commands: string[] = [];
  /** Every modem-line setting the client made. */
  readonly signals: { dtr?: boolean; rts?: boolean }[] = [];
  /** Every byte the client sent. */
  received: number[] = [];
  private ring: number[] = [];
  private line: number[] = [];
  private emit: (b: Uint8Array) => void = () => {};
  private pull: () => void = () => {};
  private openFile: { path: string; data: number[] } | null = null;
  private dataBuf: Uint8Array | null = null;
  private puts = 0;
  private interrupted = false;
  private looping: (() => void) | null = null;

  constructor(opts: FakeOptions = {}) {
    this.opts = {
      flavour: opts.flavour ?? 'maixpy',
      rxBuffer: opts.rxBuffer ?? 2048,
      busyMs: opts.busyMs ?? 2,
      printk: opts.printk ?? false,
      bootOnOpen: opts.bootOnOpen ?? false,
      bootMs: opts.bootMs ?? 300,
      softRebootOnOpen: opts.softRebootOnOpen ?? false,
      silent: opts.silent ?? false,
      heapFree: opts.heapFree ?? 300_000,
      pullAfterPuts: opts.pullAfterPuts,
      replUart: opts.replUart ?? false,
      baudStuckAt: opts.baudStuckAt,
    };
    for (const [k, v] of Object.entries(opts.files ?? {})) this.fs.set(k, v);
  }

  private get tag(): string {
    return this.opts.flavour === 'canmv' ? 'CanMV' : 'MaixPy';
  }

  private banner(): string {
    return this.opts.flavour === 'canmv'
      ? 'MicroPython v0.1.0-57-gabcdef0 on 2022-03-01; CanMV with kendryte-k210\r\nType "help()" for more information.\r\n'
      : 'MicroPython v0.6.2-89-gd8901fd on 2024-06-01; Sipeed_M1 with kendryte-k210\r\nType "help()" for more information.\r\n';
  }

  private bootText(soft: boolean): string {
    let t = '';
    if (soft) t += `[${this.tag}]: soft reboot${this.opts.flavour === 'canmv' ? '\0' : ''}\r\n`;
    t += '[MAIXPY]Pll0:freq:806000000\r\n[MAIXPY]Pll1:freq:398666666\r\n[MAIXPY]Pll2:freq:45066666\r\n';
    t += '[MAIXPY]cpu:freq:403000000\r\n[MAIXPY]kpu:freq:398666666\r\n[MAIXPY]Flash:0xc8:0x17\r\n';
    t += '[MaixPy] init end\r\n\r\n __  __              _____  __   __  _____   __     __ \r\n';
    return t + this.banner() + '>>> ';
  }

  /** Connects the fake to a mock port (called by the binding on open). */
  attach(emit: (b: Uint8Array) => void, pull: () => void): void {
    this.emit = emit;
    this.pull = pull;
    if (this.opts.silent) {
      this.state = 'dead';
      return;
    }
    if (this.opts.bootOnOpen) {
      this.state = 'booting';
      setTimeout(() => {
        this.send(this.bootText(false));
        this.state = 'friendly';
      }, this.opts.bootMs);
    } else if (this.opts.softRebootOnOpen) {
      this.send(this.bootText(true));
      this.state = 'friendly';
    }
  }

  private send(text: string | Uint8Array): void {
    const b = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
    const garbled = this.baud !== this.hostBaud;
    setImmediate(() => this.emit(garbled ? b.map((x) => 0x80 | x) : b));
  }

  /** Bytes from the client, as the UART ISR sees them. */
  receive(input: Uint8Array): void {
    // at another rate than the board's, every byte is framing garbage (never a control character)
    const bytes = this.baud === this.hostBaud ? input : input.map((x) => 0x80 | x);
    for (const b of bytes) this.received.push(b);
    if (this.state === 'dead' || this.state === 'booting') return;
    for (const b of bytes) {
      if (this.state === 'busy' && b === 3) {
        // the interrupt character is acted on in the ISR, not queued
        this.interrupted = true;
        const l = this.looping;
        this.looping = null;
        l?.();
        continue;
      }
      if (this.ring.length >= this.opts.rxBuffer) {
        this.dropped++;
        continue;
      }
      this.ring.push(b);
      this.maxRing = Math.max(this.maxRing, this.ring.length);
    }
    this.drain();
  }

  /** The REPL reads the ring while it waits for input. */
  private drain(): void {
    while (this.ring.length && (this.state === 'friendly' || this.state === 'raw')) {
      const c = this.ring.shift() as number;
      if (this.state === 'friendly') this.friendlyChar(c);
      else this.rawChar(c);
    }
  }

  private friendlyChar(c: number): void {
    if (c === 1) {
      this.state = 'raw';
      this.line = [];
      this.send('\r\nraw REPL; CTRL-B to exit\r\n>');
    } else if (c === 3 || c === 13) this.send('\r\n>>> ');
    else if (c === 2) this.send('\r\n' + this.banner() + '>>> ');
    else if (c >= 0x20) this.send(String.fromCharCode(c));
  }

  private rawChar(c: number): void {
    if (c === 1) {
      this.line = [];
      this.send('raw REPL; CTRL-B to exit\r\n>');
    } else if (c === 2) {
      this.state = 'friendly';
      this.send('\r\n' + this.banner() + '>>> ');
    } else if (c === 3) this.line = [];
    else if (c === 4) {
      const code = Buffer.from(this.line).toString('latin1');
      this.line = [];
      this.send('OK');
      if (code === '') {
        // soft reset: not exercised by the client
        this.send('\r\n' + this.bootText(true));
        this.state = 'friendly';
        return;
      }
      this.commands.push(code);
      this.state = 'busy';
      void this.runCommand(code);
    } else this.line.push(c);
  }

  private out(lines: string[]): string {
    const noise = this.opts.printk ? '[MAIXPY]: kpu printk: layer 0 done\0\r\n' : '';
    return lines.map((l) => l + '\r\n' + noise).join('');
  }

  private traceback(type: string, msg: string, frames: string[] = ['  File "<stdin>", line 1, in <module>']): string {
    return ['Traceback (most recent call last):', ...frames, `${type}: ${msg}`].join('\r\n') + '\r\n';
  }

  private async runCommand(code: string): Promise<void> {
    await new Promise((r) => setTimeout(r, this.opts.busyMs));
    if (this.state === 'dead') return;
    let r: { stdout: string; stderr: string };
    try {
      r = await this.interpret(code);
    } catch (e) {
      if (e === PULLED) return;
      throw e;
    }
    this.send(r.stdout + '\x04' + r.stderr + '\x04>');
    this.interrupted = false;
    this.state = 'raw';
    this.drain();
  }

  private file(path: string): Uint8Array | undefined {
    return this.fs.get(path);
  }

  private async interpret(code: string): Promise<{ stdout: string; stderr: string }> {
    const ok = (lines: string[] = []) => ({ stdout: this.out(lines), stderr: '' });
    const s = (x: string) => x.slice(1, -1).replace(/\\(.)/g, '$1');
    let m: RegExpExecArray | null;
    if (code.startsWith('import gc') || code.startsWith('def _hil_')) return ok();
    if (code === '_hil_hello()') {
      const lines = ['@HIL impl micropython 1.11.0', '@HIL platform MaixPy'];
      lines.push(
        this.opts.flavour === 'canmv'
          ? '@HIL uname|x'.replace('|x', ' MaixPy|0.1.0|v0.1.0-57-gabcdef0|CanMV with kendryte-k210')
          : '@HIL uname MaixPy|0.6.2|v0.6.2-89-gd8901fd|Sipeed_M1 with kendryte-k210',
      );
      lines.push(
        this.opts.flavour === 'canmv'
          ? '@HIL modules KPU maix image sensor lcd uctypes'
          : '@HIL modules KPU Maix image sensor lcd uctypes',
      );
      if (this.opts.flavour === 'canmv') lines.push('@HIL canmv_kpu load_kmodel run_with_output');
      lines.push('@HIL freq 400 400', `@HIL heap ${this.opts.heapFree} 120000 3500000`);
      for (const d of ['/flash', '/sd']) {
        const names = [...this.fs.keys()].filter((k) => k.startsWith(d + '/'));
        if (d === '/sd' && names.length === 0) lines.push('@HIL nodir /sd');
        for (const n of names) lines.push(`@HIL file ${d} 0 ${this.fs.get(n)?.length} ${n.slice(d.length + 1)}`);
      }
      return ok(lines);
    }
    if ((m = /^_hil_crc\(('.*')\)$/.exec(code))) {
      const f = this.file(s(m[1]));
      return ok([f ? `@HIL crc ${f.length} ${crc32(f)}` : '@HIL crc -1 0']);
    }
    if ((m = /^_hil_open\(('.*')\)$/.exec(code))) {
      this.openFile = { path: s(m[1]), data: [] };
      this.fs.set(this.openFile.path, new Uint8Array(0));
      return ok();
    }
    if ((m = /^_hil_put\('([A-Za-z0-9+/=]*)'\)$/.exec(code))) {
      this.puts++;
      if (this.opts.pullAfterPuts !== undefined && this.puts >= this.opts.pullAfterPuts) {
        this.state = 'dead';
        this.pull();
        throw PULLED;
      }
      const d = Buffer.from(m[1], 'base64');
      if (!this.openFile)
        return { stdout: '', stderr: this.traceback('AttributeError', "'NoneType' object has no attribute 'write'") };
      for (const b of d) this.openFile.data.push(b);
      this.fs.set(this.openFile.path, Uint8Array.from(this.openFile.data));
      return ok();
    }
    if ((m = /^_hil_close\(('.*')\)$/.exec(code))) {
      this.openFile = null;
      const f = this.file(s(m[1])) ?? new Uint8Array(0);
      return ok([`@HIL crc ${f.length} ${crc32(f)}`]);
    }
    if ((m = /^_hil_commit\(('.*'), ('.*')\)$/.exec(code))) {
      const f = this.file(s(m[1]));
      if (!f) return { stdout: '', stderr: this.traceback('OSError', '[Errno 2] ENOENT') };
      this.fs.delete(s(m[1]));
      this.fs.set(s(m[2]), f);
      return ok([`@HIL ok ${s(m[2])}`]);
    }
    if ((m = /^_hil_rm\(('.*')\)$/.exec(code))) {
      const had = this.fs.delete(s(m[1]));
      return ok([had ? `@HIL ok ${s(m[1])}` : `@HIL nofile ${s(m[1])}`]);
    }
    if ((m = /^_hil_buf\((\d+)\)$/.exec(code))) {
      const n = Number(m[1]);
      if (n > this.opts.heapFree)
        return {
          stdout: '',
          stderr: this.traceback('MemoryError', `memory allocation failed, allocating ${n} bytes`, [
            '  File "<stdin>", line 1, in <module>',
            '  File "<stdin>", line 5, in _hil_buf',
          ]),
        };
      this.dataBuf = new Uint8Array(n);
      return ok();
    }
    if ((m = /^_hil_set\((\d+), '([A-Za-z0-9+/=]*)'\)$/.exec(code))) {
      this.dataBuf?.set(Buffer.from(m[2], 'base64'), Number(m[1]));
      return ok();
    }
    if ((m = /^_hil_dcrc\((\d+)\)$/.exec(code))) {
      const d = (this.dataBuf ?? new Uint8Array(0)).subarray(0, Number(m[1]));
      return ok([`@HIL crc ${d.length} ${crc32(d)}`]);
    }
    if ((m = /^_hil_say\('v', repr\((.*)\)\)$/.exec(code))) {
      const e = m[1];
      if (/^\d+\s*\+\s*\d+$/.test(e)) {
        const [a, b] = e.split('+').map(Number);
        return ok([`@HIL v ${a + b}`]);
      }
      return { stdout: '', stderr: this.traceback('NameError', `name '${e}' isn't defined`) };
    }
    if (code === '_hil_canbaud()') return ok([`@HIL baud ${this.opts.replUart ? 1 : 0}`]);
    if ((m = /^_hil_baud\((\d+)\)$/.exec(code))) {
      if (!this.opts.replUart)
        return {
          stdout: '',
          stderr: this.traceback('AttributeError', "type object 'UART' has no attribute 'repl_uart'"),
        };
      await new Promise((r) => setTimeout(r, 100));
      this.baud = this.opts.baudStuckAt ?? Number(m[1]);
      this.baudChanges.push(this.baud);
      return ok();
    }
    if ((m = /^_hil_script\(('.*')\)$/.exec(code))) return this.script(s(m[1]));
    return {
      stdout: '',
      stderr: this.traceback('NameError', `name '${code.split(/[^A-Za-z0-9_]/)[0]}' isn't defined`),
    };
  }

  /** Scripts of print('…') lines, `raise E('…')`, and `while True:` (runs until Ctrl-C). */
  private async script(name: string): Promise<{ stdout: string; stderr: string }> {
    const src = Buffer.from(this.dataBuf ?? new Uint8Array(0)).toString('utf8');
    this.dataBuf = null;
    const lines = src.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i].trim();
      let m: RegExpExecArray | null;
      const frames = [
        '  File "<stdin>", line 1, in <module>',
        '  File "<stdin>", line 10, in _hil_script',
        `  File "${name}", line ${i + 1}, in <module>`,
      ];
      if ((m = /^print\('(.*)'\)$/.exec(l))) {
        this.send(m[1] + '\r\n');
      } else if ((m = /^raise (\w+)\('(.*)'\)$/.exec(l)))
        return { stdout: '', stderr: this.traceback(m[1], m[2], frames) };
      else if (l.startsWith('while True')) {
        if (!this.interrupted) await new Promise<void>((r) => (this.looping = r));
        return { stdout: '', stderr: this.traceback('KeyboardInterrupt', '', frames) };
      }
    }
    // printed lines were sent as they ran
    return { stdout: '', stderr: '' };
  }
}

const PULLED = new Error('cable pulled');

/** A serialport binding whose ports are fake boards. */
export function fakeBinding(boards: Record<string, FakeBoard>): BindingInterface {
  for (const path of Object.keys(boards)) MockBinding.createPort(path, { echo: false, record: false });
  return {
    list: () => MockBinding.list(),
    async open(options: Parameters<typeof MockBinding.open>[0]) {
      const board = boards[options.path];
      const port = await MockBinding.open(options);
      board.hostBaud = options.baudRate;
      const update = port.update.bind(port);
      port.update = async (o: { baudRate: number }) => {
        board.hostBaud = o.baudRate;
        return update(o);
      };
      let pulledReject: ((e: Error) => void) | null = null;
      const pulled = new Promise<never>((_r, reject) => (pulledReject = reject));
      pulled.catch(() => {});
      const write = port.write.bind(port);
      port.write = async (buf: Buffer) => {
        await write(buf);
        board.receive(new Uint8Array(buf));
      };
      const set = port.set.bind(port);
      port.set = async (o: { dtr?: boolean; rts?: boolean }) => {
        board.signals.push({ dtr: o.dtr, rts: o.rts });
        return set(o);
      };
      const read = port.read.bind(port);
      port.read = (b: Buffer, o: number, l: number) => Promise.race([read(b, o, l), pulled]);
      board.attach(
        (bytes) => {
          if (port.isOpen) port.emitData(Buffer.from(bytes));
        },
        () => {
          const e = Object.assign(new Error('device disconnected (cable pulled)'), { disconnected: true });
          pulledReject?.(e);
          port.write = async () => {
            throw e;
          };
        },
      );
      return port;
    },
  } as unknown as BindingInterface;
}
