/**
 * The Python sent once per session. It defines `_hil_*` helpers that answer in sentinel lines
 * (`@HIL <key> <payload>`); everything else the board prints is log. Written for MicroPython v1.11
 * as MaixPy and CanMV ship it (no f-strings, `u`-prefixed modules with a fallback for newer ports).
 * Each definition is sent as its own command so no command outgrows the board's receive buffer.
 */
export const SENTINEL = '@HIL ';

const HEADER = `import gc
import sys
try:
    import ubinascii as _hb
except ImportError:
    import binascii as _hb
try:
    import uos as _ho
except ImportError:
    import os as _ho
try:
    import utime as _ht
except ImportError:
    import time as _ht
try:
    import ustruct as _hs
except ImportError:
    import struct as _hs
_hil_f = None
_hil_d = None
_hil_task = None`;

const DEFS: readonly string[] = [
  `def _hil_say(k, v):
    print('@HIL %s %s' % (k, v))`,
  `def _hil_ls(d):
    try:
        ns = _ho.listdir(d)
    except Exception:
        _hil_say('nodir', d)
        return
    for n in ns:
        try:
            st = _ho.stat(d + '/' + n)
            _hil_say('file', '%s %d %d %s' % (d, 1 if st[0] & 0x4000 else 0, st[6], n))
        except Exception:
            _hil_say('file', '%s 0 -1 %s' % (d, n))`,
  `def _hil_mods():
    a = []
    for m in ('KPU', 'Maix', 'maix', 'uctypes', '_kpusim_js'):
        try:
            __import__(m)
            a.append(m)
        except Exception:
            pass
    return a`,
  `def _hil_hello():
    i = sys.implementation
    _hil_say('impl', '%s %s' % (i.name, '.'.join([str(x) for x in i.version[:3]])))
    _hil_say('platform', sys.platform)
    try:
        u = _ho.uname()
        _hil_say('uname', '%s|%s|%s|%s' % (u[0], u[2], u[3], u[4]))
    except Exception:
        pass
    m = _hil_mods()
    _hil_say('modules', ' '.join(m))
    if 'maix' in m:
        try:
            from maix import KPU as K
            _hil_say('canmv_kpu', ' '.join([n for n in ('load_kmodel', 'run_with_output', 'load', 'run', 'get_outputs') if n in dir(K)]))
        except Exception:
            pass
    try:
        try:
            from Maix import freq
        except ImportError:
            from maix import freq
        _hil_say('freq', '%d %d' % (freq.get_cpu(), freq.get_kpu()))
    except Exception:
        pass
    gc.collect()
    s = -1
    try:
        try:
            from Maix import utils
        except ImportError:
            from maix import utils
        s = utils.heap_free()
    except Exception:
        pass
    _hil_say('heap', '%d %d %d' % (gc.mem_free(), gc.mem_alloc(), s))
    _hil_ls('/flash')
    _hil_ls('/sd')`,
  `def _hil_crc(p):
    try:
        f = open(p, 'rb')
    except Exception:
        _hil_say('crc', '-1 0')
        return
    c = 0
    n = 0
    b = bytearray(1024)
    while True:
        k = f.readinto(b)
        if not k:
            break
        c = _hb.crc32(memoryview(b)[:k], c)
        n += k
    f.close()
    _hil_say('crc', '%d %d' % (n, c & 0xffffffff))`,
  `def _hil_open(p):
    global _hil_f
    _hil_f = open(p, 'wb')`,
  `def _hil_put(s):
    _hil_f.write(_hb.a2b_base64(s))`,
  `def _hil_close(p):
    global _hil_f
    _hil_f.close()
    _hil_f = None
    _hil_crc(p)`,
  `def _hil_commit(t, p):
    try:
        _ho.remove(p)
    except Exception:
        pass
    _ho.rename(t, p)
    _hil_say('ok', p)`,
  `def _hil_rm(p):
    try:
        _ho.remove(p)
        _hil_say('ok', p)
    except Exception:
        _hil_say('nofile', p)`,
  `def _hil_buf(n):
    global _hil_d
    _hil_d = None
    gc.collect()
    _hil_d = bytearray(n)`,
  `def _hil_set(o, s):
    d = _hb.a2b_base64(s)
    _hil_d[o:o + len(d)] = d`,
  `def _hil_dcrc(n):
    _hil_say('crc', '%d %d' % (n, _hb.crc32(memoryview(_hil_d)[:n]) & 0xffffffff))`,
  `def _hil_script(name):
    global _hil_d
    s = str(_hil_d, 'utf-8')
    _hil_d = None
    gc.collect()
    g = {'__name__': '__main__', '__file__': name}
    try:
        c = compile(s, name, 'exec')
    except NameError:
        c = s
    exec(c, g)`,
  `def _hil_canbaud():
    try:
        from machine import UART
        _hil_say('baud', '1' if hasattr(UART, 'repl_uart') else '0')
    except Exception:
        _hil_say('baud', '0')`,
  `def _hil_baud(b):
    from machine import UART
    u = UART.repl_uart()
    _ht.sleep_ms(100)
    u.init(b, 8, None, 1, read_buf_len=2048)`,
  `def _hil_flashcrc(a, n):
    try:
        try:
            from Maix import utils
        except ImportError:
            from maix import utils
        c = 0
        o = 0
        while o < n:
            k = min(4096, n - o)
            c = _hb.crc32(utils.flash_read(a + o, k), c)
            o += k
        _hil_say('crc', '%d %d' % (n, c & 0xffffffff))
    except Exception as e:
        _hil_say('noflash', repr(e))`,
  `def _hil_load(ref):
    global _hil_task
    import KPU as kpu
    if _hil_task is not None:
        try:
            kpu.deinit(_hil_task)
        except Exception:
            pass
    _hil_task = None
    gc.collect()
    _hil_task = kpu.load(ref)
    _hil_say('loaded', '1')`,
  `def _hil_setout(i, w, h, c):
    import KPU as kpu
    _hil_say('setout', '%d %d' % (i, 1 if kpu.set_outputs(_hil_task, i, w, h, c) else 0))`,
  `def _hil_fwd(x, n):
    import KPU as kpu
    ts = []
    for r in range(n):
        gc.collect()
        t = _ht.ticks_us()
        kpu.forward(_hil_task, x)
        ts.append(_ht.ticks_diff(_ht.ticks_us(), t))
    _hil_say('time', ' '.join([str(v) for v in ts]))`,
  `def _hil_getout(i, n, tc, k):
    import KPU as kpu
    _hil_dump(i, kpu.get_output(_hil_task, i), n, tc, k)`,
  `def _hil_cmload(ref, size):
    global _hil_task
    from maix import KPU
    if _hil_task is not None:
        try:
            _hil_task.deinit()
        except Exception:
            pass
    _hil_task = None
    gc.collect()
    _hil_task = KPU()
    if size:
        _hil_task.load_kmodel(ref, size)
    else:
        _hil_task.load_kmodel(ref)
    _hil_say('loaded', '1')`,
  `def _hil_cmrun(p, n):
    global _hil_d
    ts = []
    r = None
    for i in range(n):
        r = None
        gc.collect()
        t = _ht.ticks_us()
        r = _hil_task.run_with_output(p, getlist=True)
        ts.append(_ht.ticks_diff(_ht.ticks_us(), t))
    _hil_d = r
    _hil_say('time', ' '.join([str(v) for v in ts]))`,
  `def _hil_pixai(n):
    import uctypes
    _hil_img.pix_to_ai()
    p = int.from_bytes(bytes(uctypes.bytearray_at(id(_hil_img) + 32, 8)), 'little')
    if not (0x80000000 <= p < 0x80600000 or 0x40000000 <= p < 0x40600000):
        _hil_say('pixai', '0 %d 0' % p)
        return
    _hil_say('pixai', '1 %d %d' % (p, _hb.crc32(uctypes.bytearray_at(p, n)) & 0xffffffff))`,
  `def _hil_dump(i, fm, n, tc, k):
    for o in range(0, n, k):
        v = fm[o:o + k]
        if tc == 'f':
            b = _hs.pack('<%df' % len(v), *v)
        else:
            b = bytes(v)
        _hil_say('out', '%d %d %s' % (i, o, _hb.b2a_base64(b).decode().strip()))`,
];

/** The prelude as commands, in order, definitions packed together up to `maxBytes` per command. */
export function preludeCommands(maxBytes = 1900): string[] {
  const out: string[] = [HEADER];
  let cur = '';
  for (const d of DEFS) {
    if (cur && cur.length + 1 + d.length > maxBytes) {
      out.push(cur);
      cur = '';
    }
    cur = cur ? `${cur}\n${d}` : d;
  }
  if (cur) out.push(cur);
  return out;
}

/** A sentinel record: `@HIL key payload`. */
export interface HilRecord {
  readonly key: string;
  readonly value: string;
}

/** Splits a command's output into sentinel records and log text (everything else). */
export function splitSentinels(stdout: string): { records: HilRecord[]; log: string } {
  const records: HilRecord[] = [];
  const log: string[] = [];
  for (const raw of stdout.replace(/\r/g, '').split('\n')) {
    const at = raw.indexOf(SENTINEL);
    if (at < 0) {
      if (raw !== '') log.push(raw);
      continue;
    }
    // Firmware log text may precede a sentinel on the same line (a printk without a newline).
    if (at > 0) log.push(raw.slice(0, at));
    const rest = raw.slice(at + SENTINEL.length);
    const sp = rest.indexOf(' ');
    records.push(sp < 0 ? { key: rest, value: '' } : { key: rest.slice(0, sp), value: rest.slice(sp + 1) });
  }
  return { records, log: log.length ? log.join('\n') + '\n' : '' };
}

/** A Python string literal for ASCII-safe text (file names, paths). */
export function pyStr(s: string): string {
  let out = "'";
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '\\' || ch === "'") out += '\\' + ch;
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else if (c < 0x100) out += '\\x' + c.toString(16).padStart(2, '0');
    else if (c < 0x10000) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += '\\U' + c.toString(16).padStart(8, '0');
  }
  return out + "'";
}
