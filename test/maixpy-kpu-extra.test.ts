/**
 * MaixPy's `KPU.load_flash` and `KPU.classifier`, CanMV's licence-plate recogniser heads
 * (`lp_recog`, and `KPU().Lpr()` of CanMV's current API): arithmetic on hand-made weights, weights
 * from a file or the flash, argument checks with the firmware's messages.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lpRecog } from '../src/maixpy/modules/kpu.js';
import { runScript, tempDir } from './fixtures/maixpy/helpers.js';
import { HAS_SHARED, kmodelPath, SHARED_SKIP_REASON } from './shared.js';

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
      'weight_data_size: 10\r', // the firmware prints \r\n
      'OSError Failed to read file (kpusim: flash 0x1000 holds nothing: map a model there with --flash 0x1000=FILE)',
    ]);
  });

  it('weights from a flash address read the bytes mapped there, as Lpr.load(offset, size) does', async () => {
    const dir = tempDir('lpflash');
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37 + 11) & 0xff);
    writeFileSync(join(dir, 'w.bin'), bytes);
    const r = await runScript(
      {
        source: `
from maix import KPU
k = KPU()
k.lp_recog_load_weight_data(0x800000 + 100, 400)
print(k._lpw[:3] == bytearray([${[...bytes.subarray(100, 103)].join(', ')}]), len(k._lpw))
l = k.Lpr()
l.load(0x800000, 1000)
a = l.attr()
print(a['weight']['size'], a['weight']['name'], ''.join(['%02x' % b for b in a['weight']['sha256']]))
for f in (lambda: l.load(0x800000, 1001), lambda: l.load(0x1000, 4)):
    try:
        f()
    except OSError as e:
        print('OSError', e)
`,
      },
      { flash: [`0x800000=${join(dir, 'w.bin')}`] },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.lines).toEqual([
      'weight_data_size: 400\r',
      'True 400',
      `1000 flash:0x00800000 ${createHash('sha256').update(bytes).digest('hex')}`,
      `OSError Failed to read file from rawflash (kpusim: flash 0x800000: 1001 bytes run past the end of ${join(dir, 'w.bin')})`,
      'OSError Failed to read file from rawflash (kpusim: flash 0x1000 holds nothing: map a model there with --flash 0x1000=FILE (mapped: 0x800000))',
    ]);
  });
});

describe("CanMV's KPU().Lpr()", () => {
  it.skipIf(!HAS_SHARED)(
    `load, run on the last run's output 0 (hand-made weights), attr, deinit, with the firmware's messages${HAS_SHARED ? '' : ` (${SHARED_SKIP_REASON})`}`,
    async () => {
      const sd = tempDir('lpr');
      copyFileSync(kmodelPath('canmv_licenseplate_recog_v3'), join(sd, 'lpr.kmodel'));
      // Row i of head h: weight 100·h + i on the chunk's first feature, 0.25 on its second, bias 0.5.
      const chunk = 1664;
      const heads = [31, 24, 34, 34, 34, 34, 34];
      const w = new Float32Array(heads.reduce((a, n) => a + n * chunk + n, 0));
      let off = 0;
      heads.forEach((n, h) => {
        for (let i = 0; i < n; i++) {
          w[off + i * chunk] = 100 * h + i;
          w[off + i * chunk + 1] = 0.25;
          w[off + n * chunk + i] = 0.5;
        }
        off += n * chunk + n;
      });
      const bytes = new Uint8Array(w.buffer);
      writeFileSync(join(sd, 'w.bin'), bytes);
      const r = await runScript(
        {
          source: `
from maix import KPU
import image
k = KPU()
l = k.Lpr()
for f in (lambda: l.run(), lambda: l.load('/sd/none.bin'), lambda: l.load(0x1000, 4), lambda: l.load(-1, 4), lambda: l.load(1.5)):
    try:
        f()
    except Exception as e:
        print(type(e).__name__, e)
l.load('/sd/w.bin')
try:
    l.run()
except OSError as e:
    print('OSError', e)
k.load('/sd/lpr.kmodel')
img = image.Image(size=(208, 64))
img.draw_rectangle(20, 10, 60, 30, color=(255, 255, 255), fill=True)
img.pix_to_ai()
k.run(img)
f = k.get_outputs()
out = l.run()
print(len(out), [len(t) for t in out])
worst = 0
for h in range(7):
    for i in range(len(out[h])):
        want = (100 * h + i) * f[h * ${chunk}] + 0.25 * f[h * ${chunk} + 1] + 0.5
        worst = max(worst, abs(out[h][i] - want) / max(1.0, abs(want)))
print('worst', worst < 1e-5, f[0] != 0 or f[1] != 0)
a = l.attr()
print(a['weight']['size'], a['weight']['name'], ''.join(['%02x' % b for b in a['weight']['sha256']]))
l.deinit()
print(l.attr()['weight']['size'])
`,
        },
        { sdDir: sd },
      );
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.lines).toEqual([
        'OSError Please call init before run',
        'OSError Failed to read file from filesystem',
        'OSError Failed to read file from rawflash (kpusim: flash 0x1000 holds nothing: map a model there with --flash 0x1000=FILE)',
        'ValueError offset error!',
        'ValueError load("path" / offset, size)',
        'OSError Please load/run kmodel before',
        '7 [31, 24, 34, 34, 34, 34, 34]',
        'worst True True',
        `${bytes.length} /sd/w.bin ${createHash('sha256').update(bytes).digest('hex')}`,
        '0',
      ]);
    },
    60_000,
  );
});

describe('MaixPy KPU.load_flash and KPU.classifier', () => {
  it("load_flash loads the model at a flash address as load() does; its and classifier()'s arguments are checked", async () => {
    const out = await py(`
import KPU as kpu
a = kpu.load(0x300000)
b = kpu.load_flash(0x300000, 0, 1, 2000000)
print(b.model_size() == a.model_size(), b.model_addr(), b.model_path())
for f in (lambda: kpu.load_flash('x', 0, 1, 1), lambda: kpu.load_flash(0, 0, 1, 1), lambda: kpu.load_flash(1),
          lambda: kpu.classifier(a, 3), lambda: kpu.classifier('a', 3, 15), lambda: kpu.classifier(a, -1, 15)):
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
      'ValueError model, class num, sample num',
      'ValueError model',
      'OSError [Errno 12] ENOMEM', // the library's malloc of a negative class count fails
    ]);
  });
});
