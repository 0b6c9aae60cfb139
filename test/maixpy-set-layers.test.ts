/**
 * MaixPy `kpu.set_layers(task, n)`: the firmware runs only the first n layers of a v3 model and
 * `forward` returns layer n − 1's output (see src/maixpy/modules/kpu-layers.ts for the rules).
 * Checked against facts independent of the emulator's run: the kmodel's layer table (types,
 * shapes), the firmware's messages and limits, the relation between the last conv's uint8 map and
 * the model's CHANNELWISE_DEQUANTIZE output (q·scale + bias per channel, the C expression with the
 * kmodel's parameters), and that the board time covers exactly the first n layers (within 2 µs: a
 * ticks_us() call costs the board 0.5 µs and truncates).
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseKmodel } from '../src/kmodel-parser/parse.js';
import type { V3Layer } from '../src/kmodel-parser/v3/types.js';
import { prepare } from '../src/kpu/interpreter.js';
import { profile, resolveClocks, transferMs } from '../src/kpu/timing/profile.js';
import { REPO, runScript, tempDir } from './fixtures/maixpy/helpers.js';
import { HAS_SHARED, kmodelPath, SHARED_SKIP_REASON } from './shared.js';

const DETECT = join(REPO, 'models', 'face_detect_320x240.kmodel');

function sdWith(files: Record<string, string>): string {
  const sd = tempDir('sd');
  for (const [name, src] of Object.entries(files)) copyFileSync(src, join(sd, name));
  return sd;
}

const SCRIPT = `
import KPU as kpu, image, time, ustruct
task = kpu.load('/sd/det.kmodel')
img = image.Image(size=(320, 240))
img.draw_rectangle(40, 30, 200, 150, color=(200, 120, 60), fill=True)
img.draw_circle(160, 120, 50, color=(30, 200, 90), fill=True)
img.pix_to_ai()

def run(label):
    t0 = time.ticks_us()
    fm = kpu.forward(task, img)
    dt = time.ticks_diff(time.ticks_us(), t0)
    print('%s index=%d typecode=%s w=%d h=%d ch=%d len=%d us=%d' % (label, fm.index(), fm.typecode(), fm.w(), fm.h(), fm.ch(), len(fm), dt))
    return fm

full = run('full')
vals = full[:]
print('FULL', ' '.join(['%r' % v for v in vals]))
print('set17', kpu.set_layers(task, 17))
print('set15', kpu.set_layers(task, 15))
q = run('p15')
print('Q', ' '.join([str(v) for v in q[:]]))
print('set4', kpu.set_layers(task, 4))
run('p4')
print('set16', kpu.set_layers(task, 16))
run('p16')
print('set0', kpu.set_layers(task, 0))
run('p0')
`;

function line(lines: string[], prefix: string): string {
  const l = lines.find((x) => x.startsWith(prefix));
  if (!l) throw new Error(`no line starting with ${prefix}`);
  return l;
}

function field(l: string, name: string): string {
  const m = new RegExp(`${name}=(\\S+)`).exec(l);
  if (!m) throw new Error(`${name} not in ${l}`);
  return m[1];
}

describe('MaixPy kpu.set_layers (v3)', () => {
  it('runs the first n layers: output, fmap fields, messages and board time as the firmware', async () => {
    const sd = sdWith({ 'det.kmodel': DETECT });
    const r = await runScript({ source: SCRIPT }, { sdDir: sd });
    expect(r.error).toBeUndefined();
    expect(r.exitCode).toBe(0);
    const L = r.lines;
    const model = parseKmodel(readFileSync(DETECT), DETECT);
    if (model.version !== 3) throw new Error('expected a v3 model');
    const layers = model.layers as readonly V3Layer[];
    expect(layers.length).toBe(16);

    // The whole model: its last layer is CHANNELWISE_DEQUANTIZE (type 24, 'f' in the firmware's table).
    const full = line(L, 'full ');
    expect([field(full, 'index'), field(full, 'typecode'), field(full, 'len')]).toEqual(['15', 'f', '2400']);
    expect(field(full, 'w')).toBe('9600'); // the firmware's typecode size is always 1: w = bytes

    // n beyond the model: the firmware's message, False, nothing changed.
    expect(L).toContain('err: set layers_length to 17, but max 16');
    expect(L).toContain('set17 False');

    // n = 15: layer 14, a K210_CONV: typecode 'B' with the conv's output w, h, ch.
    expect(L).toContain('set15 True');
    const p15 = line(L, 'p15 ');
    expect([field(p15, 'index'), field(p15, 'typecode'), field(p15, 'w'), field(p15, 'h'), field(p15, 'ch')]).toEqual([
      '14',
      'B',
      '10',
      '8',
      '30',
    ]);
    // The uint8 map, dequantised with the last layer's per-channel parameters (the C expression
    // q*scale + bias with two float roundings, the golden numerics), gives the full model's output.
    const q = line(L, 'Q ').slice(2).split(' ').map(Number);
    const fullVals = line(L, 'FULL ').slice(5).split(' ').map(Number);
    expect(q.length).toBe(2400);
    const dq = layers[15];
    if (dq.type !== 'CHANNELWISE_DEQUANTIZE') throw new Error('layer 15 type');
    const expected = q.map((v, i) => {
      const p = dq.quant_params[Math.floor(i / dq.channel_size)];
      return Math.fround(Math.fround(v * p.scale) + p.bias);
    });
    expect(fullVals).toEqual(expected);

    // Board time of a prefix: the timing model's first n layers only (plus the conv output DMA the
    // firmware switches on when layer n-1 writes only to KPU memory).
    const prepared = prepare(model);
    const ev = prepared.events;
    const us = (l: string) => Number(field(l, 'us'));
    const prefixMs = (n: number) => profile(ev.slice(0, n)).total_ms;
    expect(Math.abs(us(full) - prefixMs(16) * 1000)).toBeLessThanOrEqual(2);
    expect(Math.abs(us(p15) - prefixMs(15) * 1000)).toBeLessThanOrEqual(2);
    // n = 4: layer 3, a conv whose output stays in KPU memory (layer 4 reads it there).
    expect(layers[3].type).toBe('K210_CONV');
    expect(layers[3].flags & 1).toBe(0);
    const p4 = line(L, 'p4 ');
    expect([field(p4, 'index'), field(p4, 'typecode'), field(p4, 'w'), field(p4, 'h'), field(p4, 'ch')]).toEqual([
      '3',
      'B',
      '160',
      '128',
      '16',
    ]);
    expect(field(p4, 'len')).toBe(String(16 * 128 * 160));
    const dma = transferMs({ kind: 'download-dma', bytes: 16 * 128 * 160 }, resolveClocks());
    expect(Math.abs(us(p4) - (prefixMs(4) + dma) * 1000)).toBeLessThanOrEqual(2);

    // n = 16 (and n <= 0, all layers): layer 15 is CHANNELWISE_DEQUANTIZE (24), a type the
    // firmware's output switch lacks: it prints its message, output 0 stays where it was.
    expect(L).toContain('Unknow layer type: 24!');
    expect(L).toContain('set16 True');
    expect(L).toContain('set0 True');
    for (const p of ['p16 ', 'p0 ']) {
      const l = line(L, p);
      expect(field(l, 'index')).toBe('15');
      expect(field(l, 'typecode')).toBe('f');
      expect(Math.abs(us(l) - prefixMs(16) * 1000)).toBeLessThanOrEqual(2);
    }
  });

  it.skipIf(!HAS_SHARED)('on a v4 model the layer count is the runtime error -2014: n > 0 is refused', async () => {
    const sd = sdWith({ 'm.kmodel': kmodelPath('canmv_mnist_cnn_v4.kmodel') });
    const r = await runScript(
      {
        source: `import KPU as kpu\nt = kpu.load('/sd/m.kmodel')\nprint(kpu.set_layers(t, 1))\nprint(kpu.set_layers(t, 0))\n`,
      },
      { sdDir: sd },
    );
    expect(r.error).toBeUndefined();
    expect(r.lines).toEqual(['err: set layers_length to 1, but max -2014', 'False', 'True']);
  });
  if (!HAS_SHARED) it.skip(SHARED_SKIP_REASON, () => {});
});
