/**
 * MaixPy's image operations (src/maixpy/imlib.ts through image.py) on tiny images whose results
 * are worked out by hand in the comments, or taken from the firmware's own colour tables
 * (sipeed/MaixPy-v1 yuv_tab.c / lab_tab.c entries, quoted where used). Run as real MicroPython.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import QRCode from 'qrcode';
import { describe, expect, it } from 'vitest';
import { encodePng } from '../src/pipeline/image-io.js';
import { runScript, tempDir } from './fixtures/maixpy/helpers.js';

async function py(source: string, sdDir?: string): Promise<string[]> {
  const r = await runScript({ source }, sdDir ? { sdDir } : {});
  if (r.exitCode !== 0) throw new Error(r.stderr);
  return r.lines;
}

/** A grayscale image from a list of rows, and a helper printing its pixels. */
const PRELUDE = `
import image
def gray(rows):
    h, w = len(rows), len(rows[0])
    img = image.Image(size=(w, h))
    img.to_grayscale()
    for y in range(h):
        for x in range(w):
            img.set_pixel(x, y, rows[y][x])
    return img
def px(img):
    return [img.get_pixel(x, y, rgbtuple=False) for y in range(img.height()) for x in range(img.width())]
def rgb565(r5, g6, b5):
    return (r5 << 3) | (g6 >> 3) | ((g6 & 7) << 13) | (b5 << 8)
`;

describe('image: conversions and point operations', () => {
  it("to_grayscale uses the firmware's Y table; invert and negate flip every bit", async () => {
    const out = await py(`${PRELUDE}
img = image.Image(size=(5, 1))
for i, p in enumerate([rgb565(31, 0, 0), rgb565(0, 63, 0), rgb565(0, 0, 31), 0xFFFF, 0x8C51]):
    img[i] = p
g = img.to_grayscale(copy=True)
print(g.format() == 4, img.format() == 2, px(g))
r = img.to_grayscale()
print(r is img, img.format() == 4, img.size(), px(img))
img.invert()
print(px(img))
c = image.Image(size=(1, 1))
c[0] = 0x1234
c.invert()
print(hex(c[0]))
n = image.Image(size=(1, 1))
n[0] = 0x1234
print(px(gray([[76, 149, 29, 255, 64]]).negate()), hex(n.negate()[0]))
`);
    // yuv_table Y + 128 for 0x00F8 (red) −52, 0xE007 (green) 21, 0x001F (blue) −99, 0xFFFF 127, 0x8C51 −64
    expect(out[0]).toBe('True True [76, 149, 29, 255, 64]');
    expect(out[1]).toBe('True True 5 [76, 149, 29, 255, 64]');
    expect(out[2]).toBe('[179, 106, 226, 0, 191]');
    expect(out[3]).toBe('0xedcb');
    // negate: 255 − p; RGB565 31 − r5, 63 − g6, 31 − b5 (each field's complement, so 0x1234 → 0xedcb)
    expect(out[4]).toBe('[179, 106, 226, 0, 191] 0xedcb');
  });

  it('strech_char: levels above the mean stretched to 0…255, de_dark divides by 1 + 32·r²²/(w²h²)', async () => {
    const out = await py(`${PRELUDE}
a = gray([[10, 20], [30, 40]])
a.strech_char(0)
b = gray([[10, 20], [30, 40]])
b.strech_char(1)
c = gray([[7, 7], [7, 7]])
c.strech_char(0)
print(px(a), px(b), px(c))
`);
    // mean 25, max 40: (v − 25)·255/15 → −255, −85, 85, 255 → clamped [0, 0, 85, 255].
    // de_dark: (0, 1) has r² = 1 → 85 / (1 + 32/16) = 28; (1, 1) is the centre (r² = 0).
    // One level everywhere divides by zero: RISC-V gives −1 → 0.
    expect(out[0]).toBe('[0, 0, 85, 255] [0, 0, 28, 255] [0, 0, 0, 0]');
  });

  it('binary: inside any threshold → white (or 0 with zero=True); RGB565 thresholds in L*a*b*', async () => {
    const out = await py(`${PRELUDE}
g = gray([[50, 150, 100]])
print(px(g.binary([(0, 100)], copy=True)), px(g.binary([(100, 0)], invert=True, copy=True)), px(g.binary([(0, 100)], zero=True, copy=True)))
print(px(g.binary([(0, 60), (140, 160)], copy=True)))
c = image.Image(size=(3, 1))
c[0] = rgb565(31, 0, 0); c[1] = rgb565(0, 63, 0); c[2] = 0
print([hex(v) for v in px(c.binary([(30, 100, 15, 127, 15, 127)], copy=True))])
print([hex(v) for v in px(c.binary([(80, 90, -90, -80, 80, 90)]))])
`);
    expect(out[0]).toBe('[255, 0, 255] [0, 255, 0] [0, 150, 0]');
    // two thresholds OR together
    expect(out[1]).toBe('[255, 255, 0]');
    // lab_table: red 0x00F8 = (53, 80, 67) is inside the classic red threshold; green 0xE007 = (88, −86, 83)
    expect(out[2]).toBe("['0xffff', '0x0', '0x0']");
    expect(out[3]).toBe("['0x0', '0xffff', '0x0']");
  });

  it('histeq maps through the cumulative histogram with ⌊(255/n)·cdf⌋', async () => {
    const out = await py(`${PRELUDE}
g = gray([[0, 0], [100, 200]])
g.histeq()
print(px(g))
`);
    // 255/4 = 63.75: cdf 2 → 127.5, 3 → 191.25, 4 → 255
    expect(out[0]).toBe('[127, 127, 191, 255]');
  });

  it('difference: |a − b| with an image or a constant; mean_pooled averages blocks', async () => {
    const out = await py(`${PRELUDE}
a = gray([[10, 200]])
a.difference(gray([[30, 50]]))
b = gray([[10, 200]])
b.difference(100)
c = image.Image(size=(1, 1))
c[0] = rgb565(3, 60, 20)
d = image.Image(size=(1, 1))
d[0] = rgb565(10, 4, 20)
c.difference(d)
p = c[0]
print(px(a), px(b), (p >> 3) & 31, ((p & 7) << 3) | (p >> 13), (p >> 8) & 31)
m = gray([[0, 2, 4, 6], [1, 3, 5, 7]]).mean_pooled(2, 2)
print(m.width(), m.height(), px(m))
`);
    expect(out[0]).toBe('[20, 150] [90, 100] 7 56 0');
    // (0 + 2 + 1 + 3) // 4 = 1, (4 + 6 + 5 + 7) // 4 = 5
    expect(out[1]).toBe('2 1 [1, 5]');
  });
});

describe('image: neighbourhood filters (edge pixels repeat)', () => {
  it('mean, median and the threshold option', async () => {
    const out = await py(`${PRELUDE}
print(px(gray([[0, 9, 18, 27]]).mean(1)))
print(px(gray([[0, 9, 18, 27]]).mean(1, threshold=True)))
print(px(gray([[5, 1, 9, 3]]).median(1)), px(gray([[5, 1, 9, 3]]).median(1, percentile=0)))
`);
    // one row: every window is three copies of (left, centre, right): (0+0+9)/3 = 3, 9, 18, (18+27+27)/3 = 24
    expect(out[0]).toBe('[3, 9, 18, 24]');
    // white where mean − 0 < pixel: only 24 < 27
    expect(out[1]).toBe('[0, 0, 0, 255]');
    // sorted windows, element 4 of 9: {5,5,1} → 5, {5,1,9} → 5, {1,9,3} → 3, {9,3,3} → 3; element 0: the minimum
    expect(out[2]).toBe('[5, 5, 3, 3] [1, 1, 1, 3]');
  });

  it('morph, gaussian and laplacian kernels', async () => {
    const out = await py(`${PRELUDE}
print(px(gray([[0, 9, 18, 27]]).morph(1, [0, 0, 0, 1, 0, -1, 0, 0, 0], add=100)))
print(px(gray([[0, 16, 32, 48]]).gaussian(1)))
print(px(gray([[0, 16, 32, 48]]).laplacian(1)))
print(px(gray([[3, 1, 4, 1, 5]]).morph(1, [0, 0, 0, 0, 1, 0, 0, 0, 0])))
`);
    // left − right + 100: 0−9, 0−18, 9−27, 18−27
    expect(out[0]).toBe('[91, 82, 82, 91]');
    // [1 2 1]ᵀ[1 2 1] / 16 on one row: (l + 2c + r) / 4
    expect(out[1]).toBe('[4, 16, 32, 44]');
    // columns −4, 8, −4 (centre 12), mul 1/12: x0 −64/12 → 0; x3 (−128 + 384 − 192)/12 = 5.3 → 5
    expect(out[2]).toBe('[0, 0, 0, 5]');
    expect(out[3]).toBe('[3, 1, 4, 1, 5]');
  });

  it('bilateral keeps a flat image flat and every level inside its window', async () => {
    const out = await py(`${PRELUDE}
f = gray([[80, 80, 80], [80, 80, 80]])
f.bilateral(1)
g = gray([[0, 100, 200, 50]])
src = px(g)
g.bilateral(1, color_sigma=0.5, space_sigma=2)
r = px(g)
ok = all(min(src[max(i - 1, 0):i + 2]) <= r[i] <= max(src[max(i - 1, 0):i + 2]) for i in range(4))
print(set(px(f)) <= {79, 80}, ok)
`);
    expect(out[0]).toBe('True True');
  });
});

describe('image: geometry, drawing and detection', () => {
  it('warp_affine_ai onto its own source warps the planes as they were before the call', async () => {
    // T = shift(−2, −1): output (row i, column j) samples source (i − 1, j − 2), a pixel an in-place
    // warp would already have overwritten; row 0 and columns 0, 1 map outside and become 0.
    const out = await py(`${PRELUDE}
def make():
    img = image.Image(size=(8, 8))
    for i in range(64):
        img[i] = rgb565(1 + i % 30, (3 * i + 5) % 64, (5 * i + 1) % 32)
    img.pix_to_ai()
    return img
a = make()
b = make()
out = image.Image(size=(8, 8))
out.pix_to_ai()
T = (1.0, 0.0, -2.0, 0.0, 1.0, -1.0, 0.0, 0.0, 1.0)
image.warp_affine_ai(a, a, T)
image.warp_affine_ai(b, out, T)
print(bytes(a._ai) == bytes(out._ai), a._ai[3 * 8 + 4] == b._ai[2 * 8 + 2], a._ai[3 * 8 + 4], max(a._ai[0:8]))
`);
    const [same, shifted, value, row0] = out[0].split(' ');
    expect([same, shifted, row0]).toEqual(['True', 'True', '0']);
    expect(Number(value)).toBeGreaterThan(0);
  });

  it('lens_corr samples ⌊θ·dx⌋ from the centre (θ = atan(r)/r)', async () => {
    const out = await py(`${PRELUDE}
g = gray([[10, 20, 30, 40, 50]])
g.lens_corr(1.8)
print(px(g))
`);
    // radius = 1.8/√26 = 0.3530; x = 0: r = 0.7060, θ = 0.8709, θ·(−2) = −1.74 → −1 → source 1;
    // x = 1: θ·(−1) = −0.96 → 0 → source 2; symmetric on the right.
    expect(out[0]).toBe('[20, 30, 30, 30, 40]');
  });

  it('rotation_corr: no rotation keeps the image; 180° about z mirrors it about the centre (within the truncation)', async () => {
    const out = await py(`${PRELUDE}
img = gray([[y * 6 + x + 1 for x in range(6)] for y in range(4)])
a = img.copy()
a.rotation_corr()
b = img.copy()
b.rotation_corr(z_rotation=180)
ok = True
n = 0
for y in range(4):
    for x in range(6):
        v = b.get_pixel(x, y)
        if v:
            n += 1
            sx, sy = (v - 1) % 6, (v - 1) // 6
            ok = ok and abs(sx - (6 - x)) <= 1 and abs(sy - (4 - y)) <= 1
print(px(a) == px(img), ok, n > 12)
c = img.copy()
c.rotation_corr(corners=[(0, 0), (5, 0), (5, 3), (0, 3)])
d = img.copy()
d.rotation_corr(corners=[(5, 0), (0, 0), (0, 3), (5, 3)])
row = [d.get_pixel(x, 1) for x in range(6)]
print(px(c) == px(img), all(row[x] in (img.get_pixel(5 - x, 1), img.get_pixel(max(4 - x, 0), 1)) for x in range(6)), row != px(img)[6:12])
`);
    // the centre is (w/2, h/2) = (3, 2): the mirror of x is 6 − x; positions outside the image stay 0.
    // corners = the image's own corners: the identity; swapped left and right: a horizontal mirror,
    // x → 5 − x, which binary32 can land just below (truncated to 4 − x), as on the board.
    expect(out).toEqual(['True True True', 'True True True']);
  });

  it('draw_arrow: the shaft and two strokes ending at x1 − s·u ± s·v/2', async () => {
    const out = await py(`${PRELUDE}
g = gray([[0] * 16 for _ in range(11)])
g.draw_arrow(0, 5, 10, 5, 255, size=4)
print(g.get_pixel(0, 5), g.get_pixel(10, 5), g.get_pixel(6, 7), g.get_pixel(6, 3), g.get_pixel(11, 5), g.get_pixel(5, 7))
`);
    // u = (1, 0), v = (0, 1): heads end at (10 − 4, 5 ± 2)
    expect(out[0]).toBe('255 255 255 255 0 0');
  });

  it('find_blobs: 4-connected regions, centroids, rotation, rects as (x1, y1, x2 − x1, y2 − y1), merge', async () => {
    const out = await py(`${PRELUDE}
rows = [[0] * 8 for _ in range(6)]
for y in (1, 2):
    for x in (1, 2, 3):
        rows[y][x] = 255
for y in (3, 4, 5):
    for x in (5, 6):
        rows[y][x] = 255
g = gray(rows)
bs = g.find_blobs([(200, 255)], x_stride=1, area_threshold=0, pixels_threshold=0)
for b in bs:
    print(b.rect(), b.pixels(), b.cx(), b.cy(), round(b.rotation(), 4), b.code(), b.count(), b[4], b.area())
print(len(g.find_blobs([(200, 255)], x_stride=1)))
m = g.find_blobs([(200, 255)], x_stride=1, area_threshold=0, pixels_threshold=0, merge=True, margin=2)
print(len(m))
m = g.find_blobs([(200, 255)], x_stride=1, area_threshold=0, pixels_threshold=0, merge=True, margin=3)
print(len(m), m[0].rect(), m[0].pixels(), m[0].cx(), m[0].cy(), m[0].count())
print(g.find_blobs([]))
`);
    // A: Σx = 12, Σy = 9 over 6 pixels → (2, 1); its second moments give b = 0, a = 4 ≠ c = 3 → atan2(0, 1)/2 = 0.
    // B: (5, 4); a = 3, c = 4 → atan2(0, −1) = π (fast_atan2f) → π/2.
    expect(out.slice(0, 2)).toEqual(['(1, 1, 2, 1) 6 2 1 0.0 1 1 6 2', '(5, 3, 1, 2) 6 5 4 1.5708 1 1 6 2']);
    // area 2 < 10: both dropped by the default area threshold
    expect(out[2]).toBe('0');
    // margin 2: B grown to (3, 1, 5, 6) does not reach A (x 1…3); margin 3 does
    expect(out[3]).toBe('2');
    expect(out[4]).toBe('1 (1, 1, 5, 4) 12 3 2 2');
    expect(out[5]).toBe('[]');
  });

  it('find_blobs on RGB565 uses L*a*b* thresholds; unsupported options raise NotImplementedError', async () => {
    const out = await py(`${PRELUDE}
c = image.Image(size=(6, 4))
for y in range(1, 3):
    for x in range(2, 5):
        c.set_pixel(x, y, (255, 0, 0))
bs = c.find_blobs([(30, 100, 15, 127, 15, 127)], area_threshold=1, pixels_threshold=1)
print([(b.rect(), b.pixels()) for b in bs])
for f in (lambda: c.find_blobs([(0, 10)], threshold_cb=print), lambda: c.binary([(0, 10)], to_bitmap=True),
          lambda: c.mean(1, mask=c), lambda: c.histeq(adaptive=True)):
    try:
        f()
    except NotImplementedError as e:
        print('NotImplementedError', str(e).split(' is not')[0])
`);
    // x_stride 2 seeds at x = 2, 4 (row 1) and 3 (row 2, offset y mod 2): one blob of 6 red pixels
    expect(out[0]).toBe('[((2, 1, 2, 1), 6)]');
    expect(out.slice(1)).toEqual([
      'NotImplementedError Image.find_blobs(threshold_cb/merge_cb)',
      'NotImplementedError Image.binary(to_bitmap=True)',
      'NotImplementedError Image.mean(mask=...)',
      'NotImplementedError Image.histeq(adaptive=True)',
    ]);
  });

  it('find_qrcodes decodes a code drawn by an independent encoder (qrcode) into an image file', async () => {
    const qr = QRCode.create('kpusim QR', { errorCorrectionLevel: 'M' });
    const n = qr.modules.size;
    const scale = 4,
      quiet = 4;
    const side = (n + 2 * quiet) * scale;
    const data = new Uint8Array(side * side * 3).fill(255);
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++)
        if (qr.modules.get(y, x))
          for (let dy = 0; dy < scale; dy++)
            for (let dx = 0; dx < scale; dx++) {
              const o = 3 * (((y + quiet) * scale + dy) * side + (x + quiet) * scale + dx);
              data[o] = data[o + 1] = data[o + 2] = 0;
            }
    const dir = tempDir('qr');
    writeFileSync(join(dir, 'qr.png'), encodePng({ width: side, height: side, data }));
    const out = await py(
      `${PRELUDE}
img = image.Image('/sd/qr.png')
codes = img.find_qrcodes()
print(len(codes), codes[0].payload(), codes[0].version(), codes[0].is_binary())
x, y, w, h = codes[0].rect()
print(abs(x - 16) <= 1, abs(y - 16) <= 1, abs(w - 84) <= 2, abs(h - 84) <= 2)
print(image.Image(size=(20, 20)).find_qrcodes())
try:
    codes[0].ecc_level()
except NotImplementedError:
    print('NotImplementedError')
`,
      dir,
    );
    expect(out[0]).toBe(`1 kpusim QR ${qr.version} True`);
    // the symbol starts after the 4-module quiet zone (16 px) and spans 21 modules (84 px)
    expect(out[1]).toBe('True True True True');
    expect(out[2]).toBe('[]');
    expect(out[3]).toBe('NotImplementedError');
  });

  it('font_load checks its arguments as the firmware; font_free restores the built-in font', async () => {
    const out = await py(`${PRELUDE}
print(image.font_load(image.ASCII, 8, 16, None), image.font_free())
try:
    image.font_load(image.UTF8, 16, 16, 0)
except ValueError as e:
    print(e)
try:
    image.font_load(image.UTF8, 16, 16, '/sd/font.ttf')
except ValueError as e:
    print(e)
`);
    expect(out).toEqual([
      'None None',
      '[MAIXPY]image: font_addr must > 0 ',
      "[MAIXPY]image: font format don't match, only supply .Dzk ",
    ]);
  });
});
