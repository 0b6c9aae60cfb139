/**
 * MaixPy's `KPU.load_flash` and `KPU.classifier`, CanMV's licence-plate recogniser heads
 * (`lp_recog`): arithmetic on hand-made weights, argument checks with the firmware's messages.
 */
import { describe, expect, it } from 'vitest';
import { lpRecog } from '../src/maixpy/modules/kpu.js';
import { runScript } from './fixtures/maixpy/helpers.js';

async function py(source: string): Promise<string[]> {
  const r = await runScript({ source });
  if (r.exitCode !== 0) throw new Error(r.stderr);
  return r.lines;
}

describe('CanMV lp_recog', () => {
  it('seven heads over seven chunks, weights at the firmware fixed offsets, then the biases', () => {
    const chunk = 1664;
    const heads = [31, 24, 34, 34, 34, 34, 34];
    const feat = new Float32Array(7 * chunk);
    for (let h = 0; h < 7; h++) {
      feat[h * chunk] = 1;
      feat[h * chunk + 1] = 2;
    }
    const w = new Float32Array(heads.reduce((s, n) => s + n * chunk + n, 0));
    let off = 0;
    heads.forEach((n, h) => {
      for (let i = 0; i < n; i++) {
        w[off + i * chunk] = h * 100 + i;
        w[off + i * chunk + 1] = 0.25;
      }
      for (let i = 0; i < n; i++) w[off + n * chunk + i] = 0.5;
      off += n * chunk + n;
    });
    const out = lpRecog(feat, w);
    expect(out).toHaveLength(225);
    // (100·h + i)·1 + 0.25·2 + 0.5
    let k = 0;
    heads.forEach((n, h) => {
      for (let i = 0; i < n; i++) expect(out[k++]).toBe(h * 100 + i + 1);
    });
    expect(() => lpRecog(feat, w.subarray(0, w.length - 1))).toThrow(/too short/);
  });

  it('the Python calls check their arguments as CanMV does', async () => {
    const out = await py(`
from maix import KPU
k = KPU()
for f in (lambda: k.lp_recog(), lambda: k.lp_recog_load_weight_data(0x1000), lambda: k.lp_recog_load_weight_data(-1),
          lambda: k.lp_recog_load_weight_data('/sd/none.bin'), lambda: k.lp_recog_load_weight_data(0x1000, 10)):
    try:
        f()
    except Exception as e:
        print(type(e).__name__, str(e).split(' is not')[0])
`);
    expect(out).toEqual([
      'OSError not find lp weight data, please load',
      'ValueError size error!',
      'ValueError path error!',
      'OSError Failed to read file',
      'NotImplementedError KPU.lp_recog_load_weight_data(flash address)',
    ]);
  });
});

describe('MaixPy KPU.load_flash and KPU.classifier', () => {
  it('load_flash loads the model at a flash address as load() does; its arguments are checked', async () => {
    const out = await py(`
import KPU as kpu
a = kpu.load(0x300000)
b = kpu.load_flash(0x300000, 0, 1, 2000000)
print(b.model_size() == a.model_size(), b.model_addr(), b.model_path())
for f in (lambda: kpu.load_flash('x', 0, 1, 1), lambda: kpu.load_flash(0, 0, 1, 1), lambda: kpu.load_flash(1),
          lambda: kpu.classifier(a, 3, 15)):
    try:
        f()
    except Exception as e:
        print(type(e).__name__, str(e).split(' is not')[0])
`);
    expect(out).toEqual([
      `True ${0x300000} None`,
      'ValueError [MAIXPY]kpu: load_flash arg format error: task=kpu.load_flash(flash_addr, is_dual_buf, batch_size, spi_speed)',
      'ValueError [MAIXPY]kpu: model_addr must > 0 ',
      'TypeError function takes 4 positional arguments but 1 were given',
      "NotImplementedError KPU.classifier (the firmware's closed self-learning classifier library)",
    ]);
  });
});
