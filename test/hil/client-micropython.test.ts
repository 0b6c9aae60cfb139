/**
 * The client's Python (prelude, uploads, buffers, scripts) run by real MicroPython through its raw
 * REPL, byte for byte (test/hil/micropython-link.ts).
 */
import { describe, expect, it } from 'vitest';
import { BoardSession, crc32Of } from '../../src/hil/session.js';
import { micropythonLink } from './micropython-link.js';

describe('client Python on MicroPython', () => {
  it('prelude, hello, files with crc32, buffers, eval and scripts', async () => {
    const link = await micropythonLink();
    const s = await BoardSession.open(link);
    expect(s.info.implementation).toBe('micropython 1.27.0');
    expect(s.info.virtual).toBe(false);
    expect(s.info.missingDirs).toEqual(['/sd']);
    const data = new Uint8Array(5000).map((_, i) => (i * 7 + 3) & 0xff);
    const r = await s.putFile('/flash/x.bin', data);
    expect(r.uploaded).toBe(true);
    expect(await s.fileCrc('/flash/x.bin')).toEqual({ size: 5000, crc32: crc32Of(data) });
    expect(await s.fileCrc('/flash/none.bin')).toBeNull();
    expect((await s.putFile('/flash/x.bin', data)).uploaded).toBe(false);
    const info = await s.refreshInfo();
    expect(info.files.map((f) => `${f.dir}/${f.name}:${f.size}`)).toEqual(['/flash/x.bin:5000']);
    await s.putBuffer(data);
    expect(await s.eval('len(_hil_d)')).toBe('5000');
    expect(await s.eval('_hil_d[4999]')).toBe(String(data[4999]));
    const out: string[] = [];
    const big = Array.from({ length: 200 }, (_, i) => `x${i} = ${i}`).join('\n');
    const ok = await s.runScript(`${big}\nprint('sum', x199 + 1)\nprint('é')\n`, 'big.py', {
      onOutput: (t) => out.push(t),
    });
    expect(ok.exitCode).toBe(0);
    expect(out.join('')).toBe('sum 200\né\n');
    const bad = await s.runScript("a = 1\n\ndef f():\n    raise OSError('nope')\nf()\n", 'bad.py');
    expect(bad.exitCode).toBe(1);
    expect(bad.error?.type).toBe('OSError');
    expect(bad.error?.line).toBe(4);
    expect(bad.error?.traceback).toContain('File "bad.py", line 5, in <module>');
    await s.close();
  });
});
