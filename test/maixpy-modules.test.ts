/**
 * kpusim's MaixPy modules against MaixPy's semantics (docs/maixpy-face-pipeline.md),
 * run as real MicroPython through `runMaixpy`. No models needed.
 */
import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Camera } from '../src/maixpy/camera.js';
import { parseTraceback } from '../src/maixpy/host.js';
import { readImageFile } from '../src/pipeline/image-io.js';
import { REPO, runScript, tempDir } from './fixtures/maixpy/helpers.js';

const PHOTOS = ['grace_hopper.jpg', 'astronaut.jpg', 'camera.png'].map((f) => join(REPO, 'examples/images', f));

/** Python's repr of a float (JS prints integral values without ".0"). */
const pyr = (v: number): string => (Number.isInteger(v) ? v.toFixed(1) : String(v));

/** Runs Python lines and returns the printed lines. */
async function py(source: string): Promise<string[]> {
  const r = await runScript({ source });
  if (r.exitCode !== 0) throw new Error(r.stderr);
  return r.lines;
}

describe('image: RGB565 and the AI planes', () => {
  it("colour tuples round through MaixPy's tables, get_pixel expands them, pix_to_ai writes planar R, G, B", async () => {
    const out = await py(`
import image
img = image.Image(size=(4, 2))
img.set_pixel(0, 0, (255, 0, 0))
img.set_pixel(1, 0, (24, 100, 200))
img.set_pixel(2, 0, 0xFFFF)
print(img.get_pixel(0, 0), img.get_pixel(1, 0), img.get_pixel(1, 0, rgbtuple=False), img.get_pixel(2, 0))
img.pix_to_ai()
n = 8
print(len(img._ai), list(img._ai[0:3]), list(img._ai[n:n + 3]), list(img._ai[2 * n:2 * n + 3]))
img.set_pixel(3, 1, (0, 0, 255))
img.ai_to_pix()
print(img.get_pixel(3, 1), img.get_pixel(1, 0))
print(img.get_pixel(9, 9), img.format(), img.size(), img.width(), img.height())
`);
    // R5 = round(24·31/255) = 3 → R8 = round(3·255/31) = 25 (bit replication would give 24);
    // G6 = round(100·63/255) = 25 → 101; B5 = round(200·31/255) = 24 → 197.
    expect(out[0]).toBe('(255, 0, 0) (25, 101, 197) 14363 (255, 255, 255)');
    // ceil64(4)·2·3 bytes; planes packed with stride w (8 bytes each).
    expect(out[1]).toBe('384 [255, 25, 255] [0, 101, 255] [0, 197, 255]');
    // ai_to_pix rebuilds the display pixels from the planes: (3, 1) was never in the planes (0).
    expect(out[2]).toBe('(0, 0, 0) (25, 101, 197)');
    expect(out[3]).toBe('None 2 16 4 2');
  });

  it('resize: the bilinear branch extrapolates the white border (face-pipeline §3.2 worked example → (5, 9, 5))', async () => {
    const out = await py(`
import image
src = image.Image(size=(64, 64))
p = (10 << 3) | (20 >> 3) | ((20 & 7) << 13) | (10 << 8)   # (R5, G6, B5) = (10, 20, 10), MaixPy layout
for i in range(64 * 64):
    src[i] = p
src.draw_rectangle(0, 0, 64, 64)                           # white 1-px border, as the demo draws
big = src.resize(128, 128)
v = big.get_pixel(0, 64, rgbtuple=False)
print((v >> 3) & 31, ((v & 7) << 3) | (v >> 13), (v >> 8) & 31)
near = src.resize(32, 40)                                  # w0 >= w: nearest neighbour, (int)(x * sx)
print(near.get_pixel(0, 0, rgbtuple=False) == 0xFFFF, near.get_pixel(1, 1, rgbtuple=False) == p)
same = src.resize(64, 64)
print(same.get_pixel(5, 5, rgbtuple=False) == p)
`);
    expect(out).toEqual(['5 9 5', 'True True', 'True']);
  });

  it('cut copies display pixels and leaves the part beyond the frame black', async () => {
    const out = await py(`
import image
img = image.Image(size=(8, 8))
for i in range(64):
    img[i] = i + 1
c = img.cut(6, 6, 4, 3)
print([c.get_pixel(x, y, rgbtuple=False) for y in range(3) for x in range(4)])
`);
    expect(out[0]).toBe('[55, 56, 0, 0, 63, 64, 0, 0, 0, 0, 0, 0]');
  });

  it('get_affine_transform: the face-pipeline §5.1 worked example, as binary32', async () => {
    const out = await py(`
import image
T = image.get_affine_transform([(120, 80), (160, 82), (141, 105), (122, 128), (156, 130)],
                               [(44, 59), (84, 59), (64, 82), (47, 105), (81, 105)])
print(len(T))
for v in T:
    print(repr(v))
try:
    image.get_affine_transform([(1.5, 2)], [(1, 2)])
except TypeError as e:
    print('TypeError', e)
try:
    image.get_affine_transform(((1, 2),), [(1, 2)])
except OSError as e:
    print('OSError')
`);
    expect(out[0]).toBe('9');
    const T = out.slice(1, 10).map(Number);
    const expected = [1.026331, -0.034345, 76.931082, 0.034345, 1.026331, 18.642816, 0, 0, 1];
    T.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThan(1e-4));
    T.forEach((v) => expect(Math.fround(v)).toBe(v));
    expect(out[10]).toBe("TypeError can't convert float to int");
    expect(out[11]).toBe('OSError');
  });

  it('warp_affine_ai samples the source AI planes (not the display pixels) into the target AI planes', async () => {
    const out = await py(`
import image
src = image.Image(size=(16, 16))
for i in range(256):
    src[i] = 0xFFFF
src.pix_to_ai()
for i in range(256):
    src[i] = 0          # display pixels changed after pix_to_ai: the warp must not see them
dst = image.Image(size=(8, 8))
dst.pix_to_ai()
image.warp_affine_ai(src, dst, (1.0, 0.0, 2.0, 0.0, 1.0, 2.0, 0.0, 0.0, 1.0))
print(dst._ai[0], dst._ai[64], dst._ai[128], dst._ai[63])
far = image.Image(size=(8, 8))
far.pix_to_ai()
image.warp_affine_ai(src, far, (1.0, 0.0, 100.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0))
print(max(far._ai[:192]))
try:
    image.warp_affine_ai(src, image.Image(size=(8, 8)), (1, 0, 0, 0, 1, 0, 0, 0, 1))
except ValueError as e:
    print('ValueError', e)
`);
    expect(out[0]).toBe('255 255 255 255');
    expect(out[1]).toBe('0');
    expect(out[2]).toBe('ValueError only support ai image affine');
  });
});

describe('KPU: face_encode and face_compare (face-pipeline §6)', () => {
  it('face_encode clamps at ±0.25, scales by 512, truncates, and +0.25 wraps to −128', async () => {
    const out = await py(`
import KPU as kpu
f = kpu.face_encode([0.1, -0.3, 0.25, 0.2499, -0.0019])
print(type(f).__name__, [b - 256 if b > 127 else b for b in f])
try:
    kpu.face_encode([0.0] * 513)
except ValueError as e:
    print('ValueError')
try:
    kpu.face_encode(5)
except TypeError as e:
    print('TypeError')
`);
    expect(out).toEqual(['bytearray [51, -128, -128, 127, 0]', 'ValueError', 'TypeError']);
  });

  it('face_compare gives 50·(1 + cos) of the int8 vectors as binary32', async () => {
    const out = await py(`
import KPU as kpu
a = bytearray([51, 256 - 128, 256 - 128, 127, 0])
b = bytearray([40, 256 - 100, 20, 127, 3])
print(repr(kpu.face_compare(bytes([64, 0]), bytes([0, 64]))), repr(kpu.face_compare(a, a)), repr(kpu.face_compare(a, b)))
try:
    kpu.face_compare(a, bytearray(3))
except ValueError as e:
    print('ValueError', e)
`);
    expect(out[0]).toBe(`50.0 100.0 ${Math.fround(87.31506)}`);
    expect(out[1]).toBe('ValueError compare feature must in same dim!');
  });

  it("CanMV's feature_compare, sigmoid and softmax run in binary32", async () => {
    const out = await py(`
from maix import KPU
k = KPU()
print(repr(KPU.feature_compare([0.6, 0.8], [0.6, 0.8])), repr(k.feature_compare([1.0, 0.0], [0.0, 1.0])))
print(repr(KPU.sigmoid(0.0)), repr(k.sigmoid(2.0)))
print([repr(v) for v in KPU.softmax([1.0, 2.0, 3.0])])
try:
    KPU.feature_compare([1.0], [1.0, 2.0])
except ValueError as e:
    print('ValueError', e)
`);
    const dot = Math.fround(
      Math.fround(Math.fround(0.6) * Math.fround(0.6)) + Math.fround(Math.fround(0.8) * Math.fround(0.8)),
    );
    expect(out[0]).toBe(`${pyr(Math.fround(Math.fround(0.5 + Math.fround(0.5 * dot)) * 100))} 50.0`);
    expect(out[1]).toBe(`0.5 ${pyr(Math.fround(1 / Math.fround(1 + Math.fround(Math.exp(-2)))))}`);
    const e = [1, 2, 3].map((v) => Math.fround(Math.exp(v - 3)));
    const s = Math.fround(Math.fround(e[0] + e[1]) + e[2]);
    expect(out[2]).toBe(`[${e.map((v) => `'${pyr(Math.fround(v / s))}'`).join(', ')}]`);
    expect(out[3]).toBe('ValueError feature len error');
  });
});

describe('time, clock and gc on the board clock', () => {
  it('sleeps advance ticks; clock.fps is 1000 / (integer ms per frame) in binary32', async () => {
    const out = await py(`
import time, utime, gc
t0 = time.ticks_ms()
time.sleep_ms(25)
utime.sleep(0.5)
time.sleep_us(1500)
print(time.ticks_diff(time.ticks_ms(), t0))
c = time.clock()
c.tick()
time.sleep_ms(40)
print(repr(c.fps()))
c.tick()
time.sleep_ms(30)
print(repr(c.fps()))
print(time.localtime(0), time.mktime((2000, 1, 2, 0, 0, 1, 0, 0)))
gc.collect()
print(gc.mem_free() > 0)
print(time.set_time((2024, 2, 30, 0, 0, 0)), time.set_time((2024, 2, 29, 23, 59, 58, 0, 0)))
time.sleep(3)
print(time.localtime())
`);
    expect(out[0]).toBe('526');
    expect(out[1]).toBe('25.0');
    expect(out[2]).toBe(pyr(Math.fround(1000 / Math.fround(70 / 2))));
    expect(out[3]).toBe('(2000, 1, 1, 0, 0, 0, 5, 1) 86401');
    expect(out[4]).toBe('True');
    // 2024-02-30 does not exist; 2024-02-29 23:59:58 plus 3 s of board time is Friday 2024-03-01 00:00:01 (day 61)
    expect(out[5]).toBe('False True');
    expect(out[6]).toBe('(2024, 3, 1, 0, 0, 1, 4, 61)');
  });
});

describe('errors', () => {
  it('a MaixPy API kpusim lacks raises NotImplementedError naming it; unknown names stay AttributeError', async () => {
    const out = await py(`
import image, sensor
img = image.Image(size=(8, 8))
for f in (lambda: img.find_apriltags(), lambda: image.HaarCascade('x'), lambda: sensor.get_gain_db(),
          lambda: sensor.set_pixformat(sensor.JPEG)):
    try:
        f()
    except NotImplementedError as e:
        print('NotImplementedError:', e)
try:
    img.no_such_method
except AttributeError as e:
    print('AttributeError')
try:
    import video
except NotImplementedError as e:
    print('NotImplementedError:', e)
try:
    from machine import UART
except NotImplementedError as e:
    print('NotImplementedError:', e)
`);
    expect(out).toEqual([
      'NotImplementedError: Image.find_apriltags is not supported by kpusim (MaixPy emulation on the PC)',
      'NotImplementedError: image.HaarCascade is not supported by kpusim (MaixPy emulation on the PC)',
      'NotImplementedError: sensor.get_gain_db is not supported by kpusim (MaixPy emulation on the PC)',
      'NotImplementedError: sensor.set_pixformat(JPEG) is not supported by kpusim (MaixPy emulation on the PC)',
      'AttributeError',
      'NotImplementedError: module video is not supported by kpusim (MaixPy emulation on the PC)',
      'NotImplementedError: machine.UART is not supported by kpusim (MaixPy emulation on the PC)',
    ]);
  });

  it('an uncaught Python error is reported with the script file and line, exit 1', async () => {
    const r = await runScript({
      name: 'broken.py',
      source: 'import image\n\nimg = image.Image(size=(8, 8))\nimg.find_apriltags()\n',
    });
    expect(r.exitCode).toBe(1);
    expect(r.reason).toBe('python-error');
    expect(r.error?.type).toBe('NotImplementedError');
    expect(r.error?.line).toBe(4);
    expect(r.error?.file).toMatch(/broken\.py$/);
    expect(r.stderr).toMatch(/File ".*broken\.py", line 4, in <module>/);
    expect(r.stderr).not.toMatch(/<stdin>/);
    expect(r.summary).toMatch(/NotImplementedError at .*broken\.py:4/);
  });

  it('kpu.load of an unmapped flash address or an /sd path without --sd is an OSError the script can catch', async () => {
    const out = await py(`
import KPU as kpu
for m in (0x600000, '/sd/x.kmodel'):
    try:
        kpu.load(m)
    except OSError as e:
        print('OSError', e)
try:
    kpu.load(0)
except ValueError as e:
    print('ValueError', e)
`);
    expect(out[0]).toMatch(/^OSError flash 0x600000 holds nothing: map a model there with --flash 0x600000=FILE/);
    expect(out[1]).toMatch(/^OSError \/sd\/x\.kmodel: no SD card: give --sd DIR/);
    expect(out[2]).toBe('ValueError [MAIXPY]kpu: model_addr must > 0 ');
  });

  it('sys.exit(n) ends with exit code n; parseTraceback keeps the innermost frame of the script', async () => {
    const r = await runScript({ source: 'import sys\nprint("bye")\nsys.exit(3)\n' });
    expect(r.exitCode).toBe(3);
    expect(r.reason).toBe('sys-exit');
    expect(r.lines).toEqual(['bye']);
    const t = parseTraceback(
      'Traceback (most recent call last):\n  File "<stdin>", line 2, in <module>\n  File "a.py", line 3, in <module>\n  File "/lib/x.py", line 9, in f\nValueError: bad\n',
      'a.py',
    );
    expect(t).toMatchObject({ type: 'ValueError', message: 'bad', file: 'a.py', line: 3 });
  });
});

describe('camera, BOOT key and LCD', () => {
  it('frames come from the files in order, the run ends cleanly when they run out, the key fires before the listed frames', async () => {
    const lcdOut = tempDir('lcd');
    const r = await runScript(
      {
        source: `
import sensor, lcd, time
from Maix import GPIO
from fpioa_manager import fm
from board import board_info
fm.register(board_info.BOOT_KEY, fm.fpioa.GPIOHS0)
key = GPIO(GPIO.GPIOHS0, GPIO.IN)
other = GPIO(GPIO.GPIOHS1, GPIO.IN)
events = []
key.irq(lambda pin: events.append('rise'), GPIO.IRQ_RISING)
other.irq(lambda pin: events.append('other'), GPIO.IRQ_BOTH)
lcd.init()
sensor.reset()
sensor.set_pixformat(sensor.RGB565)
sensor.set_framesize(sensor.QQVGA)
n = 0
while True:
    img = sensor.snapshot()
    n += 1
    print(n, img.width(), img.height(), events, key.value())
    del events[:]
    lcd.display(img)
`,
      },
      { camera: PHOTOS, keyPress: [2], lcdOut },
    );
    expect(r.exitCode).toBe(0);
    expect(r.reason).toBe('camera-exhausted');
    expect(r.frames).toBe(3);
    expect(r.lines).toEqual(['1 160 120 [] 1', "2 160 120 ['rise'] 0", '3 160 120 [] 1']);
    expect(readdirSync(lcdOut).sort()).toEqual(['lcd-0001.png', 'lcd-0002.png', 'lcd-0003.png']);
    // A 160×120 frame is shown centred on the 320×240 panel with black bars.
    const panel = readImageFile(join(lcdOut, 'lcd-0001.png'));
    expect([panel.width, panel.height]).toEqual([320, 240]);
    expect([...panel.data.subarray(0, 3)]).toEqual([0, 0, 0]);
    expect(r.summary).toMatch(/^kpusim maixpy: the camera ran out of frames: 3 frames, 3 lcd images/);
  });

  it('--frames stops after N snapshots; skip_frames does not use up files', async () => {
    const r = await runScript(
      {
        source:
          'import sensor\nsensor.reset()\nsensor.skip_frames(30)\nwhile True:\n    sensor.snapshot()\n    print("frame")\n',
      },
      { camera: PHOTOS, frames: 2 },
    );
    expect(r.reason).toBe('frames-limit');
    expect(r.lines).toEqual(['frame', 'frame']);
    expect(r.boardMs).toBeGreaterThanOrEqual(1000);
  });

  it('snapshots share one frame buffer; the AI planes are the frame, not a conversion of the RGB565 pixels', async () => {
    const r = await runScript(
      {
        source: `
import sensor
sensor.reset()
sensor.set_framesize(sensor.QVGA)
a = sensor.snapshot()
first = a.get_pixel(10, 10, rgbtuple=False)
b = sensor.snapshot()
print(a.get_pixel(10, 10, rgbtuple=False) == b.get_pixel(10, 10, rgbtuple=False), first != b.get_pixel(10, 10, rgbtuple=False))
diff = 0
for i in range(0, 320 * 240, 97):
    r5 = (b[i] >> 3) & 31
    if (r5 * 510 + 31) // 62 != b._ai[i]:
        diff += 1
print(diff > 0, len(b._ai))
`,
      },
      { camera: PHOTOS.slice(0, 2) },
    );
    expect(r.exitCode).toBe(0);
    expect(r.lines).toEqual(['True True', 'True 230400']);
  });
});

describe('files, grayscale and the LCD panel', () => {
  it('image.Image(path) reads the SD card; GRAYSCALE snapshots give one luma plane; lcd functions draw on the panel', async () => {
    const sd = tempDir('sd-img');
    copyFileSync(PHOTOS[2], join(sd, 'photo.png'));
    const lcdOut = tempDir('lcd-gray');
    const r = await runScript(
      {
        source: `
import image, sensor, lcd, os
img = image.Image('/sd/photo.png')
print(img.width(), img.height(), img.format() == sensor.RGB565, 'photo.png' in os.listdir('/sd'))
sensor.reset()
sensor.set_pixformat(sensor.GRAYSCALE)
sensor.set_framesize(sensor.QQVGA)
g = sensor.snapshot()
print(g.format() == sensor.GRAYSCALE, len(g._ai) >= 160 * 120, g.get_pixel(5, 5) == g._ai[5 * 160 + 5], g.get_pixel(5, 5, rgbtuple=True)[0] == g._ai[5 * 160 + 5])
lcd.init()
lcd.rotation(1)
print(lcd.width(), lcd.height())
lcd.display(g)
lcd.fill_rectangle(0, 0, 10, 10, lcd.RED)
`,
      },
      { camera: [PHOTOS[0]], sdDir: sd, lcdOut },
    );
    expect(r.exitCode).toBe(0);
    expect(r.lines).toEqual(['512 512 True True', 'True True True True', '240 320']);
    // one frame: display() and the rectangle drawn after it, written when the run ends
    expect(readdirSync(lcdOut).sort()).toEqual(['lcd-0001.png']);
    const last = readImageFile(join(lcdOut, 'lcd-0001.png'));
    expect([last.width, last.height]).toEqual([240, 320]);
    expect([...last.data.subarray(0, 3)]).toEqual([255, 0, 0]);
  });
});

describe('Camera (scaling and orientation)', () => {
  const files = [PHOTOS[0], PHOTOS[0]];
  it("script orientation: the first snapshot's mirror/flip is the upright reference; later changes flip", () => {
    const cam = new Camera(files, { orientation: 'script' });
    const a = cam.capture(64, 48, false, true, true)!;
    const b = cam.capture(64, 48, false, false, true)!;
    const raw = new Camera(files, { orientation: 'raw' }).capture(64, 48, false, false, false)!;
    expect(a.ai).toEqual(raw.ai);
    for (let y = 0; y < 48; y++) for (let x = 0; x < 64; x++) expect(b.ai[y * 64 + x]).toBe(a.ai[y * 64 + 63 - x]);
  });

  it("raw orientation applies the script's mirror and flip as they are; files are cropped to fill the frame", () => {
    const cam = new Camera(files, { orientation: 'raw' });
    const m = cam.capture(64, 48, false, true, false)!;
    const raw = new Camera(files, { orientation: 'raw' }).capture(64, 48, false, false, false)!;
    for (let y = 0; y < 48; y++) expect(m.ai[y * 64]).toBe(raw.ai[y * 64 + 63]);
    expect(cam.remaining).toBe(1);
    expect(new Camera([]).capture(8, 8, false, false, false)).toBeNull();
  });

  it('a file decoded ahead stands in for decoding it; not ready (undefined), the file is decoded at the snapshot', () => {
    const red = { width: 4, height: 2, data: new Uint8Array(4 * 2 * 3).fill(0) };
    for (let i = 0; i < 8; i++) red.data[3 * i] = 255;
    const asked: string[] = [];
    const cam = new Camera([PHOTOS[0], PHOTOS[1]], {
      prefetched: (f) => (asked.push(f), f === PHOTOS[0] ? { image: red } : undefined),
    });
    const a = cam.capture(4, 2, false, false, false)!;
    expect([...a.ai]).toEqual([...new Array(8).fill(255), ...new Array(16).fill(0)]);
    const b = cam.capture(64, 48, false, false, false)!;
    const direct = new Camera([PHOTOS[1]]).capture(64, 48, false, false, false)!;
    expect(b.ai).toEqual(direct.ai);
    expect(asked).toEqual([PHOTOS[0], PHOTOS[1]]);
  });

  it('the example photos exist', () => PHOTOS.forEach((p) => expect(existsSync(p)).toBe(true)));
});
